#pragma once

// Filter importance (NNCF's `nncf/torch/pruning/filter_pruning/functions.py`): one value per slice
// of `weight` along `dim` (its output channels), computed in float64 on the flattened slices.
//   L1                ||F_i||_1
//   L2                ||F_i||_2
//   geometric_median  sum_j ||F_i - F_j||_2  (filters near the others' median are redundant)
// Smaller is less important.

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "nncf/algorithms/pruning/config.h"

namespace nncf::pruning {

at::Tensor filter_importance(const at::Tensor& weight, int64_t dim, FilterImportance kind);

/// The number of filters to remove from `channels` at `level`: the kept count rounded up to a
/// multiple of `multiple` (NNCF's get_rounded_pruned_element_number), at most channels - 1.
int64_t pruned_count(int64_t channels, double level, int64_t multiple);

}  // namespace nncf::pruning
