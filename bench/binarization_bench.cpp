// The `binarization` suite, one thread, interleaved rounds, medians of per-round ratios:
//
//   binarization.act.fwd_bwd_x_clone     the activation binarizer (module, autograd, fused kernels)
//                                        forward + backward on a 64x64x56x56 float tensor / x.clone()
//   binarization.act.fwd_bwd_reference   the same through the plain-ATen reference ops / ours
//   binarization.resnet18_fmnist.step_ratio   XNOR binarized training step (weights and
//                                        activations on) / FP32 eager step, on the setup of
//                                        resnet_fmnist.h (goal 1.15)
//   binarization.resnet18_fmnist.step_ratio_retained_heap   the same after retain_freed_heap()
//   binarization.resnet18_fmnist.step_ratio_{disabled,activations_only,weights_only}   the same
//                                        model with both stages off, or one on (informational)
//
// The memory-traffic floor of the activation pass: the forward reads x and writes the output, the
// backward reads x and the gradient and writes dx -- five passes over the tensor, where x.clone()
// is two (read, write); a fused pass cannot beat ~2.5x clone.

#include <torch/torch.h>

#include <cmath>
#include <cstdio>

#include "bench_util.h"
#include "nncf/algorithms/binarization/binarizer.h"
#include "nncf/api/compression.h"
#include "nncf/kernels/binarize.h"
#include "resnet_fmnist.h"

namespace nncf::bench {
namespace {

Trainer<runtime::CompressedModel> make_binarized(const torch::Tensor& x, int acts = 0, int weights = 0) {
  testing::ResNet18 net = make_resnet18_fmnist(x);
  auto config = Config::from_string(R"({"input_info": {"sample_size": [1, 1, 28, 28]},
      "compression": {"algorithm": "binarization", "mode": "xnor",
                      "params": {"activations_quant_start_epoch": )" +
                                    std::to_string(acts) + R"(, "weights_quant_start_epoch": )" +
                                    std::to_string(weights) + R"(}}})");
  auto [ctrl, model] = create_compressed_model(net, config);
  std::shared_ptr<CompressionController> keep = ctrl;
  return Trainer<runtime::CompressedModel>(model, [keep] { return keep->loss(); });
}

}  // namespace

std::vector<Metric> run_binarization(const Options& options) {
  const int rounds = options.rounds > 0 ? options.rounds : 7;
  torch::manual_seed(1);
  std::vector<Metric> out;
  {
    const torch::Tensor x = (torch::randn({64, 64, 56, 56}) * 2).requires_grad_();
    const torch::Tensor g = torch::randn({64, 64, 56, 56});
    binarization::ActivationBinarizer b(64);
    b->set_enabled(true);
    b->initialized.fill_(1);
    torch::Tensor sink;
    auto ours = [&] {
      x.mutable_grad().reset();
      b->scale_raw.mutable_grad().reset();
      b->threshold_raw.mutable_grad().reset();
      b->forward(x).backward(g);
    };
    // The reference: the same autograd graph with the plain-ATen ops.
    auto reference = [&] {
      torch::NoGradGuard no_grad;
      const torch::Tensor s = b->scale(), t = b->threshold();
      sink = kernels::reference::binarize_activation(x, s, t);
      auto grads = kernels::reference::binarize_activation_backward(g, x, s, t);
      sink = std::get<0>(grads);
    };
    auto samples = interleaved({[&] { sink = x.detach().clone(); }, ours, reference}, /*warmup=*/1, rounds);
    out.push_back(
        {"binarization.act.fwd_bwd_x_clone", median_ratio(samples[1], samples[0]), "x", std::nullopt, true});
    out.push_back({"binarization.act.fwd_bwd_reference", median_ratio(samples[2], samples[1]), "x",
                   std::nullopt, false});
    out.push_back({"binarization.act.fwd_bwd_ms", median(samples[1]), "ms", std::nullopt, true});
    out.push_back({"binarization.act.clone_ms", median(samples[0]), "ms", std::nullopt, true});
  }
  torch::Tensor x = torch::randn({kResNetBatch, 1, 28, 28});
  torch::Tensor y = torch::randint(10, {kResNetBatch});
  Trainer<testing::ResNet18> fp32(make_resnet18_fmnist(x));
  auto binarized = make_binarized(x);
  auto none = make_binarized(x, 9, 9);
  auto acts = make_binarized(x, 0, 9);
  auto ws = make_binarized(x, 9, 0);
  torch::Tensor losses[5];
  const std::vector<std::function<void()>> variants = {
      [&] { losses[0] = fp32.step(x, y); }, [&] { losses[1] = binarized.step(x, y); },
      [&] { losses[2] = none.step(x, y); }, [&] { losses[3] = acts.step(x, y); },
      [&] { losses[4] = ws.step(x, y); }};
  auto samples = interleaved(variants, /*warmup=*/3, rounds);
  std::fprintf(stderr, "binarization: last losses fp32 %.4f, xnor %.4f\n", losses[0].item<double>(),
               losses[1].item<double>());
  for (const auto& l : losses)
    TORCH_CHECK(std::isfinite(l.item<double>()), "binarization bench: a loss is not finite");
  retain_freed_heap();
  auto retained = interleaved(variants, /*warmup=*/2, rounds);
  out.push_back(
      {"binarization.resnet18_fmnist.step_ratio", median_ratio(samples[1], samples[0]), "x", 1.15, true});
  out.push_back({"binarization.resnet18_fmnist.step_ratio_disabled", median_ratio(samples[2], samples[0]),
                 "x", std::nullopt, true});
  out.push_back({"binarization.resnet18_fmnist.step_ratio_activations_only",
                 median_ratio(samples[3], samples[0]), "x", std::nullopt, true});
  out.push_back({"binarization.resnet18_fmnist.step_ratio_weights_only", median_ratio(samples[4], samples[0]),
                 "x", std::nullopt, true});
  out.push_back({"binarization.resnet18_fmnist.fp32_step_ms", median(samples[0]), "ms", std::nullopt, true});
  out.push_back({"binarization.resnet18_fmnist.xnor_step_ms", median(samples[1]), "ms", std::nullopt, true});
  out.push_back({"binarization.resnet18_fmnist.step_ratio_retained_heap",
                 median_ratio(retained[1], retained[0]), "x", std::nullopt, true});
  return out;
}

}  // namespace nncf::bench
