// Binarization: NNCF's config sections unchanged, the binarizers against NNCF's formulas (forward
// and the gradients through the exp/sigmoid parametrization), the staged schedule's switches and
// optimizer requests, the scale initialization, training, checkpoints, and exports checked in
// ONNX Runtime and LibTorch.

#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "nncf/algorithms/binarization/binarizer.h"
#include "nncf/algorithms/binarization/controller.h"
#include "nncf/algorithms/composite.h"
#include "nncf/algorithms/quantization/controller.h"
#include "nncf/api/checkpoint.h"
#include "nncf/api/compression.h"
#include "nncf/kernels/binarize.h"
#include "support/errors.h"
#include "support/models.h"
#include "support/ort.h"

namespace nncf {
namespace {

using binarization::ActivationBinarizer;
using binarization::BinarizationConfig;
using binarization::BinarizationController;
using binarization::BinarizationMode;
using binarization::WeightBinarizer;

Config binarization_config(const std::string& section, const std::string& shape = "[1, 3, 32, 32]") {
  return Config::from_string(R"({"input_info": {"sample_size": )" + shape + R"(}, "compression": )" +
                             section + "}");
}

std::shared_ptr<BinarizationController> as_binarization(const std::shared_ptr<CompressionController>& c) {
  auto b = std::dynamic_pointer_cast<BinarizationController>(c);
  EXPECT_NE(b, nullptr);
  return b;
}

testing::ResNet18 resnet18() {
  torch::manual_seed(0);
  return testing::ResNet18(testing::ResNet18Options().base_width(8));
}

std::string temp(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("nncf_binarization_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

// NNCF's examples/torch/classification/configs/binarization/resnet18_imagenet_binarization_xnor.json
// compression section, as shipped.
const char* kNncfXnorSection = R"({
            "algorithm": "binarization",
            "mode": "xnor",
            "params": {
                "batch_multiplier": 1,
                "activations_quant_start_epoch": 10,
                "weights_quant_start_epoch": 30,
                "lr_poly_drop_start_epoch": 60,
                "lr_poly_drop_duration_epochs": 30,
                "disable_wd_start_epoch": 60
            },
            "ignored_scopes": ["{re}ResNet/NNCFLinear\\[fc\\]/.*",
                               "{re}ResNet/NNCFConv2d\\[conv1\\]",
                               "{re}ResNet/Sequential\\[layer2\\]/BasicBlock\\[0\\]/Sequential\\[downsample\\]/.*",
                               "{re}ResNet/Sequential\\[layer3\\]/BasicBlock\\[0\\]/Sequential\\[downsample\\]/.*",
                               "{re}ResNet/Sequential\\[layer4\\]/BasicBlock\\[0\\]/Sequential\\[downsample\\]/.*"]
        })";

TEST(BinarizationConfig, NncfSectionsLoadUnchanged) {
  const BinarizationConfig c =
      BinarizationConfig::parse(binarization_config(kNncfXnorSection).compression()[0]);
  EXPECT_EQ(c.mode, BinarizationMode::Xnor);
  EXPECT_EQ(c.staged.activations_quant_start_epoch, 10);
  EXPECT_EQ(c.staged.weights_quant_start_epoch, 30);
  EXPECT_EQ(*c.staged.lr_poly_drop_start_epoch, 60);
  EXPECT_EQ(c.ignored_scopes.size(), 5U);
  std::string dorefa = kNncfXnorSection;
  dorefa.replace(dorefa.find("\"xnor\""), 6, "\"dorefa\"");
  EXPECT_EQ(BinarizationConfig::parse(binarization_config(dorefa).compression()[0]).mode,
            BinarizationMode::Dorefa);
  // Defaults: both groups start at epoch 1, also without `params`.
  const BinarizationConfig d =
      BinarizationConfig::parse(binarization_config(R"({"algorithm": "binarization"})").compression()[0]);
  EXPECT_EQ(d.staged.activations_quant_start_epoch, 1);
  EXPECT_EQ(d.staged.weights_quant_start_epoch, 1);
}

TEST(BinarizationConfig, BadSectionsNameTheirPath) {
  auto error = [](const std::string& section) {
    return testing::error_of(
        [&] { BinarizationConfig::parse(binarization_config(section).compression()[0]); });
  };
  EXPECT_NE(error(R"({"algorithm": "binarization", "mode": "ternary"})").find("compression.mode"),
            std::string::npos);
  EXPECT_NE(error(R"({"algorithm": "binarization", "modes": "xnor"})").find("compression.modes"),
            std::string::npos);
  EXPECT_NE(error(R"({"algorithm": "binarization", "params": {"weights_quant_start_epoch": -1}})")
                .find("compression.params.weights_quant_start_epoch"),
            std::string::npos);
}

// NNCF's shipped config on torchvision's ResNet-18 (NNCF's scope names): every Conv2d but conv1
// and the three downsample convolutions is binarized.
TEST(Binarization, NncfConfigOnTorchvisionResNet18) {
  const char* dir = std::getenv("NNCF_TEST_MODELS_DIR");
  ASSERT_NE(dir, nullptr) << "NNCF_TEST_MODELS_DIR is set by CTest";
  auto r = create_compressed_model(std::string(dir) + "/resnet18_traced.pt",
                                   binarization_config(kNncfXnorSection, "[1, 3, 64, 64]"));
  auto b = as_binarization(r.ctrl);
  ASSERT_EQ(b->layers().size(), 16U);
  for (const auto& l : b->layers()) {
    EXPECT_EQ(l.weight.find("downsample"), std::string::npos) << l.weight;
    EXPECT_NE(l.weight, "conv1.weight");
  }
  // Epoch 0..9: nothing; 10..29: activations; 30..: both.
  for (int e = 0; e < 31; ++e) {
    r.ctrl->scheduler().epoch_step();
    const auto stage = r.ctrl->compression_stage();
    if (e < 10) EXPECT_EQ(stage, CompressionStage::Uncompressed) << e;
    if (e >= 10 && e < 30) EXPECT_EQ(stage, CompressionStage::PartiallyCompressed) << e;
    if (e >= 30) EXPECT_EQ(stage, CompressionStage::FullyCompressed) << e;
    EXPECT_EQ(b->layers()[0].activations->is_enabled(), e >= 10) << e;
    EXPECT_EQ(b->layers()[0].weights->is_enabled(), e >= 30) << e;
  }
  // NNCF's PolyLRDropScheduler: base_lr * ((90 - e) / 30)^2.1 in [60, 90); weight decay off after 60.
  EXPECT_EQ(r.ctrl->learning_rate_multiplier(59.9), 1.0);
  EXPECT_NEAR(r.ctrl->learning_rate_multiplier(60.0), 1.0, 1e-12);
  EXPECT_NEAR(r.ctrl->learning_rate_multiplier(75.5), std::pow(14.5 / 30.0, 2.1), 1e-12);
  EXPECT_EQ(r.ctrl->learning_rate_multiplier(90.0), 0.0);
  EXPECT_TRUE(r.ctrl->weight_decay_enabled(60.0));
  EXPECT_FALSE(r.ctrl->weight_decay_enabled(60.01));
}

TEST(Binarizer, WeightsFollowXnorAndDorefa) {
  torch::manual_seed(0);
  const at::Tensor w = torch::randn({6, 4, 3, 3}, torch::requires_grad());
  for (BinarizationMode mode : {BinarizationMode::Xnor, BinarizationMode::Dorefa}) {
    WeightBinarizer b(mode);
    EXPECT_TRUE(torch::equal(b->forward(w), w));  // disabled: the identity
    b->set_enabled(true);
    const at::Tensor out = b->forward(w);
    const at::Tensor s =
        mode == BinarizationMode::Xnor ? w.detach().abs().mean({1, 2, 3}, true) : w.detach().abs().mean();
    EXPECT_TRUE(torch::allclose(out, (w.detach().gt(0).to(torch::kFloat) * 2 - 1) * s, 1e-6, 1e-7));
    // Straight-through: the gradient is the incoming one.
    const at::Tensor g = torch::randn_like(w);
    const at::Tensor grad = torch::autograd::grad({out}, {w}, {g})[0];
    EXPECT_TRUE(torch::equal(grad, g));
  }
}

// The activation binarizer's gradients: NNCF's dS and dT (the kernel reference), chained through
// S = exp(scale_raw) and T = sigmoid(threshold_raw).
TEST(Binarizer, ActivationGradientsFollowNncfThroughTheParametrization) {
  torch::manual_seed(0);
  ActivationBinarizer b(5);
  b->set_enabled(true);
  {
    torch::NoGradGuard no_grad;
    b->scale_raw.fill_(std::log(1.7));
    b->threshold_raw.copy_(torch::randn({5}));
  }
  b->initialized.fill_(1);
  const at::Tensor x = (torch::randn({3, 5, 6, 7}) * 2).requires_grad_();
  const at::Tensor out = b->forward(x);
  const at::Tensor S = b->scale().detach(), T = b->threshold().detach();
  EXPECT_TRUE(torch::equal(out, kernels::reference::binarize_activation(x.detach(), S, T)));
  const at::Tensor g = torch::randn_like(x);
  out.backward(g);
  auto [dx, ds, dt] = kernels::reference::binarize_activation_backward(g, x.detach(), S, T);
  EXPECT_TRUE(torch::allclose(x.grad(), dx));
  EXPECT_TRUE(torch::allclose(b->scale_raw.grad(), ds * S, 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(b->threshold_raw.grad(), dt * T * (1 - T), 1e-4, 1e-5));
}

// In training the binarizer writes its output and dx into tensors it keeps across steps, but only
// when nothing else holds them: an output or a gradient a caller kept is never overwritten.
TEST(Binarizer, TrainingReusesOutputTensorsOnlyWhenNothingHoldsThem) {
  torch::manual_seed(4);
  ActivationBinarizer b(4);
  b->set_enabled(true);
  {
    torch::NoGradGuard no_grad;
    b->scale_raw.fill_(std::log(1.3));
    b->threshold_raw.copy_(torch::randn({4}));
  }
  b->initialized.fill_(1);
  const at::Tensor S = b->scale().detach(), T = b->threshold().detach();
  // One step on x = leaf * 1 (dx goes to a Mul, not into a .grad); returns the output and dx.
  auto step = [&](const at::Tensor& leaf, const at::Tensor& g) {
    const at::Tensor out = b->forward(leaf * 1);
    out.backward(g);
    return out;
  };
  auto expect_reference = [&](const at::Tensor& out, const at::Tensor& leaf, const at::Tensor& g) {
    EXPECT_TRUE(torch::equal(out, kernels::reference::binarize_activation(leaf.detach(), S, T)));
    auto [dx, ds, dt] = kernels::reference::binarize_activation_backward(g, leaf.detach(), S, T);
    EXPECT_TRUE(torch::equal(leaf.grad(), dx));
  };
  const at::Tensor x1 = (torch::randn({2, 4, 5, 5}) * 2).requires_grad_(),
                   x2 = (torch::randn({2, 4, 5, 5}) * 2).requires_grad_(),
                   x3 = (torch::randn({2, 4, 5, 5}) * 2).requires_grad_();
  const at::Tensor g1 = torch::randn_like(x1), g2 = torch::randn_like(x1), g3 = torch::randn_like(x1);
  at::Tensor out1 = step(x1, g1);
  const void* kept_out = b->kept_buffers()->out.data_ptr();
  EXPECT_EQ(out1.data_ptr(), kept_out);
  // out1 is held: the second step takes fresh memory and leaves out1 as it was.
  at::Tensor out2 = step(x2, g2);
  EXPECT_NE(out2.data_ptr(), out1.data_ptr());
  expect_reference(out1, x1, g1);
  expect_reference(out2, x2, g2);
  // Nothing holds out2's memory any more but the binarizer: the third step writes into it, and its
  // dx into the second step's dx.
  const void* out2_memory = out2.data_ptr();
  const void* dx2_memory = b->kept_buffers()->dx.data_ptr();
  out2 = at::Tensor();
  const at::Tensor out3 = step(x3, g3);
  EXPECT_EQ(out3.data_ptr(), out2_memory);
  EXPECT_EQ(b->kept_buffers()->dx.data_ptr(), dx2_memory);
  expect_reference(out3, x3, g3);
  expect_reference(out1, x1, g1);
  // A view of an output holds its memory too.
  const at::Tensor view = out3.slice(0, 0, 1);
  const at::Tensor out4 = step(x1.detach().clone().requires_grad_(), g1);
  EXPECT_NE(out4.data_ptr(), out3.data_ptr());
  EXPECT_TRUE(torch::equal(view, out3.slice(0, 0, 1)));
  // Another batch shape: fresh tensors of that shape.
  const at::Tensor x5 = (torch::randn({3, 4, 2, 2}) * 2).requires_grad_(), g5 = torch::randn_like(x5);
  expect_reference(step(x5, g5), x5, g5);
  // Evaluation and no-grad forwards allocate their outputs; release_buffers() drops the kept ones.
  b->eval();
  EXPECT_NE(b->forward(x5.detach()).data_ptr(), b->kept_buffers()->out.data_ptr());
  b->release_buffers();
  EXPECT_FALSE(b->kept_buffers()->out.defined());
  EXPECT_FALSE(b->kept_buffers()->dx.defined());
}

// The smooth part, S = exp(raw) and T = sigmoid(raw), against central differences in double.
TEST(Binarizer, ParametrizationGradientsMatchFiniteDifferences) {
  const at::Tensor raw = torch::tensor({-0.7, 0.3, 1.9}, torch::dtype(torch::kDouble).requires_grad(true));
  for (int which = 0; which < 2; ++which) {
    auto f = [&](const at::Tensor& r) { return which == 0 ? r.exp().sum() : r.sigmoid().sum(); };
    const at::Tensor grad = torch::autograd::grad({f(raw)}, {raw})[0];
    for (int64_t i = 0; i < 3; ++i) {
      const double h = 1e-6;
      at::Tensor p = raw.detach().clone(), m = raw.detach().clone();
      p[i] += h;
      m[i] -= h;
      EXPECT_NEAR(grad[i].item<double>(), (f(p).item<double>() - f(m).item<double>()) / (2 * h), 1e-8);
    }
  }
}

// nncf-cpp `activation_scale_init: "mse"`: the scale minimizes the binarization error at the
// initial threshold (S/2) -- no S on a finer grid does better -- and is below NNCF's percentile.
TEST(Binarizer, MseScaleInitMinimizesTheBinarizationError) {
  torch::manual_seed(3);
  const at::Tensor x = torch::relu(torch::randn({4, 8, 9, 9}) + 0.3);
  ActivationBinarizer mse(8), percentile(8);
  mse->mse_scale_init = true;
  mse->init_scale(x);
  percentile->init_scale(x);
  const double s = mse->scale().item<double>();
  const at::Tensor xd = x.to(torch::kDouble);
  auto error = [&](double v) { return (torch::where(xd > v / 2, v, 0.0) - xd).pow(2).sum().item<double>(); };
  const double max = xd.max().item<double>();
  double best = HUGE_VAL;
  for (int i = 1; i <= 20000; ++i) best = std::min(best, error(max * i / 20000));
  EXPECT_LE(error(s), best * (1 + 1e-3)) << "S " << s;
  EXPECT_LT(s, percentile->scale().item<double>());
  const auto config = BinarizationConfig::parse(
      binarization_config(R"({"algorithm": "binarization", "activation_scale_init": "mse"})")
          .compression()[0]);
  EXPECT_EQ(config.activation_scale_init, binarization::ScaleInit::Mse);
  EXPECT_NE(testing::error_of([] {
              BinarizationConfig::parse(
                  binarization_config(R"({"algorithm": "binarization", "activation_scale_init": "max"})")
                      .compression()[0]);
            }).find("activation_scale_init"),
            std::string::npos);
}

TEST(Binarizer, ScaleIsSetFromTheFirstTrainingBatch) {
  ActivationBinarizer b(2);
  b->set_enabled(true);
  b->train();
  const at::Tensor x = torch::arange(4000, torch::kFloat).view({2, 2, 1000}) / 1000;
  b->forward(x);
  EXPECT_TRUE(b->is_initialized());
  // k = round(0.001 * 4000) = 4: the 4th largest value, 3.996.
  EXPECT_NEAR(b->scale().item<double>(), 3.996, 1e-5);
  b->forward(x * 10);  // set once
  EXPECT_NEAR(b->scale().item<double>(), 3.996, 1e-5);
  ActivationBinarizer negative(1);
  negative->set_enabled(true);
  negative->train();
  negative->forward(-torch::ones({1, 1, 10}) * 2);
  EXPECT_NEAR(negative->scale().item<double>(), 2.0, 1e-6);  // not log(-2)
}

TEST(Binarization, InitializeSetsScalesAndTrainingUpdatesThem) {
  auto net = resnet18();
  auto r = create_compressed_model(
      net, binarization_config(R"({"algorithm": "binarization", "params": {"activations_quant_start_epoch": 0,
          "weights_quant_start_epoch": 0}, "initializer": {"range": {"num_init_samples": 4}}})"));
  auto b = as_binarization(r.ctrl);
  ASSERT_FALSE(b->layers().empty());
  const at::Tensor x = torch::randn({4, 3, 32, 32});
  std::vector<std::vector<c10::IValue>> batches = {{x}};
  r.ctrl->initialize(InitData([&](const InitData::Visitor& visit) {
    for (const auto& inputs : batches)
      if (!visit(inputs)) return;
  }));
  for (const auto& l : b->layers()) EXPECT_TRUE(l.activations->is_initialized()) << l.scope;
  r.ctrl->scheduler().epoch_step();
  EXPECT_EQ(r.ctrl->compression_stage(), CompressionStage::FullyCompressed);
  torch::optim::Adam opt(r.model->parameters(), torch::optim::AdamOptions(1e-3));
  r.model->train();
  const at::Tensor before = b->layers()[0].activations->scale_raw.detach().clone();
  opt.zero_grad();
  torch::nn::functional::cross_entropy(r.model->forward(x), torch::randint(0, 10, {4})).backward();
  ASSERT_TRUE(b->layers()[0].activations->scale_raw.grad().defined());
  opt.step();
  EXPECT_FALSE(torch::equal(before, b->layers()[0].activations->scale_raw.detach()));
  // The next step writes every binarizer's output and dx into the tensors of the first: the
  // compressed model holds none of them between steps.
  auto kept_tensors = [&](const binarization::BinarizedConv& l) {
    return std::vector<const at::Tensor*>{&l.activations->kept_buffers()->out,
                                          &l.activations->kept_buffers()->dx,
                                          &l.weights->kept_buffers()->out};
  };
  std::vector<const void*> kept;
  for (const auto& l : b->layers())
    for (const at::Tensor* t : kept_tensors(l)) {
      ASSERT_TRUE(t->defined()) << l.scope;
      kept.push_back(t->data_ptr());
    }
  opt.zero_grad();
  torch::nn::functional::cross_entropy(r.model->forward(x), torch::randint(0, 10, {4})).backward();
  size_t i = 0;
  for (const auto& l : b->layers())
    for (const at::Tensor* t : kept_tensors(l)) EXPECT_EQ(t->data_ptr(), kept[i++]) << l.scope;
  const Statistics s = r.ctrl->statistics();
  EXPECT_EQ(s.values.at("binarization.weights_enabled"), 1);
}

// Checkpoints carry the binarizers' parameters, switches and the schedule.
TEST(Binarization, CheckpointResumes) {
  auto net = resnet18();
  const Config config = binarization_config(R"({"algorithm": "binarization", "mode": "dorefa"})");
  auto r = create_compressed_model(net, config);
  r.ctrl->scheduler().epoch_step();
  r.ctrl->scheduler().epoch_step();  // epoch 1: both on
  r.model->train();
  r.model->forward(torch::randn({2, 3, 32, 32}));  // sets the scales
  const std::string path = temp("ckpt.nncf");
  save_checkpoint(path, r, config);
  auto fresh = resnet18();
  auto again = create_compressed_model(fresh, config, Checkpoint::load(path));
  std::remove(path.c_str());
  EXPECT_EQ(again.ctrl->compression_stage(), CompressionStage::FullyCompressed);
  r.model->eval();
  again.model->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor x = torch::randn({2, 3, 32, 32});
  EXPECT_TRUE(torch::equal(r.model->forward(x), again.model->forward(x)));
}

std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Standard ops run in ONNX Runtime to the model's outputs; the OpenVINO form writes
// FakeQuantize(levels=2); TorchScript reproduces the model with built-in ops.
TEST(Binarization, ExportsRunInOnnxRuntimeAndTorchScript) {
  auto net = resnet18();
  auto r = create_compressed_model(
      net, binarization_config(R"({"algorithm": "binarization", "export_to_onnx_standard_ops": true,
          "params": {"activations_quant_start_epoch": 0, "weights_quant_start_epoch": 0}})"));
  r.model->train();
  r.model->forward(torch::randn({8, 3, 32, 32}));  // sets the scales (and moves BatchNorm statistics)
  auto b = as_binarization(r.ctrl);
  {
    torch::NoGradGuard no_grad;
    for (const auto& l : b->layers()) l.activations->threshold_raw.uniform_(-1, 1);
  }
  const std::string onnx = temp("std.onnx"), ts = temp("b.pt");
  r.ctrl->export_model(onnx);
  r.ctrl->export_model(ts, "torchscript");
  const std::string written = file_text(onnx);
  EXPECT_NE(written.find("Greater"), std::string::npos);
  EXPECT_EQ(written.find("FakeQuantize"), std::string::npos);
  r.model->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor x = torch::randn({3, 3, 32, 32});
  const at::Tensor want = r.model->forward(x);
  const auto got = testing::run_onnxruntime(onnx, {{testing::onnxruntime_signature(onnx).inputs.at(0), x}});
  EXPECT_TRUE(torch::allclose(got.at(0), want, 1e-3, 1e-3)) << (got.at(0) - want).abs().max();
  torch::jit::Module loaded = torch::jit::load(ts);
  EXPECT_TRUE(torch::allclose(loaded.forward({x}).toTensor(), want, 1e-4, 1e-4));
  for (const std::string& f : {onnx, ts}) std::remove(f.c_str());

  auto net2 = resnet18();
  auto fq = create_compressed_model(net2, binarization_config(R"({"algorithm": "binarization",
      "params": {"activations_quant_start_epoch": 0, "weights_quant_start_epoch": 0}})"));
  const std::string ov = temp("ov.onnx");
  fq.ctrl->export_model(ov);
  const std::string text = file_text(ov);
  std::remove(ov.c_str());
  EXPECT_NE(text.find("FakeQuantize"), std::string::npos);
  EXPECT_NE(text.find("org.openvinotoolkit"), std::string::npos);
  EXPECT_NE(text.find("ReduceMean"), std::string::npos);
}

// Binarization beside quantization: the binarized convs keep their 1-bit weights and inputs (no
// FakeQuantize on either), everything else is INT8, and the rate counts 1 and 8 bits accordingly.
TEST(Binarization, BesideQuantizationBinarizedConvsStayOneBit) {
  for (const bool binarization_first : {true, false}) {
    auto net = resnet18();
    const std::string bin =
        R"({"algorithm": "binarization", "ignored_scopes": ["conv1", "{re}.*downsample.*"],
        "export_to_onnx_standard_ops": true,
        "params": {"activations_quant_start_epoch": 0, "weights_quant_start_epoch": 0}})";
    const std::string quant = R"({"algorithm": "quantization", "export_to_onnx_standard_ops": true})";
    auto r = create_compressed_model(
        net, binarization_config(binarization_first ? "[" + bin + ", " + quant + "]"
                                                    : "[" + quant + ", " + bin + "]"));
    auto composite = std::dynamic_pointer_cast<CompositeController>(r.ctrl);
    ASSERT_NE(composite, nullptr);
    auto b = composite->find<BinarizationController>();
    auto q = composite->find<quantization::QuantizationController>();
    ASSERT_NE(b, nullptr);
    ASSERT_NE(q, nullptr);
    ASSERT_EQ(b->layers().size(), 16u);
    std::set<std::string> binarized, binarized_weights;
    for (const auto& l : b->layers()) {
      binarized.insert(l.scope);
      binarized_weights.insert(l.weight);
    }
    size_t weight_quantizers = 0, activation_quantizers = 0;
    for (const auto& spec : q->setup().quantizers) {
      (spec.group == quantization::QuantizerGroup::Weights ? weight_quantizers : activation_quantizers) += 1;
      EXPECT_EQ(binarized_weights.count(spec.weight), 0u) << spec.id;
      for (const auto& c : spec.consumer_scopes)
        EXPECT_EQ(binarized.count(c), 0u) << spec.id << " feeds " << c;
    }
    // The stem, the three downsample convs and the classifier keep INT8 weights; the residual adds
    // and the classifier still quantize their inputs.
    EXPECT_EQ(weight_quantizers, 5u);
    EXPECT_GT(activation_quantizers, 0u);
    r.ctrl->scheduler().epoch_step();
    const Statistics s = r.ctrl->statistics();
    for (const auto& w : binarized_weights) EXPECT_EQ(s.values.at("compression.weight_bits." + w), 1) << w;
    EXPECT_EQ(s.values.at("compression.weight_bits.conv1.weight"), 8);

