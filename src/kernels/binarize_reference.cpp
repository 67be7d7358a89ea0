// Plain-ATen references of the binarization operators (the math is in binarize.h), the test
// oracle of the fused kernels.

#include <ATen/ATen.h>

#include <vector>

#include "nncf/kernels/binarize.h"

namespace nncf::kernels::reference {
namespace {

// [1, C, 1, ...] for broadcasting a per-channel tensor against x.
std::vector<int64_t> channel_shape(const at::Tensor& x) {
  std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
  shape[1] = x.size(1);
  return shape;
}

}  // namespace

std::tuple<at::Tensor, at::Tensor> binarize_weight(const at::Tensor& w, bool per_channel) {
  at::Tensor scale = per_channel ? w.abs().reshape({w.size(0), -1}).mean(1) : w.abs().mean().reshape({1});
  std::vector<int64_t> shape(static_cast<size_t>(w.dim()), 1);
  if (per_channel) shape[0] = w.size(0);
  const at::Tensor sign = w.gt(0).to(w.scalar_type()) * 2 - 1;
  return {sign * scale.view(shape), scale};
}

at::Tensor binarize_activation(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& threshold) {
  const at::Tensor t = (threshold * scale).reshape(channel_shape(x));
  return x.gt(t).to(x.scalar_type()) * scale.reshape({});
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> binarize_activation_backward(const at::Tensor& grad,
                                                                            const at::Tensor& x,
                                                                            const at::Tensor& scale,
                                                                            const at::Tensor& threshold) {
  const at::Tensor s = scale.reshape({});
  const at::Tensor out = binarize_activation(x, scale, threshold);
  const at::Tensor lower = x.le(s).to(x.scalar_type());
  const at::Tensor dx = grad * x.ge(0).to(x.scalar_type()) * lower;
  const at::Tensor err = (out - x) * s.reciprocal();
  const at::Tensor dscale = (grad * (lower * err + (1 - lower))).sum().reshape(scale.sizes());
  at::Tensor dt = -grad * x.gt(0).to(x.scalar_type()) * x.lt(s).to(x.scalar_type());
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (d != 1) dims.push_back(d);
  dt = dt.sum(dims).reshape(threshold.sizes());
  return {dx, dscale, dt};
}

}  // namespace nncf::kernels::reference
