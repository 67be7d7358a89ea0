// create_compressed_model and the quantization controller: build from a C++ module or a
// TorchScript file, range init from a LibTorch data loader, BN adaptation, the staged scheduler,
// statistics, save/load, and QAT end to end on synthetic data.

#include "nncf/api/compression.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>

#include "nncf/algorithms/quantization/controller.h"
#include "support/errors.h"
#include "support/models.h"

namespace nncf {
namespace {

using quantization::QuantizationController;
using quantization::QuantizerGroup;

std::shared_ptr<QuantizationController> as_quantization(const std::shared_ptr<CompressionController>& c) {
  auto q = std::dynamic_pointer_cast<QuantizationController>(c);
  EXPECT_NE(q, nullptr);
  return q;
}

Config int8_config(const std::string& extra = "") {
  return Config::from_string(R"({"input_info": {"sample_size": [1, 1, 12, 12]},
    "compression": {"algorithm": "quantization")" +
                             extra + "}}");
}

// A dataset of fixed tensors, for torch::data loaders.
class TensorsDataset : public torch::data::datasets::Dataset<TensorsDataset> {
 public:
  TensorsDataset(torch::Tensor x, torch::Tensor y) : x_(std::move(x)), y_(std::move(y)) {}
  torch::data::Example<> get(size_t i) override { return {x_[i], y_[i]}; }
  torch::optional<size_t> size() const override { return x_.size(0); }

