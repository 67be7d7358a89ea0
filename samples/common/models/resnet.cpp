#include "common/models/resnet.h"

#include <torch/types.h>

#include <string>

#include "common/models/init.h"

namespace nncf_sample::models {
namespace {

using torch::nn::BatchNorm2d;
using torch::nn::Conv2d;
using torch::nn::Conv2dOptions;

Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride = 1) {
  return Conv2d(Conv2dOptions(in, out, k).stride(stride).padding(k / 2).bias(false));
}

torch::Tensor relu(torch::Tensor x, bool inplace) {
  return inplace ? x.relu_() : torch::relu(x);
}

void print_list(std::ostream& stream, const std::vector<int64_t>& v) {
  stream << "[";
  for (size_t i = 0; i < v.size(); ++i) stream << (i ? ", " : "") << v[i];
  stream << "]";
}

}  // namespace

// ---- ResidualBlock ------------------------------------------------------------------------------

int64_t ResidualBlockImpl::out_channels() const {
  return options.bottleneck() ? 4 * options.planes() : options.planes();
}

void ResidualBlockImpl::reset() {
  const int64_t in = options.in_channels(), planes = options.planes(), out = out_channels();
  const int64_t stride = options.stride();
  // torchvision's order of registration (conv1, bn1, conv2, bn2, ...), which is the order of
  // named_parameters().
  if (options.bottleneck()) {
    conv1 = register_module("conv1", conv(in, planes, 1));
    bn1 = register_module("bn1", BatchNorm2d(planes));
    conv2 = register_module("conv2", conv(planes, planes, 3, stride));
    bn2 = register_module("bn2", BatchNorm2d(planes));
    conv3 = register_module("conv3", conv(planes, out, 1));
    bn3 = register_module("bn3", BatchNorm2d(out));
  } else {
    conv1 = register_module("conv1", conv(in, planes, 3, stride));
    bn1 = register_module("bn1", BatchNorm2d(planes));
    conv2 = register_module("conv2", conv(planes, planes, 3));
    bn2 = register_module("bn2", BatchNorm2d(planes));
  }
  if (stride != 1 || in != out) {
    downsample =
        register_module("downsample", torch::nn::Sequential(conv(in, out, 1, stride), BatchNorm2d(out)));
  }
}

torch::Tensor ResidualBlockImpl::forward(torch::Tensor x) {
  const bool inplace = options.inplace();
  torch::Tensor out = relu(bn1(conv1(x)), inplace);
  out = bn2(conv2(out));
  if (options.bottleneck()) out = bn3(conv3(relu(out, inplace)));
  torch::Tensor identity = downsample ? downsample->forward(x) : x;
  return relu(inplace ? out.add_(identity) : out + identity, inplace);
}

void ResidualBlockImpl::pretty_print(std::ostream& stream) const {
  stream << (options.bottleneck() ? "Bottleneck" : "BasicBlock") << "(in_channels=" << options.in_channels()
         << ", planes=" << options.planes() << ", stride=" << options.stride() << ")";
}

// ---- ResNet -------------------------------------------------------------------------------------

ResNetOptions resnet_options(int depth) {
  ResNetOptions o;
  switch (depth) {
    case 18:
      return o.blocks({2, 2, 2, 2});
    case 34:
      return o.blocks({3, 4, 6, 3});
    case 50:
      return o.blocks({3, 4, 6, 3}).bottleneck(true);
    case 101:
      return o.blocks({3, 4, 23, 3}).bottleneck(true);
    case 152:
      return o.blocks({3, 8, 36, 3}).bottleneck(true);
    default:
      break;
  }
  TORCH_CHECK(false, "resnet_options: expected depth 18, 34, 50, 101 or 152, got ", depth);
  return o;
}

void ResNetImpl::reset() {
  const auto& widths = options.widths();
  TORCH_CHECK(!widths.empty() && widths.size() == options.blocks().size(),
              "ResNet: expected one width per stage (", options.blocks().size(), " stages), got ",
              widths.size());
  const int64_t stem = widths[0];
  conv1 = register_module("conv1", options.small_input() ? conv(options.in_channels(), stem, 3)
                                                         : conv(options.in_channels(), stem, 7, 2));
  bn1 = register_module("bn1", BatchNorm2d(stem));
  layers.clear();  // clone() runs reset() on a copy of this module
  int64_t in = stem;
  for (size_t i = 0; i < widths.size(); ++i) {
    torch::nn::Sequential layer;
    for (int64_t b = 0; b < options.blocks()[i]; ++b) {
      ResidualBlock block(ResidualBlockOptions(in, widths[i])
                              .stride(b == 0 && i > 0 ? 2 : 1)
                              .bottleneck(options.bottleneck())
                              .inplace(options.inplace()));
      in = block->out_channels();
      layer->push_back(block);
    }
    layers.push_back(register_module("layer" + std::to_string(i + 1), layer));
  }
  fc = register_module("fc", torch::nn::Linear(in, options.num_classes()));
  if (options.torchvision_init()) init_like_torchvision(*this, /*linear_normal=*/false);
}

torch::Tensor ResNetImpl::forward(torch::Tensor x) {
  x = relu(bn1(conv1(x)), options.inplace());
  if (!options.small_input()) x = torch::max_pool2d(x, 3, 2, 1);
  for (auto& layer : layers) x = layer->forward(x);
  x = torch::adaptive_avg_pool2d(x, {1, 1});
  return fc(torch::flatten(x, 1));
}

void ResNetImpl::pretty_print(std::ostream& stream) const {
  stream << "ResNet(in_channels=" << options.in_channels() << ", num_classes=" << options.num_classes()
         << ", blocks=";
  print_list(stream, options.blocks());
  stream << ", widths=";
  print_list(stream, options.widths());
  stream << ", bottleneck=" << options.bottleneck() << ", small_input=" << options.small_input() << ")";
}

}  // namespace nncf_sample::models
