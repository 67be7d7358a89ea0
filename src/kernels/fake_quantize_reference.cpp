// Plain-ATen pieces of fake quantization: level ranges, TuneRange, and the reference ops that
// serve as the test oracle (their forward values are bit-identical to the fused op's).

#include <ATen/ATen.h>
#include <ATen/WrapDimUtils.h>

#include <vector>

#include "nncf/kernels/fake_quantize.h"

namespace nncf::kernels {
namespace {

// A value with the gradient of `like` (identity backward): value.detach() + (like - like.detach()).
// Adding an exact zero keeps the value bit-identical, which `like + (value - like).detach()` would not.
at::Tensor straight_through(const at::Tensor& value, const at::Tensor& like) {
  return value.detach() + (like - like.detach());
}

// Shapes a parameter to broadcast against x (Note [Per-channel axis]).
at::Tensor broadcastable(const at::Tensor& param, const at::Tensor& x, int64_t axis) {
  if (param.numel() == 1) return param.reshape({});
  const int64_t ax = at::maybe_wrap_dim(axis, x.dim());
  TORCH_CHECK(param.numel() == x.size(ax), "nncf reference fake quantize: parameter has ", param.numel(),
              " elements; expected 1 or ", x.size(ax));
  std::vector<int64_t> shape(x.dim(), 1);
  shape[ax] = x.size(ax);
  return param.reshape(shape);
}

}  // namespace

LevelRange level_range(int64_t bits, bool is_signed, bool narrow_range) {
  TORCH_CHECK(bits >= 1 && bits <= 16, "nncf: expected 1 <= bits <= 16, got ", bits);
  LevelRange r;
  if (is_signed) {
    r.low = -(int64_t{1} << (bits - 1));
    r.high = (int64_t{1} << (bits - 1)) - 1;
  } else {
    r.low = 0;
    r.high = (int64_t{1} << bits) - 1;
  }
  if (narrow_range) r.low += 1;
  return r;
}

std::tuple<at::Tensor, at::Tensor> tune_range(const at::Tensor& input_low, const at::Tensor& input_range,
                                              int64_t levels) {
  at::NoGradGuard no_grad;
  const at::Tensor low = at::clamp_max(input_low.detach(), 0);
  const at::Tensor high = at::clamp_min(input_low.detach() + input_range.detach(), 0);
  const double n = static_cast<double>(levels - 1);
  const at::Tensor zp = at::round(-low * (at::full_like(high, n) / (high - low)));
  // Either move low so that zp falls on the grid, or move high; keep the wider of the two.
  // (at::where evaluates both sides; the inf/nan of the unused side is discarded.)
  const at::Tensor new_low = at::where(zp < n, zp / (zp - n) * high, low);
  const at::Tensor new_high = at::where(zp > 0, (zp - n) / zp * low, high);
  const at::Tensor keep_high = (high - new_low) > (new_high - low);
  const at::Tensor tuned_low = at::where(keep_high, new_low, low);
  const at::Tensor tuned_high = at::where(keep_high, high, new_high);
  return {tuned_low, tuned_high - tuned_low};
}

namespace reference {

at::Tensor fake_quantize_symmetric(const at::Tensor& x, const at::Tensor& scale, int64_t level_low,
                                   int64_t level_high, int64_t axis) {
  const at::Tensor s = broadcastable(scale, x, axis);
  const at::Tensor hi = at::full_like(s, static_cast<double>(level_high));
  const at::Tensor v =
      at::clamp(x * (hi / s), static_cast<double>(level_low), static_cast<double>(level_high));
  return straight_through(at::round(v), v) * (s / hi);
}

at::Tensor fake_quantize_asymmetric(const at::Tensor& x, const at::Tensor& input_low,
                                    const at::Tensor& input_range, int64_t levels, int64_t axis) {
  auto [tuned_low, tuned_range] = tune_range(input_low, input_range, levels);
  // The value, with the kernel's roundings (Note [Asymmetric gradient] in the header).
  at::Tensor out;
  {
    at::NoGradGuard no_grad;
    const at::Tensor il = broadcastable(tuned_low, x, axis);
    const at::Tensor ir = broadcastable(tuned_range, x, axis);
    const at::Tensor n = at::full_like(ir, static_cast<double>(levels - 1));
    const at::Tensor inv = n / ir;
    out = at::round((at::clamp(x, il, il + ir) - il) * inv - at::round(-il * inv)) * (ir / n);
  }
  // The gradient: clamp(x, il, il + ir) plus, inside the range, the rounding error scaled with the
  // range; TuneRange as identity.
  const at::Tensor il = broadcastable(straight_through(tuned_low, input_low), x, axis);
  const at::Tensor ir = broadcastable(straight_through(tuned_range, input_range), x, axis);
  const at::Tensor xc = at::clamp(x, il, il + ir);
  const at::Tensor inside = (x >= il) & (x <= il + ir);
  const at::Tensor error = at::where(inside, out - x.detach(), at::zeros_like(out));
  return straight_through(out, xc + error * (ir / ir.detach()));
}

}  // namespace reference
}  // namespace nncf::kernels