 private:
  torch::Tensor x_, y_;
};

TEST(CreateCompressedModel, QuantizesACppModuleAndSharesItsWeights) {
  torch::manual_seed(0);
  testing::SmallCNN net(testing::SmallCNNOptions().width(4));
  auto [ctrl, model] = create_compressed_model(net, int8_config());
  auto q = as_quantization(ctrl);
  // conv1, conv2, fc weights; input, two conv-bn-relu outputs (the second before the pool), the
  // pooled features.
  EXPECT_EQ(q->setup().count(QuantizerGroup::Weights), 3u) << q->setup().to_string();
  EXPECT_EQ(q->setup().count(QuantizerGroup::Activations), 4u) << q->setup().to_string();
  EXPECT_EQ(model->hooks().size(), q->quantizers().size());
  // The quantizers train with the model; the user's weights are the model's.
  size_t scales = 0;
  for (const auto& p : model->named_parameters()) scales += p.key().find("nncf_hooks.") == 0;
  EXPECT_EQ(scales, q->quantizers().size());
  EXPECT_TRUE(model->tensor("conv1.weight").is_same(net->conv1->weight));
  EXPECT_EQ(ctrl->compression_stage(), CompressionStage::FullyCompressed);
  EXPECT_EQ(ctrl->loss().item<float>(), 0.0f);
}

TEST(CreateCompressedModel, RangeInitFromADataLoaderThenBatchNormAdaptation) {
  torch::manual_seed(0);
  testing::SmallCNN net(testing::SmallCNNOptions().width(4));
  auto [ctrl, model] = create_compressed_model(
      net, int8_config(R"(, "initializer": {"range": {"type": "min_max", "num_init_samples": 24},
                                            "batchnorm_adaptation": {"num_bn_adaptation_samples": 16}})"));
  auto q = as_quantization(ctrl);
  const torch::Tensor x = torch::randn({40, 1, 12, 12}) * 3;
  auto loader = torch::data::make_data_loader<torch::data::samplers::SequentialSampler>(
      TensorsDataset(x, torch::zeros({40}, torch::kLong)).map(torch::data::transforms::Stack<>()),
      torch::data::DataLoaderOptions().batch_size(8));
  const torch::Tensor mean_before = model->tensor("bn1.running_mean").clone();
  ctrl->initialize(*loader);

  // The input quantizer saw the first 24 samples (three batches of 8): min_max gives max |x|.
  const quantization::Quantizer* input = nullptr;
  for (const auto& qz : q->quantizers()) {
    if (qz.spec.points[0].kind == runtime::InsertionPoint::Kind::ModelInput) input = &qz;
  }
  ASSERT_NE(input, nullptr);
  EXPECT_FLOAT_EQ(input->module->scale.item<float>(), x.slice(0, 0, 24).abs().max().item<float>());
  EXPECT_TRUE(input->module->is_signed());
  // Weights: per-channel scales = each filter's max |w|, signed, 7 bits (overflow fix).
  for (const auto& qz : q->quantizers()) {
    if (qz.spec.weight != "conv1.weight") continue;
    const torch::Tensor w = net->conv1->weight.detach().abs().amax({1, 2, 3}).clamp_min(0.1);
    EXPECT_TRUE(torch::allclose(qz.module->scale, w)) << qz.module->scale << w;
    EXPECT_EQ(qz.module->bits(), 7);
  }
  // BN adaptation ran in eval mode on the quantized model and moved the running statistics.
  EXPECT_FALSE(torch::equal(mean_before, model->tensor("bn1.running_mean")));
  EXPECT_TRUE(model->is_training()) << "initialization restores the model's mode";

  const std::string stats = ctrl->statistics().to_string();
  EXPECT_NE(stats.find("conv1|WEIGHT"), std::string::npos) << stats;
  EXPECT_EQ(ctrl->statistics().values.at("quantization.weights.count"), 3.0);
}

TEST(CreateCompressedModel, StagedSchedulerEnablesGroupsAtTheirEpochs) {
  testing::SmallCNN net(testing::SmallCNNOptions().width(4));
  auto [ctrl, model] = create_compressed_model(
      net,
      int8_config(R"(, "params": {"activations_quant_start_epoch": 1, "weights_quant_start_epoch": 2})"));
  auto q = as_quantization(ctrl);
  EXPECT_EQ(ctrl->compression_stage(), CompressionStage::Uncompressed);
  const torch::Tensor x = torch::randn({2, 1, 12, 12});
  // The data for the range init at each start epoch (without it the first epoch_step fails).
  ctrl->initialize(InitData([&](const InitData::Visitor& visit) { visit({x}); }));
  model->eval();
  net->eval();
  const torch::Tensor fp32 = net->forward(x);
  EXPECT_TRUE(torch::equal(model->forward(x), fp32)) << "disabled quantizers are the identity";
  ctrl->scheduler().epoch_step();  // epoch 0
  EXPECT_EQ(ctrl->compression_stage(), CompressionStage::Uncompressed);
  ctrl->scheduler().epoch_step();  // epoch 1: activations
  EXPECT_EQ(ctrl->compression_stage(), CompressionStage::PartiallyCompressed);
  EXPECT_EQ(ctrl->statistics().values.at("quantization.activations.enabled_ratio"), 1.0);
  EXPECT_EQ(ctrl->statistics().values.at("quantization.weights.enabled_ratio"), 0.0);
  ctrl->scheduler().epoch_step();  // epoch 2: weights
  EXPECT_EQ(ctrl->compression_stage(), CompressionStage::FullyCompressed);
  EXPECT_EQ(ctrl->scheduler().current_epoch(), 2);
  q->disable_weight_quantization();
  EXPECT_EQ(ctrl->compression_stage(), CompressionStage::PartiallyCompressed);
}

TEST(CreateCompressedModel, SavedStateLoadsIntoAFreshCompressedModel) {
  torch::manual_seed(1);
  testing::SmallCNN a(testing::SmallCNNOptions().width(4)), b(testing::SmallCNNOptions().width(4));
  auto config = int8_config();
  auto ra = create_compressed_model(a, config);
  auto rb = create_compressed_model(b, config);
  const torch::Tensor x = torch::randn({4, 1, 12, 12});
  ra.ctrl->initialize(InitData([&](const InitData::Visitor& visit) { visit({x}); }));
  const std::string path = ::testing::TempDir() + "/nncf_compression_state.pt";
  torch::save(ra.model, path);
  torch::load(rb.model, path);
  std::remove(path.c_str());
  ra.model->eval();
  rb.model->eval();
  EXPECT_TRUE(torch::equal(ra.model->forward(x), rb.model->forward(x)));
}

TEST(CreateCompressedModel, BadInputsGiveClearErrors) {
  testing::SmallCNN net(testing::SmallCNNOptions().width(4));
  auto distillation = Config::from_string(
      R"({"input_info": {"sample_size": [1, 1, 12, 12]}, "compression": {"algorithm": "knowledge_distillation",
          "type": "mse"}})");
  EXPECT_NE(
      testing::error_of([&] { create_compressed_model(net, distillation); }).find("knowledge_distillation"),
      std::string::npos);
  auto twice = Config::from_string(R"({"input_info": {"sample_size": [1, 1, 12, 12]},
      "compression": [{"algorithm": "quantization"}, {"algorithm": "quantization"}]})");
  EXPECT_NE(testing::error_of([&] { create_compressed_model(net, twice); }).find("compression[1]"),
            std::string::npos);
  auto no_inputs = Config::from_string(R"({"compression": {"algorithm": "quantization"}})");
  EXPECT_NE(testing::error_of([&] { create_compressed_model(net, no_inputs); }).find("input_info"),
            std::string::npos);
  // Two per-layer range-init entries that both match a quantizer.
  auto ambiguous = int8_config(R"(, "initializer": {"range": [
      {"type": "min_max", "target_scopes": ["{re}conv"]}, {"type": "threesigma", "target_scopes": ["conv1"]}]})");
  auto r = create_compressed_model(net, ambiguous);
  const std::string msg = testing::error_of([&] {
    r.ctrl->initialize(InitData([](const InitData::Visitor& v) { v({torch::randn({2, 1, 12, 12})}); }));
  });
  EXPECT_NE(msg.find("initializer.range"), std::string::npos) << msg;
  EXPECT_NE(msg.find("conv1"), std::string::npos) << msg;
  // Initialization without data.
  auto plain = create_compressed_model(net, int8_config());
  EXPECT_NE(testing::error_of([&] { plain.ctrl->initialize(InitData()); }).find("needs data"),
            std::string::npos);
}

