// The fake-quantize operators: schemas, CPU kernels (layout, parameters, the parallel loop over the
// ISA-specific row loops of fake_quantize_cpu.cpp), Autograd kernels and C++ entry points. The
// plain-ATen references and TuneRange live in fake_quantize_reference.cpp; the math is in the
// header's comment.

#include "nncf/kernels/fake_quantize.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/WrapDimUtils.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/autograd.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "fake_quantize_cpu.h"
#include "isa.h"
#include "output.h"

namespace nncf::kernels {
namespace {

// Elements per parallel task. Measured (libtorch-recipes.md §4) on the 51 MB benchmark tensor: at
// 2^16 elements (256 KB of float input) the per-task overhead is lost in the noise and two threads
// still get balanced work on a 64x64x56x56 tensor; smaller grains only added scheduling cost.
constexpr int64_t kGrainSize = int64_t{1} << 16;
// Row length for per-tensor parameters (Note [Rows] in fake_quantize_cpu.h).
constexpr int64_t kPerTensorRow = int64_t{1} << 14;

// Note [ISA choice] in isa.h.
detail::IsaChoice& isa() {
  static detail::IsaChoice choice("fake quantization", ", about 2x slower backward");
  return choice;
}

bool use_avx2() {
  return isa().use_avx2();
}

// Note [Huge-page outputs]

// Rows of the contiguous input (Note [Rows]); parameters per channel as `T` arrays.
struct Layout {
  int64_t numel = 0, row_len = 1, channels = 1, rows = 0;
};

Layout make_layout(const at::Tensor& x, const at::Tensor& param, int64_t axis, const char* name) {
  Layout l;
  l.numel = x.numel();
  if (param.numel() == 1) {
    l.row_len = kPerTensorRow;
  } else {
    // Note [Per-channel axis] in the header.
    TORCH_CHECK(x.dim() > 0, "nncf fake quantize: per-channel ", name,
                " needs an input with dims, got a scalar");
    const int64_t ax = at::maybe_wrap_dim(axis, x.dim());
    TORCH_CHECK(param.numel() == x.size(ax), "nncf fake quantize: ", name, " has ", param.numel(),
                " elements; expected 1 (per tensor) or x.size(", ax, ") = ", x.size(ax), " (per channel)");
    l.channels = x.size(ax);
    l.row_len = 1;
    for (int64_t d = ax + 1; d < x.dim(); ++d) l.row_len *= x.size(d);
    l.row_len = std::max<int64_t>(l.row_len, 1);  // an empty input has no rows anyway
  }
  l.rows = l.numel == 0 ? 0 : (l.numel + l.row_len - 1) / l.row_len;
  return l;
}

void check_tensors(const at::Tensor& x, std::initializer_list<const at::Tensor*> params) {
  TORCH_CHECK(x.device().is_cpu(), "nncf fake quantize: expected a CPU tensor, got ", x.device());
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble,
              "nncf fake quantize: expected float or double input, got ", x.scalar_type());
  for (const at::Tensor* p : params) {
    TORCH_CHECK(p->scalar_type() == x.scalar_type() && p->device() == x.device(),
                "nncf fake quantize: parameters must have the input's dtype and device, got ",
                p->scalar_type(), " on ", p->device(), " for input ", x.scalar_type());
  }
}

void check_levels(int64_t level_low, int64_t level_high) {
  TORCH_CHECK(level_low <= 0 && 0 < level_high && level_high - level_low <= (1 << 16),
              "nncf fake quantize: expected level_low <= 0 < level_high (at most 2^16 levels), got ",
              level_low, "..", level_high);
}

// Note [Short rows]
// Per channel with few elements after the axis (an [N, C] activation on axis 1 makes rows of one
// element) the per-row cost dominates and the partial sums take a double per element. Such inputs
// are run with the channel axis moved to the front (one copy in, one out), where each channel is
// one long row.
constexpr int64_t kMinRowLen = 64;

// The axis to move to the front under Note [Short rows], or nullopt.
c10::optional<int64_t> short_rows_axis(const at::Tensor& x, const at::Tensor& param, int64_t axis) {
  if (param.numel() == 1 || x.dim() == 0) return c10::nullopt;
  const int64_t ax = at::maybe_wrap_dim(axis, x.dim());
  int64_t inner = 1;
  for (int64_t d = ax + 1; d < x.dim(); ++d) inner *= x.size(d);
  if (ax == 0 || inner >= kMinRowLen || x.numel() == 0) return c10::nullopt;
  return ax;
}

// Sums per-row partial gradients into one value per channel (in row order: deterministic).
at::Tensor sum_rows(const std::vector<double>& partial, const Layout& l, const at::Tensor& like) {
  std::vector<double> sums(l.channels, 0.0);
  for (int64_t r = 0; r < l.rows; ++r) sums[r % l.channels] += partial[r];
  at::Tensor out = at::empty({l.channels}, like.options().dtype(at::kDouble));
  std::copy(sums.begin(), sums.end(), out.data_ptr<double>());
  return out.to(like.scalar_type()).view(like.sizes());
}

template <typename Args>
void run_rows(const Layout& l, void (*fn)(const Args&, int64_t, int64_t), const Args& args) {
  const int64_t grain_rows = std::max<int64_t>(1, kGrainSize / l.row_len);
  at::parallel_for(0, l.rows, grain_rows, [&](int64_t b, int64_t e) { fn(args, b, e); });
}

// ---- symmetric ----

template <typename T>
struct SymParams {
  std::vector<T> inv, step, rscale;
};

template <typename T>
SymParams<T> sym_params(const at::Tensor& scale, int64_t level_high) {
  at::Tensor s = scale.contiguous();
  const T* p = s.data_ptr<T>();
  SymParams<T> out;
  for (int64_t c = 0; c < s.numel(); ++c) {
    TORCH_CHECK(p[c] > 0, "nncf fake quantize: expected scale > 0, got ", p[c], " at ", c);
    // The same roundings as the reference: correctly rounded divisions in T.
    out.inv.push_back(static_cast<T>(level_high) / p[c]);
    out.step.push_back(p[c] / static_cast<T>(level_high));
    out.rscale.push_back(T(1) / p[c]);
  }
  return out;
}

template <typename T>
cpu::SymmetricArgs<T> sym_args(const SymParams<T>& p, const Layout& l, int64_t lo, int64_t hi) {
  cpu::SymmetricArgs<T> a;
  a.numel = l.numel;
  a.row_len = l.row_len;
  a.channels = l.channels;
  a.inv = p.inv.data();
  a.step = p.step.data();
  a.rscale = p.rscale.data();
  a.level_low = static_cast<T>(lo);
  a.level_high = static_cast<T>(hi);
  a.alpha = static_cast<T>(lo) / static_cast<T>(hi);
  return a;
}

at::Tensor symmetric_forward_cpu(const at::Tensor& x_in, const at::Tensor& scale, int64_t level_low,
                                 int64_t level_high, int64_t axis) {
  check_tensors(x_in, {&scale});
  check_levels(level_low, level_high);
  if (auto ax = short_rows_axis(x_in, scale, axis)) {
    return symmetric_forward_cpu(x_in.movedim(*ax, 0), scale, level_low, level_high, 0)
        .movedim(0, *ax)
        .contiguous();
  }
  // The loops want unit stride; a strided input costs one copy (the op writes a fresh output anyway).
  const at::Tensor x = x_in.contiguous();
  const Layout l = make_layout(x, scale, axis, "scale");
  at::Tensor y = detail::empty_output(x);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "nncf::fake_quantize_symmetric", [&] {
    const SymParams<scalar_t> p = sym_params<scalar_t>(scale, level_high);
    cpu::SymmetricArgs<scalar_t> a = sym_args(p, l, level_low, level_high);
    a.x = x.data_ptr<scalar_t>();
    a.out = y.data_ptr<scalar_t>();
    using Fn = void (*)(const cpu::SymmetricArgs<scalar_t>&, int64_t, int64_t);
    run_rows<cpu::SymmetricArgs<scalar_t>>(
        l, use_avx2() ? Fn(cpu::avx2::symmetric_forward) : Fn(cpu::baseline::symmetric_forward), a);
  });
  return y;
}

