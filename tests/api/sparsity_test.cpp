// Sparsity algorithms through create_compressed_model: NNCF's threshold semantics and reference
// thresholds, RB masks and loss, const sparsity, combining with quantization (masks before
// quantizers), and checkpoints (exact resume: resume_test.cpp).

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "nncf/algorithms/composite.h"
#include "nncf/algorithms/quantization/controller.h"
#include "nncf/algorithms/sparsity/controller.h"
#include "nncf/api/checkpoint.h"
#include "nncf/api/compression.h"
#include "nncf/kernels/fake_quantize.h"
#include "support/errors.h"
#include "support/models.h"

namespace nncf {
namespace {

using sparsity::SparsityController;

// NNCF's magnitude test model: conv(1->2, 2x2) filled with 9 and conv(2->1, 3x3) filled with -10,
// each plus the identity on every kernel's diagonal.
struct TwoConvImpl : torch::nn::Module {
  TwoConvImpl() {
    a = register_module("a", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 2, 2)));
    b = register_module("b", torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 1, 3)));
    torch::NoGradGuard no_grad;
    a->weight.fill_(9).add_(torch::eye(2));
    b->weight.fill_(-10).add_(torch::eye(3));
    a->bias.fill_(-2);
    b->bias.zero_();
  }
  torch::Tensor forward(torch::Tensor x) { return b->forward(a->forward(x)); }
  torch::nn::Conv2d a{nullptr}, b{nullptr};
};
TORCH_MODULE(TwoConv);

Config config_of(const std::string& compression, const std::string& shape = "[1, 1, 4, 4]") {
  return Config::from_string(R"({"input_info": {"sample_size": )" + shape + R"(}, "compression": )" +
                             compression + "}");
}

std::shared_ptr<SparsityController> as_sparsity(const std::shared_ptr<CompressionController>& c) {
  auto s = std::dynamic_pointer_cast<SparsityController>(c);
  EXPECT_NE(s, nullptr);
  return s;
}

TEST(MagnitudeSparsity, MatchesNncfReferenceThresholds) {
  TwoConv net;
  auto [ctrl, model] = create_compressed_model(
      net, config_of(R"({"algorithm": "magnitude_sparsity", "params": {"schedule": "multistep",
          "multistep_steps": [1, 3], "multistep_sparsity_levels": [0.1, 0.5, 0.9]}})"));
  // NNCF's test_scheduler.py: thresholds 0.219, 0.243, 0.243, 0.371 over epochs 0..3.
  const std::vector<double> want = {0.2192, 0.2435, 0.2435, 0.3717};
  for (double w : want) {
    ctrl->scheduler().epoch_step();
    const auto values = ctrl->statistics().values;
    EXPECT_NEAR(values.at("magnitude_sparsity.threshold.a.weight"), w, 1e-3);
    EXPECT_NEAR(values.at("magnitude_sparsity.threshold.b.weight"), w, 1e-3) << "global: one threshold";
  }
  // At 0.9: only conv a's 10s (importance 0.3717) survive... none, since mask = importance > threshold.
  auto s = as_sparsity(ctrl);
  EXPECT_DOUBLE_EQ(s->sparsity_level(), 0.9);
  EXPECT_EQ(model->named_buffers()["nncf_hooks.a_weight|magnitude_sparsity.mask"].sum().item<float>(), 0.0f);
  // Level 0.5: conv b (importance 0.219 and 0.243) fully masked, conv a kept.
  s->set_sparsity_level(0.5);
  EXPECT_EQ(model->named_buffers()["nncf_hooks.b_weight|magnitude_sparsity.mask"].sum().item<float>(), 0.0f);
  EXPECT_EQ(model->named_buffers()["nncf_hooks.a_weight|magnitude_sparsity.mask"].sum().item<float>(), 8.0f);
  // The masked weights reach the conv: the model now computes conv a alone plus b's bias.
  const torch::Tensor x = torch::randn({2, 1, 4, 4});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(
      torch::allclose(model->forward(x), torch::zeros({2, 1, 1, 1}) + net->b->bias.view({1, 1, 1, 1})));
}

