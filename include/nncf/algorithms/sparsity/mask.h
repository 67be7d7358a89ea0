#pragma once

// The modules sparsity inserts as weight pre-ops.
//
// BinaryMask (magnitude and const sparsity): `weight * mask` with a `mask` buffer the controller
// sets. RBMask (regularization-based sparsity): a trainable logit per weight element; in training
// the mask is sampled, `[m + logit(u) > 0]` with u ~ U(0, 1), with a straight-through gradient to
// the logits through sigmoid(m + logit(u)); in eval mode, or once frozen, it is the deterministic
// `[m > 0]` (that is, sigmoid(m) > 0.5).

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include "nncf/runtime/channel_slicing.h"

namespace nncf::sparsity {

class BinaryMaskImpl : public torch::nn::Cloneable<BinaryMaskImpl>, public runtime::ChannelSliceable {
 public:
  /// A mask of ones shaped like `weight_shape`.
  explicit BinaryMaskImpl(std::vector<int64_t> weight_shape = {});
  void reset() override;
  /// weight * mask: one multiply; autograd keeps only the mask (a buffer) for its backward.
  torch::Tensor forward(const torch::Tensor& weight);
  /// Filter pruning removed channels of the weight: the mask keeps those of `kept`.
  void keep_channels(int64_t dim, const at::Tensor& kept) override;
  void pretty_print(std::ostream& stream) const override;

  std::vector<int64_t> weight_shape;
  torch::Tensor mask;  ///< buffer, float, 1 = kept
};
TORCH_MODULE(BinaryMask);

class RBMaskImpl : public torch::nn::Cloneable<RBMaskImpl>, public runtime::ChannelSliceable {
 public:
  /// NNCF's initial logit: logit(0.99), so that every weight starts kept with high probability.
  static constexpr double kInitialLogit = 4.59511985013459;

  explicit RBMaskImpl(std::vector<int64_t> weight_shape = {});
  void reset() override;
  torch::Tensor forward(const torch::Tensor& weight);
  /// The deterministic mask, [logit > 0], as float.
  torch::Tensor binary_mask() const;
  void set_frozen(bool frozen);
  void keep_channels(int64_t dim, const at::Tensor& kept) override;
  bool is_frozen() const;
  void pretty_print(std::ostream& stream) const override;

  std::vector<int64_t> weight_shape;
  torch::Tensor mask;    ///< parameter: the logits
  torch::Tensor frozen;  ///< buffer, int64 scalar
};
TORCH_MODULE(RBMask);

}  // namespace nncf::sparsity
