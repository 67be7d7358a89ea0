#include "models.h"

#include <torch/nn/module.h>
#include <torch/types.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "common/models/mobilenet_v2.h"
#include "common/models/resnet.h"
#include "common/models/small_cnn.h"
#include "common/models/vgg.h"

namespace nncf_sample {
namespace {

// `c` channels scaled by the width multiplier: rounded, at least 8.
int64_t scaled(int64_t c, double width) {
  return std::max<int64_t>(8, static_cast<int64_t>(std::llround(static_cast<double>(c) * width)));
}

// `resnet18(num_classes=10, in_channels=3, small_input=1, width=0.25)`.
void describe(std::ostream& stream, const ModelOptions& o) {
  stream << o.name << "(num_classes=" << o.num_classes << ", in_channels=" << o.in_channels
         << ", small_input=" << o.small_input << ", width=" << o.width << ")";
}

/// A backbone as a Classifier. The backbone's children become this module's, under the same names
/// (so parameters read `conv1.weight`, not `net.conv1.weight`); forward is the backbone's, which
/// runs those same children. The backbones keep no state of their own beyond their children. The
/// class name is the backbone's (`ResNet`), the root of NNCF's names.
template <typename Net>
class ZooModelImpl : public ClassifierImpl {
 public:
  ZooModelImpl(Net net, ModelOptions options)
      : ClassifierImpl(net->name()), net_(std::move(net)), options_(std::move(options)) {
    for (const auto& child : net_->named_children()) register_module(child.key(), child.value());
  }

  torch::Tensor forward(torch::Tensor x) override { return net_->forward(x); }

  void pretty_print(std::ostream& stream) const override { describe(stream, options_); }

 private:
  Net net_;
  ModelOptions options_;
};

template <typename Net>
std::shared_ptr<ClassifierImpl> zoo_model(Net net, const ModelOptions& o) {
  return std::make_shared<ZooModelImpl<Net>>(std::move(net), o);
}

// Note [Sample widths]
// `width` scales every channel count through scaled() (rounded, at least 8), MobileNetV2's last
// 1280 included, rather than by torchvision's make_divisible; at width 1 both are torchvision's.
// Out-of-place relu and add in ResNet; torchvision's initialization everywhere.

std::shared_ptr<ClassifierImpl> resnet(const ModelOptions& o, int depth) {
  models::ResNetOptions r = models::resnet_options(depth);
  for (auto& w : r.widths()) w = scaled(w, o.width);
  return zoo_model(models::ResNet(r.in_channels(o.in_channels)
                                      .num_classes(o.num_classes)
                                      .small_input(o.small_input)
                                      .inplace(false)
                                      .torchvision_init(true)),
                   o);
}

std::shared_ptr<ClassifierImpl> mobilenet_v2(const ModelOptions& o) {
  models::MobileNetV2Options m;
  for (auto& row : m.setting()) row.channels = scaled(row.channels, o.width);
  return zoo_model(models::MobileNetV2(m.in_channels(o.in_channels)
                                           .num_classes(o.num_classes)
                                           .stem_channels(scaled(m.stem_channels(), o.width))
                                           .stem_stride(o.small_input ? 1 : 2)
                                           .last_channel(scaled(m.last_channel(), o.width))
                                           .torchvision_init(true)),
                   o);
}

// With small_input the last max pool is left out (28x28 inputs would shrink to nothing; the 1x1
// adaptive pool that follows does its work), the adaptive pool is 1x1 and the classifier has one
// hidden layer of 512 (scaled) instead of two of 4096 over 7x7 features.
std::shared_ptr<ClassifierImpl> vgg(const ModelOptions& o, int depth) {
  std::vector<int64_t> layers = models::vgg_layers(depth);
  for (auto& w : layers) w = w == 0 ? 0 : scaled(w, o.width);
  if (o.small_input && !layers.empty() && layers.back() == 0) layers.pop_back();
  const int64_t hidden = scaled(o.small_input ? 512 : 4096, o.width);
  return zoo_model(models::VGG(models::VGGOptions()
                                   .in_channels(o.in_channels)
                                   .num_classes(o.num_classes)
                                   .layers(layers)
                                   .pool_size(o.small_input ? 1 : 7)
                                   .hidden(o.small_input ? std::vector<int64_t>{hidden}
                                                         : std::vector<int64_t>{hidden, hidden})
                                   .torchvision_init(true)),
                   o);
}

// 32 and 64 channels at width 1, no dropout; `small_input` changes nothing.
std::shared_ptr<ClassifierImpl> small_cnn(const ModelOptions& o) {
  return zoo_model(models::SmallCNN(models::SmallCNNOptions()
                                        .in_channels(o.in_channels)
                                        .num_classes(o.num_classes)
                                        .channels1(scaled(32, o.width))
                                        .channels2(scaled(64, o.width))
                                        .torchvision_init(true)),
                   o);
}

// ---- the zoo ------------------------------------------------------------------------------------

// The order of model_names(); build() knows each of them.
const char* const kNames[] = {"resnet18", "resnet34", "resnet50", "mobilenet_v2",
                              "vgg11_bn", "vgg16_bn", "small_cnn"};

std::shared_ptr<ClassifierImpl> build(const ModelOptions& o) {
  const std::string& n = o.name;
  if (n == "resnet18") return resnet(o, 18);
  if (n == "resnet34") return resnet(o, 34);
  if (n == "resnet50") return resnet(o, 50);
  if (n == "mobilenet_v2") return mobilenet_v2(o);
  if (n == "vgg11_bn") return vgg(o, 11);
  if (n == "vgg16_bn") return vgg(o, 16);
  if (n == "small_cnn") return small_cnn(o);
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