TEST(MagnitudeSparsity, LocalModeAndAbsImportance) {
  TwoConv net;
  auto [ctrl, model] = create_compressed_model(
      net, config_of(R"({"algorithm": "magnitude_sparsity", "sparsity_init": 0.5, "params": {
          "sparsity_level_setting_mode": "local", "weight_importance": "abs"}})"));
  // Per layer: a's sorted |w| = 9,9,9,9,10,10,10,10 -> index int(7 * 0.5) = 3 -> 9: the 9s go.
  // b's = 9 x3, 10 x6 -> index int(8 * 0.5) = 4 -> 10: nothing is above it, all go.
  const auto values = ctrl->statistics().values;
  EXPECT_DOUBLE_EQ(values.at("magnitude_sparsity.threshold.a.weight"), 9.0);
  EXPECT_DOUBLE_EQ(values.at("magnitude_sparsity.threshold.b.weight"), 10.0);
  EXPECT_NEAR(values.at("magnitude_sparsity.current_sparsity"), (4.0 + 18.0) / 26.0, 1e-9);
  EXPECT_EQ(ctrl->compression_stage(), CompressionStage::FullyCompressed) << "default target 0.5 reached";
}

TEST(MagnitudeSparsity, FreezeStopsMaskUpdates) {
  TwoConv net;
  auto [ctrl, model] = create_compressed_model(net, config_of(R"({"algorithm": "magnitude_sparsity"})"));
  auto s = as_sparsity(ctrl);
  s->set_sparsity_level(0.1);
  const double before = s->current_sparsity();
  s->freeze();
  s->set_sparsity_level(0.9);
  EXPECT_DOUBLE_EQ(s->current_sparsity(), before);
  EXPECT_NE(testing::error_of([&] { s->set_sparsity_level(1.0); }).find("[0, 1)"), std::string::npos);
}

TEST(RBSparsity, LossAndItsGradient) {
  TwoConv net;
  auto [ctrl, model] =
      create_compressed_model(net, config_of(R"({"algorithm": "rb_sparsity", "sparsity_init": 0.5})"));
  auto s = as_sparsity(ctrl);
  // All logits start at logit(0.99) > 0: density 1, target 0.5 -> ((1 - 0.5) / 0.05)^2 = 100.
  torch::Tensor loss = ctrl->loss();
  EXPECT_NEAR(loss.item<double>(), 100.0, 1e-4);
  loss.backward();
  // d/dm = 2 (d - t) / p^2 * sigmoid'(m) / N, straight through the threshold.
  const double sig = 0.99, grad = 2 * 0.5 / (0.05 * 0.05) * sig * (1 - sig) / 26.0;
  const torch::Tensor g = model->named_parameters()["nncf_hooks.a_weight|rb_sparsity.mask"].grad();
  ASSERT_TRUE(g.defined());
  EXPECT_TRUE(torch::allclose(g, torch::full_like(g, grad), 1e-4, 1e-6)) << g;
  s->freeze();
  EXPECT_EQ(ctrl->loss().item<double>(), 0.0);
}

TEST(RBSparsity, TrainingMasksAreSampledEvalMasksDeterministic) {
  TwoConv net;
  auto [ctrl, model] = create_compressed_model(net, config_of(R"({"algorithm": "rb_sparsity"})"));
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->named_parameters()) {
      if (p.key().find("rb_sparsity.mask") != std::string::npos) p.value().uniform_(-0.5, 0.5);
    }
  }
  const torch::Tensor x = torch::randn({2, 1, 4, 4});
  model->train();
  EXPECT_FALSE(torch::equal(model->forward(x), model->forward(x))) << "sampled masks differ";
  model->eval();
  const torch::Tensor a = model->forward(x), b = model->forward(x);
  EXPECT_TRUE(torch::equal(a, b));
  // Eval mask = [logit > 0].
  const torch::Tensor m = model->named_parameters()["nncf_hooks.a_weight|rb_sparsity.mask"].detach();
  const torch::Tensor mb = model->named_parameters()["nncf_hooks.b_weight|rb_sparsity.mask"].detach();
  torch::NoGradGuard no_grad;
  const torch::Tensor y = torch::conv2d(torch::conv2d(x, net->a->weight * m.gt(0), net->a->bias),
                                        net->b->weight * mb.gt(0), net->b->bias);
  EXPECT_TRUE(torch::allclose(a, y, 1e-5, 1e-6));
}

