#include "models.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace nncf_sample {
namespace {

using torch::nn::BatchNorm2d;
using torch::nn::Conv2d;
using torch::nn::Conv2dOptions;
using torch::nn::Linear;
using torch::nn::Sequential;

// `c` channels scaled by the width multiplier: rounded, at least 8.
int64_t scaled(int64_t c, double width) {
  return std::max<int64_t>(8, static_cast<int64_t>(std::llround(static_cast<double>(c) * width)));
}

Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride = 1, int64_t groups = 1, bool bias = false) {
  return Conv2d(Conv2dOptions(in, out, k).stride(stride).padding(k / 2).groups(groups).bias(bias));
}

// `resnet18(num_classes=10, in_channels=3, small_input=1, width=0.25)`.
void describe(std::ostream& stream, const ModelOptions& o) {
  stream << o.name << "(num_classes=" << o.num_classes << ", in_channels=" << o.in_channels
         << ", small_input=" << o.small_input << ", width=" << o.width << ")";
}

// Note [Initialization]
// As torchvision: convs kaiming-normal (fan_out, ReLU gain) with zero bias, BatchNorm weight 1 and
// bias 0; linears either LibTorch's default (ResNet, small_cnn: kaiming-uniform a=sqrt(5), which
// equals PyTorch's) or normal(0, 0.01) with zero bias (MobileNetV2, VGG).
void init_weights(torch::nn::Module& model, bool linear_normal) {
  torch::NoGradGuard no_grad;
  for (const auto& m : model.modules(/*include_self=*/false)) {
    if (auto* c = m->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
      if (c->bias.defined()) torch::nn::init::zeros_(c->bias);
    } else if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      torch::nn::init::ones_(bn->weight);
      torch::nn::init::zeros_(bn->bias);
    } else if (auto* fc = m->as<torch::nn::Linear>(); fc && linear_normal) {
      torch::nn::init::normal_(fc->weight, 0.0, 0.01);
      torch::nn::init::zeros_(fc->bias);
    }
  }
}

// ---- ResNet -------------------------------------------------------------------------------------

/// torchvision's BasicBlock (expansion 1) and Bottleneck (expansion 4, stride on the 3x3 conv).
/// `planes` is the block's inner width; its output has planes * expansion channels.
class ResidualBlockImpl : public torch::nn::Cloneable<ResidualBlockImpl> {
 public:
  ResidualBlockImpl(bool bottleneck, int64_t in, int64_t planes, int64_t stride)
      : bottleneck_(bottleneck), in_(in), planes_(planes), stride_(stride) {
    reset();
  }

  int64_t out_channels() const { return bottleneck_ ? 4 * planes_ : planes_; }

  void reset() override {
    const int64_t out = out_channels();
    if (bottleneck_) {
      conv1 = register_module("conv1", conv(in_, planes_, 1));
      conv2 = register_module("conv2", conv(planes_, planes_, 3, stride_));
      conv3 = register_module("conv3", conv(planes_, out, 1));
    } else {
      conv1 = register_module("conv1", conv(in_, planes_, 3, stride_));
      conv2 = register_module("conv2", conv(planes_, planes_, 3));
    }
    bn1 = register_module("bn1", BatchNorm2d(planes_));
    bn2 = register_module("bn2", BatchNorm2d(planes_));
    if (bottleneck_) bn3 = register_module("bn3", BatchNorm2d(out));
    if (stride_ != 1 || in_ != out) {
      downsample = register_module("downsample", Sequential(conv(in_, out, 1, stride_), BatchNorm2d(out)));
    }
  }

  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor out = torch::relu(bn1(conv1(x)));
    out = bn2(conv2(out));
    if (bottleneck_) out = bn3(conv3(torch::relu(out)));
    return torch::relu(out + (downsample ? downsample->forward(x) : x));
  }

  Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  Sequential downsample{nullptr};

 private:
  bool bottleneck_;
  int64_t in_, planes_, stride_;
};
TORCH_MODULE(ResidualBlock);

