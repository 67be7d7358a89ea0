#pragma once

// The sample's model zoo: C++ modules that nncf-cpp captures like any user model.
//
//   resnet18, resnet34, resnet50   torchvision's layout; `small_input` replaces the 7x7/2 stem and
//                                  max pool with a 3x3/1 conv (for 28x28 and 32x32 images)
//   mobilenet_v2                   torchvision's layout; `small_input` makes the first conv stride 1
//   vgg11_bn, vgg16_bn             with BatchNorm; `small_input` uses a 1x1 adaptive pool and a
//                                  smaller classifier
//   small_cnn                      two conv-bn-relu blocks and a linear classifier
//
// `width` multiplies every layer's channel count (rounded, at least 8): 0.25 gives a quick
// ResNet-18-style model for 2-core machines.

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

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
  virtual torch::Tensor forward(torch::Tensor x) = 0;
};
TORCH_MODULE(Classifier);

/// The names make_model knows.
std::vector<std::string> model_names();

/// Builds a model with PyTorch's default initialization (seeded by torch::manual_seed); throws
/// std::runtime_error for an unknown name (listing the known ones) or bad options.
Classifier make_model(const ModelOptions& options);

/// Saves every parameter and buffer of `model` to `path` atomically (temporary file, fsync, rename).
void save_weights(torch::nn::Module& model, const std::string& path);

/// Loads an FP32 checkpoint written by save_weights (or by torch::save of the same module) into
/// `model`; throws std::runtime_error naming the file and the missing, unexpected or mis-shaped
/// tensors.
void load_weights(torch::nn::Module& model, const std::string& path);

}  // namespace nncf_sample
