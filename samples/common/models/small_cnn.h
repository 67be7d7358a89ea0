#pragma once

// A two-conv network for 28x28 and 32x32 images that trains in seconds.

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <optional>
#include <ostream>

namespace nncf_sample::models {

struct SmallCNNOptions {
  TORCH_ARG(int64_t, in_channels) = 3;
  TORCH_ARG(int64_t, num_classes) = 10;
  /// Output channels of conv1 and conv2.
  TORCH_ARG(int64_t, channels1) = 32;
  TORCH_ARG(int64_t, channels2) = 64;
  /// Probability of a Dropout (child `dropout`) before fc; none (and no child) when unset.
  TORCH_ARG(std::optional<double>, dropout) = std::nullopt;
  /// torchvision's initialization (init_like_torchvision, LibTorch's default linear) instead of
  /// LibTorch's defaults.
  TORCH_ARG(bool, torchvision_init) = false;
};

/// conv1-bn1-relu, 2x2 max pool, conv2-bn2-relu, adaptive avg pool, flatten[, dropout], fc; 3x3
/// convs without bias. Any input of at least 2x2.
class SmallCNNImpl : public torch::nn::Cloneable<SmallCNNImpl> {
 public:
  explicit SmallCNNImpl(SmallCNNOptions options_ = {}) : options(options_) { reset(); }

  void reset() override;
  torch::Tensor forward(torch::Tensor x);
  void pretty_print(std::ostream& stream) const override;

  SmallCNNOptions options;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  /// Null without SmallCNNOptions::dropout.
  torch::nn::Dropout dropout{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(SmallCNN);

}  // namespace nncf_sample::models
