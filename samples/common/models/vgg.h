#pragma once

// VGG with BatchNorm and torchvision's module names (`features.0.weight`, `features.1.running_mean`,
// `classifier.6.bias`):
//
//   models::VGG net(models::VGGOptions().layers(models::vgg_layers(16)).num_classes(10));

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <ostream>
#include <utility>
#include <vector>

namespace nncf_sample::models {

/// torchvision's layer table ("A" for 11, "D" for 16, ...) of VGG-11, -13, -16 or -19: conv
/// widths, 0 for a 2x2 max pool. Throws c10::Error for another depth.
std::vector<int64_t> vgg_layers(int depth);

struct VGGOptions {
  TORCH_ARG(int64_t, in_channels) = 3;
  TORCH_ARG(int64_t, num_classes) = 1000;
  /// features: for each entry a 3x3 conv (with bias) - bn - relu of that width, or for 0 a 2x2 max
  /// pool.
  TORCH_ARG(std::vector<int64_t>, layers) = vgg_layers(16);
  /// Side of the adaptive avg pool between features and classifier.
  TORCH_ARG(int64_t, pool_size) = 7;
  /// Widths of the classifier's hidden linears, each followed by relu and dropout.
  TORCH_ARG(std::vector<int64_t>, hidden) = {4096, 4096};
  TORCH_ARG(double, dropout) = 0.5;
  /// torchvision's initialization (init_like_torchvision with normal(0, 0.01) linears) instead of
  /// LibTorch's defaults.
  TORCH_ARG(bool, torchvision_init) = false;
};

/// features, adaptive avg pool, flatten, classifier ([linear, relu, dropout]..., linear).
class VGGImpl : public torch::nn::Cloneable<VGGImpl> {
 public:
  explicit VGGImpl(VGGOptions options_ = {}) : options(std::move(options_)) { reset(); }

  void reset() override;
  torch::Tensor forward(torch::Tensor x);
  void pretty_print(std::ostream& stream) const override;

  VGGOptions options;
  torch::nn::Sequential features{nullptr}, classifier{nullptr};
};
TORCH_MODULE(VGG);

}  // namespace nncf_sample::models
