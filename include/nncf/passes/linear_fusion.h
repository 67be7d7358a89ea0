#pragma once

#include "nncf/passes/pass.h"

namespace nncf::passes {

/// Folds the decompositions of a linear layer that tracing records back into `aten::linear`:
///
///   %wt = aten::t(%w); %y = aten::addmm(%b, %x, %wt, 1, 1)    -> %y = aten::linear(%x, %w, %b)
///   %wt = aten::t(%w); %y = aten::matmul(%x, %wt)  (or mm)    -> %y = aten::linear(%x, %w, None)
///   %y = aten::linear(%x, %w, None); %z = aten::add(%y, %b, 1) -> %z = aten::linear(%x, %w, %b)
///
/// `%w` (and `%b` in the last form) must be Parameter inputs of the graph: a transpose of an
/// activation is not a linear layer. In the last form `%y` must have no other use. The `t` node is
/// erased once unused. The result keeps the output name and scope of the node it replaces last.
class LinearFusion : public Pass {
 public:
  const char* name() const override { return "LinearFusion"; }
  bool run(ir::Graph& graph) override;
};

}  // namespace nncf::passes
