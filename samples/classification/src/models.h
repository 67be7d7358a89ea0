#pragma once

// The sample's model zoo: C++ modules that nncf-cpp captures like any user model.
//
//   resnet18, resnet34, resnet50   torchvision's layout; `small_input` replaces the 7x7/2 stem and
//                                  max pool with a 3x3/1 conv (for 28x28 and 32x32 images)
//   mobilenet_v2                   torchvision's layout; `small_input` makes the first conv stride 1
//   vgg11_bn, vgg16_bn             with BatchNorm; `small_input` drops the last max pool and uses
//                                  a 1x1 adaptive pool and one hidden layer of 512 in the
//                                  classifier (torchvision: 7x7 pool, two hidden layers of 4096)
//   small_cnn                      conv-bn-relu, max pool, conv-bn-relu (32, 64 channels), adaptive
//                                  avg pool, linear
//
// Module names are torchvision's (`layer2.0.downsample.0.weight`, `features.1.conv.0.0.weight`),
// and at width 1 the parameter counts equal torchvision's. `width` multiplies every layer's
// channel count (rounded, at least 8; MobileNetV2's last 1280 too, unlike torchvision's rounding
// to multiples of 8): 0.25 gives a quick ResNet-18-style model for 2-core machines.
//
// The architectures are the shared backbones of samples/common/models; this file holds the
// sample's width rule and choices (out-of-place ops, torchvision's initialization).
//
// The forwards use tensor ops only (no data-dependent control flow), so nncf::capture and
// nncf::create_compressed_model take a Classifier holder as it is.

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/weights_io.h"  // save_weights, load_weights of these models

namespace nncf_sample {

struct ModelOptions {
  std::string name;
  int64_t num_classes = 10;
  int64_t in_channels = 3;
  bool small_input = false;
  double width = 1.0;
};

/// A zoo model: one image batch [N, C, H, W] in, logits [N, num_classes] out.
class ClassifierImpl : public torch::nn::Module {
 public:
  ClassifierImpl() = default;
  /// `name`: the class name (NNCF's names start with it: `ResNet/NNCFConv2d[conv1]/conv2d_0`).
  explicit ClassifierImpl(std::string name) : Module(std::move(name)) {}
  virtual torch::Tensor forward(torch::Tensor x) = 0;
};
TORCH_MODULE(Classifier);

/// The names make_model knows.
std::vector<std::string> model_names();

/// Builds a model initialized like torchvision (seeded by torch::manual_seed): convs kaiming-normal
/// fan_out, BatchNorm 1 and 0, linears normal(0, 0.01) for MobileNetV2 and VGG and LibTorch's
/// default otherwise. Throws std::runtime_error for an unknown name (listing the known ones),
/// num_classes or in_channels < 1, or width <= 0.
Classifier make_model(const ModelOptions& options);

}  // namespace nncf_sample