TEST(ConstSparsity, KeepsTheModelsZeros) {
  TwoConv net;
  {
    torch::NoGradGuard no_grad;
    net->a->weight[0].zero_();
  }
  auto [ctrl, model] = create_compressed_model(net, config_of(R"({"algorithm": "const_sparsity"})"));
  EXPECT_NEAR(as_sparsity(ctrl)->current_sparsity(), 4.0 / 26.0, 1e-9);
  // Training may move the zeroed weights; the model keeps computing with zeros there.
  {
    torch::NoGradGuard no_grad;
    net->a->weight.add_(1.0);
  }
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({2, 1, 4, 4});
  auto wa = net->a->weight.clone();
  wa[0].zero_();
  EXPECT_TRUE(torch::allclose(model->forward(x),
                              torch::conv2d(torch::conv2d(x, wa, net->a->bias), net->b->weight, net->b->bias),
                              1e-5, 1e-6));
}

// One linear layer: with x = I the output is the effective weight's transpose.
struct LinearNetImpl : torch::nn::Module {
  LinearNetImpl() {
    fc = register_module("fc", torch::nn::Linear(torch::nn::LinearOptions(8, 4).bias(false)));
  }
  torch::Tensor forward(torch::Tensor x) { return fc->forward(x); }
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(LinearNet);

TEST(CombinedAlgorithms, QuantizedWeightIsTheQuantizedSparsifiedWeight) {
  torch::manual_seed(0);
  LinearNet net;
  // Quantization listed first: priorities, not config order, put the mask before the quantizer.
  auto config = config_of(
      R"([{"algorithm": "quantization", "quantize_inputs": false, "weights": {"per_channel": false}},
                              {"algorithm": "magnitude_sparsity", "sparsity_init": 0.5}])",
      "[1, 8]");
  auto [ctrl, model] = create_compressed_model(net, config);
  auto composite = std::dynamic_pointer_cast<CompositeController>(ctrl);
  ASSERT_NE(composite, nullptr);
  auto q = composite->find<quantization::QuantizationController>();
  auto s = composite->find<SparsityController>();
  ASSERT_TRUE(q && s);
  ASSERT_EQ(q->quantizers().size(), 1u) << q->setup().to_string();  // the weight's
  const auto& fq = q->quantizers()[0].module;
  {
    torch::NoGradGuard no_grad;
    fq->scale.fill_(0.5);
  }
  const torch::Tensor w = net->fc->weight.detach();
  const torch::Tensor mask = model->named_buffers()["nncf_hooks.fc_weight|magnitude_sparsity.mask"];
  ASSERT_NEAR(mask.mean().item<double>(), 0.5, 1e-9);
  const torch::Tensor g = torch::randn({8, 4});
  model->train();
  const torch::Tensor y = model->forward(torch::eye(8));
  (y * g).sum().backward();

  // Reference: the kernel on the masked weight, and (to show the order is observable) on the raw one.
  const auto l = fq->levels();
  auto scale_grad_on = [&](const torch::Tensor& weight, torch::Tensor* out) {
    torch::Tensor sc = torch::full({1}, 0.5).requires_grad_();
    torch::Tensor r = kernels::fake_quantize_symmetric(weight, sc, l.low, l.high, 1);
    (r.t() * g).sum().backward();
    if (out) *out = r.detach();
    return sc.grad();
  };
  torch::Tensor expected;
  const torch::Tensor masked_grad = scale_grad_on(w * mask, &expected);
  EXPECT_TRUE(torch::allclose(y.detach().t(), expected, 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(fq->scale.grad(), masked_grad, 1e-5, 1e-6)) << fq->scale.grad() << masked_grad;
  EXPECT_FALSE(torch::allclose(scale_grad_on(w, nullptr), masked_grad, 1e-5, 1e-6));
  EXPECT_EQ(ctrl->compression_stage(), CompressionStage::FullyCompressed);
  EXPECT_EQ(ctrl->name(), "quantization+magnitude_sparsity");
}

