#pragma once

// RB (regularization-based) sparsity mask: fused CPU kernels registered as `nncf::` operators and
// their plain-ATen references.
//
// Operators (TORCH_LIBRARY_FRAGMENT(nncf); CPU kernels; the autograd Function lives with the mask
// module, src/algorithms/sparsity/mask.cpp):
//
//   nncf::rb_mask_forward(Tensor w, Tensor logits, int seed, int offset) -> Tensor
//   nncf::rb_mask_backward(Tensor grad, Tensor w, Tensor logits, int seed, int offset)
//       -> (Tensor, Tensor)                                                 // (grad_w, grad_logits)
//   nncf::rb_sigmoid_backward(Tensor grad, Tensor logits) -> Tensor
//
// Math: u ~ U(0, 1) clamped to [1e-6, 1 - 1e-6], drawn from the counter-based Philox stream keyed by
// (seed, offset) (Note [RB noise] in src/kernels/rb_mask_cpu.h: element i's u depends only on
// (seed, offset, i), so the backward recomputes it, and nothing depends on the thread count);
// z = logits + logit(u), s = sigmoid(z):
//   forward         out = w * [z > 0]
//   backward        grad_w = grad * [z > 0],  grad_logits = grad * w * s * (1 - s)
//   sigmoid bwd     out = grad * sigmoid'(logits), grad a one-element tensor (the derivative of
//                   the RB loss's kept count, whose gradient flows through sigmoid(logits))
// w and logits must have the same shape and dtype (float or double); the outputs are contiguous.

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <tuple>

namespace nncf::kernels {

/// A fresh 64-bit key for one RB mask sample, drawn from the default CPU generator (one draw,
/// under its mutex): runs are reproducible from torch::manual_seed, and a saved generator state
/// resumes them bit-identically.
int64_t rb_mask_seed();

/// The ops through the dispatcher (see the file comment); not differentiable by themselves.
at::Tensor rb_mask_forward(const at::Tensor& w, const at::Tensor& logits, int64_t seed, int64_t offset = 0);
std::tuple<at::Tensor, at::Tensor> rb_mask_backward(const at::Tensor& grad, const at::Tensor& w,
                                                    const at::Tensor& logits, int64_t seed,
                                                    int64_t offset = 0);
at::Tensor rb_sigmoid_backward(const at::Tensor& grad, const at::Tensor& logits);

namespace detail {
/// Tests only: makes the ops run their baseline x86-64 loops even where the AVX2 ones could run
/// (both builds give bit-identical results). Returns the previous setting.
bool force_baseline_rb_isa(bool on);
}  // namespace detail

namespace reference {

/// The noise u of Note [RB noise], element by element with at::Philox4_32 (slow; the oracle).
at::Tensor rb_noise(const at::Tensor& like, int64_t seed, int64_t offset = 0);

/// The same math with plain ATen ops (logit, add, sigmoid) on rb_noise's u.
at::Tensor rb_mask_forward(const at::Tensor& w, const at::Tensor& logits, int64_t seed, int64_t offset = 0);
std::tuple<at::Tensor, at::Tensor> rb_mask_backward(const at::Tensor& grad, const at::Tensor& w,
                                                    const at::Tensor& logits, int64_t seed,
                                                    int64_t offset = 0);

}  // namespace reference
}  // namespace nncf::kernels
