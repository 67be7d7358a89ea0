// End-to-end equivalence of the C++ test models (tests/support/models.h) and their captures run
// by runtime::CompressedModel: capture at batch 2 (traced at 7 and 11), compare at batch 5.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "nncf/ir/printer.h"
#include "support/equivalence.h"
#include "support/models.h"

namespace nncf::testing {
namespace {

constexpr int64_t kExampleBatch = 2;
constexpr int64_t kTestBatch = 5;

/// Prepares `net` (BatchNorm state), then captures it from a batch-2 example and checks the
/// capture at batch 5. `shapes` are the per-sample input shapes.
template <size_t N, typename Holder>
void check_model(const std::string& label, Holder& net, const std::vector<std::vector<int64_t>>& shapes) {
  ASSERT_EQ(shapes.size(), N);
  torch::manual_seed(0);
  auto batch = [&](int64_t b) {
    std::vector<torch::Tensor> in;
    for (auto shape : shapes) {
      shape.insert(shape.begin(), b);
      in.push_back(torch::randn(shape));
    }
    return in;
  };
  const std::vector<torch::Tensor> example = batch(kExampleBatch), inputs = batch(kTestBatch);
  const capture::Forward forward = forward_of<N>(net);
  prepare_batch_norm(*net, forward, example);
  expect_capture_equivalent(
      label, subject(*net, forward), [&] { return capture::capture_module(net, example); }, inputs);
}

// Runs different ops in the two modes: stochastic depth (a random keep mask) in training, a
// clamp in eval only.
struct ModeOpsNetImpl : torch::nn::Module {
  ModeOpsNetImpl() {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 3).padding(1)));
    bn = register_module("bn", torch::nn::BatchNorm2d(8));
    fc = register_module("fc", torch::nn::Linear(8, 4));
  }
  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor y = torch::relu(bn(conv(x)));
    if (is_training()) {
      torch::Tensor keep = torch::empty({y.size(0), 1, 1, 1}).bernoulli_(0.75).div_(0.75);
      y = y * keep;
    } else {
      y = torch::clamp(y, 0.0, 3.0);
    }
    return fc(y.mean({2, 3}));
  }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(ModeOpsNet);

TEST(ModelsTest, OpsThatOnlyOneModeRuns) {
  ModeOpsNet net;
  check_model<1>("ModeOpsNet 3x8x8", net, {{3, 8, 8}});
  const std::string text = ir::to_text(capture::capture_module(net, {torch::randn({2, 3, 8, 8})}).graph);
  EXPECT_NE(text.find("aten::clamp(%"), std::string::npos) << text;
  EXPECT_NE(text.find(" eval_only"), std::string::npos) << text;
  EXPECT_NE(text.find(" train_only"), std::string::npos) << text;
  EXPECT_NE(text.find("prim::ModeSelect(%training"), std::string::npos) << text;
}

// A buffer updated with alpha 0.5 in training only, an RReLU (random slopes in training), and a
// comparison done in place (which keeps the float dtype: `gt` out of place would not).
struct QuirkyOpsNetImpl : torch::nn::Module {
  QuirkyOpsNetImpl() {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).padding(1)));
    rrelu = register_module("rrelu", torch::nn::RReLU());
    ema = register_buffer("ema", torch::zeros({4}));
  }
  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor y = rrelu(conv(x));
    if (is_training()) ema.add_(y.mean({0, 2, 3}).detach(), 0.5);
    torch::Tensor mask = y.clone();
    mask.gt_(0.1);
    return (y * mask + ema.view({1, 4, 1, 1})).mean({2, 3});
  }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::RReLU rrelu{nullptr};
  torch::Tensor ema;
};
TORCH_MODULE(QuirkyOpsNet);

TEST(ModelsTest, BufferUpdatesRReLUAndInPlaceComparisons) {
  QuirkyOpsNet net;
  check_model<1>("QuirkyOpsNet 3x6x6", net, {{3, 6, 6}});
}

TEST(ModelsTest, SmallCNNMnist) {
  SmallCNN net(SmallCNNOptions().width(8));
  check_model<1>("SmallCNN 1x28x28", net, {{1, 28, 28}});
}

TEST(ModelsTest, SmallCNNCifar) {
  SmallCNN net(SmallCNNOptions().in_channels(3).width(8));
  check_model<1>("SmallCNN 3x32x32", net, {{3, 32, 32}});
}

TEST(ModelsTest, ResNet18Cifar) {
  ResNet18 net(ResNet18Options().base_width(8));
  check_model<1>("ResNet18 3x32x32", net, {{3, 32, 32}});
}

TEST(ModelsTest, ResNet18FashionMnist) {
  ResNet18 net(ResNet18Options().in_channels(1).base_width(8));
  check_model<1>("ResNet18 1x28x28", net, {{1, 28, 28}});
}

TEST(ModelsTest, ResNet18ImageNetStem) {
  ResNet18 net(ResNet18Options().base_width(8).cifar_stem(false).num_classes(20));
  check_model<1>("ResNet18 imagenet-stem 3x48x48", net, {{3, 48, 48}});
}

TEST(ModelsTest, MobileNetV2) {
  MobileNetV2 net(MobileNetV2Options().width_mult(0.25).last_channel(128));
  check_model<1>("MobileNetV2 3x32x32", net, {{3, 32, 32}});
}

TEST(ModelsTest, TwoInputNet) {
  TwoInputNet net;
  check_model<2>("TwoInputNet", net, {{1, 8, 8}, {6}});
}

// The models themselves: parameter names follow torchvision, so that dotted names in configs
// and reports read the same as in Python.
TEST(ModelsTest, TorchvisionNames) {
  ResNet18 resnet(ResNet18Options().base_width(8));
  const auto rp = resnet->named_parameters();
  EXPECT_NE(rp.find("layer1.0.conv1.weight"), nullptr);
  EXPECT_NE(rp.find("layer2.0.downsample.0.weight"), nullptr);
  EXPECT_NE(rp.find("layer2.0.downsample.1.bias"), nullptr);
  EXPECT_EQ(rp.find("layer1.0.downsample.0.weight"), nullptr);  // no downsample where shapes keep
  EXPECT_NE(rp.find("fc.weight"), nullptr);
  EXPECT_EQ(resnet->named_buffers().find("layer4.1.bn2.num_batches_tracked")->numel(), 1);

  MobileNetV2 mobilenet(MobileNetV2Options().width_mult(0.25));
  const auto mp = mobilenet->named_parameters();
  EXPECT_NE(mp.find("features.0.0.weight"), nullptr);
  EXPECT_EQ(mp.find("features.1.conv.0.0.weight")->size(1), 1);  // expand 1: first conv is depthwise
  EXPECT_NE(mp.find("features.2.conv.3.weight"), nullptr);       // project conv after expand + dw
  EXPECT_NE(mp.find("classifier.1.weight"), nullptr);
  EXPECT_EQ(mp.find("classifier.1.weight")->size(1), 1280);
}

// clone() (Cloneable::reset) rebuilds the same tree.
TEST(ModelsTest, CloneKeepsStructure) {
  ResNet18 net(ResNet18Options().base_width(8));
  auto copy = std::dynamic_pointer_cast<ResNet18Impl>(net->clone());
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->named_parameters().keys(), net->named_parameters().keys());
  EXPECT_TRUE(copy->fc->weight.equal(net->fc->weight));
  EXPECT_FALSE(copy->fc->weight.is_same(net->fc->weight));
}

}  // namespace
}  // namespace nncf::testing
