// Exact resume through the documented calls only (docs/sparsity.md, nncf/api/checkpoint.h):
//
//   auto ckpt = nncf::Checkpoint::load(path);
//   auto resumed = nncf::create_compressed_model(net, config, ckpt);
//   resumed.ctrl->initialize(*train_loader);
//   torch::optim::SGD optimizer(resumed.model->parameters(), ...); ckpt.restore_optimizer(optimizer);
//
// An uninterrupted run and a run saved after epoch k and resumed in a "new process" (another seed,
// fresh module, fresh loader) give bit-identical losses, parameters and buffers. A controller that
// will need data later and was not given it fails at the first scheduler call, naming
// ctrl->initialize(loader).

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "nncf/algorithms/quantization/controller.h"
#include "nncf/api/checkpoint.h"
#include "nncf/api/compression.h"
#include "support/errors.h"
#include "support/models.h"

namespace nncf {
namespace {

class TensorsDataset : public torch::data::datasets::Dataset<TensorsDataset> {
 public:
  TensorsDataset(torch::Tensor x, torch::Tensor y) : x_(std::move(x)), y_(std::move(y)) {}
  torch::data::Example<> get(size_t i) override { return {x_[i], y_[i]}; }
  torch::optional<size_t> size() const override { return x_.size(0); }

 private:
  torch::Tensor x_, y_;
};

// The user's data: 32 fixed samples, shuffled by a RandomSampler (which draws from the global
// generator at construction and at every epoch).
auto make_loader() {
  auto gen = at::detail::createCPUGenerator(3);
  torch::Tensor x = torch::randn({32, 1, 12, 12}, gen), y = torch::randint(0, 4, {32}, gen);
  return torch::data::make_data_loader<torch::data::samplers::RandomSampler>(
      TensorsDataset(x, y).map(torch::data::transforms::Stack<>()),
      torch::data::DataLoaderOptions().batch_size(8));
}
using Loader = decltype(make_loader());

Config config_of(const std::string& compression) {
  return Config::from_string(R"({"input_info": {"sample_size": [1, 1, 12, 12]}, "compression": )" +
                             compression + "}");
}

testing::SmallCNN make_net() {
  return testing::SmallCNN(testing::SmallCNNOptions().width(4).num_classes(4));  // dropout: uses the RNG
}

std::unique_ptr<torch::optim::SGD> make_optimizer(CompressionResult& r) {
  return std::make_unique<torch::optim::SGD>(r.model->parameters(),
                                             torch::optim::SGDOptions(0.05).momentum(0.9));
}

// The documented training loop over epochs [from, to).
void train(CompressionResult& r, Loader& loader, torch::optim::Optimizer& opt, int from, int to,
           std::vector<float>& losses) {
  for (int e = from; e < to; ++e) {
    r.ctrl->scheduler().epoch_step();
    r.model->train();
    for (auto& batch : *loader) {
      r.ctrl->scheduler().step();
      opt.zero_grad();
      torch::Tensor loss =
          torch::nn::functional::cross_entropy(r.model->forward(batch.data), batch.target) + r.ctrl->loss();
      loss.backward();
      opt.step();
      losses.push_back(loss.item<float>());
    }
  }
}

struct Run {
  testing::SmallCNN net{nullptr};
  Loader loader = make_loader();
  CompressionResult r;
  std::unique_ptr<torch::optim::SGD> opt;
  std::vector<float> losses;
};

// A fresh run: create, initialize, train `epochs`; saved to `path` when given.
std::unique_ptr<Run> fresh(const Config& config, int epochs, const std::string& path = "") {
  torch::manual_seed(7);
  auto run = std::make_unique<Run>();
  run->net = make_net();
  run->loader = make_loader();
  run->r = create_compressed_model(run->net, config);
  run->r.ctrl->initialize(*run->loader);
  run->opt = make_optimizer(run->r);
  train(run->r, run->loader, *run->opt, 0, epochs, run->losses);
  if (!path.empty()) save_checkpoint(path, run->r, config, run->opt.get());
  return run;
}

// A new process resuming `path` through the documented calls (`initialize` optional, to test
// what happens without it).
std::unique_ptr<Run> resume(const Config& config, const std::string& path, bool initialize = true) {
  torch::manual_seed(12345);  // another process: other initial weights, another RNG position
  auto run = std::make_unique<Run>();
  run->net = make_net();
  run->loader = make_loader();
  auto ckpt = Checkpoint::load(path);
  run->r = create_compressed_model(run->net, config, ckpt);
  if (initialize) run->r.ctrl->initialize(*run->loader);
  run->opt = make_optimizer(run->r);
  ckpt.restore_optimizer(*run->opt);
  return run;
}

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "/nncf_resume_" + name;
}

const char* kStagedInt8 = R"({"algorithm": "quantization",
    "initializer": {"range": {"num_init_samples": 16}, "batchnorm_adaptation": {"num_bn_adaptation_samples": 16}},
    "params": {"activations_quant_start_epoch": 1, "weights_quant_start_epoch": 2}})";
