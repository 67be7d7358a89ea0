// Part of the `qat` suite: what quantization-aware training costs on a whole model, per training
// step, against training the user's own eager module.
//
// The setup of resnet_fmnist.h. Three models, each with its own weights (identically initialized)
// and optimizer, timed interleaved, one thread:
//   fp32     the eager C++ module
//   int8     nncf::create_compressed_model with the default INT8 quantization, range-initialized
//   capture  the same, with weight and activation quantization disabled: the executor and its
//            hooks without the fake-quantize arithmetic
// Metrics (ratios are medians of per-round ratios):
//   qat.resnet18_fmnist.step_ratio      int8 / fp32       (goal 1.10, lower is better)
//   qat.resnet18_fmnist.capture_ratio   capture / fp32    (informational)
//   qat.resnet18_fmnist.{fp32,int8}_step_ms               the medians behind them
//   qat.resnet18_fmnist.step_ratio_retained_heap          int8 / fp32 again after
//       retain_freed_heap(): the INT8 step's higher memory peak otherwise page-faults back in
//       every step once glibc has trimmed it (informational)
// The first and last INT8 losses go to stderr, to show that the quantized model trains.

#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <memory>

#include "bench_util.h"
#include "nncf/algorithms/quantization/controller.h"
#include "nncf/api/compression.h"
#include "resnet_fmnist.h"

namespace nncf::bench {
namespace {

constexpr const char* kInt8Config = R"({
  "input_info": {"sample_size": [1, 1, 28, 28]},
  "compression": {"algorithm": "quantization",
                  "initializer": {"range": {"num_init_samples": 64},
                                  "batchnorm_adaptation": {"num_bn_adaptation_samples": 0}}}})";

// An INT8 CompressedModel of a fresh ResNet-18, range-initialized on `x`; with `quantize` false,
// every quantizer is disabled after initialization.
runtime::CompressedModel make_compressed(const torch::Tensor& x, bool quantize) {
  testing::ResNet18 net = make_resnet18_fmnist(x);
  auto config = Config::from_string(kInt8Config);
  auto [ctrl, model] = create_compressed_model(net, config);
  ctrl->initialize(InitData([&](const InitData::Visitor& visit) { visit({x}); }));
  if (!quantize) {
    auto q = std::dynamic_pointer_cast<quantization::QuantizationController>(ctrl);
    TORCH_CHECK(q, "qat bench: expected a QuantizationController, got ", ctrl->name());
    q->disable_weight_quantization();
    q->disable_activation_quantization();
  }
  // The quantizers live in the model (as hooks); the controller is not needed for training.
  return model;
}

}  // namespace

std::vector<Metric> run_qat_resnet18_fmnist(const Options& options) {
  const int rounds = options.rounds > 0 ? options.rounds : 7;
  torch::manual_seed(1);
  torch::Tensor x = torch::randn({kResNetBatch, 1, 28, 28});
  torch::Tensor y = torch::randint(10, {kResNetBatch});

  Trainer<testing::ResNet18> fp32(make_resnet18_fmnist(x));
  Trainer<runtime::CompressedModel> int8(make_compressed(x, /*quantize=*/true));
  Trainer<runtime::CompressedModel> capture(make_compressed(x, /*quantize=*/false));

  torch::Tensor fp32_loss, int8_loss, int8_first, capture_loss;
  const std::vector<std::function<void()>> variants = {[&] { fp32_loss = fp32.step(x, y); },
                                                       [&] {
                                                         int8_loss = int8.step(x, y);
                                                         if (!int8_first.defined()) int8_first = int8_loss;
                                                       },
                                                       [&] { capture_loss = capture.step(x, y); }};
  auto samples = interleaved(variants, /*warmup=*/3, rounds);

  const double first = int8_first.item<double>(), last = int8_loss.item<double>();
  std::fprintf(
      stderr, "qat.resnet18_fmnist: int8 loss %.4f (first step) -> %.4f (step %d); fp32 %.4f, capture %.4f\n",
      first, last, 3 + rounds, fp32_loss.item<double>(), capture_loss.item<double>());
  TORCH_CHECK(std::isfinite(first) && std::isfinite(last),
              "qat bench: the INT8 ResNet-18's loss is not finite: ", first, " -> ", last);

  retain_freed_heap();
  auto retained = interleaved({variants[0], variants[1]}, /*warmup=*/2, rounds);

  return {
      {"qat.resnet18_fmnist.step_ratio", median_ratio(samples[1], samples[0]), "x", 1.10, true},
      {"qat.resnet18_fmnist.capture_ratio", median_ratio(samples[2], samples[0]), "x", std::nullopt, true},
      {"qat.resnet18_fmnist.fp32_step_ms", median(samples[0]), "ms", std::nullopt, true},
      {"qat.resnet18_fmnist.int8_step_ms", median(samples[1]), "ms", std::nullopt, true},
      {"qat.resnet18_fmnist.step_ratio_retained_heap", median_ratio(retained[1], retained[0]), "x",
       std::nullopt, true},
  };
}

}  // namespace nncf::bench