TEST(CreateCompressedModel, QuantizesATorchScriptFile) {
  const char* dir = std::getenv("NNCF_TEST_MODELS_DIR");
  ASSERT_NE(dir, nullptr) << "NNCF_TEST_MODELS_DIR is set by CTest";
  auto config = Config::from_string(
      R"({"input_info": {"sample_size": [1, 3, 32, 32]}, "compression": {"algorithm": "quantization"}})");
  auto [ctrl, model] = create_compressed_model(std::string(dir) + "/resnet18_scripted.pt", config);
  auto q = as_quantization(ctrl);
  EXPECT_EQ(q->setup().count(QuantizerGroup::Weights), 21u);
  const torch::Tensor x = torch::randn({3, 3, 32, 32});
  ctrl->initialize(InitData([&](const InitData::Visitor& visit) { visit({x}); }));
  model->eval();
  // INT8 stays close to FP32 on the data it was initialized on.
  q->disable_weight_quantization();
  q->disable_activation_quantization();
  const torch::Tensor fp32 = model->forward(x);
  q->enable_weight_quantization();
  q->enable_activation_quantization();
  const torch::Tensor int8 = model->forward(x);
  EXPECT_LT(((int8 - fp32).norm() / fp32.norm()).item<float>(), 0.2f);
}

TEST(CreateCompressedModel, CompressionLrMultiplierScalesQuantizerGradientsOnly) {
  torch::manual_seed(3);
  testing::SmallCNN a(testing::SmallCNNOptions().width(4).dropout(0)),
      b(testing::SmallCNNOptions().width(4).dropout(0));
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < a->parameters().size(); ++i) b->parameters()[i].copy_(a->parameters()[i]);
  }
  auto plain = create_compressed_model(a, int8_config());
  // The global key; a per-algorithm key would win over it.
  auto scaled = create_compressed_model(
      b,
      Config::from_string(R"({"input_info": {"sample_size": [1, 1, 12, 12]}, "compression_lr_multiplier": 10,
                                "compression": {"algorithm": "quantization"}})"));
  const torch::Tensor x = torch::randn({4, 1, 12, 12});
  for (auto* r : {&plain, &scaled}) {
    r->model->train();
    r->model->forward(x).pow(2).sum().backward();
  }
  const auto pa = plain.model->named_parameters(), pb = scaled.model->named_parameters();
  size_t checked = 0;
  for (const auto& p : pa) {
    const torch::Tensor g = p.value().grad(), h = pb[p.key()].grad();
    ASSERT_TRUE(g.defined() && h.defined()) << p.key();
    const double factor = p.key().rfind("nncf_hooks.", 0) == 0 ? 10.0 : 1.0;
    EXPECT_TRUE(torch::allclose(h, g * factor, 1e-4, 1e-6)) << p.key();
    checked += factor == 10.0;
  }
  EXPECT_GT(checked, 0u);
}

