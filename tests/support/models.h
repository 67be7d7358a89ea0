#pragma once

// Small C++-frontend models for the capture/runtime tests and the benches.
//
// Each follows LibTorch's module shape (XOptions + XImpl : Cloneable + TORCH_MODULE) and names its
// submodules like the torchvision model it imitates, so dotted parameter names read
// `layer1.0.conv1.weight`, `features.1.conv.0.0.weight`. Widths are options, so tests can use
// models that run in milliseconds. Header-only: the benches include it too.

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <tuple>
#include <vector>

namespace nncf::testing {

// ---- SmallCNN --------------------------------------------------------------------------------

struct SmallCNNOptions {
  TORCH_ARG(int64_t, in_channels) = 1;
  TORCH_ARG(int64_t, num_classes) = 10;
  /// Channels of the first conv; the second has twice as many.
  TORCH_ARG(int64_t, width) = 16;
  TORCH_ARG(double, dropout) = 0.25;
};

/// conv-bn-relu, max-pool, conv-bn-relu, adaptive avg-pool, flatten, dropout, linear.
/// Any spatial size >= 2 (e.g. 1x28x28 or 3x32x32).
class SmallCNNImpl : public torch::nn::Cloneable<SmallCNNImpl> {
 public:
  explicit SmallCNNImpl(SmallCNNOptions options_ = {}) : options(options_) { reset(); }

  void reset() override {
    const int64_t w = options.width();
    conv1 = register_module(
        "conv1",
        torch::nn::Conv2d(torch::nn::Conv2dOptions(options.in_channels(), w, 3).padding(1).bias(false)));
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(w));
    conv2 = register_module("conv2",
                            torch::nn::Conv2d(torch::nn::Conv2dOptions(w, 2 * w, 3).padding(1).bias(false)));
    bn2 = register_module("bn2", torch::nn::BatchNorm2d(2 * w));
    dropout = register_module("dropout", torch::nn::Dropout(options.dropout()));
    fc = register_module("fc", torch::nn::Linear(2 * w, options.num_classes()));
  }

  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(bn1(conv1(x)));
    x = torch::max_pool2d(x, 2);
    x = torch::relu(bn2(conv2(x)));
    x = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
    return fc(dropout(x));
  }

  void pretty_print(std::ostream& stream) const override {
    stream << "SmallCNN(in_channels=" << options.in_channels() << ", num_classes=" << options.num_classes()
           << ", width=" << options.width() << ")";
  }

  SmallCNNOptions options;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Dropout dropout{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(SmallCNN);

// ---- ResNet18 ----------------------------------------------------------------------------------

/// torchvision's BasicBlock: conv3x3-bn-relu, conv3x3-bn, + identity (or 1x1 conv + bn), relu.
/// In-place relu and add, as torchvision has them.
class BasicBlockImpl : public torch::nn::Cloneable<BasicBlockImpl> {
 public:
  BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride)
      : in_planes_(in_planes), planes_(planes), stride_(stride) {
    reset();
  }

  void reset() override {
    using torch::nn::Conv2dOptions;
    conv1 = register_module(
        "conv1",
        torch::nn::Conv2d(Conv2dOptions(in_planes_, planes_, 3).stride(stride_).padding(1).bias(false)));
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(planes_));
    conv2 = register_module("conv2",
                            torch::nn::Conv2d(Conv2dOptions(planes_, planes_, 3).padding(1).bias(false)));
    bn2 = register_module("bn2", torch::nn::BatchNorm2d(planes_));
    if (stride_ != 1 || in_planes_ != planes_) {
      downsample = register_module(
          "downsample",
          torch::nn::Sequential(
              torch::nn::Conv2d(Conv2dOptions(in_planes_, planes_, 1).stride(stride_).bias(false)),
              torch::nn::BatchNorm2d(planes_)));
    }
  }

  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor out = bn1(conv1(x)).relu_();
    out = bn2(conv2(out));
    out += downsample ? downsample->forward(x) : x;
    return out.relu_();
  }

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Sequential downsample{nullptr};

 private:
  int64_t in_planes_, planes_, stride_;
};
TORCH_MODULE(BasicBlock);

