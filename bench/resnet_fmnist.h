#pragma once

// The training setup the whole-model benchmarks share (qat.resnet18_fmnist.*, sparsity.*):
// ResNet-18 for Fashion-MNIST (1x28x28 input, 3x3 stride-1 stem without max-pool, 10 classes,
// full width 64), batch 64 of random data, cross-entropy, SGD (lr 0.01, momentum 0.9). A step is
// zero_grad + forward + loss (+ the compression loss) + backward + optimizer step.

#include <malloc.h>
#include <torch/torch.h>

#include <functional>
#include <vector>

#include "support/models.h"

namespace nncf::bench {

constexpr int64_t kResNetBatch = 64;

/// A fresh ResNet-18 with trained-looking BatchNorm statistics. Compression starts from a trained
/// model, whose running statistics match its activations; a fresh one's (mean 0, variance 1) do
/// not, and range initialization (eval mode) would then see activations far smaller than in
/// training. One forward pass on `x` with momentum 1 sets the running statistics to the batch's.
inline testing::ResNet18 make_resnet18_fmnist(const torch::Tensor& x) {
  torch::manual_seed(0);
  testing::ResNet18 net(
      testing::ResNet18Options().in_channels(1).cifar_stem(true).num_classes(10).base_width(64));
  std::vector<torch::nn::BatchNorm2dImpl*> bns;
  for (const auto& m : net->modules()) {
    if (auto* bn = m->as<torch::nn::BatchNorm2dImpl>()) bns.push_back(bn);
  }
  for (auto* bn : bns) bn->options.momentum(1.0);
  {
    torch::NoGradGuard no_grad;
    net->train();
    net->forward(x);
  }
  for (auto* bn : bns) bn->options.momentum(0.1);
  return net;
}

/// A trainable model with its optimizer; `step` runs one training step and returns the loss.
/// `extra_loss` (the compression loss) is added when set.
template <typename Model>
struct Trainer {
  Model model;
  torch::optim::SGD sgd;
  std::function<torch::Tensor()> extra_loss;

  explicit Trainer(Model m, std::function<torch::Tensor()> extra = nullptr)
      : model(std::move(m)),
        sgd(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9)),
        extra_loss(std::move(extra)) {
    model->train();
  }

  torch::Tensor step(const torch::Tensor& x, const torch::Tensor& y) {
    sgd.zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x), y);
    if (extra_loss) loss = loss + extra_loss();
    loss.backward();
    sgd.step();
    return loss.detach();
  }
};

/// Keeps freed heap memory in the process instead of returning it to the system after each step
/// (glibc trims the heap top once more than 128 KiB are free and serves blocks >= 32 MiB by mmap,
/// so a step whose peak exceeds the last one's page-faults the difference back in). Process-wide;
/// benchmarks call it only for their `*_retained_heap` variants, after the default measurement.
inline void retain_freed_heap() {
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
}

}  // namespace nncf::bench
