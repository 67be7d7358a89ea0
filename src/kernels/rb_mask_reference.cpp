// Plain-ATen references of the RB mask ops: the test oracle for rb_mask.cpp's fused kernels.

#include <ATen/ATen.h>
#include <ATen/core/PhiloxRNGEngine.h>

#include <algorithm>

#include "nncf/kernels/rb_mask.h"

namespace nncf::kernels::reference {
namespace {

at::Tensor z_of(const at::Tensor& logits, int64_t seed, int64_t offset) {
  return rb_noise(logits, seed, offset).to(logits.scalar_type()).logit() + logits;
}

}  // namespace

at::Tensor rb_noise(const at::Tensor& like, int64_t seed, int64_t offset) {
  at::Tensor u = at::empty(like.sizes(), like.options().dtype(at::kFloat));
  float* p = u.data_ptr<float>();
  for (int64_t i = 0; i < u.numel(); i += 4) {
    at::Philox4_32 gen(static_cast<uint64_t>(seed), static_cast<uint64_t>(offset),
                       static_cast<uint64_t>(i / 4));
    for (int64_t l = i; l < std::min(i + 4, u.numel()); ++l) {
      p[l] = static_cast<float>(gen() >> 8) * 0x1p-24f;
    }
  }
  return u.clamp_(1e-6f, 1.0f - 1e-6f);
}

at::Tensor rb_mask_forward(const at::Tensor& w, const at::Tensor& logits, int64_t seed, int64_t offset) {
  return w * z_of(logits, seed, offset).gt(0);
}

std::tuple<at::Tensor, at::Tensor> rb_mask_backward(const at::Tensor& grad, const at::Tensor& w,
                                                    const at::Tensor& logits, int64_t seed, int64_t offset) {
  const at::Tensor z = z_of(logits, seed, offset);
  return {grad * z.gt(0), at::sigmoid_backward(grad * w, z.sigmoid())};
}

}  // namespace nncf::kernels::reference
