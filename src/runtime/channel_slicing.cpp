#include "nncf/runtime/channel_slicing.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

namespace nncf::runtime {

void keep_channels_of(at::Tensor& t, int64_t dim, const at::Tensor& kept) {
  if (!t.defined()) return;
  torch::NoGradGuard no_grad;
  const at::Tensor index = kept.to(t.device(), at::kLong);
  // set_data keeps the TensorImpl, so every holder of `t` (a module's parameter list, an
  // optimizer's param groups and its state keyed by the impl) sees the new shape.
  t.set_data(t.detach().index_select(dim, index).contiguous());
  if (t.grad().defined()) t.mutable_grad() = t.grad().index_select(dim, index).contiguous();
}

}  // namespace nncf::runtime
