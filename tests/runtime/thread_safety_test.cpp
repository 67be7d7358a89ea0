// Concurrent inference: several threads run forward on one CompressedModel in eval mode, as
// LibTorch users serve one module from a thread pool. Every output must equal, exactly, the one
// a serial run gives for the same input.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "nncf/api/compression.h"
#include "nncf/capture/capture.h"
#include "nncf/runtime/compressed_model.h"
#include "reference_net.h"
#include "support/models.h"

namespace nncf::runtime {
namespace {

constexpr int kThreads = 4;
constexpr int kIterations = 40;  // per thread

// Runs `model` on every input from kThreads threads at once, kIterations times each, and checks
// each result against the serial one. Threads start at different inputs, so a value that leaked
// from another thread's call shows as a mismatch. Half the threads run under NoGradGuard.
void expect_concurrent_forward_matches_serial(CompressedModel& model,
                                              const std::vector<torch::Tensor>& inputs) {
  model->eval();
  std::vector<torch::Tensor> expected;
  for (const torch::Tensor& x : inputs) expected.push_back(model->forward(x).detach().clone());

  std::atomic<int> ready{0};
  std::mutex mutex;
  std::vector<std::string> failures;
  auto worker = [&](int t) {
    std::optional<torch::NoGradGuard> no_grad;
    if (t % 2 == 0) no_grad.emplace();
    ++ready;
    while (ready.load() < kThreads) std::this_thread::yield();  // start together
    for (int i = 0; i < kIterations; ++i) {
      const size_t k = static_cast<size_t>(t + i) % inputs.size();
      std::string failure;
      try {
        torch::Tensor y = model->forward(inputs[k]);
        if (!torch::equal(y, expected[k]))
          failure = c10::str("thread ", t, " iteration ", i, ": output differs");
      } catch (const std::exception& e) {
        failure = c10::str("thread ", t, " iteration ", i, ": ", e.what());
      }
      if (!failure.empty()) {
        std::lock_guard<std::mutex> lock(mutex);
        failures.push_back(failure);
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, t);
  for (auto& th : threads) th.join();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed calls, first: " << failures.front();
}

std::vector<torch::Tensor> random_inputs(c10::IntArrayRef shape, int n = 5) {
  std::vector<torch::Tensor> out;
  for (int i = 0; i < n; ++i) out.push_back(torch::randn(shape));
  return out;
}

TEST(CompressedModelThreads, CapturedCnnForwardIsThreadSafe) {
  torch::manual_seed(0);
  testing::SmallCNN net(testing::SmallCNNOptions().width(8));
  auto cap = capture::capture_module(net, {torch::randn({2, 1, 12, 12})});
  CompressedModel model(std::move(cap.graph), cap.tensors);
  expect_concurrent_forward_matches_serial(model, random_inputs({2, 1, 12, 12}));
}

TEST(CompressedModelThreads, ModelWithInsertedModulesForwardIsThreadSafe) {
  torch::manual_seed(1);
  testnet::RefNet ref;
  CompressedModel model = testnet::make_net(ref);
  model->insert(InsertionPoint::weight("conv1.weight"), torch::nn::AnyModule(testnet::LearnedScale()), "w");
  model->insert(InsertionPoint::post_op("bn1"), torch::nn::AnyModule(testnet::AddOne()), "post");
  model->insert(InsertionPoint::pre_op("add", 1), torch::nn::AnyModule(testnet::LearnedScale()), "pre");
  model->insert(InsertionPoint::model_input("x"), torch::nn::AnyModule(testnet::AddOne()), "in");
  expect_concurrent_forward_matches_serial(model, random_inputs({2, 3, 5, 5}));
}

// Quantizers (and sparsity masks) after range init: the modules a user actually serves.
TEST(CompressedModelThreads, QuantizedResNetForwardIsThreadSafe) {
  torch::manual_seed(2);
  testing::ResNet18 net(testing::ResNet18Options().base_width(4));
  auto config = Config::from_string(R"({"input_info": {"sample_size": [2, 3, 16, 16]},
    "compression": [{"algorithm": "magnitude_sparsity", "sparsity_init": 0.3},
                    {"algorithm": "quantization", "initializer": {"range": {"num_init_samples": 4}}}]})");
  auto [ctrl, model] = create_compressed_model(net, config);
  const torch::Tensor data = torch::randn({4, 3, 16, 16});
  ctrl->initialize(InitData([&](const InitData::Visitor& visit) { visit({data}); }));
  ASSERT_FALSE(model->hooks().empty());
  expect_concurrent_forward_matches_serial(model, random_inputs({2, 3, 16, 16}));
}

}  // namespace
}  // namespace nncf::runtime
