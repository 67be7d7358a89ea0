#include <c10/util/Exception.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "nncf/ir/printer.h"

namespace nncf::ir {

namespace {

bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// `ns::name` with both parts identifiers, so that the text form can print and parse it back.
bool is_qualified(const Node* n) {
  const std::string& op = n->op();
  size_t sep = op.find("::");
  if (sep == std::string::npos) return false;
  std::string_view ns(op.data(), sep), name(op.data() + sep + 2, op.size() - sep - 2);
  return is_identifier(ns) && is_identifier(name) && (n->overload().empty() || is_identifier(n->overload()));
}

std::string describe(const Node* n) {
  return "node " + std::to_string(n->position()) + " " + n->qualified_op() + " (scope '" + n->scope() + "')";
}

}  // namespace

void verify(const Graph& graph) {
  std::unordered_set<const Value*> defined;  // values visible so far, in execution order
  std::unordered_set<std::string> names;
  std::unordered_set<std::string> scopes;
  // Every (user, index) that refers to a value, as the arguments say; compared to the use lists.
  std::unordered_map<const Value*, std::vector<std::pair<const Node*, size_t>>> refs;

  auto check_value = [&](const Value* v) {
    TORCH_CHECK(!v->name().empty(), "verify: a value has an empty name");
    TORCH_CHECK(!v->type().empty(), "verify: value %", v->name(), " has an empty type");
    TORCH_CHECK(names.insert(v->name()).second, "verify: value name %", v->name(), " is defined twice");
    defined.insert(v);
    refs[v];
  };

  bool has_training = false;
  for (const Value* in : graph.inputs()) {
    check_value(in);
    if (in->role() == InputRole::Training) {
      TORCH_CHECK(!has_training, "verify: more than one training input (second: %", in->name(), ")");
      TORCH_CHECK(in->type() == "bool", "verify: training input %", in->name(), " must be bool, got ",
                  in->type());
      has_training = true;
    }
    if (in->role() == InputRole::Parameter || in->role() == InputRole::Buffer) {
      TORCH_CHECK(in->is_tensor(), "verify: ", to_string(in->role()), " input %", in->name(),
                  " must be a Tensor, got ", in->type());
    }
    TORCH_CHECK(in->shape().empty() || (in->role() == InputRole::Data && in->is_tensor()), "verify: input %",
                in->name(), " has a required shape, which only tensor data inputs can have");
  }

  // A value made in one mode only may be read in that mode, or by the matching argument of a
  // prim::ModeSelect, whose first argument is the training input.
  auto check_mode = [](const Node* n, size_t i, const Value* v) {
    const bool select = n->metatype() == Metatype::ModeSelect;
    if (select && i == 0) {
      TORCH_CHECK(v->is_graph_input() && v->role() == InputRole::Training && n->inputs().size() == 3,
                  "verify: ", describe(n), ": takes (%training, train value, eval value)");
    }
    if (v->is_graph_input() || v->producer()->runs_in() == RunsIn::Always) return;
    const RunsIn made = v->producer()->runs_in();
    const bool ok = n->runs_in() == made || (select && i == (made == RunsIn::Training ? 1u : 2u));
    TORCH_CHECK(ok, "verify: ", describe(n), " (", to_string(n->runs_in()), ") reads %", v->name(),
                ", which only a ", to_string(made), " node makes");
  };
  for (const Node* n : graph.nodes()) {
    TORCH_CHECK(is_qualified(n), "verify: ", describe(n), ": operator name is not qualified as ns::name");
    TORCH_CHECK(!n->scope().empty(), "verify: ", describe(n), ": empty scope");
    TORCH_CHECK(scopes.insert(n->scope()).second, "verify: ", describe(n), ": scope '", n->scope(),
                "' is used by an earlier node");
    for (size_t i = 0; i < n->inputs().size(); ++i) {
      const Arg& a = n->input(i);
      if (!a.is_value()) continue;
      TORCH_CHECK(defined.count(a.value()) != 0, "verify: ", describe(n), ": argument ", i, " %",
                  a.value()->name(), " is not a graph input or an output of an earlier node of this graph");
      refs[a.value()].emplace_back(n, i);
      check_mode(n, i, a.value());
    }
    for (const Value* out : n->outputs()) check_value(out);
  }

  for (auto& [v, expected] : refs) {
    std::vector<std::pair<const Node*, size_t>> actual;
    // A use by a node of another graph shows up here as an entry no argument accounts for.
    for (const Use& u : v->uses()) actual.emplace_back(u.user, u.index);
    std::sort(actual.begin(), actual.end());
    std::sort(expected.begin(), expected.end());
    TORCH_CHECK(actual == expected, "verify: use list of value %", v->name(),
                " does not match the arguments that refer to it (", actual.size(), " uses, ", expected.size(),
                " references)");
  }

  for (size_t i = 0; i < graph.outputs().size(); ++i) {
    const Value* out = graph.outputs()[i];
    TORCH_CHECK(defined.count(out) != 0, "verify: graph output ", i, " %", out->name(),
                " is not a value of this graph");
    TORCH_CHECK(out->is_graph_input() || out->producer()->runs_in() == RunsIn::Always, "verify: graph output ", i,
                " %", out->name(), " is produced by a ", to_string(out->producer()->runs_in()), " node");
  }
}

}  // namespace nncf::ir
