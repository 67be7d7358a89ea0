// The `qat` suite: the fused fake-quantize ops (nncf::kernels) on a 64x64x56x56 float tensor,
// forward + backward through autograd (x and the parameters require grad), one thread.
//
// Variants:
//   sym_per_tensor    symmetric, signed 8-bit, one scale
//   asym_per_tensor   asymmetric, 256 levels, one (input_low, input_range)
//   sym_per_channel   symmetric, signed 8-bit, one scale per channel of axis 1 (activations)
// Metrics, per variant (every ratio a median of per-round ratios, measured interleaved):
//   fq.<variant>.fwd_bwd_x_clone             ours / x.clone()                   (goal 2.0, lower is better)
//   fq.<variant>.speedup_vs_torch_learnable  LibTorch's learnable fake quantize / ours (goal 3, higher)
//   fq.<variant>.fwd_bwd_ms, fq.<variant>.torch_learnable_ms, fq.clone_ms   the medians behind them
// LibTorch's counterparts: at::_fake_quantize_learnable_per_tensor_affine (zero point 0 for the
// symmetric variant, learned zero point for the asymmetric one) and
// at::_fake_quantize_learnable_per_channel_affine on axis 1.
// Most of a fresh 51 MB output's cost is page faults. Our op advises its outputs to use huge pages
// (Note [Huge-page outputs] in src/kernels/fake_quantize.cpp); x.clone() and LibTorch's op do not,
// so both ratios include that difference (without it, on Debian 12: ~2.2x clone, ~2.9x learnable).
// Then a whole model: QAT training steps of ResNet-18 on Fashion-MNIST-shaped data against FP32
// (qat.resnet18_fmnist.*, qat_model_bench.cpp).

#include <torch/torch.h>

#include "bench_util.h"
#include "nncf/kernels/fake_quantize.h"