std::tuple<at::Tensor, at::Tensor> symmetric_backward_cpu(const at::Tensor& grad_in, const at::Tensor& x_in,
                                                          const at::Tensor& scale, int64_t level_low,
                                                          int64_t level_high, int64_t axis) {
  check_tensors(x_in, {&scale, &grad_in});
  check_levels(level_low, level_high);
  TORCH_CHECK(grad_in.sizes() == x_in.sizes(), "nncf fake quantize: grad has shape ", grad_in.sizes(),
              ", expected ", x_in.sizes());
  if (auto ax = short_rows_axis(x_in, scale, axis)) {
    auto [dx, dscale] = symmetric_backward_cpu(grad_in.movedim(*ax, 0), x_in.movedim(*ax, 0), scale,
                                               level_low, level_high, 0);
    return {dx.movedim(0, *ax).contiguous(), dscale};
  }
  const at::Tensor x = x_in.contiguous();
  const at::Tensor grad = grad_in.contiguous();
  const Layout l = make_layout(x, scale, axis, "scale");
  at::Tensor dx = detail::empty_output(x);
  std::vector<double> partial(l.rows);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "nncf::fake_quantize_symmetric_backward", [&] {
    const SymParams<scalar_t> p = sym_params<scalar_t>(scale, level_high);
    cpu::SymmetricArgs<scalar_t> a = sym_args(p, l, level_low, level_high);
    a.x = x.data_ptr<scalar_t>();
    a.grad = grad.data_ptr<scalar_t>();
    a.out = dx.data_ptr<scalar_t>();
    a.partial = partial.data();
    using Fn = void (*)(const cpu::SymmetricArgs<scalar_t>&, int64_t, int64_t);
    run_rows<cpu::SymmetricArgs<scalar_t>>(
        l, use_avx2() ? Fn(cpu::avx2::symmetric_backward) : Fn(cpu::baseline::symmetric_backward), a);
  });
  return {dx, sum_rows(partial, l, scale)};
}

