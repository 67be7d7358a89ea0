#include "nncf/algorithms/sparsity/mask.h"

#include <torch/autograd.h>

#include <ostream>

namespace nncf::sparsity {
namespace {

// y = w * [z > 0] with z = m + logit(u); straight-through to sigmoid(z) for the logits. Few
// weight-sized passes: u is drawn into the buffer that becomes z (saved for backward), the mask is
// a bool tensor, and the backward's sigmoid derivative is one fused op.
struct RBSample : public torch::autograd::Function<RBSample> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& w,
                               const torch::Tensor& m) {
    torch::Tensor z = at::rand_like(m);
    z.clamp_(1e-6, 1.0 - 1e-6).logit_().add_(m);
    const torch::Tensor keep = z.gt(0);
    ctx->save_for_backward({w, z, keep});
    return w * keep;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& w = saved[0];
    const torch::Tensor& keep = saved[2];
    const torch::Tensor& g = grads[0];
    torch::Tensor s = saved[1].sigmoid();
    return {g * keep, at::sigmoid_backward(g * w, s)};
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

}  // namespace nncf::sparsity
