// Part of the `qat` suite: what quantization-aware training costs on a whole model, per training
// step, against training the user's own eager module.
//
// Model: ResNet-18 for Fashion-MNIST (1x28x28 input, 3x3 stride-1 stem without max-pool, 10
// classes, full width 64), batch 64 of random data, cross-entropy, SGD (lr 0.01, momentum 0.9).
// A step is zero_grad + forward + loss + backward + optimizer step. Three models, each with its
// own weights (identically initialized) and optimizer, timed interleaved, one thread:
//   fp32     the eager C++ module
//   int8     nncf::create_compressed_model with the default INT8 quantization, range-initialized
//   capture  the same, with weight and activation quantization disabled: the executor and its
//            hooks without the fake-quantize arithmetic
// Metrics (ratios are medians of per-round ratios):
//   qat.resnet18_fmnist.step_ratio      int8 / fp32       (goal 1.10, lower is better)
//   qat.resnet18_fmnist.capture_ratio   capture / fp32    (informational)
//   qat.resnet18_fmnist.{fp32,int8}_step_ms               the medians behind them
// The first and last INT8 losses go to stderr, to show that the quantized model trains.

#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <memory>

#include "bench_util.h"
#include "nncf/algorithms/quantization/controller.h"
#include "nncf/api/compression.h"
#include "support/models.h"

namespace nncf::bench {
namespace {

using testing::ResNet18;
using testing::ResNet18Options;

constexpr int64_t kBatch = 64;

constexpr const char* kInt8Config = R"({
  "input_info": {"sample_size": [1, 1, 28, 28]},
  "compression": {"algorithm": "quantization",
                  "initializer": {"range": {"num_init_samples": 64},
                                  "batchnorm_adaptation": {"num_bn_adaptation_samples": 0}}}})";

// Every model starts from the same weights, so their losses are comparable. QAT starts from a
// trained model, whose BatchNorm running statistics match its activations; a fresh one's (mean 0,
// variance 1) do not, and range initialization (eval mode) would then see eval-mode activations
// far smaller than the train-mode ones: most activation scales at the 0.1 floor, clipping the
// BatchNorm outputs, and an INT8 model that barely trains. So one forward pass on `x` with
// momentum 1 sets the running statistics to the batch's.
ResNet18 make_net(const torch::Tensor& x) {
  torch::manual_seed(0);
  ResNet18 net(ResNet18Options().in_channels(1).cifar_stem(true).num_classes(10).base_width(64));
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

// A trainable model with its optimizer; `step` runs one training step and returns the loss.
template <typename Model>
struct Trainer {
  Model model;
  torch::optim::SGD sgd;

  explicit Trainer(Model m)
      : model(std::move(m)), sgd(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9)) {}

  torch::Tensor step(const torch::Tensor& x, const torch::Tensor& y) {
    sgd.zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x), y);
    loss.backward();
    sgd.step();
    return loss.detach();
  }
};

// An INT8 CompressedModel of a fresh ResNet-18, range-initialized on `x`; with `quantize` false,
// every quantizer is disabled after initialization.
runtime::CompressedModel make_compressed(const torch::Tensor& x, bool quantize) {
  ResNet18 net = make_net(x);
  auto config = Config::from_string(kInt8Config);
  auto [ctrl, model] = create_compressed_model(net, config);
  ctrl->initialize(InitData([&](const InitData::Visitor& visit) { visit({x}); }));
  if (!quantize) {
    auto q = std::dynamic_pointer_cast<quantization::QuantizationController>(ctrl);
    TORCH_CHECK(q, "qat bench: expected a QuantizationController, got ", ctrl->name());
    q->disable_weight_quantization();
    q->disable_activation_quantization();
  }
  model->train();
  // The quantizers live in the model (as hooks); the controller is not needed for training.
  return model;
}

}  // namespace

std::vector<Metric> run_qat_resnet18_fmnist(const Options& options) {
  const int rounds = options.rounds > 0 ? options.rounds : 7;
  torch::manual_seed(1);
  torch::Tensor x = torch::randn({kBatch, 1, 28, 28});
  torch::Tensor y = torch::randint(10, {kBatch});

  Trainer<ResNet18> fp32(make_net(x));
  fp32.model->train();
  Trainer<runtime::CompressedModel> int8(make_compressed(x, /*quantize=*/true));
  Trainer<runtime::CompressedModel> capture(make_compressed(x, /*quantize=*/false));

  torch::Tensor fp32_loss, int8_loss, int8_first, capture_loss;
  auto samples = interleaved({[&] { fp32_loss = fp32.step(x, y); },
                              [&] {
                                int8_loss = int8.step(x, y);
                                if (!int8_first.defined()) int8_first = int8_loss;
                              },
                              [&] { capture_loss = capture.step(x, y); }},
                             /*warmup=*/3, rounds);

  const double first = int8_first.item<double>(), last = int8_loss.item<double>();
  std::fprintf(
      stderr, "qat.resnet18_fmnist: int8 loss %.4f (first step) -> %.4f (step %d); fp32 %.4f, capture %.4f\n",
      first, last, 3 + rounds, fp32_loss.item<double>(), capture_loss.item<double>());
  TORCH_CHECK(std::isfinite(first) && std::isfinite(last),
              "qat bench: the INT8 ResNet-18's loss is not finite: ", first, " -> ", last);

  return {
      {"qat.resnet18_fmnist.step_ratio", median_ratio(samples[1], samples[0]), "x", 1.10, true},
      {"qat.resnet18_fmnist.capture_ratio", median_ratio(samples[2], samples[0]), "x", std::nullopt, true},
      {"qat.resnet18_fmnist.fp32_step_ms", median(samples[0]), "ms", std::nullopt, true},
      {"qat.resnet18_fmnist.int8_step_ms", median(samples[1]), "ms", std::nullopt, true},
  };
}

}  // namespace nncf::bench
