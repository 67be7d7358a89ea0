#include "nncf/passes/batchnorm_folding.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "nncf/ir/metatype.h"

namespace nncf::passes {
namespace {

using ir::Arg;
using ir::InputRole;
using ir::Node;
using ir::RunsIn;

// A tensor of the model: a Parameter or Buffer input, whose value is known at export.
bool is_model_tensor(const Arg& a) {
  return a.is_value() && a.value()->is_graph_input() && a.value()->role() != InputRole::Data &&
         a.value()->role() != InputRole::Training;
}

bool is_none_or_model_tensor(const Arg& a) {
  return a.is_constant() ? a.constant().is_none() : is_model_tensor(a);
}

// `training` is false in eval mode: the constant false or the model's training flag.
bool is_false_in_eval(const Arg& a) {
  return a.is_constant() ? !a.constant().to_bool() : a.value()->role() == InputRole::Training;
}

}  // namespace

std::vector<FoldableBatchNorm> BatchNormFolding::run(const ir::Graph& graph) const {
  std::vector<FoldableBatchNorm> out;
  for (const Node* bn : graph.nodes()) {
    if (bn->op() != "aten::batch_norm" || bn->runs_in() == RunsIn::Training) continue;
    const Arg& x = bn->input(0);
    if (!x.is_value() || x.value()->is_graph_input()) continue;
    const Node* layer = x.value()->producer();
    const ir::Metatype m = layer->metatype();
    if (!(m == ir::Metatype::Conv || (into_linear_ && m == ir::Metatype::Linear))) continue;
    if (layer->runs_in() == RunsIn::Training) continue;
    if (!is_model_tensor(layer->input(1)) || !is_none_or_model_tensor(layer->input(2))) continue;
    bool tensors = is_model_tensor(bn->input(3)) && is_model_tensor(bn->input(4));
    for (size_t i = 1; i <= 2; ++i) tensors = tensors && is_none_or_model_tensor(bn->input(i));
    if (!tensors || !bn->input(7).is_constant() || !is_false_in_eval(bn->input(5))) continue;
    // A training-only reader does not run when the folded model does.
    const auto& uses = x.value()->uses();
    const auto eval_uses = std::count_if(
        uses.begin(), uses.end(), [](const ir::Use& u) { return u.user->runs_in() != RunsIn::Training; });
    if (eval_uses != 1 || std::count(graph.outputs().begin(), graph.outputs().end(), x.value())) continue;
    out.push_back({layer, bn});
  }
  return out;
}

BatchNormAffine BatchNormFolding::affine(const at::Tensor& mean, const at::Tensor& var,
                                         const std::optional<at::Tensor>& gamma,
                                         const std::optional<at::Tensor>& beta, double eps) {
  const at::Tensor m = mean.to(at::kDouble);
  const at::Tensor g = gamma ? gamma->to(at::kDouble) : at::ones_like(m);
  const at::Tensor b = beta ? beta->to(at::kDouble) : at::zeros_like(m);
  BatchNormAffine a;
  a.scale = g / at::sqrt(var.to(at::kDouble) + eps);
  a.shift = b - m * a.scale;
  return a;
}

at::Tensor BatchNormAffine::fold_weight(const at::Tensor& weight) const {
  std::vector<int64_t> shape(static_cast<size_t>(weight.dim()), 1);
  shape[0] = -1;
  return (weight.to(at::kDouble) * scale.reshape(shape)).to(weight.scalar_type());
}

at::Tensor BatchNormAffine::fold_bias(const std::optional<at::Tensor>& bias) const {
  return bias ? bias->to(at::kDouble) * scale + shift : shift.clone();
}

}  // namespace nncf::passes