// ---- asymmetric ----

template <typename T>
struct AsymParams {
  std::vector<T> low, high, inv, step, zp, rrange;
};

template <typename T>
AsymParams<T> asym_params(const at::Tensor& input_low, const at::Tensor& input_range, int64_t levels) {
  auto [tl, tr] = tune_range(input_low, input_range, levels);
  tl = tl.contiguous();
  tr = tr.contiguous();
  const T* pl = tl.data_ptr<T>();
  const T* pr = tr.data_ptr<T>();
  const T n = static_cast<T>(levels - 1);
  AsymParams<T> out;
  for (int64_t c = 0; c < tl.numel(); ++c) {
    const T inv = n / pr[c];
    out.low.push_back(pl[c]);
    out.high.push_back(pl[c] + pr[c]);
    out.inv.push_back(inv);
    out.step.push_back(pr[c] / n);
    out.zp.push_back(std::nearbyint(-pl[c] * inv));
    out.rrange.push_back(T(1) / pr[c]);
  }
  return out;
}

template <typename T>
cpu::AsymmetricArgs<T> asym_args(const AsymParams<T>& p, const Layout& l) {
  cpu::AsymmetricArgs<T> a;
  a.numel = l.numel;
  a.row_len = l.row_len;
  a.channels = l.channels;
  a.low = p.low.data();
  a.high = p.high.data();
  a.inv = p.inv.data();
  a.step = p.step.data();
  a.zp = p.zp.data();
  a.rrange = p.rrange.data();
  return a;
}

Layout asym_layout(const at::Tensor& x, const at::Tensor& input_low, const at::Tensor& input_range,
                   int64_t levels, int64_t axis) {
  TORCH_CHECK(input_low.numel() == input_range.numel(), "nncf fake quantize: input_low has ",
              input_low.numel(), " elements but input_range has ", input_range.numel());
  TORCH_CHECK(levels >= 2 && levels <= (1 << 16), "nncf fake quantize: expected 2 <= levels <= 2^16, got ",
              levels);
  TORCH_CHECK(at::all(input_range > 0).item<bool>(), "nncf fake quantize: expected input_range > 0");
  return make_layout(x, input_range, axis, "input_range");
}

