#pragma once

// Binarization: fused CPU kernels registered as `nncf::` operators, and their plain-ATen
// references (nncf-reference.md §3.4, NNCF's binarization functions).
//
// Operators (TORCH_LIBRARY_FRAGMENT(nncf); CPU kernels; the autograd Functions live with the
// binarizer modules, src/algorithms/binarization/binarizer.cpp):
//
//   nncf::binarize_weight(Tensor w, bool per_channel) -> (Tensor, Tensor)        // (out, scale)
//   nncf::binarize_activation(Tensor x, Tensor scale, Tensor threshold) -> Tensor
//   nncf::binarize_activation_backward(Tensor grad, Tensor x, Tensor scale, Tensor threshold)
//       -> (Tensor, Tensor, Tensor)                            // (dx, dscale, dthreshold)
//   nncf::binarize_weight.out(Tensor w, bool per_channel, *, Tensor(a!) out) -> Tensor  // scale
//   nncf::binarize_activation.out(..., *, Tensor(a!) out) -> Tensor(a!)
//   nncf::binarize_activation_backward.dx_out(..., *, Tensor(a!) dx) -> (Tensor, Tensor)
//       // the same, writing the output (dx) into a given contiguous tensor of the input's shape and
//       // dtype that overlaps no input (the binarizers reuse one per layer across steps)
//
// Weights (XNOR with per_channel, DoReFa without): s = mean |w| over each output channel (dim 0)
// or over the whole tensor, out = sign+(w) * s with sign+(w) = 1 for w > 0 and -1 otherwise (zero
// goes to -1, as in NNCF). `scale` comes back with one element per output channel, or one.
// The backward is NNCF's straight-through identity, so there is no backward operator.
//
// Activations: x is [N, C, ...]; scale S has one element, threshold T one per channel (any shape
// with C elements); both are the actual values (the module maps its raw parameters through exp and
// sigmoid). out = S * [x > T_c * S]. Gradients, NNCF's (CPU reference):
//   dx         = g [0 <= x <= S]
//   dscale     = sum g ([x <= S] (out - x) / S + [x > S])
//   dthreshold = -sum over all but dim 1 of g [0 < x < S]        (in threshold's shape)
// The inputs must share a dtype (float or double); outputs are contiguous.

#include <ATen/core/Tensor.h>

#include <tuple>

namespace nncf::kernels {

std::tuple<at::Tensor, at::Tensor> binarize_weight(const at::Tensor& w, bool per_channel);
at::Tensor binarize_activation(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& threshold);
std::tuple<at::Tensor, at::Tensor, at::Tensor> binarize_activation_backward(const at::Tensor& grad,
                                                                            const at::Tensor& x,
                                                                            const at::Tensor& scale,
                                                                            const at::Tensor& threshold);
/// Writes the binarized weight into `out`, returns the scale.
at::Tensor binarize_weight_out(const at::Tensor& w, bool per_channel, at::Tensor& out);
at::Tensor& binarize_activation_out(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& threshold,
                                    at::Tensor& out);
/// Writes dx into `dx`, returns (dscale, dthreshold).
std::tuple<at::Tensor, at::Tensor> binarize_activation_backward_out(const at::Tensor& grad,
                                                                    const at::Tensor& x,
                                                                    const at::Tensor& scale,
                                                                    const at::Tensor& threshold,
                                                                    at::Tensor& dx);

namespace detail {
/// Tests only: makes the ops run their baseline x86-64 loops. Returns the previous setting.
bool force_baseline_binarize_isa(bool on);
}  // namespace detail

namespace reference {
/// The same math in plain ATen ops, written after NNCF's reference functions.
std::tuple<at::Tensor, at::Tensor> binarize_weight(const at::Tensor& w, bool per_channel);
at::Tensor binarize_activation(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& threshold);
std::tuple<at::Tensor, at::Tensor, at::Tensor> binarize_activation_backward(const at::Tensor& grad,
                                                                            const at::Tensor& x,
                                                                            const at::Tensor& scale,
                                                                            const at::Tensor& threshold);
}  // namespace reference

}  // namespace nncf::kernels
