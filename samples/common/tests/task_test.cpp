// The shared pipeline on a task that is not classification: a new sample adds only its dataset,
// model, loss and metric (task.h). The toy task segments 8x8 images pixel by pixel (targets are
// masks, stacked [N, H, W]) and goes through FP32 training, quantization, fine-tuning, checkpoints,
// the ONNX export and its metric in ONNX Runtime.

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/config.h"
#include "common/data.h"
#include "common/pipeline.h"
#include "common/task.h"
#include "common/training.h"

namespace nncf_sample {
namespace {

namespace fs = std::filesystem;

// Pixel k of image i is class 1 where the input is positive.
class Blobs : public ExampleSet {
 public:
  Blobs(int64_t n, uint64_t seed) {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    inputs_ = torch::randn({n, 1, 8, 8}, gen);
  }
  int64_t size() const override { return inputs_.size(0); }
  Example example(int64_t i, at::Generator&) const override {
    const torch::Tensor x = inputs_[i];
    return {x, (x[0] > 0).to(torch::kLong)};
  }
  std::vector<int64_t> input_shape() const override { return {1, 8, 8}; }
  std::string description() const override { return "blobs (" + std::to_string(size()) + ")"; }

 private:
  torch::Tensor inputs_;
};

struct SegNetImpl : torch::nn::Module {
  SegNetImpl() {
    conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 8, 3).padding(1)));
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(8));
    conv2 = register_module("conv2", torch::nn::Conv2d(8, 2, 1));
  }
  torch::Tensor forward(torch::Tensor x) { return conv2(torch::relu(bn1(conv1(x)))); }
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
};
TORCH_MODULE(SegNet);

class PixelAccuracy : public Metric {
 public:
  void add(const torch::Tensor& output, const torch::Tensor& target) override {
    correct_ += output.argmax(1).eq(target).sum().item<int64_t>();
    seen_ += target.numel();
  }
  double value() const override { return seen_ ? 100.0 * static_cast<double>(correct_) / seen_ : 0; }

 private:
  int64_t correct_ = 0, seen_ = 0;
};

class ToySegmentation : public Task {
 public:
  std::string name() const override { return "toy_segmentation"; }
  std::string metric_name() const override { return "pixel_acc"; }
  std::set<std::string> config_keys() const override { return {"blob_count"}; }
  void read_config(TrainingConfig& c) const override {
    TORCH_CHECK(c.model_name == "segnet", c.path, ": model: unknown '", c.model_name, "'");
    if (c.dataset.empty()) c.dataset = "blobs";
  }
  std::string default_data_dir(const TrainingConfig&) const override { return "unused"; }
  std::unique_ptr<ExampleSet> open_data(const TrainingConfig& c, const std::string&, bool train, bool,
                                        int64_t) const override {
    const int64_t n = c.nncf.root()["blob_count"].as_int(1, 100000);
    return std::make_unique<Blobs>(train ? n : n / 4, train ? 1 : 2);
  }
  SampleModel make_model(const TrainingConfig&) const override { return sample_model(SegNet()); }
  torch::Tensor loss(const torch::Tensor& output, const torch::Tensor& target) const override {
    return torch::nn::functional::cross_entropy(output, target);
  }
  std::unique_ptr<Metric> metric() const override { return std::make_unique<PixelAccuracy>(); }
};

TEST(SharedPipeline, RunsATaskWithMaskTargetsThroughCompressionExportAndOnnxRuntime) {
  const std::string root = ::testing::TempDir() + "/nncf_sample_toy_task";
  fs::remove_all(root);
  fs::create_directories(root);
  std::ofstream(root + "/int8.json") << R"({"model": "segnet", "blob_count": 512,
    "input_info": {"sample_size": [1, 1, 8, 8]}, "batch_size": 32,
    "fp32": {"epochs": 2, "optimizer": {"type": "adam", "base_lr": 0.02}},
    "epochs": 1, "optimizer": {"type": "adam", "base_lr": 0.001, "schedule_type": "none"},
    "compression": {"algorithm": "quantization", "export_to_onnx_standard_ops": true,
                    "initializer": {"range": {"num_init_samples": 64},
                                    "batchnorm_adaptation": {"num_bn_adaptation_samples": 64}}}})";
  RunOptions o;
  o.config = root + "/int8.json";
  o.log_dir = root + "/run";
  const ToySegmentation task;
  const RunSummary s = run(o, task);
  EXPECT_EQ(s.model, "segnet");
  EXPECT_EQ(s.dataset, "blobs");
  EXPECT_EQ(s.compression, "quantization");
  EXPECT_GT(s.fp32_accuracy, 90) << "the sign of a pixel is learnable by a 3x3 conv";
  EXPECT_GT(s.compressed_accuracy, 90);
  EXPECT_NEAR(s.compression_rate, 4.0, 1e-9);
  ASSERT_GE(s.onnx_accuracy, 0) << "Node.js and onnxruntime-node come with scripts/install-deps.sh";
  EXPECT_NEAR(s.onnx_accuracy, s.compressed_accuracy, 1.0)
      << "the INT8 export's [N, 2, 8, 8] output in ONNX Runtime";
  for (const char* f : {"best.nncf", "last.nncf", "model.onnx", "summary.json", "metrics.csv"})
    EXPECT_TRUE(fs::exists(o.log_dir + "/" + f)) << f;
  std::ifstream in(o.log_dir + "/summary.json");
  const nlohmann::json summary = nlohmann::json::parse(in);
  EXPECT_EQ(summary["compressed_accuracy"].get<double>(), s.compressed_accuracy);
  EXPECT_EQ(summary["val_samples"].get<int64_t>(), 51) << "a tenth of the 512 training examples";

  // The task's own keys are checked with the shared ones.
  std::ofstream(root + "/typo.json") << R"({"model": "segnet", "blob_cout": 5,
    "input_info": {"sample_size": [1, 1, 8, 8]}})";
  try {
    load_training_config(root + "/typo.json", task);
    ADD_FAILURE() << "an unknown key must be an error";
  } catch (const c10::Error& e) {
    const std::string m = e.what_without_backtrace();
    EXPECT_NE(m.find("blob_cout: unknown key"), std::string::npos) << m;
    EXPECT_NE(m.find("blob_count"), std::string::npos) << m;
  }
}