class ResNetImpl : public ClassifierImpl {
 public:
  ResNetImpl(const ModelOptions& o, std::vector<int64_t> blocks, bool bottleneck) : options_(o) {
    const int64_t stem = scaled(64, o.width);
    conv1 = register_module("conv1",
                            o.small_input ? conv(o.in_channels, stem, 3) : conv(o.in_channels, stem, 7, 2));
    bn1 = register_module("bn1", BatchNorm2d(stem));
    int64_t in = stem;
    for (size_t i = 0; i < blocks.size(); ++i) {
      Sequential layer;
      for (int64_t b = 0; b < blocks[i]; ++b) {
        ResidualBlock block(bottleneck, in, scaled(64 << i, o.width), b == 0 && i > 0 ? 2 : 1);
        in = block->out_channels();
        layer->push_back(block);
      }
      layers_.push_back(register_module("layer" + std::to_string(i + 1), layer));
    }
    fc = register_module("fc", Linear(in, o.num_classes));
    init_weights(*this, /*linear_normal=*/false);
  }

  torch::Tensor forward(torch::Tensor x) override {
    x = torch::relu(bn1(conv1(x)));
    if (!options_.small_input) x = torch::max_pool2d(x, 3, 2, 1);
    for (auto& layer : layers_) x = layer->forward(x);
    return fc(torch::flatten(torch::adaptive_avg_pool2d(x, {1, 1}), 1));
  }

  void pretty_print(std::ostream& stream) const override { describe(stream, options_); }

  Conv2d conv1{nullptr};
  BatchNorm2d bn1{nullptr};
  Linear fc{nullptr};

 private:
  ModelOptions options_;
  std::vector<Sequential> layers_;
};

// ---- MobileNetV2 --------------------------------------------------------------------------------

/// torchvision's Conv2dNormActivation with ReLU6: children "0" (conv), "1" (bn), "2" (relu6).
/// A module rather than a Sequential because a Sequential cannot hold a Sequential.
class ConvBNReLUImpl : public torch::nn::Cloneable<ConvBNReLUImpl> {
 public:
  ConvBNReLUImpl(int64_t in, int64_t out, int64_t k, int64_t stride = 1, int64_t groups = 1)
      : in_(in), out_(out), k_(k), stride_(stride), groups_(groups) {
    reset();
  }

  void reset() override {
    conv_ = register_module("0", conv(in_, out_, k_, stride_, groups_));
    bn_ = register_module("1", BatchNorm2d(out_));
    relu6_ = register_module("2", torch::nn::ReLU6());
  }

  torch::Tensor forward(torch::Tensor x) { return relu6_(bn_(conv_(x))); }

 private:
  int64_t in_, out_, k_, stride_, groups_;
  Conv2d conv_{nullptr};
  BatchNorm2d bn_{nullptr};
  torch::nn::ReLU6 relu6_{nullptr};
};
TORCH_MODULE(ConvBNReLU);

/// torchvision's InvertedResidual: `conv` = [1x1 expand ConvBNReLU,] 3x3 depthwise ConvBNReLU,
/// 1x1 linear projection conv, bn; + x when the stride is 1 and the channels agree.
class InvertedResidualImpl : public torch::nn::Cloneable<InvertedResidualImpl> {
 public:
  InvertedResidualImpl(int64_t in, int64_t out, int64_t stride, int64_t expand)
      : in_(in), out_(out), stride_(stride), expand_(expand) {
    reset();
  }

  void reset() override {
    const int64_t hidden = in_ * expand_;
    Sequential layers;
    if (expand_ != 1) layers->push_back(ConvBNReLU(in_, hidden, 1));
    layers->push_back(ConvBNReLU(hidden, hidden, 3, stride_, hidden));
    layers->push_back(conv(hidden, out_, 1));
    layers->push_back(BatchNorm2d(out_));
    conv_ = register_module("conv", layers);
  }

