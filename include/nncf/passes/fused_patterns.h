#pragma once

// Fused patterns: chains of ops that run as one unit on an inference runtime (a conv with its
// batch norm and activation), so that nothing may be inserted between them.

#include <functional>
#include <vector>

#include "nncf/ir/graph.h"

namespace nncf::passes {

/// One fused pattern: its nodes in graph order, each the sole consumer of the one before.
struct FusedPattern {
  std::vector<const ir::Node*> nodes;  ///< at least two
  /// The node whose output leaves the pattern (the last one).
  const ir::Node* output() const { return nodes.back(); }
};

/// Finds the fused patterns of a graph (NNCF's patterns, nncf-reference.md §4):
///
///   LINEAR [+ ARITHMETIC with a non-activation operand] [+ BN_ACT]
///   BATCH_NORM + ACT
///   ARITHMETIC on two activations + BN_ACT
///   ACT + BATCH_NORM, for an activation that `heads_pattern` accepts
///
/// where LINEAR is a conv, conv-transpose, linear or matmul; ARITHMETIC is add, sub, mul or div;
/// ACT is relu, relu6 (hardtanh), leaky_relu, prelu, elu, gelu, silu, sigmoid, hardsigmoid or
/// hardswish; BN_ACT is BATCH_NORM [+ ACT] or ACT [+ BATCH_NORM]. An *activation* is a tensor
/// computed from a Data input (sizes do not count as reading it; see FindActivations).
///
/// Each next node must be the only consumer (sizes aside) of the one before, whose one output is
/// not a graph output, and must run in the same mode (a batch norm in a training-only branch does
/// not join an always-running conv). Every pattern starts at a node with one activation output;
/// nodes are visited in graph order and a node belongs to at most one pattern, the first found.
class FusedPatterns {
 public:
  using NodePredicate = std::function<bool(const ir::Node&)>;

  /// `heads_pattern`: whether an activation op starts an ACT + BATCH_NORM pattern (quantization
  /// passes "its inputs are quantized"); null = none does.
  explicit FusedPatterns(NodePredicate heads_pattern = nullptr) : heads_pattern_(std::move(heads_pattern)) {}

  /// The patterns of `graph`, in the graph order of their first nodes.
  std::vector<FusedPattern> run(const ir::Graph& graph) const;

 private:
  NodePredicate heads_pattern_;
};

}  // namespace nncf::passes
