#pragma once

// Activations: the values of an `ir::Graph` that carry the model's input data, as opposed to the
// values computed only from parameters, buffers, constants and sizes.

#include <unordered_set>

#include "nncf/ir/graph.h"

namespace nncf::passes {

/// Finds the values computed from a Data input. Stateless.
///
/// The result holds the Data inputs that are tensors, and each tensor or `Tensor[]` output of a
/// node that reads a value of the result, unless the node is of Metatype::Size (`aten::size`,
/// `aten::Int`, ...): sizes do not read the data, so what is computed only from sizes is not an
/// activation. `Tensor[]` values are kept so that the data flows through list construction and
/// unpacking; a caller that wants the activation tensors checks `is_tensor()` too. Nodes of either
/// mode count.
class FindActivations {
 public:
  std::unordered_set<const ir::Value*> run(const ir::Graph& graph) const;
};

}  // namespace nncf::passes