at::Tensor asymmetric_forward_cpu(const at::Tensor& x_in, const at::Tensor& input_low,
                                  const at::Tensor& input_range, int64_t levels, int64_t axis) {
  check_tensors(x_in, {&input_low, &input_range});
  if (auto ax = short_rows_axis(x_in, input_range, axis)) {
    return asymmetric_forward_cpu(x_in.movedim(*ax, 0), input_low, input_range, levels, 0)
        .movedim(0, *ax)
        .contiguous();
  }
  const at::Tensor x = x_in.contiguous();  // unit stride for the loops, as above
  const Layout l = asym_layout(x, input_low, input_range, levels, axis);
  at::Tensor y = detail::empty_output(x);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "nncf::fake_quantize_asymmetric", [&] {
    const AsymParams<scalar_t> p = asym_params<scalar_t>(input_low, input_range, levels);
    cpu::AsymmetricArgs<scalar_t> a = asym_args(p, l);
    a.x = x.data_ptr<scalar_t>();
    a.out = y.data_ptr<scalar_t>();
    using Fn = void (*)(const cpu::AsymmetricArgs<scalar_t>&, int64_t, int64_t);
    run_rows<cpu::AsymmetricArgs<scalar_t>>(
        l, use_avx2() ? Fn(cpu::avx2::asymmetric_forward) : Fn(cpu::baseline::asymmetric_forward), a);
  });
  return y;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> asymmetric_backward_cpu(const at::Tensor& grad_in,
                                                                       const at::Tensor& x_in,
                                                                       const at::Tensor& input_low,
                                                                       const at::Tensor& input_range,
                                                                       int64_t levels, int64_t axis) {
  check_tensors(x_in, {&input_low, &input_range, &grad_in});
  TORCH_CHECK(grad_in.sizes() == x_in.sizes(), "nncf fake quantize: grad has shape ", grad_in.sizes(),
              ", expected ", x_in.sizes());
  if (auto ax = short_rows_axis(x_in, input_range, axis)) {
    auto [dx, dlow, drange] = asymmetric_backward_cpu(grad_in.movedim(*ax, 0), x_in.movedim(*ax, 0),
                                                      input_low, input_range, levels, 0);
    return {dx.movedim(0, *ax).contiguous(), dlow, drange};
  }
  const at::Tensor x = x_in.contiguous();
  const at::Tensor grad = grad_in.contiguous();
  const Layout l = asym_layout(x, input_low, input_range, levels, axis);
  at::Tensor dx = detail::empty_output(x);
  std::vector<double> partial_low(l.rows), partial_range(l.rows);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "nncf::fake_quantize_asymmetric_backward", [&] {
    const AsymParams<scalar_t> p = asym_params<scalar_t>(input_low, input_range, levels);
    cpu::AsymmetricArgs<scalar_t> a = asym_args(p, l);
    a.x = x.data_ptr<scalar_t>();
    a.grad = grad.data_ptr<scalar_t>();
    a.out = dx.data_ptr<scalar_t>();
    a.partial_low = partial_low.data();
    a.partial_range = partial_range.data();
    using Fn = void (*)(const cpu::AsymmetricArgs<scalar_t>&, int64_t, int64_t);
    run_rows<cpu::AsymmetricArgs<scalar_t>>(
        l, use_avx2() ? Fn(cpu::avx2::asymmetric_backward) : Fn(cpu::baseline::asymmetric_backward), a);
  });
  // TuneRange is identity backward: the tuned parameters' gradients are the raw ones'.
  return {dx, sum_rows(partial_low, l, input_low), sum_rows(partial_range, l, input_range)};
}

// ---- autograd ----

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

c10::TypedOperatorHandle<at::Tensor(const at::Tensor&, const at::Tensor&, int64_t, int64_t, int64_t)>
sym_op() {
  static const auto op =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow("nncf::fake_quantize_symmetric", "")
          .typed<at::Tensor(const at::Tensor&, const at::Tensor&, int64_t, int64_t, int64_t)>();
  return op;
}

c10::TypedOperatorHandle<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t,
                                    int64_t)>
asym_op() {
  static const auto op =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow("nncf::fake_quantize_asymmetric", "")
          .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t, int64_t)>();
  return op;
}

