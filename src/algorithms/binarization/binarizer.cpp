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

// Weights: binarized forward, identity backward. `kept`, when set (training on the fused kernels),
// supplies the output tensor.
class WeightBinarizeFn : public torch::autograd::Function<WeightBinarizeFn> {
 public:
  static at::Tensor forward(AutogradContext* /*ctx*/, const at::Tensor& w, bool per_channel,
                            const c10::intrusive_ptr<KeptBuffers>& kept) {
    at::NoGradGuard no_grad;
    if (!fused(w)) return std::get<0>(kernels::reference::binarize_weight(w, per_channel));
    if (!kept) return std::get<0>(kernels::binarize_weight(w, per_channel));
    at::Tensor out = kept->take(kept->out, w);
    kernels::binarize_weight_out(w, per_channel, out);
    return out;
  }
  static variable_list backward(AutogradContext* /*ctx*/, variable_list grads) {
    return {grads[0], at::Tensor(), at::Tensor()};
  }
};

// `buffers`, when set (training on the fused kernels), supplies the output and dx tensors.
class ActivationBinarizeFn : public torch::autograd::Function<ActivationBinarizeFn> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& scale,
                            const at::Tensor& threshold, const c10::intrusive_ptr<KeptBuffers>& buffers) {
    ctx->save_for_backward({x, scale, threshold});
    at::NoGradGuard no_grad;
    if (!fused(x)) return kernels::reference::binarize_activation(x, scale, threshold);
    if (!buffers) return kernels::binarize_activation(x, scale, threshold);
    ctx->saved_data["buffers"] = c10::IValue::make_capsule(buffers);
    at::Tensor out = buffers->take(buffers->out, x);
    return kernels::binarize_activation_out(x, scale, threshold, out);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor g = grads[0].contiguous();
    if (!fused(saved[0])) {
      auto [dx, ds, dt] = kernels::reference::binarize_activation_backward(g, saved[0], saved[1], saved[2]);
      return {dx, ds, dt, at::Tensor()};
    }
    const auto it = ctx->saved_data.find("buffers");
    if (it == ctx->saved_data.end()) {
      auto [dx, ds, dt] = kernels::binarize_activation_backward(g, saved[0], saved[1], saved[2]);
      return {dx, ds, dt, at::Tensor()};
    }
    auto buffers = c10::static_intrusive_pointer_cast<KeptBuffers>(it->second.toCapsule());
    at::Tensor dx = buffers->take(buffers->dx, saved[0]);
    auto [ds, dt] = kernels::binarize_activation_backward_out(g, saved[0], saved[1], saved[2], dx);
    return {dx, ds, dt, at::Tensor()};
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

at::Tensor KeptBuffers::take(at::Tensor& slot, const at::Tensor& like) {
  std::lock_guard<std::mutex> lock(mutex);
  const bool reusable = slot.defined() && slot.use_count() == 1 && slot.storage().use_count() == 1 &&
                        slot.sizes() == like.sizes() && slot.scalar_type() == like.scalar_type() &&
                        slot.device() == like.device();
  if (!reusable) slot = at::empty(like.sizes(), like.options().memory_format(at::MemoryFormat::Contiguous));
  // A new tensor on the same memory, so that autograd's history goes on it, not on `slot`.
  return at::empty({0}, slot.options()).set_(slot.storage(), 0, slot.sizes(), slot.strides());
}

WeightBinarizerImpl::WeightBinarizerImpl(BinarizationMode mode_) : mode(mode_) {
  reset();
}

void WeightBinarizerImpl::reset() {
  enabled = register_buffer("enabled", torch::zeros({1}, torch::kUInt8));
  kept_ = c10::make_intrusive<KeptBuffers>();
}

void WeightBinarizerImpl::release_buffers() {
  std::lock_guard<std::mutex> lock(kept_->mutex);
  kept_->out = at::Tensor();
}

torch::Tensor WeightBinarizerImpl::forward(const torch::Tensor& w) {
  if (!is_enabled()) return w;
  const bool reuse = is_training() && torch::GradMode::is_enabled();
  return WeightBinarizeFn::apply(w, mode == BinarizationMode::Xnor,
                                 reuse ? kept_ : c10::intrusive_ptr<KeptBuffers>());
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
  kept_ = c10::make_intrusive<KeptBuffers>();
}

void ActivationBinarizerImpl::release_buffers() {
  std::lock_guard<std::mutex> lock(kept_->mutex);
  kept_->out = at::Tensor();
  kept_->dx = at::Tensor();
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
  const bool reuse = is_training() && torch::GradMode::is_enabled();
  return ActivationBinarizeFn::apply(x, s, t, reuse ? kept_ : c10::intrusive_ptr<KeptBuffers>());
}

void ActivationBinarizerImpl::pretty_print(std::ostream& stream) const {
  stream << "nncf::ActivationBinarizer(channels=" << channels << ", enabled=" << is_enabled() << ")";
}

}  // namespace nncf::binarization