    r.model->train();
    const at::Tensor x = torch::randn({4, 3, 32, 32});
    torch::nn::functional::cross_entropy(r.model->forward(x), torch::randint(0, 10, {4})).backward();
    ASSERT_TRUE(b->layers()[0].activations->scale_raw.grad().defined());
    r.model->eval();
    const std::string onnx = temp(binarization_first ? "bq.onnx" : "qb.onnx");
    r.ctrl->export_model(onnx);
    torch::NoGradGuard no_grad;
    const at::Tensor want = r.model->forward(x);
    const auto got = testing::run_onnxruntime(onnx, {{testing::onnxruntime_signature(onnx).inputs.at(0), x}});
    std::remove(onnx.c_str());
    EXPECT_TRUE(torch::allclose(got.at(0), want, 1e-3, 1e-3)) << (got.at(0) - want).abs().max();
  }
}

// In a composite, the activation scales are measured after the quantizers' ranges are set: on the
// activations as the model computes them with its initialized INT8 quantizers, whatever the order.
TEST(Binarization, BesideQuantizationScalesSeeInitializedQuantizers) {
  for (const bool binarization_first : {true, false}) {
    auto net = resnet18();
    const std::string bin =
        R"({"algorithm": "binarization", "ignored_scopes": ["conv1", "{re}.*downsample.*"],
        "initializer": {"range": {"num_init_samples": 8}}})";
    const std::string quant =
        R"({"algorithm": "quantization", "initializer": {"range": {"num_init_samples": 8}}})";
    auto r = create_compressed_model(
        net, binarization_config(binarization_first ? "[" + bin + ", " + quant + "]"
                                                    : "[" + quant + ", " + bin + "]"));
    const at::Tensor x = torch::randn({8, 3, 32, 32});
    r.ctrl->initialize(InitData([&](const InitData::Visitor& visit) { visit({x}); }));
    auto b = std::dynamic_pointer_cast<CompositeController>(r.ctrl)->find<BinarizationController>();
    ASSERT_NE(b, nullptr);
    // Each binarizer's input now, with the quantizers initialized.
    for (const auto& l : b->layers()) {
      ActivationBinarizer a = l.activations;  // the same module
      a->observing = true;
    }
    {
      torch::NoGradGuard no_grad;
      r.model->eval();
      r.model->forward(x);
    }
    for (const auto& l : b->layers()) {
      ActivationBinarizer a = l.activations;
      a->observing = false;
      ActivationBinarizer expect(l.activations->channels);
      expect->init_scale(l.activations->observed);
      EXPECT_TRUE(torch::equal(l.activations->scale_raw, expect->scale_raw))
          << l.scope << ": " << l.activations->scale_raw.item<double>() << " vs "
          << expect->scale_raw.item<double>();
    }
  }
}

}  // namespace
}  // namespace nncf