TEST(StackTargets, StacksEqualShapesAndPadsDifferentFirstDimensions) {
  const torch::Tensor labels =
      stack_targets({torch::scalar_tensor(3, torch::kLong), torch::scalar_tensor(5, torch::kLong)});
  EXPECT_TRUE(torch::equal(labels, torch::tensor({3, 5}, torch::kLong)));
  const torch::Tensor boxes = stack_targets({torch::ones({2, 5}), torch::full({1, 5}, 2.0)});
  ASSERT_EQ(boxes.sizes(), (std::vector<int64_t>{2, 2, 5}));
  EXPECT_TRUE(torch::equal(boxes[1][0], torch::full({5}, 2.0)));
  EXPECT_TRUE(torch::equal(boxes[1][1], torch::full({5}, -1.0))) << "padding rows are -1";
  EXPECT_THROW(stack_targets({torch::ones({2, 5}), torch::ones({2, 4})}), std::runtime_error);
}

TEST(ExampleSubset, ServesItsIndicesOfTheBaseAndNamesBadIndices) {
  auto base = std::make_shared<Blobs>(10, 0);
  const auto part = example_subset(base, {7, 2}, "validation");
  ASSERT_EQ(part->size(), 2);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
  EXPECT_TRUE(torch::equal(part->example(0, gen).input, base->example(7, gen).input));
  EXPECT_NE(part->description().find("validation (2 of blobs (10))"), std::string::npos)
      << part->description();
  EXPECT_THROW(part->example(2, gen), std::runtime_error);
  try {
    example_subset(base, {10}, "x");
    ADD_FAILURE();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("index 10 out of range"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace nncf_sample

namespace nncf_sample {
namespace {

// A staged schedule's batch_multiplier: train_epoch steps once per group of batches on the mean of
// their gradients, which for equal batches is one step on the batch they make together.
TEST(TrainEpoch, BatchMultiplierStepsOnceOnTheMeanGradient) {
  torch::manual_seed(0);
  const Blobs data(8, 3);
  const ToySegmentation task;
  SegNet accumulated, together;
  torch::manual_seed(0);
  accumulated = SegNet();
  torch::manual_seed(0);
  together = SegNet();
  accumulated->eval();  // BatchNorm on its running statistics: the same for any batching
  together->eval();
  torch::optim::SGD opt_a(accumulated->parameters(), torch::optim::SGDOptions(0.1));
  torch::optim::SGD opt_b(together->parameters(), torch::optim::SGDOptions(0.1));
  Loader loader(data, 4, /*shuffle=*/false, 0);
  std::vector<std::pair<int64_t, int64_t>> calls;
  train_epoch([&](const torch::Tensor& x) { return accumulated->forward(x); }, opt_a, loader, task, nullptr,
              "accumulated", 0, nullptr, [&](int64_t b, int64_t n) { calls.emplace_back(b, n); }, 2);
  EXPECT_EQ(calls, (std::vector<std::pair<int64_t, int64_t>>{{0, 2}, {1, 2}}));
  Loader whole(data, 8, /*shuffle=*/false, 0);
  auto [x, y] = whole.batch(0);
  opt_b.zero_grad();
  task.loss(together->forward(x), y).backward();
  opt_b.step();
  const auto a = accumulated->parameters(), b = together->parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::allclose(a[i], b[i], 1e-5, 1e-6)) << i;
}

}  // namespace
}  // namespace nncf_sample
