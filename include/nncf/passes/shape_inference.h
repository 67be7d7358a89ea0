#pragma once

// Shape inference: the shape and dtype of every tensor of an `ir::Graph`, and the value of every
// integer, list or scalar it computes from them (aten::size, list construction, arithmetic), for
// given shapes of its inputs.
//
// Each node runs through the c10 dispatcher (or the JIT operator registry, for the operators only
// the JIT registers) on tensors of the meta device: they carry sizes and dtypes but no storage,
// and the kernels' own shape logic decides the result. LibTorch's C++ build lacks meta kernels for
// some operators (convolutions, relu): convolutions and same-shape activations get a shape rule,
// and the other operators whose shapes cannot depend on tensor data (normalization, pooling,
// arithmetic, ...) run their CPU kernel on zero-filled tensors of the same shapes (Note [Operators
// without meta kernels] in the source). A node that still cannot run (no kernel, an operator that
// needs a TorchScript node, a value read from tensor data such as aten::item) leaves its outputs
// unknown; so does every node that reads an unknown value. Unknown is an answer, not an error: one
// diagnostic names the node where knowledge stopped.

#include <ATen/core/ivalue.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "nncf/ir/graph.h"

namespace nncf::passes {

/// The sizes and dtype of one tensor input.
struct TensorShape {
  std::vector<int64_t> sizes;
  c10::ScalarType dtype = c10::ScalarType::Float;
};

/// The graph's inputs to infer from: tensors (Data, Parameter and Buffer inputs) by input name,
/// and the mode, which feeds the `training` input and selects mode-specific nodes.
struct InputShapes {
  std::map<std::string, TensorShape> tensors;
  bool training = false;

  /// The shapes and dtypes of `tensors` (e.g. a captured model's parameters and buffers, plus
  /// the data inputs).
  static InputShapes of(const std::map<std::string, at::Tensor>& tensors, bool training = false);
};

/// What inference knows about one value. A tensor has `sizes` and `dtype`; any other value
/// (int, float, bool, list, tuple, None) has `value`, where tensors inside lists and tuples are
/// meta tensors. A value whose node could not run, or did not run in this mode, has neither.
struct ValueInfo {
  std::optional<std::vector<int64_t>> sizes;
  std::optional<c10::ScalarType> dtype;
  c10::IValue value;
  bool known = false;

  bool is_tensor() const { return sizes.has_value(); }
  /// Number of elements of a tensor; throws c10::Error for an unknown or non-tensor value.
  int64_t numel() const;
};

/// Why a node's outputs are unknown.
struct ShapeDiagnostic {
  const ir::Node* node;  ///< nullptr for a graph input without a given shape
  std::string message;   ///< names the node (op and scope) or the input, and the cause
};

/// The result: every value of the graph (inputs and node outputs) has an entry.
struct ShapeInferenceResult {
  std::unordered_map<const ir::Value*, ValueInfo> values;
  /// One per place where knowledge stopped (not one per unknown downstream node), in graph order.
  std::vector<ShapeDiagnostic> diagnostics;
  /// The mode inferred (`InputShapes::training`): nodes of the other mode did not run.
  bool training = false;

  /// The info of `v`; throws c10::Error if `v` is not a value of the inferred graph.
  const ValueInfo& at(const ir::Value* v) const;
  /// Whether every output of every node that runs in the inferred mode is known.
  bool all_known() const { return diagnostics.empty(); }
};

/// Infers shapes and values over a graph. Stateless; `run` may be called from several threads.
class ShapeInference {
 public:
  /// `device` is where the tensors are made: the meta device (the default) for inference; the
  /// CPU runs the real kernels on zero-filled tensors (slow: meant for checking meta kernels).
  explicit ShapeInference(c10::Device device = c10::Device(c10::kMeta)) : device_(device) {}

  /// Infers every value of `graph` from `inputs`. A tensor input missing from `inputs` is unknown
  /// (with a diagnostic). Throws c10::Error only for a malformed graph or an input whose given
  /// shape contradicts the shape the graph was captured for (`ir::Value::shape`).
  ShapeInferenceResult run(const ir::Graph& graph, const InputShapes& inputs) const;

 private:
  c10::Device device_;
};

}  // namespace nncf::passes
