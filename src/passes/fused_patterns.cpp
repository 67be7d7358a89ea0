#include "nncf/passes/fused_patterns.h"

#include <algorithm>
#include <unordered_set>

#include "nncf/ir/metatype.h"
#include "nncf/passes/find_activations.h"

namespace nncf::passes {
namespace {

using ir::Metatype;
using ir::Node;
using ir::Value;

bool is_linear(Metatype m) {
  return m == Metatype::Conv || m == Metatype::ConvTranspose || m == Metatype::Linear ||
         m == Metatype::MatMul;
}

bool is_arithmetic(Metatype m) {
  return m == Metatype::Add || m == Metatype::Sub || m == Metatype::Mul || m == Metatype::Div;
}

// NNCF's ACT set (its fused_patterns.py, nncf-reference.md §4) has PReLU and has no tanh.
bool is_activation_op(Metatype m) {
  return (ir::is_elementwise_activation(m) && m != Metatype::Tanh) || m == Metatype::PReLU;
}

class Matcher {
 public:
  explicit Matcher(const ir::Graph& graph) : graph_(graph), data_(FindActivations().run(graph)) {}

  bool is_activation(const Value* v) const { return v->is_tensor() && data_.count(v); }

  // The single data consumer of `n`'s only output, if it has exactly one that runs when n runs.
  const Node* sole_consumer(const Node* n) const {
    if (n->outputs().size() != 1) return nullptr;
    const Value* v = n->output();
    if (std::find(graph_.outputs().begin(), graph_.outputs().end(), v) != graph_.outputs().end())
      return nullptr;
    const Node* only = nullptr;
    for (const ir::Use& u : v->uses()) {
      if (u.user->metatype() == Metatype::Size) continue;
      if (only != nullptr && only != u.user) return nullptr;
      only = u.user;
    }
    if (only != nullptr && only->runs_in() != n->runs_in()) return nullptr;
    return only;
  }

  // An arithmetic op whose operands other than `from` are not activations (a bias or a scale).
  bool is_affine_arithmetic(const Node* n, const Node* from) const {
    if (!is_arithmetic(n->metatype())) return false;
    return std::none_of(n->inputs().begin(), n->inputs().end(), [&](const ir::Arg& a) {
      return a.is_value() && a.value()->producer() != from && is_activation(a.value());
    });
  }

  bool two_activation_operands(const Node* n) const {
    int count = 0;
    for (const ir::Arg& a : n->inputs()) count += a.is_value() && is_activation(a.value());
    return count >= 2;
  }

  // Extends a pattern with an optional BN then an optional ACT, or an ACT then an optional BN.
  void extend_bn_act(std::vector<const Node*>& nodes) const {
    const Node* next = sole_consumer(nodes.back());
    if (next == nullptr) return;
    const bool bn_first = next->metatype() == Metatype::BatchNorm;
    if (!bn_first && !is_activation_op(next->metatype())) return;
    nodes.push_back(next);
    const Node* second = sole_consumer(next);
    if (second == nullptr) return;
    if (bn_first ? is_activation_op(second->metatype()) : second->metatype() == Metatype::BatchNorm)
      nodes.push_back(second);
  }

 private:
  const ir::Graph& graph_;
  std::unordered_set<const Value*> data_;
};

}  // namespace

std::vector<FusedPattern> FusedPatterns::run(const ir::Graph& graph) const {
  const Matcher match(graph);
  std::unordered_set<const Node*> taken;
  std::vector<FusedPattern> patterns;
  for (const Node* n : graph.nodes()) {
    if (taken.count(n) || n->outputs().size() != 1 || !match.is_activation(n->output())) continue;
    std::vector<const Node*> nodes{n};
    const Metatype m = n->metatype();
    if (is_linear(m)) {
      const Node* next = match.sole_consumer(n);
      if (next != nullptr && match.is_affine_arithmetic(next, n)) nodes.push_back(next);
      match.extend_bn_act(nodes);
    } else if (m == Metatype::BatchNorm || (is_arithmetic(m) && match.two_activation_operands(n)) ||
               (is_activation_op(m) && heads_pattern_ && heads_pattern_(*n))) {
      match.extend_bn_act(nodes);
    }
    if (nodes.size() < 2) continue;
    taken.insert(nodes.begin(), nodes.end());
    patterns.push_back({std::move(nodes)});
  }
  return patterns;
}

}  // namespace nncf::passes
