#pragma once

// ResNet with torchvision's module names (`conv1`, `bn1`, `layer2.0.downsample.0.weight`, `fc`)
// and registration order, so that at torchvision's widths the parameter counts and names equal
// torchvision's:
//
//   models::ResNet net(models::resnet_options(50).num_classes(10).small_input(true));

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <ostream>
#include <utility>
#include <vector>

namespace nncf_sample::models {

struct ResidualBlockOptions {
  ResidualBlockOptions(int64_t in_channels, int64_t planes) : in_channels_(in_channels), planes_(planes) {}
  TORCH_ARG(int64_t, in_channels);
  /// Inner width; the block's output has planes (basic) or 4 * planes (bottleneck) channels.
  TORCH_ARG(int64_t, planes);
  /// Stride of the first 3x3 conv (and of the downsample).
  TORCH_ARG(int64_t, stride) = 1;
  /// Bottleneck (1x1, 3x3, 1x1 convs, expansion 4) instead of basic (two 3x3 convs).
  TORCH_ARG(bool, bottleneck) = false;
  /// In-place relu and residual add (`relu_`, `add_`), as torchvision's modules run them; false:
  /// `relu`, `add`.
  TORCH_ARG(bool, inplace) = true;
};

/// torchvision's BasicBlock and Bottleneck: conv-bn-relu, conv-bn[-relu, conv-bn], + the input
/// (or a 1x1 conv + bn where the stride or the width changes), relu. Its class name is torchvision's
/// (`BasicBlock` or `Bottleneck`), so that NNCF's names agree (Module is a virtual base of Cloneable,
/// so the name goes to Module directly).
class ResidualBlockImpl : public torch::nn::Cloneable<ResidualBlockImpl> {
 public:
  explicit ResidualBlockImpl(const ResidualBlockOptions& options_)
      : Module(options_.bottleneck() ? "Bottleneck" : "BasicBlock"), options(options_) {
    reset();
  }

  void reset() override;
  torch::Tensor forward(torch::Tensor x);
  void pretty_print(std::ostream& stream) const override;

  /// planes, or 4 * planes for a bottleneck.
  int64_t out_channels() const;

  ResidualBlockOptions options;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  /// Null where the block keeps the input's shape.
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(ResidualBlock);

struct ResNetOptions {
  TORCH_ARG(int64_t, in_channels) = 3;
  TORCH_ARG(int64_t, num_classes) = 1000;
  /// Blocks per stage, `layer1`, `layer2`, ...; every stage but the first starts with stride 2.
  TORCH_ARG(std::vector<int64_t>, blocks) = {2, 2, 2, 2};
  /// Inner width of each stage's blocks (one per stage); the stem has widths[0] channels.
  TORCH_ARG(std::vector<int64_t>, widths) = {64, 128, 256, 512};
  TORCH_ARG(bool, bottleneck) = false;
  /// true: a 3x3 stride-1 stem without max pool (28x28, 32x32 images); false: torchvision's 7x7
  /// stride-2 stem and 3x3 stride-2 max pool.
  TORCH_ARG(bool, small_input) = false;
  /// See ResidualBlockOptions::inplace; also the stem's relu.
  TORCH_ARG(bool, inplace) = true;
  /// torchvision's initialization (init_like_torchvision, LibTorch's default linear) instead of
  /// LibTorch's defaults.
  TORCH_ARG(bool, torchvision_init) = false;
};

/// torchvision's blocks, block kind and widths of ResNet-18, -34, -50, -101 or -152; throws
/// c10::Error for another depth.
ResNetOptions resnet_options(int depth);

/// conv1, bn1, relu[, max pool], layer1..layerN (Sequentials of ResidualBlocks), adaptive avg pool,
/// flatten, fc.
class ResNetImpl : public torch::nn::Cloneable<ResNetImpl> {
 public:
  explicit ResNetImpl(ResNetOptions options_ = {}) : options(std::move(options_)) { reset(); }

  void reset() override;
  torch::Tensor forward(torch::Tensor x);
  void pretty_print(std::ostream& stream) const override;

  ResNetOptions options;
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  /// layer1, layer2, ...
  std::vector<torch::nn::Sequential> layers;
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(ResNet);

}  // namespace nncf_sample::models
