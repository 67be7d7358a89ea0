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
  // All kept (every mask once the model is shrunk): nothing to do, and nothing to record for
  // autograd. The answer is cached until the buffer changes (its version, or its storage after a
  // shrink or a load).
  bool all_kept = false;
  {
    const std::lock_guard<std::mutex> guard(all_kept_.lock);
    const uint32_t version = mask._version();
    const void* data = mask.data_ptr();
    if (version != all_kept_.version || data != all_kept_.data || mask.numel() != all_kept_.numel) {
      all_kept_.value = mask.numel() == 0 || mask.min().item<float>() == 1.0F;
      all_kept_.version = version;
      all_kept_.data = data;
      all_kept_.numel = mask.numel();
    }
    all_kept = all_kept_.value;
  }
  if (all_kept) return x;
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
