#include "common/models/vgg.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>
#include <torch/types.h>

#include "common/models/init.h"

namespace nncf_sample::models {

std::vector<int64_t> vgg_layers(int depth) {
  switch (depth) {
    case 11:
      return {64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0};
    case 13:
      return {64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0};
    case 16:
      return {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0};
    case 19:
      return {64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0};
    default:
      break;
  }
  TORCH_CHECK(false, "vgg_layers: expected depth 11, 13, 16 or 19, got ", depth);
  return {};
}

void VGGImpl::reset() {
  torch::nn::Sequential f;
  int64_t in = options.in_channels();
  for (int64_t width : options.layers()) {
    if (width == 0) {
      f->push_back(torch::nn::MaxPool2d(2));
      continue;
    }
    f->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, width, 3).padding(1)));
    f->push_back(torch::nn::BatchNorm2d(width));
    f->push_back(torch::nn::ReLU());
    in = width;
  }
  features = register_module("features", f);
  torch::nn::Sequential c;
  in *= options.pool_size() * options.pool_size();
  for (int64_t width : options.hidden()) {
    c->push_back(torch::nn::Linear(in, width));
    c->push_back(torch::nn::ReLU());
    c->push_back(torch::nn::Dropout(options.dropout()));
    in = width;
  }
  c->push_back(torch::nn::Linear(in, options.num_classes()));
  classifier = register_module("classifier", c);
  if (options.torchvision_init()) init_like_torchvision(*this, /*linear_normal=*/true);
}

torch::Tensor VGGImpl::forward(torch::Tensor x) {
  x = torch::adaptive_avg_pool2d(features->forward(x), {options.pool_size(), options.pool_size()});
  return classifier->forward(torch::flatten(x, 1));
}

void VGGImpl::pretty_print(std::ostream& stream) const {
  stream << "VGG(in_channels=" << options.in_channels() << ", num_classes=" << options.num_classes()
         << ", layers=" << options.layers().size() << ", pool_size=" << options.pool_size() << ")";
}

}  // namespace nncf_sample::models
