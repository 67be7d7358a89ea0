#pragma once

// Internal to the ONNX writer: what an IR value is in the ONNX graph, and the per-op converters.

#include <ATen/core/Tensor.h>
#include <ATen/core/ivalue.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "nncf/export/onnx.h"
#include "nncf/ir/graph.h"
#include "nncf/passes/batchnorm_folding.h"

namespace nncf::exporting::detail {

/// An IR value as the ONNX graph carries it. Integers (sizes and what is computed from them) are
/// either known constants or 1-element int64 tensors, so that the batch size stays symbolic.
struct Sym {
  enum class Kind { None, Tensor, Int, Double, IntList, TensorList, Other };  // Other: strings, devices, ...
  Kind kind = Kind::None;
  std::string name;  ///< Tensor; a dynamic Int (a 1-D int64 tensor of one element)
  bool is_const = false;
  int64_t i = 0;           ///< a constant Int
  double d = 0;            ///< a constant Double
  std::vector<Sym> items;  ///< IntList / TensorList
  bool is_batch = false;   ///< a dynamic Int that is dim 0 of some tensor (the batch size)

  static Sym tensor(std::string n) { return {Kind::Tensor, std::move(n)}; }
  static Sym int_const(int64_t v) {
    Sym s{Kind::Int};
    s.is_const = true;
    s.i = v;
    return s;
  }
};

/// A batch_norm folded into the convolution before it: y = conv(x, w * scale) + bias * scale + shift
/// (nncf/passes/batchnorm_folding.h).
struct BatchNormFold : passes::BatchNormAffine {
  const ir::Node* bn = nullptr;
};

/// The state a converter works in: the node, its arguments as Syms, the builder.
class Context {
 public:
  virtual ~Context() = default;
  OnnxBuilder& b;
  const ir::Node& node;
  Context(OnnxBuilder& builder, const ir::Node& n) : b(builder), node(n) {}

  /// The Sym of argument `i` (pre-op hooks applied).
  virtual Sym arg(size_t i) = 0;
  /// The value of a Parameter/Buffer argument with its weight hooks evaluated, or nullopt.
  virtual std::optional<at::Tensor> tensor_value(const ir::Value* v) = 0;
  /// For a conv: the batch_norm folded into it; for a batch_norm: the fold it is part of; else nullptr.
  virtual const BatchNormFold* fold() = 0;
  /// The ONNX name of weight argument `i` scaled by fold()->scale (weight hooks written after it).
  virtual std::string folded_weight(size_t i) = 0;
  /// Sets output `k` of the node.
  virtual void set_output(size_t k, Sym s) = 0;
  /// The ONNX name of tensor output `k`, once set.
  virtual std::string output_name(size_t k) = 0;

  size_t num_args() const { return node.inputs().size(); }
  bool is_none(size_t i);
  std::string tensor(size_t i);
  int64_t to_int(size_t i);
  double to_double(size_t i);
  bool to_bool(size_t i);
  std::string to_str(size_t i);
  /// A constant int list (fails if an element is dynamic).
  std::vector<int64_t> ints(size_t i);
  /// An int list as a 1-D int64 tensor (Concat of its parts when some are dynamic).
  std::string int_list_tensor(const std::vector<Sym>& items, std::string_view hint);
  /// An Int as a 1-element int64 tensor.
  std::string int_tensor(const Sym& s, std::string_view hint);
  /// A tensor operand of an elementwise op: a tensor value, or a constant number (float).
  std::string operand(size_t i);
  /// The rank of a tensor; fails naming the node when it is unknown.
  int64_t rank(const std::string& name);
  /// Output name hint: the node's scope, with ":k" for k > 0.
  std::string hint(size_t k = 0) const;
  /// A name for an intermediate value of this node.
  std::string tmp(std::string_view what) const;
  /// Sets output 0 to a single new node.
  void emit(const std::string& op_type, const std::vector<std::string>& inputs,
            const std::vector<OnnxAttribute>& attributes = {});

  [[noreturn]] void fail(const std::string& why) const;
};

using Converter = std::function<void(Context&)>;

/// Adds the converters of onnx_shape_ops.cpp (pooling, shapes, lists) to `table`.
void add_shape_converters(std::unordered_map<std::string, Converter>& table);
/// Adds the converters of onnx_more_ops.cpp (transposed convs, embedding, group/instance norm,
/// resizing, padding, adaptive max pooling) to `table`.
void add_more_converters(std::unordered_map<std::string, Converter>& table);

/// Adds the converters of onnx_index_ops.cpp (aten::index, roll) to `table`.
void add_index_converters(std::unordered_map<std::string, Converter>& table);

/// Note [Constant folding]: a node whose arguments are all known at export (constants, parameters
/// and buffers with no inserted module, values folded before) is evaluated with the operator the
/// runtime calls, and its results become initializers where a converted node reads them. It is
/// folded when there is no converter for it, when it reads a folded value, or when it writes into
/// one in place (Swin's attention mask: slices of `x.new_zeros(...)` filled in place, compared,
/// masked_fill'ed). Aliasing is kept: a view and its base are the same storage, and a tensor read
/// after an in-place write gets a new initializer. Parameters and buffers are read through clones, so
/// export never changes the model.
class ConstantFolder {
 public:
  /// A known argument of a node: a graph input's IValue (a parameter/buffer tensor, `training`
  /// false), or nullopt when it is data or has an inserted module.
  using KnownInput = std::function<std::optional<c10::IValue>(const ir::Value*)>;

  /// Evaluates `node` if it can and should be folded (see the Note); true when it was.
  bool fold(const ir::Node& node, bool has_converter, const KnownInput& known);
  bool is_folded(const ir::Value* v) const { return values_.count(v) != 0; }
  /// `to` is the same value as the folded `from` (prim::ModeSelect).
  void alias(const ir::Value* to, const ir::Value* from) { values_[to] = values_.at(from); }
  /// The Sym of a folded value: tensors as initializers (written again after an in-place change).
  Sym sym(const ir::Value* v, OnnxBuilder& b);

 private:
  std::optional<c10::IValue> input(const ir::Value* v, const KnownInput& known);
  std::map<const ir::Value*, c10::IValue> values_;
  std::map<const ir::Value*, std::pair<int64_t, std::string>> written_;  // version, initializer
  std::map<const ir::Value*, at::Tensor> clones_;                        // of parameters and buffers
};

/// The converter for an op ("aten::conv2d"; in-place "aten::relu_" maps like "aten::relu"; an
/// overload-specific entry "aten::add.int" wins over "aten::add"), or nullptr.
const Converter* find_converter(const ir::Node& node);

/// A per-dimension list normalized to `n` entries (stride {2} of a 2-D conv means {2, 2}); fails
/// naming `what` otherwise.
std::vector<int64_t> expand_to(Context& c, std::vector<int64_t> v, size_t n, const char* what);
/// ONNX `pads` (begins then ends) from PyTorch's symmetric padding.
std::vector<int64_t> symmetric_pads(const std::vector<int64_t>& p);

}  // namespace nncf::exporting::detail
