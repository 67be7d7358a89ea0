#pragma once

// Which graph input is an op's weight: what quantization, sparsity and pruning compress.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nncf/ir/graph.h"

namespace nncf {

/// The Parameter graph input an op uses as its weight -- conv/conv-transpose/linear argument 1,
/// embedding argument 0, the >= 2-D parameter operand of a matmul -- or nullptr. `shapes` (by
/// input name) is needed for matmuls.
const ir::Value* weight_of(const ir::Node& node, const std::map<std::string, std::vector<int64_t>>& shapes);

/// The axis of a weight's output channels: 1 for transposed convolutions, the last for matmul
/// operands, 0 otherwise.
int64_t output_channel_axis(const ir::Node& node, int64_t weight_rank);

}  // namespace nncf