// A short QAT run with sparsity: sparsity + INT8 trains, the scheduler reaches the target.
void train(CompressionResult& r, const torch::Tensor& x, const torch::Tensor& y, torch::optim::Optimizer& opt,
           int epochs, int steps) {
  for (int e = 0; e < epochs; ++e) {
    r.ctrl->scheduler().epoch_step();
    r.model->train();
    for (int i = 0; i < steps; ++i) {
      r.ctrl->scheduler().step();
      const torch::Tensor xb = x.slice(0, i * 8, i * 8 + 8), yb = y.slice(0, i * 8, i * 8 + 8);
      opt.zero_grad();
      auto loss = torch::nn::functional::cross_entropy(r.model->forward(xb), yb) + r.ctrl->loss();
      loss.backward();
      opt.step();
    }
  }
}

TEST(CombinedAlgorithms, SparsityPlusInt8TrainEndToEnd) {
  for (const char* algo : {"magnitude_sparsity", "rb_sparsity"}) {
    torch::manual_seed(0);
    testing::SmallCNN net(testing::SmallCNNOptions().width(8).num_classes(4));
    auto config = config_of(c10::str(R"([{"algorithm": ")", algo, R"(", "params": {"schedule": "polynomial",
        "sparsity_target": 0.5, "sparsity_target_epoch": 2, "sparsity_freeze_epoch": 3}},
        {"algorithm": "quantization", "initializer": {"range": {"num_init_samples": 16}}}])"),
                            "[1, 1, 12, 12]");
    auto r = create_compressed_model(net, config);
    const torch::Tensor x = torch::randn({32, 1, 12, 12}), y = torch::randint(0, 4, {32});
    r.ctrl->initialize(InitData([&](const InitData::Visitor& visit) { visit({x.slice(0, 0, 16)}); }));
    torch::optim::Adam opt(r.model->parameters(), torch::optim::AdamOptions(1e-2));
    train(r, x, y, opt, 4, 4);
    auto s = std::dynamic_pointer_cast<CompositeController>(r.ctrl)->find<SparsityController>();
    EXPECT_DOUBLE_EQ(s->sparsity_level(), 0.5) << algo;
    EXPECT_TRUE(s->frozen()) << algo;
    if (std::string(algo) == "magnitude_sparsity") EXPECT_NEAR(s->current_sparsity(), 0.5, 0.01);
    const auto stats = r.ctrl->statistics();
    EXPECT_TRUE(stats.values.count("quantization.weights.count")) << stats.to_string();
    EXPECT_TRUE(stats.values.count(std::string(algo) + ".current_sparsity")) << stats.to_string();
  }
}

TEST(Checkpoint, FloatWeightsOfTheUsersModelLoadIntoACompressedModel) {
  const auto config = config_of(R"([{"algorithm": "magnitude_sparsity", "sparsity_init": 0.5},
                                    {"algorithm": "quantization"}])",
                                "[1, 1, 12, 12]");
  testing::SmallCNN trained(testing::SmallCNNOptions().width(4)), fresh(testing::SmallCNNOptions().width(4));
  const std::string path = ::testing::TempDir() + "/nncf_fp32.pt";
  torch::save(trained, path);
  auto r = create_compressed_model(fresh, config);
  torch::load(r.model, path);  // a checkpoint without nncf_hooks: the user's weights load, masks stay
  std::remove(path.c_str());
  EXPECT_TRUE(torch::equal(r.model->tensor("conv2.weight"), trained->conv2->weight));
  EXPECT_TRUE(torch::equal(fresh->conv2->weight, trained->conv2->weight)) << "shared with the user's module";
}

