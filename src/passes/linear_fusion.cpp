#include "nncf/passes/linear_fusion.h"

#include <algorithm>

namespace nncf::passes {

namespace {

using ir::Arg;
using ir::Constant;
using ir::Node;
using ir::Value;

bool is_parameter(const Arg& a) {
  return a.is_value() && a.value()->is_graph_input() && a.value()->role() == ir::InputRole::Parameter;
}

bool is_one(const Arg& a) {
  if (!a.is_constant()) return false;
  const Constant& c = a.constant();
  return (c.kind() == Constant::Kind::Int && c.to_int() == 1) ||
         (c.kind() == Constant::Kind::Double && c.to_double() == 1.0);
}

bool is_graph_output(const ir::Graph& graph, const Value* v) {
  return std::find(graph.outputs().begin(), graph.outputs().end(), v) != graph.outputs().end();
}

// The weight `%w` if `a` is `aten::t(%w)` of a Parameter input, else nullptr.
Value* transposed_parameter(const Arg& a) {
  if (!a.is_value() || a.value()->producer() == nullptr) return nullptr;
  const Node* t = a.value()->producer();
  if (t->op() != "aten::t" || t->inputs().size() != 1 || !is_parameter(t->input(0))) return nullptr;
  return t->input(0).value();
}

// Replaces `old` (one output) by `aten::linear(args)`, keeping its output name and scope.
void replace_with_linear(ir::Graph& graph, Node* old, std::vector<Arg> args) {
  Value* out = old->output();
  Node* linear =
      graph.create_node("aten::linear", std::move(args), {out->type()}, old->scope(), old, {out->name()});
  linear->set_runs_in(old->runs_in());  // the node it replaces is the one that decides the mode
  linear->set_module(old->module());
  out->replace_all_uses_with(linear->output());
  graph.erase_node(old);
}

void erase_if_unused(ir::Graph& graph, Node* n) {
  for (const Value* out : n->outputs()) {
    if (!out->uses().empty() || is_graph_output(graph, out)) return;
  }
  graph.erase_node(n);
}

// t + addmm / matmul / mm -> linear.
bool fuse_transposed_matmul(ir::Graph& graph, Node* n) {
  bool addmm = n->op() == "aten::addmm" && n->inputs().size() == 5;
  bool matmul = (n->op() == "aten::matmul" || n->op() == "aten::mm") && n->inputs().size() == 2;
  if ((!addmm && !matmul) || n->outputs().size() != 1) return false;
  const Arg& weight_arg = n->input(addmm ? 2 : 1);
  Value* w = transposed_parameter(weight_arg);
  if (w == nullptr || !n->input(addmm ? 1 : 0).is_value()) return false;
  if (addmm && (!is_one(n->input(3)) || !is_one(n->input(4)))) return false;
  Node* t = weight_arg.value()->producer();
  Arg x = n->input(addmm ? 1 : 0);
  Arg bias = addmm ? n->input(0) : Arg(Constant::none());
  replace_with_linear(graph, n, {x, w, bias});
  erase_if_unused(graph, t);
  return true;
}

// linear(x, w, None) + add(y, b, 1) -> linear(x, w, b).
bool fuse_bias_add(ir::Graph& graph, Node* add) {
  if (add->op() != "aten::add" || (add->overload() != "Tensor" && !add->overload().empty()) ||
      add->inputs().size() != 3 || add->outputs().size() != 1 || !is_one(add->input(2))) {
    return false;
  }
  for (size_t side = 0; side < 2; ++side) {
    const Arg& y = add->input(side);
    const Arg& b = add->input(1 - side);
    if (!y.is_value() || y.value()->producer() == nullptr || !is_parameter(b)) continue;
    Node* linear = y.value()->producer();
    if (linear->op() != "aten::linear" || linear->inputs().size() != 3 || !linear->input(2).is_constant() ||
        !linear->input(2).constant().is_none() || y.value()->uses().size() != 1 ||
        is_graph_output(graph, y.value())) {
      continue;
    }
    Arg x = linear->input(0), w = linear->input(1), bias = b;
    replace_with_linear(graph, add, {x, w, bias});
    graph.erase_node(linear);
    return true;
  }
  return false;
}

std::vector<Node*> snapshot(const ir::Graph& graph) {
  std::vector<Node*> nodes;
  for (Node* n : graph.nodes()) nodes.push_back(n);
  return nodes;
}

}  // namespace

bool LinearFusion::run(ir::Graph& graph) {
  bool changed = false;
  // Two sweeps: the bias form must see the linears that the first sweep creates.
  // Each rewrite erases only the node it visits and nodes before it, so a snapshot stays valid.
  for (Node* n : snapshot(graph)) changed |= fuse_transposed_matmul(graph, n);
  for (Node* n : snapshot(graph)) changed |= fuse_bias_add(graph, n);
  return changed;
}

}  // namespace nncf::passes
