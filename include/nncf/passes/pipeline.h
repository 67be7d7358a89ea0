#pragma once

// The ordered pass lists of nncf-cpp. Each list lives here, once, with its ordering constraints.

#include "nncf/ir/graph.h"

namespace nncf::passes {

/// Brings a freshly captured graph to canonical form: specific convolution ops, `aten::linear`
/// for linear layers, and readable unique scopes on every node.
void canonicalize_captured(ir::Graph& graph);

}  // namespace nncf::passes
