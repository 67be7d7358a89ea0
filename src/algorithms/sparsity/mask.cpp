#include "nncf/algorithms/sparsity/mask.h"

#include <torch/autograd.h>

#include <ostream>

namespace nncf::sparsity {
namespace {

// y = w * [z > 0] with z = m + logit(u); straight-through to sigmoid(z) for the logits.
struct RBSample : public torch::autograd::Function<RBSample> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& w,
                               const torch::Tensor& m) {
    torch::Tensor z = at::rand_like(m).clamp_(1e-6, 1.0 - 1e-6);
    z = z.log() - at::log1p(z.neg()) + m;  // logit(u) + m
    ctx->save_for_backward({w, z});
    return w * z.gt(0).to(w.scalar_type());
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& w = saved[0];
    const torch::Tensor& z = saved[1];
    const torch::Tensor& g = grads[0];
    const torch::Tensor s = z.sigmoid();
    return {g * z.gt(0).to(g.scalar_type()), g * w * s * (1 - s)};
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
