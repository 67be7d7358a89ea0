// FP32 ONNX exports run in ONNX Runtime and agree with our eval-mode output (max abs diff <= 1e-4),
// at a batch size other than the one the model was captured with (the batch axis is dynamic).

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <ostream>

#include "nncf/capture/capture.h"
#include "nncf/export/onnx.h"
#include "nncf/ir/printer.h"
#include "support/models.h"
#include "support/ort.h"

namespace nncf::exporting {
namespace {

using runtime::CompressedModel;

constexpr double kTolerance = 1e-4;

// Exports `model` (captured at batch 2) and runs it in ORT at batch 3.
void expect_ort_matches(CompressedModel& model, const std::string& name, std::vector<int64_t> shape) {
  const std::string path = ::testing::TempDir() + "/nncf_ort_" + name + ".onnx";
  shape[0] = -1;
  export_onnx(model, path, OnnxOptions{13, {"input"}, {}, {shape}});
  shape[0] = 3;
  torch::manual_seed(7);
  const torch::Tensor x = torch::randn(shape);
  model->eval();
  torch::Tensor ours;
  {
    torch::NoGradGuard no_grad;
    c10::IValue out = model->forward(std::vector<c10::IValue>{x});
    // googlenet's scripted forward returns (logits, None, None).
    ours = out.isTuple() ? out.toTupleRef().elements()[0].toTensor() : out.toTensor();
  }
  const std::vector<at::Tensor> theirs = testing::run_onnxruntime(path, {{"input", x}});
  std::remove(path.c_str());
  ASSERT_EQ(theirs.size(), 1u);
  ASSERT_EQ(theirs[0].sizes(), ours.sizes());
  const double diff = (theirs[0] - ours).abs().max().item<double>();
  EXPECT_LE(diff, kTolerance) << name;
  std::printf("[ ORT      ] %s: max abs diff %.3g (|y| max %.3g)\n", name.c_str(), diff,
              ours.abs().max().item<double>());
}

template <typename Net>
CompressedModel compress(Net& net, std::vector<int64_t> shape) {
  shape[0] = 2;
  capture::Captured c = capture::capture_module(net, {torch::randn(shape)});
  return CompressedModel(std::move(c.graph), c.tensors);
}

// Running statistics that are not the defaults, so that folding is really tested.
void randomize_batch_norms(torch::nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& b : m.named_buffers()) {
    if (b.key().find("running_mean") != std::string::npos) b.value().normal_(0, 0.2);
    if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 1.5);
  }
  for (auto& p : m.named_parameters()) {
    if (p.key().find("bn") != std::string::npos && p.value().dim() == 1) p.value().uniform_(0.5, 1.5);
  }
}

TEST(OnnxOrt, SmallCNN) {
  testing::SmallCNN net(testing::SmallCNNOptions().in_channels(3));
  randomize_batch_norms(*net);
  CompressedModel model = compress(net, {2, 3, 16, 16});
  expect_ort_matches(model, "small_cnn", {2, 3, 16, 16});
}

TEST(OnnxOrt, ResNet18) {
  testing::ResNet18 net(testing::ResNet18Options().base_width(16));
  randomize_batch_norms(*net);
  CompressedModel model = compress(net, {2, 3, 32, 32});
  expect_ort_matches(model, "resnet18", {2, 3, 32, 32});
}

TEST(OnnxOrt, MobileNetV2) {
  testing::MobileNetV2 net(testing::MobileNetV2Options().width_mult(0.5));
  randomize_batch_norms(*net);
  CompressedModel model = compress(net, {2, 3, 32, 32});
  expect_ort_matches(model, "mobilenet_v2", {2, 3, 32, 32});
}

// Op forms the models above do not use: conv1d with "same" padding (asymmetric for an even
// kernel), groups and dilation; a view built from the batch size; an unfoldable batch_norm; adaptive
// pooling to 2x2; leaky_relu, gelu (tanh form), hardswish, layer_norm, slice with a computed end,
// flatten from dim 2.
TEST(OnnxOrt, OpForms) {
  torch::manual_seed(3);
  CompressedModel model(ir::parse_graph(R"IR(
graph(%x : Tensor, %w1 : Tensor [param], %w2 : Tensor [param], %b2 : Tensor [param],
      %g : Tensor [param], %bb : Tensor [param], %m : Tensor [buffer], %v : Tensor [buffer]):
  %a = aten::conv1d.padding(%x, %w1, None, [1], "same", [2], 2)  # scope=conv_same
  %n : int = aten::size.int(%a, 0)  # scope=size
  %s : int[] = prim::ListConstruct(%n, 4, 2, -1)  # scope=shape
  %r = aten::view(%a, %s)  # scope=view
  %c = aten::conv2d(%r, %w2, %b2, [1, 1], [0, 0], [1, 1], 1)  # scope=conv2
  %bn = aten::batch_norm(%c, %g, %bb, %m, %v, false, 0.1, 1e-05, true)  # scope=bn
  %l = aten::leaky_relu(%c, 0.2)  # scope=leaky
  %y = aten::add.Tensor(%bn, %l, 0.5)  # scope=add
  %p = aten::adaptive_avg_pool2d(%y, [1, 4])  # scope=pool
  %h = aten::hardswish(%p)  # scope=hswish
  %e = aten::gelu(%h, "tanh")  # scope=gelu
  %ln = aten::layer_norm(%e, [4], None, None, 1e-05, true)  # scope=ln
  %k : int = aten::sub.int(%n, 1)  # scope=sub
  %sl = aten::slice.Tensor(%ln, 0, 0, %k, 1)  # scope=slice
  %f = aten::flatten.using_ints(%sl, 2, -1)  # scope=flatten
  return (%f)
)IR"),
                        std::map<std::string, torch::Tensor>{{"w1", torch::randn({8, 2, 4})},
                                                             {"w2", torch::randn({3, 4, 1, 1})},
                                                             {"b2", torch::randn({3})},
                                                             {"g", torch::rand({3})},
                                                             {"bb", torch::randn({3})},
                                                             {"m", torch::randn({3})},
                                                             {"v", torch::rand({3}) + 0.5}});
  expect_ort_matches(model, "op_forms", {2, 4, 16});
}

