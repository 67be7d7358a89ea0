#include "nncf/algorithms/sparsity/mask.h"

#include <torch/autograd.h>

#include <ostream>

#include "nncf/kernels/rb_mask.h"

namespace nncf::sparsity {
namespace {

// y = w * [z > 0] with z = m + logit(u); straight-through to sigmoid(z) for the logits. The fused
// kernels (nncf/kernels/rb_mask.h) draw u from a counter-based stream keyed by one seed per call, so
// the backward recomputes u instead of saving z and the mask: one pass each way, nothing
// weight-sized saved beyond the inputs.
struct RBSample : public torch::autograd::Function<RBSample> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& w,
                               const torch::Tensor& m) {
    const int64_t seed = kernels::rb_mask_seed();
    ctx->save_for_backward({w, m});
    ctx->saved_data["seed"] = seed;
    return kernels::rb_mask_forward(w, m, seed);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    auto [grad_w, grad_m] =
        kernels::rb_mask_backward(grads[0], saved[0], saved[1], ctx->saved_data["seed"].toInt());
    return {grad_w, grad_m};
  }
};

}  // namespace

BinaryMaskImpl::BinaryMaskImpl(std::vector<int64_t> shape) : weight_shape(std::move(shape)) {
  reset();
}

void BinaryMaskImpl::reset() {
  mask = register_buffer("mask", torch::ones(weight_shape));
}

torch::Tensor BinaryMaskImpl::forward(const torch::Tensor& weight) {
  return weight * mask;
}

void BinaryMaskImpl::pretty_print(std::ostream& stream) const {
  stream << "nncf::BinaryMask(shape=" << c10::IntArrayRef(weight_shape) << ")";
}

RBMaskImpl::RBMaskImpl(std::vector<int64_t> shape) : weight_shape(std::move(shape)) {
  reset();
}

void RBMaskImpl::reset() {
  mask = register_parameter("mask", torch::full(weight_shape, kInitialLogit));
  frozen = register_buffer("frozen", torch::tensor(int64_t{0}));
}

torch::Tensor RBMaskImpl::forward(const torch::Tensor& weight) {
  if (is_training() && !is_frozen()) return RBSample::apply(weight, mask);
  return weight * binary_mask();
}

torch::Tensor RBMaskImpl::binary_mask() const {
  return mask.detach().gt(0).to(mask.scalar_type());
}

void RBMaskImpl::set_frozen(bool on) {
  torch::NoGradGuard no_grad;
  frozen.fill_(on ? 1 : 0);
}

bool RBMaskImpl::is_frozen() const {
  return frozen.item<int64_t>() != 0;
}

void RBMaskImpl::pretty_print(std::ostream& stream) const {
  stream << "nncf::RBMask(shape=" << c10::IntArrayRef(weight_shape) << (is_frozen() ? ", frozen" : "") << ")";
}

void BinaryMaskImpl::keep_channels(int64_t dim, const at::Tensor& kept) {
  runtime::keep_channels_of(mask, dim, kept);
  weight_shape = mask.sizes().vec();
}

void RBMaskImpl::keep_channels(int64_t dim, const at::Tensor& kept) {
  runtime::keep_channels_of(mask, dim, kept);
  weight_shape = mask.sizes().vec();
}

}  // namespace nncf::sparsity
