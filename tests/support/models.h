#pragma once

// Small C++-frontend models for the capture/runtime tests and the benches.
//
// SmallCNN, ResNet18 and MobileNetV2 are the samples' backbones (samples/common/models), built
// from the options below: these keep the tests' defaults and width conventions and convert to the
// backbones' options (LibTorch's initialization, torchvision's in-place ops in ResNet). Parameter
// names follow torchvision (`layer1.0.conv1.weight`, `features.1.conv.0.0.weight`). Widths are
// options, so tests can use models that run in milliseconds.

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <tuple>
#include <vector>

#include "common/models/mobilenet_v2.h"
#include "common/models/resnet.h"
#include "common/models/small_cnn.h"

namespace nncf::testing {

namespace models = nncf_sample::models;

// TORCH_MODULE(Name) for a backbone built from the tests' NameOptions: a default-constructed
// holder builds the model from the tests' defaults rather than from the backbone's.
#define NNCF_TEST_MODULE(Name)                                       \
  class Name : public torch::nn::ModuleHolder<Name##Impl> {          \
   public:                                                           \
    using torch::nn::ModuleHolder<Name##Impl>::ModuleHolder;         \
    Name() : torch::nn::ModuleHolder<Name##Impl>(Name##Options()) {} \
  }

// ---- SmallCNN --------------------------------------------------------------------------------

struct SmallCNNOptions {
  /// The backbone's options.
  operator models::SmallCNNOptions() const {
    return models::SmallCNNOptions()
        .in_channels(in_channels())
        .num_classes(num_classes())
        .channels1(width())
        .channels2(2 * width())
        .dropout(dropout());
  }

  TORCH_ARG(int64_t, in_channels) = 1;
  TORCH_ARG(int64_t, num_classes) = 10;
  /// Channels of the first conv; the second has twice as many.
  TORCH_ARG(int64_t, width) = 16;
  TORCH_ARG(double, dropout) = 0.25;
};

/// conv-bn-relu, max-pool, conv-bn-relu, adaptive avg-pool, flatten, dropout, linear.
/// Any spatial size >= 2 (e.g. 1x28x28 or 3x32x32).
using SmallCNNImpl = models::SmallCNNImpl;
NNCF_TEST_MODULE(SmallCNN);

// ---- ResNet18 ----------------------------------------------------------------------------------

struct ResNet18Options {
  /// The backbone's options.
  operator models::ResNetOptions() const {
    const int64_t w = base_width();
    return models::resnet_options(18)
        .in_channels(in_channels())
        .num_classes(num_classes())
        .widths({w, 2 * w, 4 * w, 8 * w})
        .small_input(cifar_stem());
  }

  TORCH_ARG(int64_t, in_channels) = 3;
  TORCH_ARG(int64_t, num_classes) = 10;
  /// Channels of layer1 (torchvision: 64); layer2..4 double it each time.
  TORCH_ARG(int64_t, base_width) = 64;
  /// true: 3x3 stride-1 stem without max-pool (CIFAR, Fashion-MNIST); false: torchvision's 7x7
  /// stride-2 stem and 3x3 stride-2 max-pool (ImageNet).
  TORCH_ARG(bool, cifar_stem) = true;
};

/// ResNet-18 with torchvision's module names: conv1, bn1, layer1..layer4 (Sequential of
/// BasicBlocks, in-place relu and add as torchvision has them), fc.
using ResNet18Impl = models::ResNetImpl;
NNCF_TEST_MODULE(ResNet18);

// ---- MobileNetV2 -------------------------------------------------------------------------------

using InvertedResidualSetting = models::InvertedResidualSetting;

struct MobileNetV2Options {
  /// The backbone's options.
  operator models::MobileNetV2Options() const {
    const double w = width_mult();
    std::vector<InvertedResidualSetting> rows = setting();
    for (auto& row : rows) row.channels = models::make_divisible(row.channels * w);
    return models::MobileNetV2Options()
        .in_channels(in_channels())
        .num_classes(num_classes())
        .stem_channels(models::make_divisible(32 * w))
        .stem_stride(stem_stride())
        .setting(rows)
        .last_channel(models::make_divisible(last_channel() * std::max(1.0, w)))
        .dropout(dropout());
  }

  TORCH_ARG(int64_t, in_channels) = 3;
  TORCH_ARG(int64_t, num_classes) = 10;
  /// Multiplies every width but the last (torchvision's width_mult, rounded by make_divisible).
  TORCH_ARG(double, width_mult) = 1.0;
  /// Stride of the first conv (torchvision: 2; 1 suits 32x32 inputs at full depth).
  TORCH_ARG(int64_t, stem_stride) = 2;
  TORCH_ARG(int64_t, last_channel) = 1280;
  TORCH_ARG(double, dropout) = 0.2;
  TORCH_ARG(std::vector<InvertedResidualSetting>, setting) = models::MobileNetV2Options().setting();
};

/// MobileNetV2 with torchvision's names: features (stem, inverted residuals, 1x1 conv),
/// adaptive avg-pool, flatten, classifier (dropout, linear).
using MobileNetV2Impl = models::MobileNetV2Impl;
NNCF_TEST_MODULE(MobileNetV2);

// ---- TwoInputNet -------------------------------------------------------------------------------

struct TwoInputNetOptions {
  TORCH_ARG(int64_t, image_channels) = 1;
  /// Height and width of `x` (even); fixed, since the flattened image feeds a Linear.
  TORCH_ARG(int64_t, image_size) = 8;
  /// Width of `y` (B x features).
  TORCH_ARG(int64_t, features) = 6;
  TORCH_ARG(int64_t, hidden) = 16;
  TORCH_ARG(int64_t, num_classes) = 4;
};

/// Two inputs, a concatenation and two outputs: `forward(x, y) -> (logits, aux)`.
/// The image branch flattens with `x.view({x.size(0), -1})`, whose batch size the C++ tracer
/// bakes in as a constant (the case the capture must generalize).
class TwoInputNetImpl : public torch::nn::Cloneable<TwoInputNetImpl> {
 public:
  explicit TwoInputNetImpl(TwoInputNetOptions options_ = {}) : options(options_) { reset(); }

  void reset() override {
    const int64_t s = options.image_size() / 2;
    conv = register_module(
        "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(options.image_channels(), 4, 3).padding(1)));
    embed = register_module("embed", torch::nn::Linear(options.features(), options.hidden()));
    fc = register_module("fc", torch::nn::Linear(4 * s * s + options.hidden(), options.num_classes()));
    aux = register_module("aux", torch::nn::Linear(options.hidden(), 1));
  }

  std::tuple<torch::Tensor, torch::Tensor> forward(torch::Tensor x, torch::Tensor y) {
    x = torch::max_pool2d(torch::relu(conv(x)), 2);
    x = x.view({x.size(0), -1});
    torch::Tensor h = torch::relu(embed(y));
    torch::Tensor logits = fc(torch::cat({x, h}, 1));
    return {logits, torch::sigmoid(aux(h))};
  }

  void pretty_print(std::ostream& stream) const override {
    stream << "TwoInputNet(image_size=" << options.image_size() << ", features=" << options.features() << ")";
  }

  TwoInputNetOptions options;
  torch::nn::Conv2d conv{nullptr};
  torch::nn::Linear embed{nullptr}, fc{nullptr}, aux{nullptr};
};
TORCH_MODULE(TwoInputNet);

#undef NNCF_TEST_MODULE

}  // namespace nncf::testing