// Adaptive pooling that is not an even split (8 -> 3): each output cell is the mean over PyTorch's
// window [floor(i * 8 / 3), ceil((i + 1) * 8 / 3)).
TEST(OnnxOrt, UnevenAdaptivePooling) {
  CompressedModel model(ir::parse_graph(R"IR(
graph(%x : Tensor):
  %p = aten::adaptive_avg_pool2d(%x, [3, 3])  # scope=pool
  return (%p)
)IR"),
                        std::map<std::string, torch::Tensor>{});
  expect_ort_matches(model, "uneven_pool", {2, 2, 8, 8});
}

// A TorchScript file of tests/support/make_torchscript.py and the spatial size it was traced at.
struct TorchvisionFile {
  std::string name;
  int64_t size = 32;  ///< make_torchscript.py's SIZE, or its SIZES entry
};

// gtest prints a parameter by its name.
void PrintTo(const TorchvisionFile& f, std::ostream* os) {
  *os << f.name;
}

class OnnxOrtTorchvisionTest : public ::testing::TestWithParam<TorchvisionFile> {};

TEST_P(OnnxOrtTorchvisionTest, MatchesEvalOutput) {
  const char* dir = std::getenv("NNCF_TEST_MODELS_DIR");
  const TorchvisionFile& file = GetParam();
  const std::string path = std::string(dir == nullptr ? "" : dir) + "/" + file.name + ".pt";
  ASSERT_TRUE(std::ifstream(path).good())
      << path << " is missing; run through ctest (make_torchscript_models)";
  const std::vector<int64_t> shape = {2, 3, file.size, file.size};
  torch::manual_seed(0);
  capture::Captured c = capture::capture_torchscript_file(path, {torch::randn(shape)});
  CompressedModel model(std::move(c.graph), c.tensors);
  // torchvision zero-initializes some heads (vit): random values make the comparison mean something.
  torch::NoGradGuard no_grad;
  for (auto& p : model->parameters()) {
    if (p.abs().max().item<double>() == 0) p.normal_(0, 0.1);
  }
  expect_ort_matches(model, file.name, shape);
}

// swin_t: aten::index of its relative position bias, roll, and an attention mask computed from
// constants; alexnet and vgg11_bn at 64x64: adaptive average pooling from 1x1 to 6x6 and from 2x2 to
// 7x7.
INSTANTIATE_TEST_SUITE_P(
    OnnxOrtTorchvision, OnnxOrtTorchvisionTest,
    ::testing::Values(TorchvisionFile{"resnet18_traced"}, TorchvisionFile{"resnet18_scripted"},
                      TorchvisionFile{"mobilenet_v2_traced"}, TorchvisionFile{"mobilenet_v3_small_traced"},
                      TorchvisionFile{"mobilenet_v3_small_scripted"}, TorchvisionFile{"densenet121_traced"},
                      TorchvisionFile{"shufflenet_v2_x0_5_traced"},
                      TorchvisionFile{"shufflenet_v2_x0_5_scripted"},
                      TorchvisionFile{"squeezenet1_1_scripted"}, TorchvisionFile{"googlenet_traced"},
                      TorchvisionFile{"googlenet_scripted"}, TorchvisionFile{"efficientnet_b0_traced"},
                      TorchvisionFile{"efficientnet_b0_scripted"}, TorchvisionFile{"vit_tiny_traced"},
                      TorchvisionFile{"vit_tiny_scripted"}, TorchvisionFile{"swin_t_traced"},
                      TorchvisionFile{"swin_t_scripted"}, TorchvisionFile{"alexnet_traced", 64},
                      TorchvisionFile{"vgg11_bn_traced", 64}),
    [](const ::testing::TestParamInfo<TorchvisionFile>& info) { return info.param.name; });

}  // namespace
}  // namespace nncf::exporting
