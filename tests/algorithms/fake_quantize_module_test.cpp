// The FakeQuantize module: its forward is the kernels' reference math, its state survives a save,
// and inserted into a captured model it trains with torch::optim like any parameter.

#include "nncf/algorithms/quantization/fake_quantize.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <sstream>

#include "nncf/capture/capture.h"
#include "nncf/runtime/compressed_model.h"

namespace nncf::quantization {
namespace {

TEST(FakeQuantizeModule, SymmetricMatchesTheReferenceMath) {
  FakeQuantize fq(FakeQuantizeOptions().is_signed(true));
  {
    torch::NoGradGuard no_grad;
    fq->scale.fill_(2.5);
  }
  auto x = torch::randn({4, 3, 5, 5}) * 2;
  auto want = kernels::reference::fake_quantize_symmetric(x, fq->scale.abs() + 1e-16, -128, 127, 1);
  EXPECT_TRUE(torch::equal(fq->forward(x), want));
  EXPECT_EQ(fq->forward(torch::zeros({3})).abs().max().item<float>(), 0.0f);
}

TEST(FakeQuantizeModule, AsymmetricPerChannelWeightsMatchTheReferenceMath) {
  FakeQuantize fq(FakeQuantizeOptions().mode(QuantizationMode::Asymmetric).channels(6).axis(0).bits(4));
  auto w = torch::randn({6, 3, 3, 3});
  fq->set_range(std::get<0>(w.reshape({6, -1}).min(1)), std::get<0>(w.reshape({6, -1}).max(1)));
  auto want =
      kernels::reference::fake_quantize_asymmetric(w, fq->input_low, fq->input_range.abs() + 1e-16, 16, 0);
  auto got = fq->forward(w);
  EXPECT_TRUE(torch::allclose(got, want));
  for (int64_t c = 0; c < 6; ++c) EXPECT_LE(std::get<0>(at::_unique(got[c])).numel(), 16) << "channel " << c;
}

TEST(FakeQuantizeModule, DisabledIsIdentityAndBitsChangeAtRunTime) {
  FakeQuantize fq(FakeQuantizeOptions().is_signed(true));
  auto x = torch::randn({1000});
  fq->set_enabled(false);
  EXPECT_TRUE(fq->forward(x).is_same(x));
  fq->set_enabled(true);
  EXPECT_GT(std::get<0>(at::_unique(fq->forward(x))).numel(), 16);
  fq->set_bits(4);
  EXPECT_EQ(fq->levels().low, -8);
  EXPECT_EQ(fq->levels().high, 7);
  EXPECT_LE(std::get<0>(at::_unique(fq->forward(x))).numel(), 16);
  EXPECT_THROW(fq->set_bits(9), c10::Error);
}

TEST(FakeQuantizeModule, StateSurvivesSaveAndLoad) {
  FakeQuantize saved(FakeQuantizeOptions().channels(3));
  saved->set_bits(5);
  saved->set_signed(true);
  {
    torch::NoGradGuard no_grad;
    saved->scale.copy_(torch::tensor({0.5f, 1.5f, 3.0f}));
  }
  std::stringstream buffer;
  torch::save(saved, buffer);
  FakeQuantize loaded(FakeQuantizeOptions().channels(3));
  torch::load(loaded, buffer);
  EXPECT_EQ(loaded->bits(), 5);
  EXPECT_TRUE(loaded->is_signed());
  auto x = torch::randn({2, 3, 4});
  EXPECT_TRUE(torch::equal(loaded->forward(x), saved->forward(x)));
}

struct TinyNetImpl : torch::nn::Module {
  TinyNetImpl() {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).padding(1)));
    fc = register_module("fc", torch::nn::Linear(4, 2));
  }
  torch::Tensor forward(torch::Tensor x) { return fc(torch::relu(conv(x)).mean({2, 3})); }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(TinyNet);

