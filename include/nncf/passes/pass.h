#pragma once

// The interface every IR pass implements.

#include "nncf/ir/graph.h"

namespace nncf::passes {

/// One analysis or rewrite over an `ir::Graph`. A pass that finds nothing to do returns false; it
/// never throws for "no match" (exceptions are for malformed graphs).
class Pass {
 public:
  virtual ~Pass() = default;
  /// A stable name for logs and error messages, e.g. "LinearFusion".
  virtual const char* name() const = 0;
  /// Runs the pass on `graph`; returns whether it changed anything.
  virtual bool run(ir::Graph& graph) = 0;
};

}  // namespace nncf::passes