// Every torchvision model of the capture tests quantizes, initializes, stays close to its
// floating-point output and trains.
class TorchvisionQuantization : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchvisionQuantization, QuantizesInitializesAndRuns) {
  const char* dir = std::getenv("NNCF_TEST_MODELS_DIR");
  ASSERT_NE(dir, nullptr) << "NNCF_TEST_MODELS_DIR is set by CTest";
  torch::manual_seed(0);
  const bool vit = GetParam().find("vit") == 0;
  const int64_t size = vit ? 32 : 64;
  auto config =
      Config::from_string(R"({"input_info": {"sample_size": [1, 3, )" + std::to_string(size) + ", " +
                          std::to_string(size) + R"(]}, "compression": {"algorithm": "quantization",
      "initializer": {"batchnorm_adaptation": {"num_bn_adaptation_samples": 0}}}})");
  auto [ctrl, model] = create_compressed_model(std::string(dir) + "/" + GetParam() + ".pt", config);
  auto q = as_quantization(ctrl);
  EXPECT_GT(q->setup().count(QuantizerGroup::Weights), 0u);
  EXPECT_GT(q->setup().count(QuantizerGroup::Activations), 0u);
  EXPECT_TRUE(q->setup().warnings.empty()) << q->setup().to_string();
  const torch::Tensor x = torch::randn({4, 3, size, size});
  ctrl->initialize(InitData([&](const InitData::Visitor& visit) { visit({x}); }));
  auto first = [](const c10::IValue& v) {
    return v.isTensor() ? v.toTensor() : v.toTuple()->elements()[0].toTensor();
  };
  model->eval();
  torch::NoGradGuard no_grad;
  q->disable_weight_quantization();
  q->disable_activation_quantization();
  const torch::Tensor fp32 = first(model->forward(std::vector<c10::IValue>{x}));
  q->enable_weight_quantization();
  q->enable_activation_quantization();
  const torch::Tensor int8 = first(model->forward(std::vector<c10::IValue>{x}));
  ASSERT_TRUE(int8.isfinite().all().item<bool>());
  if (fp32.norm().item<float>() > 0) {  // torchvision's ViT head starts at zero
    EXPECT_LT(((int8 - fp32).norm() / fp32.norm()).item<float>(), 0.15f);
    EXPECT_FALSE(torch::equal(int8, fp32));
  }
  model->train();
  EXPECT_TRUE(first(model->forward(std::vector<c10::IValue>{x})).isfinite().all().item<bool>());
}

INSTANTIATE_TEST_SUITE_P(Zoo, TorchvisionQuantization,
                         ::testing::Values("resnet18_traced", "mobilenet_v2_scripted",
                                           "mobilenet_v3_small_traced", "efficientnet_b0_scripted",
                                           "densenet121_traced", "googlenet_scripted",
                                           "shufflenet_v2_x0_5_traced", "squeezenet1_1_scripted",
                                           "vit_tiny_scripted"));

// ---- QAT end to end ----------------------------------------------------------------------------

// Four classes of 1x12x12 images: a bright bar in one of four places, plus noise.
std::pair<torch::Tensor, torch::Tensor> synthetic(int64_t n, torch::Generator& gen) {
  torch::Tensor y = torch::randint(0, 4, {n}, gen);
  torch::Tensor x = torch::randn({n, 1, 12, 12}, gen) * 0.8;
  auto acc = y.accessor<int64_t, 1>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = acc[i];
    if (c < 2) {
      x[i][0].slice(0, 2 + 6 * c, 4 + 6 * c) += 1.0;
    } else {
      x[i][0].slice(1, 2 + 6 * (c - 2), 4 + 6 * (c - 2)) += 1.0;
    }
  }
  return {x, y};
}

double accuracy(runtime::CompressedModel& model, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  model->eval();
  return model->forward(x).argmax(1).eq(y).to(torch::kDouble).mean().item<double>();
}

TEST(QuantizationAwareTraining, FineTuningRaisesLowBitAccuracyAboveItsInitialValue) {
  torch::manual_seed(0);
  auto gen = at::detail::createCPUGenerator(7);
  auto [train_x, train_y] = synthetic(512, gen);
  auto [test_x, test_y] = synthetic(512, gen);
  testing::SmallCNN net(testing::SmallCNNOptions().width(8).num_classes(4).dropout(0));

  // 4-bit weights and activations: coarse enough that initialization alone loses accuracy.
  auto [ctrl, model] =
      create_compressed_model(net, int8_config(R"(, "weights": {"bits": 4}, "activations": {"bits": 4},
          "initializer": {"range": {"num_init_samples": 128}, "batchnorm_adaptation": {"num_bn_adaptation_samples": 128}})"),
                              {train_x.slice(0, 0, 2)});
  ctrl->initialize(InitData([&](const InitData::Visitor& visit) {
    for (int64_t i = 0; i + 64 <= 512; i += 64) {
      if (!visit({train_x.slice(0, i, i + 64)})) return;
    }
  }));
  const double initial = accuracy(model, test_x, test_y);

  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(3e-3));
  for (int epoch = 0; epoch < 6; ++epoch) {
    ctrl->scheduler().epoch_step();
    model->train();
    for (int64_t i = 0; i + 32 <= 512; i += 32) {
      ctrl->scheduler().step();
      opt.zero_grad();
      auto loss = torch::nn::functional::cross_entropy(model->forward(train_x.slice(0, i, i + 32)),
                                                       train_y.slice(0, i, i + 32)) +
                  ctrl->loss();
      loss.backward();
      opt.step();
    }
  }
  const double tuned = accuracy(model, test_x, test_y);
  EXPECT_GT(tuned, initial + 0.1) << "initial " << initial << ", after QAT " << tuned;
  EXPECT_GT(tuned, 0.9);
}

}  // namespace
}  // namespace nncf
