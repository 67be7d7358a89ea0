#pragma once

// Initialization shared by the backbones (Note [Initialization] in init.cpp).

#include <torch/nn/module.h>

namespace nncf_sample::models {

/// Re-initializes every Conv2d, BatchNorm2d and (when `linear_normal`) Linear below `model` as
/// torchvision does: convs kaiming-normal (fan_out, ReLU gain) with zero bias, BatchNorm weight 1
/// and bias 0, linears normal(0, 0.01) with zero bias. Draws from torch's global generator in
/// module order.
void init_like_torchvision(torch::nn::Module& model, bool linear_normal);

}  // namespace nncf_sample::models
