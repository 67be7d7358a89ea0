#include "nncf/algorithms/binarization/binarizer.h"

#include <c10/util/Exception.h>
#include <torch/autograd.h>
#include <torch/types.h>

#include <algorithm>
#include <cmath>
#include <ostream>
#include <vector>

#include "nncf/kernels/binarize.h"

namespace nncf::binarization {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

bool fused(const at::Tensor& x) {
  return x.device().is_cpu() && (x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble);
}

// Weights: binarized forward, identity backward.
class WeightBinarizeFn : public torch::autograd::Function<WeightBinarizeFn> {
 public:
  static at::Tensor forward(AutogradContext* /*ctx*/, const at::Tensor& w, bool per_channel) {
    at::NoGradGuard no_grad;
    return std::get<0>(fused(w) ? kernels::binarize_weight(w, per_channel)
                                : kernels::reference::binarize_weight(w, per_channel));
  }
  static variable_list backward(AutogradContext* /*ctx*/, variable_list grads) {
    return {grads[0], at::Tensor()};
  }
};

class ActivationBinarizeFn : public torch::autograd::Function<ActivationBinarizeFn> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& scale,
                            const at::Tensor& threshold) {
    ctx->save_for_backward({x, scale, threshold});
    at::NoGradGuard no_grad;
    return fused(x) ? kernels::binarize_activation(x, scale, threshold)
                    : kernels::reference::binarize_activation(x, scale, threshold);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor g = grads[0].contiguous();
    auto [dx, ds, dt] =
        fused(saved[0]) ? kernels::binarize_activation_backward(g, saved[0], saved[1], saved[2])
                        : kernels::reference::binarize_activation_backward(g, saved[0], saved[1], saved[2]);
    return {dx, ds, dt};
  }
};

// The S in (0, hi] minimizing sum (S [x > S/2] - x)^2 over x (flat, double), on a grid of 1024
// candidates: with x sorted and suffix sums, the error at S is
// sum x^2 - 2 S sum_{x > S/2} x + S^2 #{x > S/2}.
double mse_scale(const at::Tensor& x, double hi) {
  const at::Tensor sorted = std::get<0>(x.sort());
  const int64_t n = sorted.numel();
  const double* v = sorted.data_ptr<double>();
  std::vector<double> suffix(static_cast<size_t>(n) + 1, 0.0);
  for (int64_t i = n - 1; i >= 0; --i)
    suffix[static_cast<size_t>(i)] = suffix[static_cast<size_t>(i) + 1] + v[i];
  constexpr int kCandidates = 1024;
  double best = hi, best_err = HUGE_VAL;
  for (int c = 1; c <= kCandidates; ++c) {
    const double s = hi * c / kCandidates;
    const int64_t first = std::upper_bound(v, v + n, s / 2) - v;  // first x > S/2
    const double above = static_cast<double>(n - first);
    const double err = s * s * above - 2 * s * suffix[static_cast<size_t>(first)];  // + sum x^2
    if (err < best_err) {
      best_err = err;
      best = s;
    }
  }
  return best;
}

}  // namespace

WeightBinarizerImpl::WeightBinarizerImpl(BinarizationMode mode_) : mode(mode_) {
  enabled = register_buffer("enabled", torch::zeros({1}, torch::kUInt8));
}

torch::Tensor WeightBinarizerImpl::forward(const torch::Tensor& w) {
  if (!is_enabled()) return w;
  return WeightBinarizeFn::apply(w, mode == BinarizationMode::Xnor);
}

void WeightBinarizerImpl::pretty_print(std::ostream& stream) const {
  stream << "nncf::WeightBinarizer(mode=" << to_string(mode) << ", enabled=" << is_enabled() << ")";
}

ActivationBinarizerImpl::ActivationBinarizerImpl(int64_t channels_) : channels(channels_) {
  TORCH_CHECK(channels >= 1, "nncf: ActivationBinarizer needs at least one channel, got ", channels);
  reset();
}

void ActivationBinarizerImpl::reset() {
  scale_raw = register_parameter("scale_raw", torch::zeros({1}));
  threshold_raw = register_parameter("threshold_raw", torch::zeros({channels}));
  initialized = register_buffer("initialized", torch::zeros({1}, torch::kUInt8));
  enabled = register_buffer("enabled", torch::zeros({1}, torch::kUInt8));
}

void ActivationBinarizerImpl::init_scale(const torch::Tensor& x_in) {
  torch::NoGradGuard no_grad;
  const at::Tensor x = x_in.detach().reshape({-1}).to(torch::kDouble);
  TORCH_CHECK(x.numel() > 0, "nncf: ActivationBinarizer: cannot set the scale from an empty batch");
  const int64_t k = std::max<int64_t>(1, std::llround(0.001 * static_cast<double>(x.numel())));
  double s = std::get<0>(x.topk(k)).min().item<double>();
  if (mse_scale_init && s > 0) s = mse_scale(x, s);
  if (!(s > 0)) s = x.abs().max().item<double>();
  if (!(s > 0)) s = 1.0;
  scale_raw.fill_(std::log(s));
  initialized.fill_(1);
}

torch::Tensor ActivationBinarizerImpl::scale() const {
  return scale_raw.exp();
}

torch::Tensor ActivationBinarizerImpl::threshold() const {
  return threshold_raw.sigmoid();
}

at::Tensor ActivationBinarizerImpl::switch_points() const {
  return threshold() * scale();
}

torch::Tensor ActivationBinarizerImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() >= 2 && x.size(1) == channels, "nncf: ActivationBinarizer of ", channels,
              " channels applied to a tensor of shape ", x.sizes());
  if (observing) {
    if (!observed.defined()) observed = x.detach().clone();
    return x;
  }
  if (!is_enabled()) return x;
  if (is_training() && !is_initialized()) init_scale(x);
  const at::Tensor s = scale().to(x.scalar_type()), t = threshold().to(x.scalar_type());
  return ActivationBinarizeFn::apply(x, s, t);
}

void ActivationBinarizerImpl::pretty_print(std::ostream& stream) const {
  stream << "nncf::ActivationBinarizer(channels=" << channels << ", enabled=" << is_enabled() << ")";
}

}  // namespace nncf::binarization
