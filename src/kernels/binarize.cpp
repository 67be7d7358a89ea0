// The binarization operators: schemas, CPU kernels (checks, outputs, the parallel loop over the
// ISA-specific row loops of binarize_cpu.cpp) and C++ entry points. References are in
// binarize_reference.cpp; the math is in the header's comment.

#include "nncf/kernels/binarize.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/library.h>

#include <vector>

#include "binarize_cpu.h"
#include "isa.h"
#include "output.h"

namespace nncf::kernels {
namespace {

// Elements per parallel task, as for fake quantization (kGrainSize in fake_quantize.cpp).
constexpr int64_t kGrainElements = int64_t{1} << 16;

// Note [ISA choice] in isa.h.
detail::IsaChoice& isa() {
  static detail::IsaChoice choice("binarization", "");
  return choice;
}

void check_float(const at::Tensor& t, const char* what) {
  TORCH_CHECK(t.device().is_cpu(), "nncf binarize: expected a CPU ", what, ", got ", t.device());
  TORCH_CHECK(t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble,
              "nncf binarize: expected a float or double ", what, ", got ", t.scalar_type());
}

void check_activation(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& threshold) {
  check_float(x, "input");
  TORCH_CHECK(x.dim() >= 2, "nncf binarize_activation: expected an input [N, C, ...], got ", x.sizes());
  TORCH_CHECK(scale.numel() == 1, "nncf binarize_activation: scale must have one element, got ",
              scale.sizes());
  TORCH_CHECK(threshold.numel() == x.size(1),
              "nncf binarize_activation: threshold must have one element per ", "channel (", x.size(1),
              "), got ", threshold.sizes());
  TORCH_CHECK(scale.scalar_type() == x.scalar_type() && threshold.scalar_type() == x.scalar_type(),
              "nncf binarize_activation: scale and threshold must have the input's dtype ", x.scalar_type());
}

template <typename T>
int64_t grain_rows(const cpu::ActivationBinarizeArgs<T>& a) {
  return std::max<int64_t>(1, kGrainElements / std::max<int64_t>(a.inner, 1));
}

// An `out` argument must be contiguous, of the input's shape and dtype, and must not overlap it
// (the loops read x and write out in one pass).
void check_out(const at::Tensor& out, const at::Tensor& like, const at::Tensor& input, const char* op) {
  TORCH_CHECK(out.is_contiguous() && out.sizes() == like.sizes() && out.scalar_type() == like.scalar_type() &&
                  out.device() == like.device(),
              "nncf ", op, ": the output must be a contiguous ", like.scalar_type(), " tensor of shape ",
              like.sizes(), ", got ", out.scalar_type(), " ", out.sizes(),
              out.is_contiguous() ? "" : " (not contiguous)");
  const auto* o = static_cast<const char*>(out.data_ptr());
  const auto* i = static_cast<const char*>(input.data_ptr());
  TORCH_CHECK(out.numel() == 0 || o + out.nbytes() <= i || i + input.nbytes() <= o, "nncf ", op,
              ": the output overlaps an input");
}

void activation_forward_into(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& threshold,
                             const at::Tensor& out) {
  const int64_t channels = x.size(1), rows = x.size(0) * channels;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "nncf::binarize_activation", [&] {
    const scalar_t s = scale.item<scalar_t>();
    const at::Tensor t = (threshold.reshape({-1}) * scale.reshape({})).contiguous();
    cpu::ActivationBinarizeArgs<scalar_t> a;
    a.x = x.data_ptr<scalar_t>();
    a.threshold = t.data_ptr<scalar_t>();
    a.scale = s;
    a.out = out.data_ptr<scalar_t>();
    a.channels = channels;
    a.inner = rows > 0 ? x.numel() / rows : 0;
    void (*fn)(const cpu::ActivationBinarizeArgs<scalar_t>&, int64_t, int64_t) =
        cpu::baseline::activation_forward;
    if (isa().use_avx2()) fn = cpu::avx2::activation_forward;
    at::parallel_for(0, rows, grain_rows(a), [&](int64_t b, int64_t e) { fn(a, b, e); });
  });
}

at::Tensor binarize_activation_cpu(const at::Tensor& x_in, const at::Tensor& scale,
                                   const at::Tensor& threshold) {
  check_activation(x_in, scale, threshold);
  const at::Tensor x = x_in.contiguous();
  at::Tensor out = detail::empty_output(x);
  activation_forward_into(x, scale, threshold, out);
  return out;
}

at::Tensor& binarize_activation_out_cpu(const at::Tensor& x_in, const at::Tensor& scale,
                                        const at::Tensor& threshold, at::Tensor& out) {
  check_activation(x_in, scale, threshold);
  const at::Tensor x = x_in.contiguous();
  check_out(out, x, x, "binarize_activation");
  activation_forward_into(x, scale, threshold, out);
  return out;
}

std::tuple<at::Tensor, at::Tensor> activation_backward_into(const at::Tensor& grad_in, const at::Tensor& x_in,
                                                            const at::Tensor& scale,
                                                            const at::Tensor& threshold,
                                                            const at::Tensor* dx_out, at::Tensor* dx_new) {
  check_activation(x_in, scale, threshold);
  TORCH_CHECK(grad_in.sizes() == x_in.sizes() && grad_in.scalar_type() == x_in.scalar_type(),
              "nncf binarize_activation_backward: grad must have the input's shape and dtype, got ",
              grad_in.sizes(), " ", grad_in.scalar_type());
  const at::Tensor x = x_in.contiguous(), grad = grad_in.contiguous();
  at::Tensor dx;
  if (dx_out != nullptr) {
    check_out(*dx_out, x, x, "binarize_activation_backward");
    check_out(*dx_out, x, grad, "binarize_activation_backward");
    dx = *dx_out;
  } else {
    dx = detail::empty_output(x);
    *dx_new = dx;
  }
  const int64_t channels = x.size(1), rows = x.size(0) * channels;
  std::vector<double> ds(static_cast<size_t>(rows)), dt(static_cast<size_t>(rows));
  at::Tensor dscale, dthreshold;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "nncf::binarize_activation_backward", [&] {
    const at::Tensor t = (threshold.reshape({-1}) * scale.reshape({})).contiguous();
    cpu::ActivationBinarizeArgs<scalar_t> a;
    a.x = x.data_ptr<scalar_t>();
    a.grad = grad.data_ptr<scalar_t>();
    a.threshold = t.data_ptr<scalar_t>();
    a.scale = scale.item<scalar_t>();
    a.out = dx.data_ptr<scalar_t>();
    a.grad_scale = ds.data();
    a.grad_threshold = dt.data();
    a.channels = channels;
    a.inner = rows > 0 ? x.numel() / rows : 0;
    void (*fn)(const cpu::ActivationBinarizeArgs<scalar_t>&, int64_t, int64_t) =
        cpu::baseline::activation_backward;
    if (isa().use_avx2()) fn = cpu::avx2::activation_backward;
    at::parallel_for(0, rows, grain_rows(a), [&](int64_t b, int64_t e) { fn(a, b, e); });
    // The rows' partial sums, added in a fixed order.
    double total = 0;
    std::vector<double> per_channel(static_cast<size_t>(channels), 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      total += ds[static_cast<size_t>(r)];
      per_channel[static_cast<size_t>(r % channels)] += dt[static_cast<size_t>(r)];
    }
    dscale = at::full(scale.sizes(), total, scale.options());
    dthreshold = at::tensor(per_channel, at::kDouble).to(threshold.scalar_type()).reshape(threshold.sizes());
  });
  return {dscale, dthreshold};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> binarize_activation_backward_cpu(const at::Tensor& grad,
                                                                                const at::Tensor& x,
                                                                                const at::Tensor& scale,
                                                                                const at::Tensor& threshold) {
  at::Tensor dx;
  auto [dscale, dthreshold] = activation_backward_into(grad, x, scale, threshold, nullptr, &dx);
  return {dx, dscale, dthreshold};
}

std::tuple<at::Tensor, at::Tensor> binarize_activation_backward_dx_out_cpu(const at::Tensor& grad,
                                                                           const at::Tensor& x,
                                                                           const at::Tensor& scale,
                                                                           const at::Tensor& threshold,
                                                                           at::Tensor& dx) {
  return activation_backward_into(grad, x, scale, threshold, &dx, nullptr);
}

at::Tensor weight_into(const at::Tensor& w, bool per_channel, const at::Tensor& out) {
  const int64_t rows = per_channel ? w.size(0) : 1;
  at::Tensor scale = at::empty({rows}, w.options());
  AT_DISPATCH_FLOATING_TYPES(w.scalar_type(), "nncf::binarize_weight", [&] {
    const int64_t row_size = w.numel() / rows;
    const scalar_t* in = w.data_ptr<scalar_t>();
    scalar_t* o = out.data_ptr<scalar_t>();
    scalar_t* s = scale.data_ptr<scalar_t>();
    void (*fn)(const scalar_t*, scalar_t*, scalar_t*, int64_t, int64_t, int64_t) =
        cpu::baseline::weight_binarize;
    if (isa().use_avx2()) fn = cpu::avx2::weight_binarize;
    at::parallel_for(0, rows, std::max<int64_t>(1, kGrainElements / row_size),
                     [&](int64_t b, int64_t e) { fn(in, o, s, row_size, b, e); });
  });
  return scale;
}

void check_weight(const at::Tensor& w) {
  check_float(w, "weight");
  TORCH_CHECK(w.dim() >= 1 && w.numel() > 0, "nncf binarize_weight: expected a non-empty weight, got ",
              w.sizes());
}

std::tuple<at::Tensor, at::Tensor> binarize_weight_cpu(const at::Tensor& w_in, bool per_channel) {
  check_weight(w_in);
  const at::Tensor w = w_in.contiguous();
  at::Tensor out = detail::empty_output(w);
  at::Tensor scale = weight_into(w, per_channel, out);
  return {out, scale};
}

at::Tensor binarize_weight_out_cpu(const at::Tensor& w_in, bool per_channel, at::Tensor& out) {
  check_weight(w_in);
  const at::Tensor w = w_in.contiguous();
  check_out(out, w, w, "binarize_weight");
  return weight_into(w, per_channel, out);
}

using WeightSig = std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, bool);
using ActSig = at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&);
using ActBwdSig = std::tuple<at::Tensor, at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&,
                                                                 const at::Tensor&, const at::Tensor&);
