#pragma once

// ONNX export of a compressed model (opset 13, checked by onnx::checker).
//
// The writer walks the eval-mode graph: train-only nodes are skipped, `prim::ModeSelect` takes its
// eval value and the `training` input is false. Parameters and buffers become initializers; each
// ATen op becomes one or a few standard ONNX ops. A batch_norm right after a convolution is folded
// into its weights and bias when no inserted module sits between them and every weight hook's
// exporter can write the scaled weight (HookExporter::can_fold). Integers derived from the batch size
// (`aten::size(x, 0)`) become Shape/Gather ops, so dim 0 stays symbolic.
//
// Inserted modules ("hooks"): a weight hook is evaluated on the weight, so the initializer holds
// the compressed weight (sparsity masks, quantizers on the grid). An activation hook (pre-op,
// post-op, model input) has no generic ONNX form: it is written by the first HookExporter that
// handles it, or the export fails naming it. A weight hook that an exporter handles is also
// written by it (e.g. QuantizeLinear/DequantizeLinear after the already-quantized weight).
//
// The ONNX protobuf classes stay out of this header: OnnxBuilder is the whole vocabulary an
// exporter needs.

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "nncf/runtime/compressed_model.h"

namespace onnx {
class ModelProto;
}

namespace nncf::exporting {

struct OnnxOptions {
  /// The default opset (`ai.onnx`). Only 13 is supported today.
  int64_t opset = 13;
  /// Names of the ONNX inputs, one per Data input of the graph; empty: the graph's input names.
  std::vector<std::string> input_names;
  /// Names of the ONNX outputs; empty: output.0, output.1, ... A graph output that is a tuple of
  /// tensors is written as one ONNX output per tensor (None elements are dropped).
  std::vector<std::string> output_names;
  /// Shapes of the Data inputs, batch first (-1: any size; dim 0 is "batch" with dynamic_batch).
  /// Empty: the shapes the captured graph requires (ir::Value::shape()); the export fails when a
  /// data input has neither (ONNX wants the rank of every input, and some ops -- chunk, adaptive
  /// pooling to sizes other than 1 -- need the sizes).
  std::vector<std::vector<int64_t>> input_shapes;
  /// Dim 0 of every input and output is the symbolic "batch".
  bool dynamic_batch = true;
};

/// One ONNX node attribute. Floats are written as ONNX FLOAT, tensors as TENSOR.
struct OnnxAttribute {
  std::string name;
  std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>, at::Tensor> value;
};

/// Builds the ONNX graph being exported: the surface hook exporters write against.
/// Names are ONNX value names; every name this builder hands out is unique in the model.
class OnnxBuilder {
 public:
  explicit OnnxBuilder(int64_t opset);
  ~OnnxBuilder();
  OnnxBuilder(const OnnxBuilder&) = delete;
  OnnxBuilder& operator=(const OnnxBuilder&) = delete;

  /// A value name not used yet, built from `hint` ("conv1" -> "conv1", "conv1.1", ...); reserved.
  std::string unique_name(std::string_view hint);

  /// Appends a node. `outputs` must be fresh names (from unique_name). A non-empty `domain` is
  /// imported at `domain_version` (e.g. "org.openvinotoolkit", 1).
  void add_node(const std::string& op_type, const std::vector<std::string>& inputs,
                const std::vector<std::string>& outputs, const std::vector<OnnxAttribute>& attributes = {},
                const std::string& domain = "", int64_t domain_version = 1);
  /// Appends a one-output node and returns its output, named after `hint` (default: the op type).
  std::string add(const std::string& op_type, const std::vector<std::string>& inputs,
                  const std::vector<OnnxAttribute>& attributes = {}, std::string_view hint = {});

  /// Adds an initializer holding `tensor` (copied; float, double, int64, int32, int8, uint8 or bool;
  /// any layout or device) and returns its name, unique_name(hint).
  std::string add_initializer(std::string_view hint, const at::Tensor& tensor);
  /// Shorthands: a 1-D int64 initializer, and a 0-D float / int64 one.
  std::string add_ints(std::string_view hint, const std::vector<int64_t>& values);
  std::string add_float_scalar(std::string_view hint, float value);

  /// The shape of a value as ONNX shape inference sees it (-1 for a dimension it cannot tell, e.g.
  /// the batch), or nullopt when even the rank is unknown.
  std::optional<std::vector<int64_t>> shape(const std::string& name);

  /// The element type of a value (an onnx::TensorProto::DataType: 1 float, 7 int64, 9 bool, ...) as
  /// ONNX shape inference sees it, or nullopt when it cannot tell.
  std::optional<int32_t> elem_type(const std::string& name);

  /// Records what is known of a value's shape (-1: unknown size) where ONNX shape inference cannot
  /// tell it (a Reshape to a computed shape); shape() and later inferences start from it.
  void set_shape(const std::string& name, std::vector<int64_t> dims);

  int64_t opset() const { return opset_; }

  /// The model being built, for what the methods above do not cover (include <onnx/onnx_pb.h>
  /// and link onnx_proto). Names added behind the builder's back must still be unique.
  onnx::ModelProto& model();

 private:
  void infer();  // runs ONNX shape inference on the graph so far, recording shapes and types
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int64_t opset_;
};

/// The weight a weight hook's exporter writes after.
struct WeightInput {
  /// The initializer's value: the weight with every weight hook evaluated (and scaled by
  /// `channel_scale` when that is defined).
  at::Tensor value;
  /// Undefined, or the factors (double, one per output channel, along dim 0) of a BatchNorm folded
  /// into this weight: `value` already holds the scaled weight, and what the exporter writes must be
  /// the scaled form of its module (a quantizer's grid scaled channel by channel).
  at::Tensor channel_scale;
};

/// Writes inserted modules of one or more kinds.
struct HookExporter {
  /// Writes `module` applied to ONNX value `input`; returns the output value name, or nullopt when
  /// this exporter does not handle that module (the next one is asked). `weight` is set for a weight
  /// hook: then `input` names the weight as the graph sees it at this point -- the initializer
  /// holding `weight->value`, or what an earlier exporter wrote after it. A module at several
  /// insertion points is offered once per point.
  using Write =
      std::function<std::optional<std::string>(const torch::nn::Module& module, const std::string& input,
                                               OnnxBuilder& builder, const WeightInput* weight)>;
  /// Whether `write` can write weight hook `module` for the weight `weight` (every weight hook
  /// evaluated, before the fold) scaled per output channel by `channel_scale` (double, along dim 0)
  /// -- that is, whether a BatchNorm after the conv can be folded into it. True for a module `write`
  /// does not handle.
  using CanFold = std::function<bool(const torch::nn::Module& module, const at::Tensor& weight,
                                     const at::Tensor& channel_scale)>;

  Write write;
  /// Unset: the exporter may handle any weight hook and folds none, so a BatchNorm after a conv
  /// whose weight has hooks stays a BatchNormalization node.
  CanFold can_fold;
};

/// Writes `model` as ONNX to `path`. The model runs in eval mode without gradients while it is
/// written (its mode is restored). The file is replaced atomically (a temporary file in the same
/// folder, fsync, rename): an export that fails leaves an existing file unchanged. The model is
/// checked with onnx::checker before it is written.
///
/// Throws c10::Error: for an op that has no ONNX form here (naming the node's op and scope), an
/// activation hook that no exporter handles (naming the hook and its point), names that do not
/// match the graph's inputs/outputs, and a model the checker rejects.
void export_onnx(runtime::CompressedModel& model, const std::string& path, const OnnxOptions& options = {},
                 const std::vector<HookExporter>& exporters = {});

}  // namespace nncf::exporting
