#include "common/models/small_cnn.h"

#include <torch/types.h>

#include "common/models/init.h"

namespace nncf_sample::models {

void SmallCNNImpl::reset() {
  using torch::nn::Conv2dOptions;
  const int64_t c1 = options.channels1(), c2 = options.channels2();
  conv1 = register_module(
      "conv1", torch::nn::Conv2d(Conv2dOptions(options.in_channels(), c1, 3).padding(1).bias(false)));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(c1));
  conv2 = register_module("conv2", torch::nn::Conv2d(Conv2dOptions(c1, c2, 3).padding(1).bias(false)));
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(c2));
  dropout = nullptr;  // clone() runs reset() on a copy of this module
  if (options.dropout()) dropout = register_module("dropout", torch::nn::Dropout(*options.dropout()));
  fc = register_module("fc", torch::nn::Linear(c2, options.num_classes()));
  if (options.torchvision_init()) init_like_torchvision(*this, /*linear_normal=*/false);
}

torch::Tensor SmallCNNImpl::forward(torch::Tensor x) {
  x = torch::relu(bn1(conv1(x)));
  x = torch::max_pool2d(x, 2);
  x = torch::relu(bn2(conv2(x)));
  x = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
  return fc(dropout ? dropout(x) : x);
}

void SmallCNNImpl::pretty_print(std::ostream& stream) const {
  stream << "SmallCNN(in_channels=" << options.in_channels() << ", num_classes=" << options.num_classes()
         << ", channels1=" << options.channels1() << ", channels2=" << options.channels2() << ")";
}

}  // namespace nncf_sample::models
