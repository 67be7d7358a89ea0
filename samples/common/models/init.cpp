#include "common/models/init.h"

#include <torch/nn/init.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/utils.h>

namespace nncf_sample::models {

// Note [Initialization]
// A backbone built with torchvision_init(true) ends its reset() here. Without it the modules keep
// LibTorch's defaults, which for Linear (kaiming-uniform, a = sqrt(5)) are PyTorch's and
// torchvision's choice for ResNet; MobileNetV2 and VGG use normal(0, 0.01) linears instead.
void init_like_torchvision(torch::nn::Module& model, bool linear_normal) {
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

}  // namespace nncf_sample::models