  torch::Tensor forward(torch::Tensor x) {
    return stride_ == 1 && in_ == out_ ? x + conv_->forward(x) : conv_->forward(x);
  }

 private:
  int64_t in_, out_, stride_, expand_;
  Sequential conv_{nullptr};
};
TORCH_MODULE(InvertedResidual);

class MobileNetV2Impl : public ClassifierImpl {
 public:
  explicit MobileNetV2Impl(const ModelOptions& o) : options_(o) {
    // {expansion t, channels c, repeats n, first stride s}, as in the paper and torchvision.
    const int64_t settings[][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                   {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    int64_t in = scaled(32, o.width);
    const int64_t last = scaled(1280, o.width);
    features = register_module("features", Sequential());
    features->push_back(ConvBNReLU(o.in_channels, in, 3, o.small_input ? 1 : 2));
    for (const auto& s : settings) {
      const int64_t out = scaled(s[1], o.width);
      for (int64_t i = 0; i < s[2]; ++i) {
        features->push_back(InvertedResidual(in, out, i == 0 ? s[3] : 1, s[0]));
        in = out;
      }
    }
    features->push_back(ConvBNReLU(in, last, 1));
    classifier =
        register_module("classifier", Sequential(torch::nn::Dropout(0.2), Linear(last, o.num_classes)));
    init_weights(*this, /*linear_normal=*/true);
  }

  torch::Tensor forward(torch::Tensor x) override {
    x = torch::adaptive_avg_pool2d(features->forward(x), {1, 1});
    return classifier->forward(torch::flatten(x, 1));
  }

  void pretty_print(std::ostream& stream) const override { describe(stream, options_); }

  Sequential features{nullptr}, classifier{nullptr};

 private:
  ModelOptions options_;
};

// ---- VGG ----------------------------------------------------------------------------------------

/// torchvision's VGG with BatchNorm. `config` lists conv widths, 0 for a 2x2 max pool. With
/// small_input the last max pool is left out (28x28 inputs would shrink to nothing; the 1x1
/// adaptive pool that follows does its work), the adaptive pool is 1x1 and the classifier has one
/// hidden layer of 512 (scaled) instead of two of 4096 over 7x7 features.
class VGGImpl : public ClassifierImpl {
 public:
  VGGImpl(const ModelOptions& o, const std::vector<int64_t>& config) : options_(o) {
    features = register_module("features", Sequential());
    int64_t in = o.in_channels;
    for (size_t i = 0; i < config.size(); ++i) {
      if (config[i] == 0) {
        if (!(o.small_input && i + 1 == config.size())) features->push_back(torch::nn::MaxPool2d(2));
        continue;
      }
      const int64_t out = scaled(config[i], o.width);
      features->push_back(conv(in, out, 3, 1, 1, /*bias=*/true));
      features->push_back(BatchNorm2d(out));
      features->push_back(torch::nn::ReLU());
      in = out;
    }
    pool_ = o.small_input ? 1 : 7;
    const int64_t hidden = o.small_input ? scaled(512, o.width) : scaled(4096, o.width);
    classifier = register_module("classifier", Sequential());
    classifier->push_back(Linear(in * pool_ * pool_, hidden));
    classifier->push_back(torch::nn::ReLU());
    classifier->push_back(torch::nn::Dropout(0.5));
    if (!o.small_input) {
      classifier->push_back(Linear(hidden, hidden));
      classifier->push_back(torch::nn::ReLU());
      classifier->push_back(torch::nn::Dropout(0.5));
    }
    classifier->push_back(Linear(hidden, o.num_classes));
    init_weights(*this, /*linear_normal=*/true);
  }

  torch::Tensor forward(torch::Tensor x) override {
    x = torch::adaptive_avg_pool2d(features->forward(x), {pool_, pool_});
    return classifier->forward(torch::flatten(x, 1));
  }

  void pretty_print(std::ostream& stream) const override { describe(stream, options_); }

  Sequential features{nullptr}, classifier{nullptr};

 private:
  ModelOptions options_;
  int64_t pool_;
};

// ---- small_cnn ----------------------------------------------------------------------------------

/// conv-bn-relu, 2x2 max pool, conv-bn-relu, adaptive avg pool, linear; 32 and 64 channels at
/// width 1. Any input of at least 2x2; `small_input` changes nothing.
class SmallCNNImpl : public ClassifierImpl {
 public:
  explicit SmallCNNImpl(const ModelOptions& o) : options_(o) {
    const int64_t c1 = scaled(32, o.width), c2 = scaled(64, o.width);
    conv1 = register_module("conv1", conv(o.in_channels, c1, 3));
    bn1 = register_module("bn1", BatchNorm2d(c1));
    conv2 = register_module("conv2", conv(c1, c2, 3));
    bn2 = register_module("bn2", BatchNorm2d(c2));
    fc = register_module("fc", Linear(c2, o.num_classes));
    init_weights(*this, /*linear_normal=*/false);
  }

  torch::Tensor forward(torch::Tensor x) override {
    x = torch::max_pool2d(torch::relu(bn1(conv1(x))), 2);
    x = torch::relu(bn2(conv2(x)));
    return fc(torch::flatten(torch::adaptive_avg_pool2d(x, {1, 1}), 1));
  }

  void pretty_print(std::ostream& stream) const override { describe(stream, options_); }

  Conv2d conv1{nullptr}, conv2{nullptr};
  BatchNorm2d bn1{nullptr}, bn2{nullptr};
  Linear fc{nullptr};

 private:
  ModelOptions options_;
};

// ---- the zoo ------------------------------------------------------------------------------------

// The order of model_names(); build() knows each of them.
const char* const kNames[] = {"resnet18", "resnet34", "resnet50", "mobilenet_v2",
                              "vgg11_bn", "vgg16_bn", "small_cnn"};

std::shared_ptr<ClassifierImpl> build(const ModelOptions& o) {
  using Blocks = std::vector<int64_t>;
  const Blocks vgg11 = {64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0};
  const Blocks vgg16 = {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0};
  const std::string& n = o.name;
  if (n == "resnet18") return std::make_shared<ResNetImpl>(o, Blocks{2, 2, 2, 2}, /*bottleneck=*/false);
  if (n == "resnet34") return std::make_shared<ResNetImpl>(o, Blocks{3, 4, 6, 3}, /*bottleneck=*/false);
  if (n == "resnet50") return std::make_shared<ResNetImpl>(o, Blocks{3, 4, 6, 3}, /*bottleneck=*/true);
  if (n == "mobilenet_v2") return std::make_shared<MobileNetV2Impl>(o);
  if (n == "vgg11_bn") return std::make_shared<VGGImpl>(o, vgg11);
  if (n == "vgg16_bn") return std::make_shared<VGGImpl>(o, vgg16);
  if (n == "small_cnn") return std::make_shared<SmallCNNImpl>(o);
  return nullptr;
}

}  // namespace

std::vector<std::string> model_names() {
  return {std::begin(kNames), std::end(kNames)};
}

Classifier make_model(const ModelOptions& options) {
  auto fail = [&](const std::string& what) {
    throw std::runtime_error("make_model(" + options.name + "): " + what);
  };
  if (options.num_classes < 1) fail("num_classes: expected >= 1, got " + std::to_string(options.num_classes));
  if (options.in_channels < 1) fail("in_channels: expected >= 1, got " + std::to_string(options.in_channels));
  if (!(options.width > 0) || !std::isfinite(options.width)) {
    std::ostringstream s;
    s << "width: expected > 0, got " << options.width;
    fail(s.str());
  }
  if (auto model = build(options)) return Classifier(model);
  std::string known;
  for (const auto& name : model_names()) known += (known.empty() ? "" : ", ") + name;
  fail("unknown model; known models: " + known);
  return Classifier(nullptr);  // unreachable
}

}  // namespace nncf_sample
