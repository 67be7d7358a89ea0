#include "nncf/algorithms/pruning/importance.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>

namespace nncf::pruning {

at::Tensor filter_importance(const at::Tensor& weight, int64_t dim, FilterImportance kind) {
  TORCH_CHECK(weight.dim() >= 1 && dim >= 0 && dim < weight.dim(), "nncf: filter_importance: dim ", dim,
              " of a weight of shape ", weight.sizes());
  const at::Tensor rows = weight.detach().to(at::kDouble).movedim(dim, 0).reshape({weight.size(dim), -1});
  switch (kind) {
    case FilterImportance::L1:
      return rows.abs().sum(1);
    case FilterImportance::L2:
      return rows.pow(2).sum(1).sqrt();
    case FilterImportance::GeometricMedian:
      return at::cdist(rows.unsqueeze(0), rows.unsqueeze(0)).squeeze(0).sum(1);
  }
  TORCH_CHECK(false, "nncf: filter_importance: unknown kind");
}

int64_t pruned_count(int64_t channels, double level, int64_t multiple) {
  if (channels <= 1 || level <= 0) return 0;
  multiple = std::max<int64_t>(multiple, 1);
  const double kept = static_cast<double>(channels) * (1.0 - level);
  // 1e-9: a level that is an exact fraction (0.5 of 64) must not round up on float noise.
  int64_t remaining = static_cast<int64_t>(std::ceil(kept / static_cast<double>(multiple) - 1e-9)) * multiple;
  remaining = std::max<int64_t>(remaining, 1);
  return std::clamp<int64_t>(channels - remaining, 0, channels - 1);
}

}  // namespace nncf::pruning