const char* kMagnitudeBn = R"({"algorithm": "magnitude_sparsity", "sparsity_init": 0.1,
    "params": {"sparsity_target": 0.5, "sparsity_target_epoch": 2, "sparsity_freeze_epoch": 2,
               "update_per_optimizer_step": true},
    "initializer": {"batchnorm_adaptation": {"num_bn_adaptation_samples": 8}}})";
const char* kInt8 = R"({"algorithm": "quantization", "initializer": {"range": {"num_init_samples": 8}}})";
const char* kRbSparsity = R"({"algorithm": "rb_sparsity", "params": {"sparsity_target": 0.3,
    "sparsity_target_epoch": 2}})";

struct ResumeCase {
  const char* name;
  std::string compression;
};

class ExactResume : public ::testing::TestWithParam<ResumeCase> {};

TEST_P(ExactResume, ThroughTheDocumentedCallsIsBitIdentical) {
  at::set_num_threads(1);
  const Config config = config_of(GetParam().compression);
  constexpr int kEpochs = 3;
  const auto whole = fresh(config, kEpochs);
  for (int k = 1; k < kEpochs; ++k) {
    const std::string path = temp_path(c10::str(GetParam().name, k, ".nncf"));
    fresh(config, k, path);
    auto resumed = resume(config, path);
    std::remove(path.c_str());
    EXPECT_EQ(resumed->r.ctrl->scheduler().current_epoch(), k - 1);
    train(resumed->r, resumed->loader, *resumed->opt, k, kEpochs, resumed->losses);
    const std::vector<float> tail(whole->losses.end() - static_cast<long>(resumed->losses.size()),
                                  whole->losses.end());
    EXPECT_EQ(resumed->losses, tail) << "saved after epoch " << k;
    const auto params = whole->r.model->named_parameters();
    for (const auto& p : resumed->r.model->named_parameters()) {
      EXPECT_TRUE(torch::equal(p.value(), params[p.key()])) << p.key() << ", saved after epoch " << k;
    }
    const auto buffers = whole->r.model->named_buffers();
    for (const auto& b : resumed->r.model->named_buffers()) {
      EXPECT_TRUE(torch::equal(b.value(), buffers[b.key()])) << b.key() << ", saved after epoch " << k;
    }
    EXPECT_EQ(resumed->r.ctrl->compression_stage(), whole->r.ctrl->compression_stage());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Algorithms, ExactResume,
    ::testing::Values(ResumeCase{"staged_int8", kStagedInt8}, ResumeCase{"magnitude_bn", kMagnitudeBn},
                      ResumeCase{"composite", c10::str("[", kMagnitudeBn, ", ", kStagedInt8, "]")},
                      ResumeCase{"rb_int8", c10::str("[", kRbSparsity, ", ", kInt8, "]")}),
    [](const ::testing::TestParamInfo<ResumeCase>& info) { return std::string(info.param.name); });

TEST(ResumeWithoutData, AStagedRangeInitStillAheadFailsAtTheFirstSchedulerCall) {
  for (const std::string compression :
       {std::string(kStagedInt8), c10::str("[", kMagnitudeBn, ", ", kStagedInt8, "]")}) {
    const Config config = config_of(compression);
    const std::string path = temp_path("no_data.nncf");
    fresh(config, 1, path);
    auto resumed = resume(config, path, /*initialize=*/false);
    auto stepped = resume(config, path, /*initialize=*/false);
    std::remove(path.c_str());
    const std::string msg = testing::error_of([&] { resumed->r.ctrl->scheduler().epoch_step(); });
    EXPECT_NE(msg.find("ctrl->initialize(loader)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("activations_quant_start_epoch"), std::string::npos) << msg;
    // step() before epoch_step() fails the same way.
    const std::string step_msg = testing::error_of([&] { stepped->r.ctrl->scheduler().step(); });
    EXPECT_NE(step_msg.find("ctrl->initialize(loader)"), std::string::npos) << step_msg;
  }
}

TEST(ResumeWithoutData, NothingAheadThatNeedsDataTrainsWithoutInitialize) {
  // Staged quantization resumed after both start epochs, and magnitude sparsity with BN adaptation
  // configured (which runs only when set_sparsity_level asks for it): no data is needed.
  for (const std::string compression : {std::string(kStagedInt8), std::string(kMagnitudeBn)}) {
    const Config config = config_of(compression);
    const std::string path = temp_path("later.nncf");
    const int saved_after = compression == kStagedInt8 ? 3 : 1;
    fresh(config, saved_after, path);
    auto resumed = resume(config, path, /*initialize=*/false);
    std::remove(path.c_str());
    train(resumed->r, resumed->loader, *resumed->opt, saved_after, saved_after + 2, resumed->losses);
    EXPECT_EQ(resumed->losses.size(), 8u);
  }
}

TEST(FreshRunWithoutData, AStagedRangeInitFailsAtTheFirstSchedulerCall) {
  testing::SmallCNN net = make_net();
  auto r = create_compressed_model(net, config_of(kStagedInt8));
  std::string msg = testing::error_of([&] { r.ctrl->scheduler().epoch_step(); });
  EXPECT_NE(msg.find("ctrl->initialize(loader)"), std::string::npos) << msg;
  auto s = create_compressed_model(net, config_of(kStagedInt8));
  msg = testing::error_of([&] { s.ctrl->scheduler().step(); });
  EXPECT_NE(msg.find("ctrl->initialize(loader)"), std::string::npos) << msg;
  // Without activation range init the staged scheduler needs no data.
  auto none = create_compressed_model(net, config_of(R"({"algorithm": "quantization",
      "initializer": {"range": {"num_init_samples": 0}},
      "params": {"activations_quant_start_epoch": 1, "weights_quant_start_epoch": 2}})"));
  for (int e = 0; e < 3; ++e) none.ctrl->scheduler().epoch_step();
  EXPECT_EQ(none.ctrl->compression_stage(), CompressionStage::FullyCompressed);
}

TEST(FreshRunWithoutData, WeightRangesNeedingNoDataAreStillReinitializedAtTheirStartEpoch) {
  // Only the weights have range-init samples: the staged re-init needs no data, and must not be
  // skipped for lack of it. The weights grow before the start epoch; their ranges must follow.
  testing::SmallCNN net = make_net();
  auto r = create_compressed_model(net, config_of(R"({"algorithm": "quantization",
      "weights": {"per_channel": false},
      "initializer": {"range": [{"num_init_samples": 0, "target_quantizer_group": "activations"},
                                {"num_init_samples": 1, "target_quantizer_group": "weights"}]},
      "params": {"activations_quant_start_epoch": 0, "weights_quant_start_epoch": 1}})"));
  auto q = std::dynamic_pointer_cast<quantization::QuantizationController>(r.ctrl);
  ASSERT_NE(q, nullptr);
  r.ctrl->scheduler().epoch_step();  // epoch 0: activations on, weights still off
  {
    torch::NoGradGuard no_grad;
    for (const auto& quantizer : q->quantizers()) {
      if (quantizer.spec.group == quantization::QuantizerGroup::Weights)
        r.model->tensor(quantizer.spec.weight).mul_(3);
    }
  }
  r.ctrl->scheduler().epoch_step();  // epoch 1: weights on, ranges from the grown weights
  size_t checked = 0;
  for (const auto& quantizer : q->quantizers()) {
    if (quantizer.spec.group != quantization::QuantizerGroup::Weights) continue;
    const double max_abs = r.model->tensor(quantizer.spec.weight).abs().max().item<double>();
    EXPECT_NEAR(quantizer.module->scale_value().max().item<double>(), max_abs, 1e-6 * max_abs)
        << quantizer.spec.id;
    ++checked;
  }
  EXPECT_GT(checked, 0u);
}

}  // namespace
}  // namespace nncf
