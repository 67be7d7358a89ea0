#include "nncf/passes/assign_scopes.h"

#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace nncf::passes {

namespace {

using ir::InputRole;
using ir::Node;

// "layer1.0.conv1.weight" -> "layer1.0.conv1"; "weight" -> "".
std::string parent_path(const std::string& path) {
  size_t dot = path.rfind('.');
  return dot == std::string::npos ? std::string() : path.substr(0, dot);
}

// Longest common prefix of two dotted paths, by whole components.
std::string common_prefix(const std::string& a, const std::string& b) {
  size_t end = 0;  // end of the last whole component the two paths share
  for (size_t i = 0;; ++i) {
    bool a_done = i == a.size(), b_done = i == b.size();
    if (a_done || b_done) {
      if ((a_done || a[i] == '.') && (b_done || b[i] == '.')) end = i;
      break;
    }
    if (a[i] != b[i]) break;
    if (a[i] == '.') end = i;
  }
  return a.substr(0, end);
}

// "aten::relu_" -> "relu", "aten::add" (overload already split off) -> "add", "prim::ListConstruct".
std::string kind_of(const Node* n) {
  std::string kind = n->op().substr(n->op().rfind(':') + 1);
  if (kind.size() > 1 && kind.back() == '_' && kind[kind.size() - 2] != '_') kind.pop_back();
  return kind;
}

// The module path of the first Parameter argument, else of the first Buffer argument.
std::optional<std::string> owned_module(const Node* n) {
  for (InputRole role : {InputRole::Parameter, InputRole::Buffer}) {
    for (const ir::Arg& a : n->inputs()) {
      if (a.is_value() && a.value()->is_graph_input() && a.value()->role() == role) {
        return parent_path(a.value()->name());
      }
    }
  }
  return std::nullopt;
}

}  // namespace

bool AssignScopes::run(ir::Graph& graph) {
  std::unordered_map<const Node*, std::string> block_of;
  std::map<std::pair<std::string, std::string>, size_t> kind_count;  // (block, kind) -> nodes so far
  std::unordered_set<std::string> taken;
  bool changed = false;
  for (Node* n : graph.nodes()) {
    std::optional<std::string> module = owned_module(n);
    std::string block;
    if (module) {
      block = parent_path(*module);
    } else {
      // Parameters, buffers and the training flag say nothing about where data flows from.
      std::optional<std::string> common;
      for (const ir::Arg& a : n->inputs()) {
        if (!a.is_value()) continue;
        const ir::Value* v = a.value();
        if (v->is_graph_input() && v->role() != InputRole::Data) continue;
        auto it = block_of.find(v->producer());  // data inputs (and values verify() rejects) sit at ""
        std::string b = it == block_of.end() ? std::string() : it->second;
        common = common ? common_prefix(*common, b) : b;
      }
      block = common.value_or("");
    }
    block_of[n] = block;
    std::string scope;
    if (module && !module->empty()) {
      scope = *module;
    } else {
      size_t k = kind_count[{block, kind_of(n)}]++;
      scope = (block.empty() ? "" : block + "/") + kind_of(n) + "_" + std::to_string(k);
    }
    // A module used twice (a shared weight), or a module named like a generated scope.
    if (!taken.insert(scope).second) {
      for (size_t i = 1;; ++i) {
        std::string candidate = scope + "#" + std::to_string(i);
        if (taken.insert(candidate).second) {
          scope = candidate;
          break;
        }
      }
    }
    if (n->scope() != scope) {
      n->set_scope(scope);
      changed = true;
    }
  }
  return changed;
}

}  // namespace nncf::passes
