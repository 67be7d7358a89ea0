// The `executor` suite: how much the CompressedModel's boxed interpreter costs over the eager C++
// module it was captured from, on a training step (forward + cross-entropy + backward).
//
// The captured model registers the eager model's own tensors, so both train the same weights;
// gradients are zeroed before every step. Metrics:
//   executor.fwd_bwd_ratio.resnet18_b32       captured / eager, ResNet-18 (CIFAR stem), batch 32
//   executor.fwd_bwd_ms.{eager,captured}_resnet18_b32   the medians behind it
//   executor.fwd_bwd_ratio.resnet18w4_b1      the same at width 4, batch 1: dominated by per-op
//                                             overhead, so it shows the interpreter's own cost
//   executor.fwd_ratio.resnet18w4_b1_eval     eval-mode forward under NoGradGuard (inference) at
//                                             width 4, batch 1: the per-call cost of a forward
//   executor.hook_call_overhead_us            AnyModule::forward over a direct call, per hook call

#include <torch/torch.h>

#include <array>

#include "bench_util.h"
#include "nncf/capture/capture.h"
#include "nncf/runtime/compressed_model.h"
#include "support/models.h"

namespace nncf::bench {
namespace {

using testing::ResNet18;
using testing::ResNet18Options;

struct Pair {
  ResNet18 eager;
  runtime::CompressedModel captured;
};

Pair make_pair(int64_t width) {
  torch::manual_seed(0);
  ResNet18 net(ResNet18Options().base_width(width));
  auto cap = capture::capture_module(net, {torch::randn({2, 3, 32, 32})});
  runtime::CompressedModel model(std::move(cap.graph), cap.tensors);
  // A bench of a model that computes something else would be meaningless: check first (eval mode
  // leaves the shared BatchNorm statistics alone).
  net->eval();
  model->eval();
  {
    torch::NoGradGuard no_grad;
    torch::Tensor x = torch::randn({3, 3, 32, 32});
    TORCH_CHECK(torch::equal(net->forward(x), model->forward(x)),
                "executor bench: the captured ResNet-18 does not match the eager one");
  }
  net->train();
  model->train();
  return {net, model};
}

template <typename Model>
void train_step(Model& model, const torch::Tensor& x, const torch::Tensor& y) {
  model->zero_grad();
  torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x), y);
  loss.backward();
}

// Returns {eager ms, captured ms, median per-round ratio}.
std::array<double, 3> time_fwd_bwd(int64_t width, int64_t batch, int warmup, int rounds, int iters) {
  Pair p = make_pair(width);
  torch::Tensor x = torch::randn({batch, 3, 32, 32});
  torch::Tensor y = torch::randint(10, {batch});
  auto samples = interleaved({[&] { train_step(p.eager, x, y); }, [&] { train_step(p.captured, x, y); }},
                             warmup, rounds, iters);
  return {median(samples[0]), median(samples[1]), median_ratio(samples[1], samples[0])};
}

// Inference: eval mode, no autograd. Returns the median per-round ratio captured / eager.
double fwd_eval_ratio(int64_t width, int64_t batch, int rounds, int iters) {
  Pair p = make_pair(width);
  p.eager->eval();
  p.captured->eval();
  torch::NoGradGuard no_grad;
  torch::Tensor x = torch::randn({batch, 3, 32, 32});
  torch::Tensor sink;
  auto samples = interleaved({[&] { sink = p.eager->forward(x); }, [&] { sink = p.captured->forward(x); }},
                             /*warmup=*/2, rounds, iters);
  return median_ratio(samples[1], samples[0]);
}

struct IdentityImpl : torch::nn::Module {
  torch::Tensor forward(const torch::Tensor& x) { return x; }
};
TORCH_MODULE(Identity);

// What a hook step pays for calling its module through AnyModule (type-erased arguments and
// result, each heap-allocated) rather than directly.
double hook_call_overhead_us() {
  Identity identity;
  torch::nn::AnyModule any(identity);
  torch::Tensor x = torch::ones({1});
  constexpr int kCalls = 20000;
  torch::Tensor sink;
  auto samples = interleaved({[&] {
                                for (int i = 0; i < kCalls; ++i) sink = identity->forward(x);
                              },
                              [&] {
                                for (int i = 0; i < kCalls; ++i) sink = any.forward<torch::Tensor>(x);
                              }},
                             /*warmup=*/1, /*rounds=*/9);
  return (median(samples[1]) - median(samples[0])) * 1e3 / kCalls;
}

}  // namespace

std::vector<Metric> run_executor(const Options& options) {
  const int rounds = options.rounds > 0 ? options.rounds : 10;
  std::vector<Metric> out;
  auto [eager_ms, captured_ms, ratio] =
      time_fwd_bwd(/*width=*/64, /*batch=*/32, /*warmup=*/2, rounds, /*iters=*/1);
  out.push_back({"executor.fwd_bwd_ratio.resnet18_b32", ratio, "x", 1.03, true});
  out.push_back({"executor.fwd_bwd_ms.eager_resnet18_b32", eager_ms, "ms", std::nullopt, true});
  out.push_back({"executor.fwd_bwd_ms.captured_resnet18_b32", captured_ms, "ms", std::nullopt, true});
  auto small = time_fwd_bwd(/*width=*/4, /*batch=*/1, /*warmup=*/2, rounds + 5, /*iters=*/20);
  out.push_back({"executor.fwd_bwd_ratio.resnet18w4_b1", small[2], "x", std::nullopt, true});
  out.push_back({"executor.fwd_ratio.resnet18w4_b1_eval",
                 fwd_eval_ratio(/*width=*/4, /*batch=*/1, rounds + 5, 50), "x", std::nullopt, true});
  out.push_back({"executor.hook_call_overhead_us", hook_call_overhead_us(), "us", std::nullopt, true});
  return out;
}

}  // namespace nncf::bench
