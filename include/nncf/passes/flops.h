#pragma once

// FLOPs and parameter counts of an `ir::Graph`, per node, from a shape-inference result.
//
// Convention (NNCF's, nncf/common/pruning/weights_flops_calculator.py and the HAWQ compression
// ratio): a multiply-add is 2 FLOPs, biases are not counted, and the count is for the batch the
// shapes were inferred with (NNCF infers at batch 1).
//   conv            2 * numel(weight) * N * prod(output spatial sizes)
//                   (= 2 * prod(k) * C_in * C_out / groups * prod(out spatial) per sample)
//   conv transposed 2 * numel(weight) * N * prod(input spatial sizes)
//   linear          2 * in_features * out_features * prod(output sizes but the last)
//   matmul family   2 * numel(output) * K  (mm, bmm, matmul, addmm, baddbmm; K the contracted size)
// Beyond NNCF, which counts only the ops with weights (`weight_flops` below):
//   normalization   2 * numel(output)  (scale and shift)
//   activations, add/sub/mul/div   numel(output)
//   max/avg pool    numel(output) * prod(kernel size)
//   adaptive pool, mean, sum       numel(input)
// Every other node (data movement, sizes, structural ops) costs 0.

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "nncf/ir/graph.h"
#include "nncf/passes/shape_inference.h"

namespace nncf::passes {

/// The cost of one node.
struct NodeCost {
  int64_t flops = 0;
  /// Elements of the Parameter inputs the node reads directly (weights and biases; not buffers).
  int64_t params = 0;
};

/// The costs of a graph.
struct GraphCost {
  /// Every node that runs in the inferred mode.
  std::unordered_map<const ir::Node*, NodeCost> nodes;
  /// Sum over `nodes`.
  int64_t flops = 0;
  /// Sum over the conv, transposed conv, linear and matmul nodes: NNCF's FLOPs.
  int64_t weight_flops = 0;
  /// Elements of the Parameter inputs read by a node that runs, each parameter once (a shared
  /// weight counts once here, and in every node that reads it).
  int64_t params = 0;
  /// Nodes with a counting rule whose shapes are unknown; they count 0.
  std::vector<const ir::Node*> unknown;
};

/// Counts FLOPs and parameters. Stateless.
class CountFlops {
 public:
  /// `shapes` must come from `ShapeInference().run(graph, ...)`.
  GraphCost run(const ir::Graph& graph, const ShapeInferenceResult& shapes) const;
};

}  // namespace nncf::passes