TEST(FakeQuantizeModule, LogarithmScaleTrainsTheLogOfTheRange) {
  FakeQuantize sym(FakeQuantizeOptions().is_signed(true).logarithm_scale(true));
  ASSERT_NE(sym->named_parameters().find("log_scale"), nullptr);
  EXPECT_EQ(sym->named_parameters().find("scale"), nullptr);
  EXPECT_FLOAT_EQ(sym->scale_value().item<float>(), 1.0f) << "starts at scale 1 like the linear form";
  sym->set_range(torch::tensor({-0.5f}), torch::tensor({2.0f}));
  EXPECT_NEAR(sym->scale.item<float>(), std::log(2.0f), 1e-6);
  auto x = (torch::randn({4, 8}) * 2).requires_grad_();
  auto want = kernels::reference::fake_quantize_symmetric(x.detach(), torch::tensor({2.0f}), -128, 127, 1);
  auto y = sym->forward(x);
  EXPECT_TRUE(torch::allclose(y, want, 1e-6, 1e-6));
  // d/dlog_scale = d/dscale * scale.
  y.sum().backward();
  FakeQuantize linear(FakeQuantizeOptions().is_signed(true));
  {
    torch::NoGradGuard no_grad;
    linear->scale.fill_(2.0);
  }
  linear->forward(x.detach()).sum().backward();
  EXPECT_NEAR(sym->scale.grad().item<float>(), linear->scale.grad().item<float>() * 2.0f, 1e-3);

  FakeQuantize asym(FakeQuantizeOptions().mode(QuantizationMode::Asymmetric).logarithm_scale(true));
  ASSERT_NE(asym->named_parameters().find("log_input_range"), nullptr);
  asym->set_range(torch::tensor({-1.0f}), torch::tensor({3.0f}));
  EXPECT_NEAR(asym->input_range_value().item<float>(), 4.0f, 1e-5);
  asym->set_range(torch::tensor({0.0f}), torch::tensor({0.0f}));
  EXPECT_GT(asym->input_range_value().item<float>(), 0.0f) << "an empty range never gives log(0)";
}

TEST(FakeQuantizeModule, BuiltinOpsGiveTheSameGrid) {
  torch::manual_seed(0);
  FakeQuantize sym(FakeQuantizeOptions().is_signed(true));
  FakeQuantize per_channel(FakeQuantizeOptions().is_signed(true).channels(6).axis(0).bits(7));
  FakeQuantize asym(FakeQuantizeOptions().mode(QuantizationMode::Asymmetric).bits(4));
  sym->set_range(torch::tensor({-2.0f}), torch::tensor({1.5f}));
  per_channel->set_range(-torch::rand({6}) - 0.5, torch::rand({6}) + 0.5);
  asym->set_range(torch::tensor({-0.7f}), torch::tensor({2.3f}));
  const torch::Tensor x = torch::randn({6, 5, 7, 3}) * 1.5;
  for (FakeQuantize* fq : {&sym, &per_channel, &asym}) {
    const torch::Tensor fused = (*fq)->forward(x);
    torch::Tensor builtin;
    {
      BuiltinFakeQuantizeGuard guard;
      builtin = (*fq)->forward(x);
    }
    const torch::Tensor step = (*fq)->affine_params().step.max();
    EXPECT_LE((fused - builtin).abs().max().item<float>(), step.item<float>() * 1.0001f) << **fq;
    EXPECT_GT(fused.eq(builtin).to(torch::kFloat).mean().item<float>(), 0.999f) << **fq;
  }
  // Back to the nncf:: operators once the guard is gone.
  EXPECT_TRUE(
      torch::equal(sym->forward(x), kernels::fake_quantize_symmetric(x, sym->scale_value(), -128, 127, 1)));
}

TEST(FakeQuantizeModule, TrainsInsideACompressedModel) {
  TinyNet net;
  auto cap = capture::capture_module(net, {torch::randn({2, 3, 6, 6})});
  runtime::CompressedModel model(std::move(cap.graph), cap.tensors);
  FakeQuantize weights(FakeQuantizeOptions().channels(4).axis(0).is_signed(true));
  FakeQuantize activations;
  model->insert(runtime::InsertionPoint::weight("conv.weight"), torch::nn::AnyModule(weights), "conv_weight");
  model->insert(runtime::InsertionPoint::pre_op("fc", 0), torch::nn::AnyModule(activations), "fc_input");
  ASSERT_NE(model->named_parameters().find("nncf_hooks.conv_weight.scale"), nullptr);
  ASSERT_NE(model->named_buffers().find("nncf_hooks.fc_input.num_bits"), nullptr);

  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.1));
  const auto before = weights->scale.clone();
  auto x = torch::randn({8, 3, 6, 6});
  auto loss = model->forward(x).pow(2).sum();
  opt.zero_grad();
  loss.backward();
  ASSERT_TRUE(weights->scale.grad().defined());
  EXPECT_GT(weights->scale.grad().abs().sum().item<float>(), 0.0f);
  ASSERT_TRUE(activations->scale.grad().defined());
  opt.step();
  EXPECT_FALSE(torch::equal(weights->scale, before));
  // The quantized model differs from the float one, and only through the inserted modules.
  torch::NoGradGuard no_grad;
  EXPECT_FALSE(torch::allclose(model->forward(x), net->forward(x)));
  weights->set_enabled(false);
  activations->set_enabled(false);
  EXPECT_TRUE(torch::allclose(model->forward(x), net->forward(x), 1e-6, 1e-6));
}

}  // namespace
}  // namespace nncf::quantization