struct ResNet18Options {
  TORCH_ARG(int64_t, in_channels) = 3;
  TORCH_ARG(int64_t, num_classes) = 10;
  /// Channels of layer1 (torchvision: 64); layer2..4 double it each time.
  TORCH_ARG(int64_t, base_width) = 64;
  /// true: 3x3 stride-1 stem without max-pool (CIFAR, Fashion-MNIST); false: torchvision's 7x7
  /// stride-2 stem and 3x3 stride-2 max-pool (ImageNet).
  TORCH_ARG(bool, cifar_stem) = true;
};

/// ResNet-18 with torchvision's module names: conv1, bn1, layer1..layer4 (Sequential of
/// BasicBlocks), fc.
class ResNet18Impl : public torch::nn::Cloneable<ResNet18Impl> {
 public:
  explicit ResNet18Impl(ResNet18Options options_ = {}) : options(options_) { reset(); }

  void reset() override {
    using torch::nn::Conv2dOptions;
    const int64_t w = options.base_width();
    conv1 = register_module(
        "conv1",
        options.cifar_stem()
            ? torch::nn::Conv2d(Conv2dOptions(options.in_channels(), w, 3).padding(1).bias(false))
            : torch::nn::Conv2d(Conv2dOptions(options.in_channels(), w, 7).stride(2).padding(3).bias(false)));
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(w));
    int64_t in = w;
    auto make_layer = [&](int64_t planes, int64_t stride) {
      torch::nn::Sequential layer(BasicBlock(in, planes, stride), BasicBlock(planes, planes, 1));
      in = planes;
      return layer;
    };
    layer1 = register_module("layer1", make_layer(w, 1));
    layer2 = register_module("layer2", make_layer(2 * w, 2));
    layer3 = register_module("layer3", make_layer(4 * w, 2));
    layer4 = register_module("layer4", make_layer(8 * w, 2));
    fc = register_module("fc", torch::nn::Linear(8 * w, options.num_classes()));
  }

  torch::Tensor forward(torch::Tensor x) {
    x = bn1(conv1(x)).relu_();
    if (!options.cifar_stem()) x = torch::max_pool2d(x, 3, 2, 1);
    x = layer4->forward(layer3->forward(layer2->forward(layer1->forward(x))));
    x = torch::adaptive_avg_pool2d(x, {1, 1});
    return fc(torch::flatten(x, 1));
  }

  void pretty_print(std::ostream& stream) const override {
    stream << "ResNet18(in_channels=" << options.in_channels() << ", num_classes=" << options.num_classes()
           << ", base_width=" << options.base_width() << ", cifar_stem=" << options.cifar_stem() << ")";
  }

  ResNet18Options options;
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(ResNet18);

// ---- MobileNetV2 -------------------------------------------------------------------------------

/// One row of torchvision's inverted-residual table: expansion t, output channels c, repeats n,
/// stride s of the first repeat.
struct InvertedResidualSetting {
  int64_t expand, channels, repeats, stride;
};

namespace detail {
/// torchvision's _make_divisible(v, 8).
inline int64_t make_divisible(double v, int64_t divisor = 8) {
  int64_t n = std::max<int64_t>(divisor, static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

}  // namespace detail

/// conv (no bias) - bn - ReLU6, with submodules named 0, 1, 2 like torchvision's
/// Conv2dNormActivation. (A Sequential cannot nest in a Sequential: its forward is a template.)
class ConvBNReLU6Impl : public torch::nn::Cloneable<ConvBNReLU6Impl> {
 public:
  ConvBNReLU6Impl(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t groups = 1)
      : in_(in), out_(out), kernel_(kernel), stride_(stride), groups_(groups) {
    reset();
  }

  void reset() override {
    conv = register_module("0", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_, out_, kernel_)
                                                      .stride(stride_)
                                                      .padding((kernel_ - 1) / 2)
                                                      .groups(groups_)
                                                      .bias(false)));
    bn = register_module("1", torch::nn::BatchNorm2d(out_));
    relu6 = register_module("2", torch::nn::ReLU6());
  }

  torch::Tensor forward(torch::Tensor x) { return relu6(bn(conv(x))); }

  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  torch::nn::ReLU6 relu6{nullptr};

