#pragma once

// Fake quantization: fused CPU kernels registered as `nncf::` operators, their plain-ATen
// references, and the helpers that both share (level ranges, TuneRange).
//
// Operators (TORCH_LIBRARY(nncf); CPU and Autograd kernels, so the dispatcher, the JIT tracer and
// TorchScript see ordinary ops):
//
//   nncf::fake_quantize_symmetric(Tensor x, Tensor scale, int level_low, int level_high, int axis)
//       -> Tensor
//   nncf::fake_quantize_symmetric_backward(Tensor grad, Tensor x, Tensor scale, int level_low,
//       int level_high, int axis) -> (Tensor, Tensor)                       // (dx, dscale)
//   nncf::fake_quantize_asymmetric(Tensor x, Tensor input_low, Tensor input_range, int levels,
//       int axis) -> Tensor
//   nncf::fake_quantize_asymmetric_backward(Tensor grad, Tensor x, Tensor input_low,
//       Tensor input_range, int levels, int axis) -> (Tensor, Tensor, Tensor)
//                                                         // (dx, dinput_low, dinput_range)
//
// Note [Per-channel axis]
// A parameter tensor (`scale`, `input_low`, `input_range`) with one element quantizes per tensor
// and `axis` is ignored. Otherwise its numel must equal `x.size(axis)` (axis may be negative) and
// channel c uses element c; the parameter's shape is free ([C], [C,1,1,1], [1,C,1,1] all work) and
// its gradient comes back in that shape. Parameters must have x's dtype (float or double).
//
// Math, symmetric (NNCF's zero-point-aligned forward, which for symmetric ranges reduces to this):
//   inv = level_high / scale,  step = scale / level_high        (per channel, in x's dtype)
//   q   = clamp(round(x * inv), level_low, level_high)           (round half to even)
//   out = q * step                                               (so out(0) == 0 exactly)
// i.e. the range [scale * level_low / level_high, scale]. The op uses `scale` as given: the module
// makes it positive (NNCF: |scale| + eps); scale <= 0 is an error.
//
// Math, asymmetric: the range is first tuned so that zero is exactly representable (tune_range
// below; forward only, its backward is the identity), then with n = levels - 1:
//   ih = il + ir,  inv = n / ir,  step = ir / n,  zp = round(-il * inv)
//   out = round((clamp(x, il, ih) - il) * inv - zp) * step       (so out(0) == 0 exactly)
//
// Gradients (rounding is a straight-through estimator; "above" means x * inv > level_high for
// symmetric and x > ih for asymmetric, "below" likewise):
//   dx      = g inside the range, 0 outside
//   dscale  = sum g * { (out - x) / scale inside, 1 above, level_low / level_high below }
//   dinput_low   = sum g * { 0 inside, 1 outside }
//   dinput_range = sum g * { (out - x) / ir inside, 1 above, 0 below }
// summed over every element that shares the parameter. For symmetric these are the exact
// derivatives of the forward with rounding as identity (the symmetric reference below, written that
// way and differentiated by autograd, is the test oracle).
//
// Note [Asymmetric gradient]
// The asymmetric gradients are NNCF's. They are the exact derivatives of the forward with both
// roundings (the value and the zero point) as identity wherever TuneRange put zero on the grid; where
// it could not (the zero point rounds to an end of the grid, zp in {0, levels - 1}) the true
// straight-through derivative picks up (zp_exact - zp) / (levels - 1) terms, which NNCF and we drop.
// The asymmetric reference reproduces exactly these gradients with autograd.
//
// Note [Symmetric scale gradient differs from NNCF]
// NNCF (v2.x, code reading) returns its kernel's input_range gradient as the scale gradient, so
// inside the range it uses (out - x) / input_range with input_range = scale * (1 - level_low /
// level_high): for signed quantizers (level_low < 0) that is about half the true derivative
// (8-bit: /2.008). We use the mathematically right (out - x) / scale; unsigned quantizers
// (level_low = 0) agree with NNCF exactly, and so do the above/below parts and all asymmetric
// gradients.

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <tuple>

namespace nncf::kernels {

/// Integer grid of a quantizer: values level_low..level_high (levels = high - low + 1).
struct LevelRange {
  int64_t low = 0;
  int64_t high = 0;
  int64_t levels() const { return high - low + 1; }
};

/// NNCF's level ranges for `bits` in [2, 8] (anything up to 16 is accepted):
/// signed -2^(b-1)..2^(b-1)-1, unsigned 0..2^b-1; `narrow_range` drops the lowest level, as in
/// NNCF's calculate_level_ranges (signed 8-bit: -127..127, the weights' grid).
LevelRange level_range(int64_t bits, bool is_signed, bool narrow_range = false);

/// Symmetric fake quantization through the dispatcher (autograd-aware; see the file comment).
at::Tensor fake_quantize_symmetric(const at::Tensor& x, const at::Tensor& scale, int64_t level_low,
                                   int64_t level_high, int64_t axis = 1);

/// Asymmetric fake quantization through the dispatcher; `levels` = 2^bits (grid 0..levels-1).
/// `input_range` must be positive (the module applies |range| + eps).
at::Tensor fake_quantize_asymmetric(const at::Tensor& x, const at::Tensor& input_low,
                                    const at::Tensor& input_range, int64_t levels, int64_t axis = 1);

/// NNCF's TuneRange (v2.5+ form, n = levels - 1): widens [input_low, input_low + input_range] so
/// that it contains 0 and 0 falls exactly on the grid. Returns (tuned_low, tuned_range), computed
/// elementwise with plain ATen ops and no autograd history (the op treats it as identity backward).
std::tuple<at::Tensor, at::Tensor> tune_range(const at::Tensor& input_low, const at::Tensor& input_range,
                                              int64_t levels);

namespace detail {
/// Tests only: makes the ops run their baseline x86-64 loops even where the AVX2 ones could run
/// (both builds must match the reference). Returns the previous setting.
bool force_baseline_isa(bool on);
}  // namespace detail

namespace reference {

/// The oracle: the same forward as the fused op, written with plain ATen ops and differentiable by
/// autograd, rounding as a straight-through estimator (and TuneRange as identity backward for the
/// asymmetric one). Forward values are bit-identical to the fused op's.
at::Tensor fake_quantize_symmetric(const at::Tensor& x, const at::Tensor& scale, int64_t level_low,
                                   int64_t level_high, int64_t axis = 1);
at::Tensor fake_quantize_asymmetric(const at::Tensor& x, const at::Tensor& input_low,
                                    const at::Tensor& input_range, int64_t levels, int64_t axis = 1);

}  // namespace reference
}  // namespace nncf::kernels