// ---- checkpoints -------------------------------------------------------------------------------

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "/nncf_" + name;
}

TEST(Checkpoint, TorchScriptModelsResumeToo) {
  const char* dir = std::getenv("NNCF_TEST_MODELS_DIR");
  ASSERT_NE(dir, nullptr) << "NNCF_TEST_MODELS_DIR is set by CTest";
  const std::string model = std::string(dir) + "/resnet18_traced.pt";
  const auto config = config_of(R"([{"algorithm": "magnitude_sparsity", "sparsity_init": 0.4},
                                    {"algorithm": "quantization", "initializer": {"range": {"num_init_samples": 4}}}])",
                                "[1, 3, 32, 32]");
  auto a = create_compressed_model(model, config);
  const torch::Tensor x = torch::randn({4, 3, 32, 32});
  a.ctrl->initialize(InitData([&](const InitData::Visitor& visit) { visit({x}); }));
  const std::string path = temp_path("torchscript.ckpt");
  save_checkpoint(path, a, config);
  EXPECT_EQ(Checkpoint::load(path).user_data(), "");
  save_checkpoint(path, a, config, nullptr, R"({"epoch": 3})");
  EXPECT_EQ(Checkpoint::load(path).user_data(), R"({"epoch": 3})");
  auto b = create_compressed_model(model, config, Checkpoint::load(path));
  std::remove(path.c_str());
  a.model->eval();
  b.model->eval();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(a.model->forward(x), b.model->forward(x)));
  EXPECT_EQ(b.ctrl->statistics().values.at("magnitude_sparsity.sparsity_level"), 0.4);
}

TEST(Checkpoint, BadCheckpointsGiveClearErrorsAndSavesAreAtomic) {
  const auto config =
      config_of(R"({"algorithm": "magnitude_sparsity", "sparsity_init": 0.3})", "[1, 1, 12, 12]");
  testing::SmallCNN net(testing::SmallCNNOptions().width(4));
  auto r = create_compressed_model(net, config);
  const std::string path = temp_path("atomic.ckpt");
  save_checkpoint(path, r, config);
  std::ifstream in(path, std::ios::binary);
  const std::string original((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  // A save that fails leaves the previous checkpoint as it was.
  const std::string blocker = c10::str(path, ".tmp-", ::getpid());
  std::filesystem::create_directory(blocker);
  EXPECT_NE(testing::error_of([&] { save_checkpoint(path, r, config); }).find("cannot create"),
            std::string::npos);
  std::filesystem::remove(blocker);
  std::ifstream again(path, std::ios::binary);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>()), original);

  // Corrupt and foreign files.
  const std::string corrupt = temp_path("corrupt.ckpt");
  std::ofstream(corrupt) << original.substr(0, original.size() / 2);
  EXPECT_NE(testing::error_of([&] { Checkpoint::load(corrupt); }).find(corrupt), std::string::npos);
  std::ofstream(corrupt) << "not a checkpoint";
  EXPECT_NE(testing::error_of([&] { Checkpoint::load(corrupt); }).find("not a readable checkpoint"),
            std::string::npos);
  std::remove(corrupt.c_str());
  EXPECT_NE(testing::error_of([&] { Checkpoint::load(temp_path("missing.ckpt")); }).find("cannot read"),
            std::string::npos);

  // A checkpoint of another config or another model.
  auto ckpt = Checkpoint::load(path);
  const auto quant = config_of(R"({"algorithm": "quantization"})", "[1, 1, 12, 12]");
  EXPECT_NE(testing::error_of([&] { create_compressed_model(net, quant, ckpt); }).find("magnitude_sparsity"),
            std::string::npos);
  testing::SmallCNN wider(testing::SmallCNNOptions().width(6));
  const std::string msg = testing::error_of([&] { create_compressed_model(wider, config, ckpt); });
  EXPECT_NE(msg.find("shapes differ"), std::string::npos) << msg;
  EXPECT_NE(msg.find("conv1.weight"), std::string::npos) << msg;
  std::remove(path.c_str());
}

}  // namespace
}  // namespace nncf
