// The `pruning` suite: what filter pruning buys once the model is shrunk, on the setup of
// resnet_fmnist.h (ResNet-18, Fashion-MNIST shapes, batch 64, one thread, interleaved rounds,
// medians of per-round ratios). The pruned model is NNCF's filter_pruning at 50% fewer FLOPs
// (first and downsample convolutions included), masked, then shrunk in place.
//
//   pruning.resnet18_fmnist.step_ratio_after_shrink   shrunk training step / FP32 eager step (goal 0.6)
//   pruning.resnet18_fmnist.step_ratio_masked         masked (not yet shrunk) step / FP32 (informational)
//   pruning.resnet18_fmnist.*_retained_heap           the same after retain_freed_heap() (informational)
//   pruning.resnet18_fmnist.flops_ratio               the shrunk model's FLOPs / FP32's
//   pruning.resnet18.onnx_latency_ratio.b1 / .b32     ONNX Runtime latency of the shrunk export / the
//                                                     FP32 export (goal 0.6)

#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "bench_util.h"
#include "nncf/algorithms/pruning/controller.h"
#include "nncf/api/compression.h"
#include "resnet_fmnist.h"

namespace nncf::bench {
namespace {

struct Pruned {
  CompressionResult result;
  std::shared_ptr<pruning::FilterPruningController> ctrl;
};

Pruned make_pruned(const torch::Tensor& x, bool shrink) {
  testing::ResNet18 net = make_resnet18_fmnist(x);
  auto config = Config::from_string(R"({"input_info": {"sample_size": [1, 1, 28, 28]},
      "compression": {"algorithm": "filter_pruning", "params": {"pruning_flops_target": 0.5,
                      "prune_first_conv": true, "prune_downsample_convs": true}}})");
  Pruned p{create_compressed_model(net, config), nullptr};
  p.ctrl = std::dynamic_pointer_cast<pruning::FilterPruningController>(p.result.ctrl);
  TORCH_CHECK(p.ctrl != nullptr, "pruning bench: no filter_pruning controller");
  p.ctrl->set_pruning_level(0.5);
  if (shrink) p.ctrl->shrink();
  return p;
}

}  // namespace

std::vector<Metric> run_pruning(const Options& options) {
  const int rounds = options.rounds > 0 ? options.rounds : 7;
  torch::manual_seed(1);
  torch::Tensor x = torch::randn({kResNetBatch, 1, 28, 28});
  torch::Tensor y = torch::randint(10, {kResNetBatch});

  Pruned shrunk = make_pruned(x, true), masked = make_pruned(x, false);
  const double flops_ratio =
      static_cast<double>(shrunk.ctrl->flops_now()) / static_cast<double>(shrunk.ctrl->flops_before());
  Trainer<testing::ResNet18> fp32(make_resnet18_fmnist(x));
  Trainer<runtime::CompressedModel> small(shrunk.result.model), mask(masked.result.model);

  torch::Tensor losses[3];
  const std::vector<std::function<void()>> variants = {[&] { losses[0] = fp32.step(x, y); },
                                                       [&] { losses[1] = small.step(x, y); },
                                                       [&] { losses[2] = mask.step(x, y); }};
  auto samples = interleaved(variants, /*warmup=*/3, rounds);
  for (const auto& l : losses)
    TORCH_CHECK(std::isfinite(l.item<double>()), "pruning bench: a loss is not finite");
  retain_freed_heap();
  auto retained = interleaved(variants, /*warmup=*/2, rounds);

  std::vector<Metric> metrics = {
      {"pruning.resnet18_fmnist.step_ratio_after_shrink", median_ratio(samples[1], samples[0]), "x", 0.6,
       true},
      {"pruning.resnet18_fmnist.step_ratio_masked", median_ratio(samples[2], samples[0]), "x", std::nullopt,
       true},
      {"pruning.resnet18_fmnist.step_ratio_after_shrink_retained_heap",
       median_ratio(retained[1], retained[0]), "x", std::nullopt, true},
      {"pruning.resnet18_fmnist.step_ratio_masked_retained_heap", median_ratio(retained[2], retained[0]), "x",
       std::nullopt, true},
      {"pruning.resnet18_fmnist.fp32_step_ms", median(samples[0]), "ms", std::nullopt, true},
      {"pruning.resnet18_fmnist.shrunk_step_ms", median(samples[1]), "ms", std::nullopt, true},
      {"pruning.resnet18_fmnist.flops_ratio", flops_ratio, "x", 0.5, true},
  };

  // ONNX Runtime: the FP32 export against the shrunk one.
  const std::string dir = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
  const std::string fp32_path = dir + "/nncf_bench_prune_fp32.onnx",
                    shrunk_path = dir + "/nncf_bench_prune_shrunk.onnx";
  {
    testing::ResNet18 net = make_resnet18_fmnist(x);
    auto plain = create_compressed_model(
        net, Config::from_string(R"({"input_info": {"sample_size": [1, 1, 28, 28]}, "compression": []})"));
    plain.ctrl->export_model(fp32_path);
  }
  shrunk.result.ctrl->export_model(shrunk_path);
  const int ort_rounds = options.rounds > 0 ? options.rounds : 15;
  for (int batch : {1, 32}) {
    const std::string out =
        run_command(c10::str(NNCF_NODE_EXECUTABLE, " ", NNCF_BENCH_DIR, "/ort_latency.js ", ort_rounds, " 3 ",
                             batch, ":1,28,28 ", fp32_path, " ", shrunk_path));
    const auto j = nlohmann::json::parse(out);
    metrics.push_back({c10::str("pruning.resnet18.onnx_latency_ratio.b", batch), j["ratios"][1].get<double>(),
                       "x", 0.6, true});
  }
  std::remove(fp32_path.c_str());
  std::remove(shrunk_path.c_str());
  return metrics;
}

}  // namespace nncf::bench
