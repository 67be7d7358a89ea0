#include "nncf/passes/pipeline.h"

#include "nncf/passes/assign_scopes.h"
#include "nncf/passes/canonicalize_convolution.h"
#include "nncf/passes/linear_fusion.h"

namespace nncf::passes {

void canonicalize_captured(ir::Graph& graph) {
  // Convolutions first: every later pass and analysis matches only the specific conv ops.
  CanonicalizeConvolution().run(graph);
  // Independent of the convolution rewrite; it only has to precede scoping.
  LinearFusion().run(graph);
  // Scopes last, because the rewrites above replace nodes (and the scopes must be unique over the
  // final node set).
  AssignScopes().run(graph);
}

}  // namespace nncf::passes