using WeightOutSig = at::Tensor(const at::Tensor&, bool, at::Tensor&);
using ActOutSig = at::Tensor&(const at::Tensor&, const at::Tensor&, const at::Tensor&, at::Tensor&);
using ActBwdOutSig = std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&,
                                                        const at::Tensor&, const at::Tensor&, at::Tensor&);

template <typename Sig>
const c10::TypedOperatorHandle<Sig>& op(const char* name, const char* overload = "") {
  // One handle per signature: each op below has its own.
  static const auto handle = c10::Dispatcher::singleton().findSchemaOrThrow(name, overload).typed<Sig>();
  return handle;
}

}  // namespace

namespace detail {
bool force_baseline_binarize_isa(bool on) {
  return isa().force_baseline(on);
}
}  // namespace detail

std::tuple<at::Tensor, at::Tensor> binarize_weight(const at::Tensor& w, bool per_channel) {
  return op<WeightSig>("nncf::binarize_weight").call(w, per_channel);
}

at::Tensor binarize_activation(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& threshold) {
  return op<ActSig>("nncf::binarize_activation").call(x, scale, threshold);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> binarize_activation_backward(const at::Tensor& grad,
                                                                            const at::Tensor& x,
                                                                            const at::Tensor& scale,
                                                                            const at::Tensor& threshold) {
  return op<ActBwdSig>("nncf::binarize_activation_backward").call(grad, x, scale, threshold);
}

at::Tensor binarize_weight_out(const at::Tensor& w, bool per_channel, at::Tensor& out) {
  return op<WeightOutSig>("nncf::binarize_weight", "out").call(w, per_channel, out);
}

at::Tensor& binarize_activation_out(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& threshold,
                                    at::Tensor& out) {
  return op<ActOutSig>("nncf::binarize_activation", "out").call(x, scale, threshold, out);
}

std::tuple<at::Tensor, at::Tensor> binarize_activation_backward_out(const at::Tensor& grad,
                                                                    const at::Tensor& x,
                                                                    const at::Tensor& scale,
                                                                    const at::Tensor& threshold,
                                                                    at::Tensor& dx) {
  return op<ActBwdOutSig>("nncf::binarize_activation_backward", "dx_out").call(grad, x, scale, threshold, dx);
}

}  // namespace nncf::kernels