struct SymmetricFunction : torch::autograd::Function<SymmetricFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& scale,
                            int64_t level_low, int64_t level_high, int64_t axis) {
    ctx->save_for_backward({x, scale});
    ctx->saved_data["level_low"] = level_low;
    ctx->saved_data["level_high"] = level_high;
    ctx->saved_data["axis"] = axis;
    at::AutoDispatchBelowADInplaceOrView guard;
    return sym_op().call(x, scale, level_low, level_high, axis);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    static const auto op =
        c10::Dispatcher::singleton()
            .findSchemaOrThrow("nncf::fake_quantize_symmetric_backward", "")
            .typed<std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                                      int64_t, int64_t, int64_t)>();
    const variable_list saved = ctx->get_saved_variables();
    auto [dx, dscale] = op.call(grads[0], saved[0], saved[1], ctx->saved_data["level_low"].toInt(),
                                ctx->saved_data["level_high"].toInt(), ctx->saved_data["axis"].toInt());
    return {dx, dscale, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

struct AsymmetricFunction : torch::autograd::Function<AsymmetricFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& input_low,
                            const at::Tensor& input_range, int64_t levels, int64_t axis) {
    ctx->save_for_backward({x, input_low, input_range});
    ctx->saved_data["levels"] = levels;
    ctx->saved_data["axis"] = axis;
    at::AutoDispatchBelowADInplaceOrView guard;
    return asym_op().call(x, input_low, input_range, levels, axis);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    static const auto op = c10::Dispatcher::singleton()
                               .findSchemaOrThrow("nncf::fake_quantize_asymmetric_backward", "")
                               .typed<std::tuple<at::Tensor, at::Tensor, at::Tensor>(
                                   const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                   int64_t, int64_t)>();
    const variable_list saved = ctx->get_saved_variables();
    auto [dx, dlow, drange] = op.call(grads[0], saved[0], saved[1], saved[2],
                                      ctx->saved_data["levels"].toInt(), ctx->saved_data["axis"].toInt());
    return {dx, dlow, drange, at::Tensor(), at::Tensor()};
  }
};

at::Tensor symmetric_autograd(const at::Tensor& x, const at::Tensor& scale, int64_t level_low,
                              int64_t level_high, int64_t axis) {
  return SymmetricFunction::apply(x, scale, level_low, level_high, axis);
}

at::Tensor asymmetric_autograd(const at::Tensor& x, const at::Tensor& input_low,
                               const at::Tensor& input_range, int64_t levels, int64_t axis) {
  return AsymmetricFunction::apply(x, input_low, input_range, levels, axis);
}

}  // namespace

namespace detail {
bool force_baseline_isa(bool on) {
  return isa().force_baseline(on);
}
}  // namespace detail

at::Tensor fake_quantize_symmetric(const at::Tensor& x, const at::Tensor& scale, int64_t level_low,
                                   int64_t level_high, int64_t axis) {
  return sym_op().call(x, scale, level_low, level_high, axis);
}

at::Tensor fake_quantize_asymmetric(const at::Tensor& x, const at::Tensor& input_low,
                                    const at::Tensor& input_range, int64_t levels, int64_t axis) {
  return asym_op().call(x, input_low, input_range, levels, axis);
}

}  // namespace nncf::kernels

// Later kernels (binarization, masks) add their schemas with TORCH_LIBRARY_FRAGMENT(nncf, m).
TORCH_LIBRARY(nncf, m) {
  m.def("fake_quantize_symmetric(Tensor x, Tensor scale, int level_low, int level_high, int axis) -> Tensor");
  m.def(
      "fake_quantize_symmetric_backward(Tensor grad, Tensor x, Tensor scale, int level_low, int level_high, "
      "int axis) -> (Tensor, Tensor)");
  m.def(
      "fake_quantize_asymmetric(Tensor x, Tensor input_low, Tensor input_range, int levels, int axis) -> "
      "Tensor");
  m.def(
      "fake_quantize_asymmetric_backward(Tensor grad, Tensor x, Tensor input_low, Tensor input_range, int "
      "levels, "
      "int axis) -> (Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(nncf, CPU, m) {
  m.impl("fake_quantize_symmetric", TORCH_FN(nncf::kernels::symmetric_forward_cpu));
  m.impl("fake_quantize_symmetric_backward", TORCH_FN(nncf::kernels::symmetric_backward_cpu));
  m.impl("fake_quantize_asymmetric", TORCH_FN(nncf::kernels::asymmetric_forward_cpu));
  m.impl("fake_quantize_asymmetric_backward", TORCH_FN(nncf::kernels::asymmetric_backward_cpu));
}

TORCH_LIBRARY_IMPL(nncf, Autograd, m) {
  m.impl("fake_quantize_symmetric", TORCH_FN(nncf::kernels::symmetric_autograd));
  m.impl("fake_quantize_asymmetric", TORCH_FN(nncf::kernels::asymmetric_autograd));
}
