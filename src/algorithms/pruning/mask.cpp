#include "nncf/algorithms/pruning/mask.h"

#include <c10/util/Exception.h>
#include <torch/types.h>

#include <ostream>
#include <vector>

namespace nncf::pruning {

FilterMaskImpl::FilterMaskImpl(int64_t channels, int64_t dim_, bool zero_grad_)
    : dim(dim_), zero_grad(zero_grad_) {
  mask = register_buffer("mask", torch::ones({channels}));
}

void FilterMaskImpl::reset() {
  mask = register_buffer("mask", torch::ones({mask.defined() ? mask.size(0) : 0}));
}

torch::Tensor FilterMaskImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(dim < x.dim() && x.size(dim) == mask.size(0), "nncf: FilterMask of ", mask.size(0),
              " channels at dim ", dim, " applied to a tensor of shape ", x.sizes());
  std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
  shape[static_cast<size_t>(dim)] = mask.size(0);
  const torch::Tensor m = mask.to(x.scalar_type()).view(shape);
  if (zero_grad) return x * m;
  // Forward x * m; gradient 1 everywhere.
  return x - (x * (1 - m)).detach();
}

void FilterMaskImpl::keep_channels(int64_t d, const at::Tensor& kept) {
  if (d != dim) return;  // e.g. a pruned conv losing input channels: its filters stay
  runtime::keep_channels_of(mask, 0, kept);
}

void FilterMaskImpl::pretty_print(std::ostream& stream) const {
  stream << "nncf::FilterMask(channels=" << mask.size(0) << ", dim=" << dim << ", zero_grad=" << zero_grad
         << ")";
}

}  // namespace nncf::pruning
