// The `sparsity` suite: what sparsity-aware training costs per training step against training the
// user's own eager module, on the setup of resnet_fmnist.h (ResNet-18, Fashion-MNIST shapes,
// batch 64, one thread, interleaved rounds, medians of per-round ratios).
//
//   sparsity.magnitude.step_ratio   magnitude sparsity at 50% / FP32     (goal 1.02)
//   sparsity.rb.step_ratio          RB sparsity, its loss included / FP32 (goal 1.10)
//   sparsity.{fp32,magnitude,rb}_step_ms                                  the medians behind them
//   sparsity.*.step_ratio_retained_heap   the same after retain_freed_heap() (informational)

#include <torch/torch.h>

#include <cmath>
#include <cstdio>

#include "bench_util.h"
#include "nncf/api/compression.h"
#include "resnet_fmnist.h"

namespace nncf::bench {
namespace {

Trainer<runtime::CompressedModel> make_sparse(const torch::Tensor& x, const std::string& algorithm) {
  testing::ResNet18 net = make_resnet18_fmnist(x);
  auto config = Config::from_string(R"({"input_info": {"sample_size": [1, 1, 28, 28]},
      "compression": {"algorithm": ")" +
                                    algorithm + R"(", "sparsity_init": 0.5}})");
  auto [ctrl, model] = create_compressed_model(net, config);
  ctrl->initialize(InitData([&](const InitData::Visitor& visit) { visit({x}); }));
  std::shared_ptr<CompressionController> keep = ctrl;
  return Trainer<runtime::CompressedModel>(model, [keep] { return keep->loss(); });
}

}  // namespace

std::vector<Metric> run_sparsity(const Options& options) {
  const int rounds = options.rounds > 0 ? options.rounds : 7;
  torch::manual_seed(1);
  torch::Tensor x = torch::randn({kResNetBatch, 1, 28, 28});
  torch::Tensor y = torch::randint(10, {kResNetBatch});

  Trainer<testing::ResNet18> fp32(make_resnet18_fmnist(x));
  auto magnitude = make_sparse(x, "magnitude_sparsity");
  auto rb = make_sparse(x, "rb_sparsity");

  torch::Tensor losses[3];
  const std::vector<std::function<void()>> variants = {[&] { losses[0] = fp32.step(x, y); },
                                                       [&] { losses[1] = magnitude.step(x, y); },
                                                       [&] { losses[2] = rb.step(x, y); }};
  auto samples = interleaved(variants, /*warmup=*/3, rounds);
  std::fprintf(stderr, "sparsity: last losses fp32 %.4f, magnitude %.4f, rb %.4f (with its sparsity loss)\n",
               losses[0].item<double>(), losses[1].item<double>(), losses[2].item<double>());
  for (const auto& l : losses)
    TORCH_CHECK(std::isfinite(l.item<double>()), "sparsity bench: a loss is not finite");

  retain_freed_heap();
  auto retained = interleaved(variants, /*warmup=*/2, rounds);

  return {
      {"sparsity.magnitude.step_ratio", median_ratio(samples[1], samples[0]), "x", 1.02, true},
      {"sparsity.rb.step_ratio", median_ratio(samples[2], samples[0]), "x", 1.10, true},
      {"sparsity.fp32_step_ms", median(samples[0]), "ms", std::nullopt, true},
      {"sparsity.magnitude_step_ms", median(samples[1]), "ms", std::nullopt, true},
      {"sparsity.rb_step_ms", median(samples[2]), "ms", std::nullopt, true},
      {"sparsity.magnitude.step_ratio_retained_heap", median_ratio(retained[1], retained[0]), "x",
       std::nullopt, true},
      {"sparsity.rb.step_ratio_retained_heap", median_ratio(retained[2], retained[0]), "x", std::nullopt,
       true},
  };
}

}  // namespace nncf::bench
