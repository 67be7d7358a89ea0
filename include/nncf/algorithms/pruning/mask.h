#pragma once

// FilterMask: the weight pre-op of filter pruning. It multiplies the slices of a tensor along
// `dim` (a conv's filters, a bias, a BatchNorm's scale and shift) by a 0/1 `mask` buffer of one
// entry per slice. With `zero_grad` (NNCF's default) masked slices get no gradient; without it the
// gradient passes straight through, so masked filters keep training and can win back their place
// at the next level change.

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <mutex>

#include "nncf/runtime/channel_slicing.h"

namespace nncf::pruning {

class FilterMaskImpl : public torch::nn::Cloneable<FilterMaskImpl>, public runtime::ChannelSliceable {
 public:
  explicit FilterMaskImpl(int64_t channels = 0, int64_t dim = 0, bool zero_grad = true);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);
  void keep_channels(int64_t dim, const at::Tensor& kept) override;
  void pretty_print(std::ostream& stream) const override;

  int64_t dim = 0;
  bool zero_grad = true;
  torch::Tensor mask;  ///< buffer, float [channels], 1 = kept

 private:
  // Whether every entry of `mask` is 1, as of the buffer state it was computed for (forward may
  // run on several threads at once, hence the lock; a clone gets a lock of its own).
  struct AllKept {
    AllKept() = default;
    AllKept(const AllKept& other)
        : value(other.value), version(other.version), data(other.data), numel(other.numel) {}
    AllKept& operator=(const AllKept& other) {
      if (this != &other)
        value = other.value, version = other.version, data = other.data, numel = other.numel;
      return *this;
    }
    std::mutex lock;
    bool value = false;
    uint32_t version = 0;
    const void* data = nullptr;
    int64_t numel = -1;
  };
  AllKept all_kept_;
};
TORCH_MODULE(FilterMask);

}  // namespace nncf::pruning
