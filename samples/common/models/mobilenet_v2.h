#pragma once

// MobileNetV2 with torchvision's module names (`features.0.0.weight`, `features.1.conv.0.0.weight`,
// `classifier.1.weight`). The options hold the channel counts as built: a width multiplier is the
// caller's policy (torchvision's width_mult rounds each count with make_divisible, and the last
// one as make_divisible(1280 * max(1, width_mult))).

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <ostream>
#include <utility>
#include <vector>

namespace nncf_sample::models {

/// torchvision's _make_divisible(v, divisor): `v` rounded to the nearest multiple of `divisor`, at
/// least `divisor`, and not below 90% of `v`.
int64_t make_divisible(double v, int64_t divisor = 8);

/// conv (no bias) - bn - ReLU6 with children "0", "1", "2", like torchvision's Conv2dNormActivation.
/// A module rather than a Sequential because a Sequential cannot hold a Sequential. Its class name
/// is torchvision's, so that NNCF's names (`.../Conv2dNormActivation[0]/NNCFConv2d[0]/conv2d_0`)
/// agree.
class ConvBNReLU6Impl : public torch::nn::Cloneable<ConvBNReLU6Impl> {
 public:
  ConvBNReLU6Impl(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t groups = 1)
      : Module("Conv2dNormActivation"),
        in_(in),
        out_(out),
        kernel_(kernel),
        stride_(stride),
        groups_(groups) {
    reset();
  }

  void reset() override;
  torch::Tensor forward(torch::Tensor x) { return relu6(bn(conv(x))); }

  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  torch::nn::ReLU6 relu6{nullptr};

 private:
  int64_t in_, out_, kernel_, stride_, groups_;
};
TORCH_MODULE(ConvBNReLU6);

/// torchvision's InvertedResidual: `conv` = [1x1 expand ConvBNReLU6 (absent when expand is 1),]
/// 3x3 depthwise ConvBNReLU6, 1x1 linear projection conv, bn; + the input when the stride is 1 and
/// the channels agree.
class InvertedResidualImpl : public torch::nn::Cloneable<InvertedResidualImpl> {
 public:
  InvertedResidualImpl(int64_t in, int64_t out, int64_t stride, int64_t expand)
      : in_(in), out_(out), stride_(stride), expand_(expand) {
    reset();
  }

  void reset() override;
  torch::Tensor forward(torch::Tensor x);

  torch::nn::Sequential conv{nullptr};

 private:
  int64_t in_, out_, stride_, expand_;
};
TORCH_MODULE(InvertedResidual);

/// One row of torchvision's inverted-residual table: expansion t, output channels c, repeats n,
/// stride s of the first repeat.
struct InvertedResidualSetting {
  int64_t expand, channels, repeats, stride;
};

struct MobileNetV2Options {
  TORCH_ARG(int64_t, in_channels) = 3;
  TORCH_ARG(int64_t, num_classes) = 1000;
  /// Output channels of the stem conv.
  TORCH_ARG(int64_t, stem_channels) = 32;
  /// Stride of the stem conv (torchvision: 2; 1 suits 32x32 inputs at full depth).
  TORCH_ARG(int64_t, stem_stride) = 2;
  TORCH_ARG(std::vector<InvertedResidualSetting>, setting) = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2},
                                                              {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2},
                                                              {6, 320, 1, 1}};
  /// Output channels of the last 1x1 conv, the classifier's input.
  TORCH_ARG(int64_t, last_channel) = 1280;
  TORCH_ARG(double, dropout) = 0.2;
  /// torchvision's initialization (init_like_torchvision with normal(0, 0.01) linears) instead of
  /// LibTorch's defaults.
  TORCH_ARG(bool, torchvision_init) = false;
};

/// features (stem, inverted residuals, 1x1 ConvBNReLU6), adaptive avg pool, flatten, classifier
/// (dropout, linear).
class MobileNetV2Impl : public torch::nn::Cloneable<MobileNetV2Impl> {
 public:
  explicit MobileNetV2Impl(MobileNetV2Options options_ = {}) : options(std::move(options_)) { reset(); }

  void reset() override;
  torch::Tensor forward(torch::Tensor x);
  void pretty_print(std::ostream& stream) const override;

  MobileNetV2Options options;
  torch::nn::Sequential features{nullptr}, classifier{nullptr};
};
TORCH_MODULE(MobileNetV2);

}  // namespace nncf_sample::models
