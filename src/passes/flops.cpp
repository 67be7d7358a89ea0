#include "nncf/passes/flops.h"

#include <unordered_set>

namespace nncf::passes {
namespace {

using ir::Metatype;
using Sizes = std::vector<int64_t>;

int64_t product(const Sizes& s, size_t from = 0, size_t to = SIZE_MAX) {
  int64_t n = 1;
  for (size_t i = from; i < s.size() && i < to; ++i) n *= s[i];
  return n;
}

// The sizes of tensor argument `i`, or nullptr when unknown or not a tensor.
const Sizes* tensor_arg(const ir::Node& node, const ShapeInferenceResult& shapes, size_t i) {
  if (i >= node.inputs().size() || !node.input(i).is_value()) return nullptr;
  const ValueInfo& info = shapes.at(node.input(i).value());
  return info.sizes ? &*info.sizes : nullptr;
}

// An int-list argument given as a constant or a known value (pooling kernel sizes).
std::optional<Sizes> int_list_arg(const ir::Node& node, const ShapeInferenceResult& shapes, size_t i) {
  if (i >= node.inputs().size()) return std::nullopt;
  const ir::Arg& a = node.input(i);
  if (a.is_constant()) {
    if (a.constant().kind() == ir::Constant::Kind::IntList) return a.constant().to_int_list();
    if (a.constant().kind() == ir::Constant::Kind::Int) return Sizes{a.constant().to_int()};
    return std::nullopt;
  }
  const ValueInfo& info = shapes.at(a.value());
  if (info.value.isIntList()) return info.value.toIntVector();
  if (info.value.isInt()) return Sizes{info.value.toInt()};
  return std::nullopt;
}

// aten::convolution / aten::_convolution say in argument 6 whether they are transposed.
bool is_transposed(const ir::Node& node) {
  if (node.metatype() == Metatype::ConvTranspose) return true;
  if (node.op() != "aten::convolution" && node.op() != "aten::_convolution") return false;
  return node.inputs().size() > 6 && node.input(6).is_constant() &&
         node.input(6).constant().kind() == ir::Constant::Kind::Bool && node.input(6).constant().to_bool();
}

// The ops that cost one FLOP per output element. PReLU and Softmax count like the elementwise
// activations (flops.h: "activations").
bool is_elementwise(Metatype m) {
  return ir::is_elementwise_activation(m) || m == Metatype::PReLU || m == Metatype::Softmax ||
         m == Metatype::Add || m == Metatype::Sub || m == Metatype::Mul || m == Metatype::Div;
}

// The FLOPs of `node` by the rules of flops.h; nullopt where a rule applies but a shape it needs
// is unknown.
std::optional<int64_t> flops_of(const ir::Node& node, const ShapeInferenceResult& shapes) {
  const Metatype m = node.metatype();
  const ValueInfo* out_info = node.outputs().empty() ? nullptr : &shapes.at(node.output());
  const Sizes* out = out_info && out_info->sizes ? &*out_info->sizes : nullptr;
  const Sizes* in = tensor_arg(node, shapes, 0);
  switch (m) {
    case Metatype::Conv:
    case Metatype::ConvTranspose: {
      const Sizes* weight = tensor_arg(node, shapes, 1);
      if (!weight || !in || !out || out->size() < 2) return std::nullopt;
      // Per input element for a transposed conv, per output element for a conv (flops.h).
      const Sizes& spatial = is_transposed(node) ? *in : *out;
      return 2 * product(*weight) * spatial[0] * product(spatial, 2);
    }
    case Metatype::Linear: {
      const Sizes* weight = tensor_arg(node, shapes, 1);
      if (!weight || !out || out->empty()) return std::nullopt;
      return 2 * product(*weight) * product(*out, 0, out->size() - 1);
    }
    case Metatype::MatMul: {
      // addmm / baddbmm take the bias first.
      const bool bias_first = node.op() == "aten::addmm" || node.op() == "aten::baddbmm";
      const Sizes* a = tensor_arg(node, shapes, bias_first ? 1 : 0);
      if (!a || a->empty() || !out) return std::nullopt;
      return 2 * product(*out) * a->back();
    }
    case Metatype::BatchNorm:
    case Metatype::GroupNorm:
    case Metatype::LayerNorm:
    case Metatype::InstanceNorm:
      if (!out) return std::nullopt;
      return 2 * product(*out);
    case Metatype::MaxPool:
    case Metatype::AvgPool: {
      std::optional<Sizes> kernel = int_list_arg(node, shapes, 1);
      if (!out || !kernel) return std::nullopt;
      return product(*out) * product(*kernel);
    }
    case Metatype::AdaptiveAvgPool:
    case Metatype::AdaptiveMaxPool:
    case Metatype::Mean:
    case Metatype::Sum:
      if (!in) return std::nullopt;
      return product(*in);
    default:
      if (!is_elementwise(m)) return 0;
      if (!out) return std::nullopt;
      return product(*out);
  }
}

bool is_weight_op(Metatype m) {
  return m == Metatype::Conv || m == Metatype::ConvTranspose || m == Metatype::Linear ||
         m == Metatype::MatMul;
}

}  // namespace

GraphCost CountFlops::run(const ir::Graph& graph, const ShapeInferenceResult& shapes) const {
  GraphCost cost;
  std::unordered_set<const ir::Value*> counted;  // parameters, each once in the total
  const ir::RunsIn other = shapes.training ? ir::RunsIn::Eval : ir::RunsIn::Training;
  for (const ir::Node* node : graph.nodes()) {
    if (node->runs_in() == other) continue;
    NodeCost& c = cost.nodes[node];
    for (const ir::Arg& a : node->inputs()) {
      if (!a.is_value() || a.value()->role() != ir::InputRole::Parameter) continue;
      const ValueInfo& info = shapes.at(a.value());
      if (!info.sizes) continue;  // no shape given: reported by shape inference
      c.params += info.numel();
      if (counted.insert(a.value()).second) cost.params += info.numel();
    }
    std::optional<int64_t> flops = flops_of(*node, shapes);
    if (!flops) {
      cost.unknown.push_back(node);
      continue;
    }
    c.flops = *flops;
    cost.flops += c.flops;
    if (is_weight_op(node->metatype())) cost.weight_flops += c.flops;
  }
  return cost;
}

}  // namespace nncf::passes
