#pragma once

#include "nncf/passes/pass.h"

namespace nncf::passes {

/// Gives every node a stable, readable, unique scope, overwriting any it had.
///
/// A node that takes a Parameter or Buffer input *owns* it; its scope is that input's module
/// path (the name minus its last dotted component: `layer1.0.conv1.weight` -> `layer1.0.conv1`),
/// taken from its first Parameter argument, else its first Buffer argument. A second node of the
/// same module (a shared weight) gets `fc#1`, `fc#2`, ...
///
/// Every node also has a *block*: for an owning node the parent of its module path
/// (`layer1.0.conv1` -> `layer1.0`); for any other node the block of its argument produced last,
/// or of an argument from a non-top-level block enclosing that one (Note [Block of an op without
/// parameters] in the source): a residual add stays in its block whether the identity comes from
/// before the block or through a downsample. Graph inputs contribute nothing; a node with no
/// produced arguments sits at the top level. Such a node is scoped
/// `<block>/<kind>_<k>` (`<kind>_<k>` at the
/// top level), `kind` being the op name without namespace, overload and trailing '_'
/// (`aten::relu_` -> `relu`) and `k` counting earlier nodes of the same block and kind. An owning
/// node of a top-level parameter (empty module path) is named like a non-owning one.
///
/// The result depends only on the graph, so the same graph always gets the same scopes.
class AssignScopes : public Pass {
 public:
  const char* name() const override { return "AssignScopes"; }
  /// Returns whether any scope changed.
  bool run(ir::Graph& graph) override;
};

}  // namespace nncf::passes