namespace nncf::bench {

std::vector<Metric> run_qat_resnet18_fmnist(const Options& options);  // qat_model_bench.cpp

namespace {

struct Timings {
  double clone_ms, ours_ms, torch_ms, ours_over_clone, torch_over_ours;
};

void reset_grads(std::initializer_list<torch::Tensor*> ts) {
  for (torch::Tensor* t : ts) t->mutable_grad().reset();
}

// Times `ours` and `theirs` (each a full forward + backward) interleaved with x.clone().
Timings time_variant(const torch::Tensor& x, const std::function<void()>& ours,
                     const std::function<void()>& theirs, int rounds) {
  torch::Tensor sink;
  auto samples = interleaved({[&] { sink = x.clone(); }, ours, theirs}, /*warmup=*/1, rounds);
  return {median(samples[0]), median(samples[1]), median(samples[2]), median_ratio(samples[1], samples[0]),
          median_ratio(samples[2], samples[1])};
}

// A bench of ops that compute different things would be meaningless: the outputs must agree up to
// one grid step (the two round x * (level_high / s) and x * (1 / (s / level_high)) differently).
void check_same(const torch::Tensor& ours, const torch::Tensor& theirs, double step, const char* variant) {
  const double diff = (ours - theirs).abs().max().item<double>();
  TORCH_CHECK(diff <= step * 1.001, "qat bench ", variant, ": ours and LibTorch's differ by ", diff,
              " (step ", step, ")");
}

}  // namespace

std::vector<Metric> run_qat(const Options& options) {
  const int rounds = options.rounds > 0 ? options.rounds : 7;
  torch::manual_seed(0);
  torch::Tensor x = torch::randn({64, 64, 56, 56}).requires_grad_(true);
  torch::Tensor g = torch::randn(x.sizes());
  std::vector<Metric> out;
  std::vector<double> clone_ms;

  auto report = [&](const std::string& variant, const Timings& t) {
    out.push_back({"fq." + variant + ".fwd_bwd_x_clone", t.ours_over_clone, "x", 2.0, true});
    out.push_back({"fq." + variant + ".speedup_vs_torch_learnable", t.torch_over_ours, "x", 3.0, false});
    out.push_back({"fq." + variant + ".fwd_bwd_ms", t.ours_ms, "ms", std::nullopt, true});
    out.push_back({"fq." + variant + ".torch_learnable_ms", t.torch_ms, "ms", std::nullopt, true});
    clone_ms.push_back(t.clone_ms);
  };

  {  // symmetric per tensor: scale s <-> LibTorch scale s / 127, zero point 0, -128..127
    torch::Tensor scale = torch::full({1}, 3.0f).requires_grad_(true);
    torch::Tensor t_scale = torch::full({1}, 3.0f / 127).requires_grad_(true);
    torch::Tensor t_zp = torch::zeros({1}).requires_grad_(true);
    auto ours = [&] {
      reset_grads({&x, &scale});
      kernels::fake_quantize_symmetric(x, scale, -128, 127, 0).backward(g);
    };
    auto theirs = [&] {
      reset_grads({&x, &t_scale, &t_zp});
      at::_fake_quantize_learnable_per_tensor_affine(x, t_scale, t_zp, -128, 127, 1.0).backward(g);
    };
    check_same(kernels::fake_quantize_symmetric(x.detach(), scale.detach(), -128, 127, 0),
               at::_fake_quantize_learnable_per_tensor_affine(x.detach(), t_scale.detach(), t_zp.detach(),
                                                              -128, 127, 1.0),
               3.0 / 127, "sym_per_tensor");
    report("sym_per_tensor", time_variant(x, ours, theirs, rounds));
  }
  {  // asymmetric per tensor: [-2.5, 3.5] over 256 levels <-> scale 6/255 and a learned zero point
    torch::Tensor low = torch::full({1}, -2.5f).requires_grad_(true);
    torch::Tensor range = torch::full({1}, 6.0f).requires_grad_(true);
    torch::Tensor t_scale = torch::full({1}, 6.0f / 255).requires_grad_(true);
    torch::Tensor t_zp = torch::full({1}, std::nearbyint(2.5f * 255 / 6)).requires_grad_(true);
    auto ours = [&] {
      reset_grads({&x, &low, &range});
      kernels::fake_quantize_asymmetric(x, low, range, 256, 0).backward(g);
    };
    auto theirs = [&] {
      reset_grads({&x, &t_scale, &t_zp});
      at::_fake_quantize_learnable_per_tensor_affine(x, t_scale, t_zp, 0, 255, 1.0).backward(g);
    };
    check_same(kernels::fake_quantize_asymmetric(x.detach(), low.detach(), range.detach(), 256, 0),
               at::_fake_quantize_learnable_per_tensor_affine(x.detach(), t_scale.detach(), t_zp.detach(), 0,
                                                              255, 1.0),
               6.0 / 255, "asym_per_tensor");
    report("asym_per_tensor", time_variant(x, ours, theirs, rounds));
  }
  {  // symmetric per channel on axis 1 (activations, NCHW)
    torch::Tensor scale = (torch::rand({1, 64, 1, 1}) * 2 + 1).requires_grad_(true);
    torch::Tensor t_scale = (scale.detach().flatten() / 127).requires_grad_(true);
    torch::Tensor t_zp = torch::zeros({64}).requires_grad_(true);
    auto ours = [&] {
      reset_grads({&x, &scale});
      kernels::fake_quantize_symmetric(x, scale, -128, 127, 1).backward(g);
    };
    auto theirs = [&] {
      reset_grads({&x, &t_scale, &t_zp});
      at::_fake_quantize_learnable_per_channel_affine(x, t_scale, t_zp, 1, -128, 127, 1.0).backward(g);
    };
    check_same(kernels::fake_quantize_symmetric(x.detach(), scale.detach(), -128, 127, 1),
               at::_fake_quantize_learnable_per_channel_affine(x.detach(), t_scale.detach(), t_zp.detach(), 1,
                                                               -128, 127, 1.0),
               3.0 / 127, "sym_per_channel");
    report("sym_per_channel", time_variant(x, ours, theirs, rounds));
  }
  out.push_back({"fq.clone_ms", median(clone_ms), "ms", std::nullopt, true});
  for (Metric& m : run_qat_resnet18_fmnist(options)) out.push_back(std::move(m));
  return out;
}

}  // namespace nncf::bench