TORCH_LIBRARY_FRAGMENT(nncf, m) {
  m.def("binarize_weight(Tensor w, bool per_channel) -> (Tensor, Tensor)");
  m.def("binarize_activation(Tensor x, Tensor scale, Tensor threshold) -> Tensor");
  m.def(
      "binarize_activation_backward(Tensor grad, Tensor x, Tensor scale, Tensor threshold) -> (Tensor, "
      "Tensor, "
      "Tensor)");
  m.def("binarize_weight.out(Tensor w, bool per_channel, *, Tensor(a!) out) -> Tensor");
  m.def("binarize_activation.out(Tensor x, Tensor scale, Tensor threshold, *, Tensor(a!) out) -> Tensor(a!)");
  m.def(
      "binarize_activation_backward.dx_out(Tensor grad, Tensor x, Tensor scale, Tensor threshold, *, "
      "Tensor(a!) dx) -> (Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(nncf, CPU, m) {
  m.impl("binarize_weight", TORCH_FN(nncf::kernels::binarize_weight_cpu));
  m.impl("binarize_activation", TORCH_FN(nncf::kernels::binarize_activation_cpu));
  m.impl("binarize_activation_backward", TORCH_FN(nncf::kernels::binarize_activation_backward_cpu));
  m.impl("binarize_weight.out", TORCH_FN(nncf::kernels::binarize_weight_out_cpu));
  m.impl("binarize_activation.out", TORCH_FN(nncf::kernels::binarize_activation_out_cpu));
  m.impl("binarize_activation_backward.dx_out",
         TORCH_FN(nncf::kernels::binarize_activation_backward_dx_out_cpu));
}
