#include "nncf/passes/find_activations.h"

#include <algorithm>

namespace nncf::passes {

std::unordered_set<const ir::Value*> FindActivations::run(const ir::Graph& graph) const {
  std::unordered_set<const ir::Value*> data;
  for (const ir::Value* v : graph.inputs()) {
    if (v->role() == ir::InputRole::Data && v->is_tensor()) data.insert(v);
  }
  // Nodes are in topological order, so one pass sees every producer before its users.
  for (const ir::Node* n : graph.nodes()) {
    if (n->metatype() == ir::Metatype::Size) continue;
    const bool from_data = std::any_of(n->inputs().begin(), n->inputs().end(), [&](const ir::Arg& a) {
      return a.is_value() && data.count(a.value());
    });
    if (!from_data) continue;
    for (const ir::Value* out : n->outputs()) {
      if (out->is_tensor() || out->type() == "Tensor[]") data.insert(out);
    }
  }
  return data;
}

}  // namespace nncf::passes
