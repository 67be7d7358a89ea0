#include "common/models/mobilenet_v2.h"

#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>

#include <algorithm>

#include "common/models/init.h"

namespace nncf_sample::models {

int64_t make_divisible(double v, int64_t divisor) {
  int64_t n = std::max<int64_t>(divisor, static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

void ConvBNReLU6Impl::reset() {
  conv = register_module("0", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_, out_, kernel_)
                                                    .stride(stride_)
                                                    .padding((kernel_ - 1) / 2)
                                                    .groups(groups_)
                                                    .bias(false)));
  bn = register_module("1", torch::nn::BatchNorm2d(out_));
  relu6 = register_module("2", torch::nn::ReLU6());
}

void InvertedResidualImpl::reset() {
  const int64_t hidden = in_ * expand_;
  torch::nn::Sequential seq;
  if (expand_ != 1) seq->push_back(ConvBNReLU6(in_, hidden, 1));
  seq->push_back(ConvBNReLU6(hidden, hidden, 3, stride_, hidden));
  seq->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(hidden, out_, 1).bias(false)));
  seq->push_back(torch::nn::BatchNorm2d(out_));
  conv = register_module("conv", seq);
}

torch::Tensor InvertedResidualImpl::forward(torch::Tensor x) {
  if (stride_ == 1 && in_ == out_) return x + conv->forward(x);
  return conv->forward(x);
}

void MobileNetV2Impl::reset() {
  int64_t in = options.stem_channels();
  torch::nn::Sequential f;
  f->push_back(ConvBNReLU6(options.in_channels(), in, 3, options.stem_stride()));
  for (const auto& s : options.setting()) {
    for (int64_t i = 0; i < s.repeats; ++i) {
      f->push_back(InvertedResidual(in, s.channels, i == 0 ? s.stride : 1, s.expand));
      in = s.channels;
    }
  }
  f->push_back(ConvBNReLU6(in, options.last_channel(), 1));
  features = register_module("features", f);
  classifier = register_module(
      "classifier", torch::nn::Sequential(torch::nn::Dropout(options.dropout()),
                                          torch::nn::Linear(options.last_channel(), options.num_classes())));
  if (options.torchvision_init()) init_like_torchvision(*this, /*linear_normal=*/true);
}

torch::Tensor MobileNetV2Impl::forward(torch::Tensor x) {
  x = features->forward(x);
  x = torch::adaptive_avg_pool2d(x, {1, 1});
  return classifier->forward(torch::flatten(x, 1));
}

void MobileNetV2Impl::pretty_print(std::ostream& stream) const {
  stream << "MobileNetV2(in_channels=" << options.in_channels() << ", num_classes=" << options.num_classes()
         << ", stem_channels=" << options.stem_channels() << ", last_channel=" << options.last_channel()
         << ")";
}

}  // namespace nncf_sample::models