 private:
  int64_t in_, out_, kernel_, stride_, groups_;
};
TORCH_MODULE(ConvBNReLU6);

/// 1x1 expand conv-bn-ReLU6 (absent when expand == 1), 3x3 depthwise conv-bn-ReLU6, 1x1 project
/// conv-bn; residual add when stride is 1 and in == out. Submodule `conv` as in torchvision.
class InvertedResidualImpl : public torch::nn::Cloneable<InvertedResidualImpl> {
 public:
  InvertedResidualImpl(int64_t in, int64_t out, int64_t stride, int64_t expand)
      : in_(in), out_(out), stride_(stride), expand_(expand) {
    reset();
  }

  void reset() override {
    const int64_t hidden = in_ * expand_;
    torch::nn::Sequential seq;
    if (expand_ != 1) seq->push_back(ConvBNReLU6(in_, hidden, 1));
    seq->push_back(ConvBNReLU6(hidden, hidden, 3, stride_, hidden));
    seq->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(hidden, out_, 1).bias(false)));
    seq->push_back(torch::nn::BatchNorm2d(out_));
    conv = register_module("conv", seq);
  }

  torch::Tensor forward(torch::Tensor x) {
    if (stride_ == 1 && in_ == out_) return x + conv->forward(x);
    return conv->forward(x);
  }

  torch::nn::Sequential conv{nullptr};

 private:
  int64_t in_, out_, stride_, expand_;
};
TORCH_MODULE(InvertedResidual);

struct MobileNetV2Options {
  TORCH_ARG(int64_t, in_channels) = 3;
  TORCH_ARG(int64_t, num_classes) = 10;
  /// Multiplies every width but the last (torchvision's width_mult).
  TORCH_ARG(double, width_mult) = 1.0;
  /// Stride of the first conv (torchvision: 2; 1 suits 32x32 inputs at full depth).
  TORCH_ARG(int64_t, stem_stride) = 2;
  TORCH_ARG(int64_t, last_channel) = 1280;
  TORCH_ARG(double, dropout) = 0.2;
  TORCH_ARG(std::vector<InvertedResidualSetting>, setting) = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2},
                                                              {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2},
                                                              {6, 320, 1, 1}};
};

/// MobileNetV2 with torchvision's names: features (stem, inverted residuals, 1x1 conv),
/// adaptive avg-pool, flatten, classifier (dropout, linear).
class MobileNetV2Impl : public torch::nn::Cloneable<MobileNetV2Impl> {
 public:
  explicit MobileNetV2Impl(MobileNetV2Options options_ = {}) : options(options_) { reset(); }

  void reset() override {
    int64_t in = detail::make_divisible(32 * options.width_mult());
    const int64_t last = detail::make_divisible(options.last_channel() * std::max(1.0, options.width_mult()));
    torch::nn::Sequential f;
    f->push_back(ConvBNReLU6(options.in_channels(), in, 3, options.stem_stride()));
    for (const auto& s : options.setting()) {
      const int64_t out = detail::make_divisible(s.channels * options.width_mult());
      for (int64_t i = 0; i < s.repeats; ++i) {
        f->push_back(InvertedResidual(in, out, i == 0 ? s.stride : 1, s.expand));
        in = out;
      }
    }
    f->push_back(ConvBNReLU6(in, last, 1));
    features = register_module("features", f);
    classifier =
        register_module("classifier", torch::nn::Sequential(torch::nn::Dropout(options.dropout()),
                                                            torch::nn::Linear(last, options.num_classes())));
  }

  torch::Tensor forward(torch::Tensor x) {
    x = features->forward(x);
    x = torch::adaptive_avg_pool2d(x, {1, 1});
    return classifier->forward(torch::flatten(x, 1));
  }

  void pretty_print(std::ostream& stream) const override {
    stream << "MobileNetV2(in_channels=" << options.in_channels() << ", num_classes=" << options.num_classes()
           << ", width_mult=" << options.width_mult() << ")";
  }

  MobileNetV2Options options;
  torch::nn::Sequential features{nullptr}, classifier{nullptr};
};
TORCH_MODULE(MobileNetV2);

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

}  // namespace nncf::testing
