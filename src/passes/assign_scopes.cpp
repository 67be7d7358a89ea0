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

// Whether dotted path `outer` encloses `inner` by whole components ("a.b" encloses "a.b.c").
bool is_enclosing(const std::string& outer, const std::string& inner) {
  return inner.size() > outer.size() && inner.compare(0, outer.size(), outer) == 0 && inner[outer.size()] == '.';
}

// "aten::relu_" -> "relu", "aten::add" (overload already split off) -> "add", "prim::ListConstruct".
std::string kind_of(const Node* n) {
  std::string kind = n->op().substr(n->op().rfind(':') + 1);
  if (kind.size() > 1 && kind.back() == '_' && kind[kind.size() - 2] != '_') kind.pop_back();
  return kind;
}

// The module path of the first Parameter argument, else of the first Buffer argument.
// `updates` tells an in-place op on a buffer (BatchNorm's num_batches_tracked counter): it is an
// op *inside* that module, not the module's own op, which keeps the module's name for the op
// that computes its output.
std::optional<std::string> owned_module(const Node* n, bool* updates) {
  *updates = false;
  for (InputRole role : {InputRole::Parameter, InputRole::Buffer}) {
    for (const ir::Arg& a : n->inputs()) {
      // Tensors the forward held outside its modules (capture names them `nncf_constants.<k>`)
      // belong to no module.
      if (a.is_value() && a.value()->is_graph_input() && a.value()->role() == role &&
          a.value()->name().rfind("nncf_constants.", 0) != 0) {
        *updates = role == InputRole::Buffer && n->op().back() == '_';
        return parent_path(a.value()->name());
      }
    }
  }
  return std::nullopt;
}

}  // namespace

bool AssignScopes::run(ir::Graph& graph) {
  std::unordered_map<const Node*, std::string> block_of;
  std::unordered_map<const Node*, size_t> order;  // 1-based position of each node seen so far
  std::map<std::pair<std::string, std::string>, size_t> kind_count;  // (block, kind) -> nodes so far
  std::unordered_set<std::string> taken;
  bool changed = false;
  for (Node* n : graph.nodes()) {
    bool updates_buffer = false;
    std::optional<std::string> module = owned_module(n, &updates_buffer);
    std::string block;
    if (updates_buffer) {
      block = *module;
      module.reset();
    } else if (module) {
      block = parent_path(*module);
    } else {
      // Note [Block of an op without parameters]: LibTorch records no module hierarchy, so the
      // block is inferred from data flow. It is the block of the argument produced last -- a
      // residual add whose identity comes from before the block stays in the block -- unless
      // another argument comes from an enclosing non-top-level block: then that one (the add
      // after `layer1.0.downsample` belongs to `layer1.0`, not to the downsample). Ops after the
      // last module of the model (pooling, flatten) are attributed to that module's block.
      // Parameters, buffers, the training flag and data inputs say nothing about the block.
      size_t latest = 0;
      std::vector<const std::string*> blocks;
      for (const ir::Arg& a : n->inputs()) {
        if (!a.is_value() || a.value()->is_graph_input()) continue;
        auto it = order.find(a.value()->producer());
        if (it == order.end()) continue;
        blocks.push_back(&block_of[it->first]);
        if (it->second >= latest) {
          latest = it->second;
          block = *blocks.back();
        }
      }
      for (const std::string* b : blocks) {
        if (!b->empty() && b->size() < block.size() && is_enclosing(*b, block)) block = *b;
      }
    }
    const size_t position = order.size() + 1;
    order[n] = position;
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
