// ONNX export: the files pass onnx::checker and hold the expected ops (batch_norm folded where it
// may be), inserted modules are evaluated or handed to exporters, errors name what cannot be
// written, and a failed export leaves an existing file alone.

#include "nncf/export/onnx.h"

#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <dirent.h>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "nncf/capture/capture.h"
#include "nncf/ir/printer.h"
#include "support/errors.h"
#include "support/models.h"

namespace nncf::exporting {
namespace {

using runtime::CompressedModel;
using runtime::InsertionPoint;

std::string temp(const std::string& name) {
  return ::testing::TempDir() + "/nncf_onnx_" + name;
}

onnx::ModelProto load(const std::string& path) {
  onnx::ModelProto m;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(m.ParseFromIstream(&in)) << path;
  return m;
}

std::map<std::string, int> op_counts(const onnx::ModelProto& m) {
  std::map<std::string, int> out;
  for (const auto& n : m.graph().node()) ++out[n.op_type()];
  return out;
}

template <typename Net>
CompressedModel compress(Net& net, const torch::Tensor& example) {
  capture::Captured c = capture::capture_module(net, {example});
  return CompressedModel(std::move(c.graph), c.tensors);
}

// Exports, checks and reads back; the input is batch-symbolic.
onnx::ModelProto export_and_load(CompressedModel& model, const std::string& name, OnnxOptions options = {},
                                 const std::vector<HookExporter>& exporters = {}) {
  const std::string path = temp(name + ".onnx");
  export_onnx(model, path, options, exporters);
  onnx::ModelProto m = load(path);
  EXPECT_NO_THROW(onnx::checker::check_model(m));
  std::remove(path.c_str());
  return m;
}

TEST(OnnxExport, SmallCNNFoldsBatchNormAndNamesIO) {
  testing::SmallCNN net(testing::SmallCNNOptions().in_channels(3));
  CompressedModel model = compress(net, torch::randn({2, 3, 16, 16}));
  model->train();
  onnx::ModelProto m =
      export_and_load(model, "small_cnn", OnnxOptions{13, {"image"}, {"logits"}, {{-1, 3, 16, 16}}});
  EXPECT_TRUE(model->is_training()) << "the model's mode is restored";
  auto ops = op_counts(m);
  EXPECT_EQ(ops["Conv"], 2);
  EXPECT_EQ(ops.count("BatchNormalization"), 0u);
  EXPECT_EQ(ops.count("Dropout"), 0u);
  EXPECT_EQ(ops["Relu"], 2);
  EXPECT_EQ(ops["MaxPool"], 1);
  EXPECT_EQ(ops["GlobalAveragePool"], 1);
  EXPECT_EQ(ops["Gemm"], 1) << "a linear on a 2-D input is a Gemm";
  ASSERT_EQ(m.graph().input_size(), 1);
  EXPECT_EQ(m.graph().input(0).name(), "image");
  EXPECT_EQ(m.graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "batch");
  ASSERT_EQ(m.graph().output_size(), 1);
  EXPECT_EQ(m.graph().output(0).name(), "logits");
  EXPECT_EQ(m.graph().output(0).type().tensor_type().shape().dim(0).dim_param(), "batch");
  EXPECT_EQ(m.graph().output(0).type().tensor_type().shape().dim(1).dim_value(), 10);
  EXPECT_EQ(m.opset_import(0).version(), 13);
}

TEST(OnnxExport, ResNetAndMobileNetFoldEveryBatchNorm) {
  testing::ResNet18 resnet(testing::ResNet18Options().base_width(8));
  CompressedModel r = compress(resnet, torch::randn({2, 3, 16, 16}));
  const OnnxOptions options{13, {}, {}, {{-1, 3, 16, 16}}};
  auto ops = op_counts(export_and_load(r, "resnet18", options));
  EXPECT_EQ(ops["Conv"], 20);
  EXPECT_EQ(ops.count("BatchNormalization"), 0u);
  EXPECT_EQ(ops["Add"], 8);

  testing::MobileNetV2 mobilenet(testing::MobileNetV2Options().width_mult(0.25));
  CompressedModel mb = compress(mobilenet, torch::randn({2, 3, 16, 16}));
  ops = op_counts(export_and_load(mb, "mobilenet_v2", options));
  EXPECT_EQ(ops.count("BatchNormalization"), 0u);
  EXPECT_GT(ops["Clip"], 0) << "relu6";
}

// ---- inserted modules ----

struct ScaleImpl : torch::nn::Cloneable<ScaleImpl> {
  explicit ScaleImpl(double s = 2) : s(s) {}
  void reset() override {}
  torch::Tensor forward(const torch::Tensor& x) { return x * s; }
  double s;
};
TORCH_MODULE(Scale);

HookExporter scale_exporter() {
  return {[](const torch::nn::Module& m, const std::string& input, OnnxBuilder& b,
             const WeightInput* weight) -> std::optional<std::string> {
            const auto* scale = dynamic_cast<const ScaleImpl*>(&m);
            if (scale == nullptr || weight) return std::nullopt;
            return b.add("Mul", {input, b.add_float_scalar("scale", static_cast<float>(scale->s))}, {},
                         "scaled");
          },
          {}};
}

TEST(OnnxExport, ActivationHookNeedsAnExporter) {
  testing::SmallCNN net(testing::SmallCNNOptions().in_channels(3));
  CompressedModel model = compress(net, torch::randn({2, 3, 8, 8}));
  model->insert(InsertionPoint::post_op("conv1"), torch::nn::AnyModule(Scale(3)), "conv1_scale");
  const OnnxOptions options{13, {}, {}, {{-1, 3, 8, 8}}};
  const std::string e = testing::error_of([&] { export_onnx(model, temp("hook.onnx"), options); });
  EXPECT_NE(e.find("conv1_scale"), std::string::npos) << e;
  EXPECT_NE(e.find("post_op(conv1"), std::string::npos) << e;

  auto m = export_and_load(model, "hooked", options, {scale_exporter()});
  auto ops = op_counts(m);
  EXPECT_EQ(ops["BatchNormalization"], 1) << "no folding across an inserted module";
  EXPECT_EQ(ops["Conv"], 2);
  bool found = false;
  for (const auto& n : m.graph().node()) found = found || (n.op_type() == "Mul" && n.input(0) == "conv1");
  EXPECT_TRUE(found) << "the exporter's Mul sits on the conv1 output";
}

TEST(OnnxExport, WeightHooksAreEvaluatedIntoTheInitializer) {
  testing::SmallCNN net(testing::SmallCNNOptions().in_channels(3));
  CompressedModel model = compress(net, torch::randn({2, 3, 8, 8}));
  model->insert(InsertionPoint::weight("fc.weight"), torch::nn::AnyModule(Scale(0)), "fc_mask");
  auto m = export_and_load(model, "masked", OnnxOptions{13, {}, {}, {{-1, 3, 8, 8}}});
  bool found = false;
  for (const auto& t : m.graph().initializer()) {
    if (t.name() != "fc.weight") continue;
    found = true;
    const float* p = reinterpret_cast<const float*>(t.raw_data().data());
    for (size_t i = 0; i < t.raw_data().size() / 4; ++i) ASSERT_EQ(p[i], 0.f);
  }
  EXPECT_TRUE(found);
}

// ---- ops from IR text ----

CompressedModel from_text(const char* text, std::map<std::string, torch::Tensor> tensors) {
  return CompressedModel(ir::parse_graph(text), tensors);
}

TEST(OnnxExport, UnsupportedOpNamesNodeOpAndScope) {
  CompressedModel model = from_text(R"IR(
graph(%x : Tensor):
  %y = aten::erfinv(%x)  # scope=block.inverse
  return (%y)
)IR",
                                    {});
  const std::string e = testing::error_of([&] {
    export_onnx(model, temp("bad.onnx"), OnnxOptions{13, {}, {}, {{-1, 3}}});
  });
  EXPECT_NE(e.find("block.inverse"), std::string::npos) << e;
  EXPECT_NE(e.find("aten::erfinv"), std::string::npos) << e;
}

TEST(OnnxExport, FailedExportLeavesTheFileUnchanged) {
  const std::string path = temp("atomic.onnx");
  std::ofstream(path) << "previous export";
  CompressedModel model = from_text(R"IR(
graph(%x : Tensor):
  %y = aten::erfinv(%x)  # scope=inverse
  return (%y)
)IR",
                                    {});
  EXPECT_THROW(export_onnx(model, path, OnnxOptions{13, {}, {}, {{-1, 3}}}), c10::Error);
  std::stringstream s;
  s << std::ifstream(path).rdbuf();
  EXPECT_EQ(s.str(), "previous export");
  // No temporary file is left behind.
  DIR* dir = opendir(::testing::TempDir().c_str());
  ASSERT_NE(dir, nullptr);
  while (dirent* e = readdir(dir))
    EXPECT_EQ(std::string(e->d_name).find("nncf_onnx_atomic.onnx.tmp"), std::string::npos);
  closedir(dir);
  std::remove(path.c_str());
}

TEST(OnnxExport, ConvForms) {
  // conv1d with "same" padding (asymmetric for an even kernel), groups and dilation; a conv2d
  // with a bias whose output has two uses keeps its BatchNormalization.
  CompressedModel model = from_text(R"IR(
graph(%x : Tensor, %w1 : Tensor [param], %w2 : Tensor [param], %b2 : Tensor [param],
      %g : Tensor [param], %bb : Tensor [param], %m : Tensor [buffer], %v : Tensor [buffer]):
  %a = aten::conv1d.padding(%x, %w1, None, [1], "same", [2], 2)  # scope=conv_same
  %n : int = aten::size.int(%a, 0)  # scope=size
  %s : int[] = prim::ListConstruct(%n, 4, 2, 8)  # scope=shape
  %r = aten::view(%a, %s)  # scope=view
  %c = aten::conv2d(%r, %w2, %b2, [1, 1], [0, 0], [1, 1], 1)  # scope=conv2
  %bn = aten::batch_norm(%c, %g, %bb, %m, %v, false, 0.1, 1e-05, true)  # scope=bn
  %y = aten::add.Tensor(%bn, %c, 1)  # scope=add
  return (%y)
)IR",
                                    {{"w1", torch::randn({8, 2, 4})},
                                     {"w2", torch::randn({3, 4, 1, 1})},
                                     {"b2", torch::randn({3})},
                                     {"g", torch::rand({3})},
                                     {"bb", torch::randn({3})},
                                     {"m", torch::randn({3})},
                                     {"v", torch::rand({3}) + 0.5}});
  auto m = export_and_load(model, "conv_forms", OnnxOptions{13, {}, {}, {{-1, 4, 16}}});
  auto ops = op_counts(m);
  EXPECT_EQ(ops["BatchNormalization"], 1);
  const auto& conv = m.graph().node(0);
  ASSERT_EQ(conv.op_type(), "Conv");
  for (const auto& a : conv.attribute()) {
    if (a.name() == "pads")
      EXPECT_EQ(std::vector<int64_t>(a.ints().begin(), a.ints().end()), (std::vector<int64_t>{3, 3}));
    if (a.name() == "group") EXPECT_EQ(a.i(), 2);
  }
}

// ---- torchvision TorchScript models ----

std::string model_file(const std::string& name) {
  const char* dir = std::getenv("NNCF_TEST_MODELS_DIR");
  return dir == nullptr ? std::string() : std::string(dir) + "/" + name + ".pt";
}

class OnnxTorchvisionTest : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxTorchvisionTest, ExportsAndChecks) {
  const std::string path = model_file(GetParam());
  ASSERT_TRUE(std::ifstream(path).good())
      << path << " is missing; run through ctest (make_torchscript_models)";
  const bool vit = GetParam().rfind("vit", 0) == 0;
  const int64_t size = 32;
  capture::Captured c = capture::capture_torchscript_file(path, {torch::randn({2, 3, size, size})});
  CompressedModel model(std::move(c.graph), c.tensors);
  auto ops = op_counts(export_and_load(model, GetParam(), OnnxOptions{13, {}, {}, {{-1, 3, size, size}}}));
  if (!vit && GetParam().rfind("densenet", 0) != 0) {
    EXPECT_EQ(ops.count("BatchNormalization"), 0u) << "every batch_norm follows a conv";
  }
  EXPECT_GT(ops[vit ? "MatMul" : "Conv"], 0);
}

INSTANTIATE_TEST_SUITE_P(OnnxTorchvision, OnnxTorchvisionTest,
                         ::testing::Values("resnet18_traced", "resnet18_scripted", "mobilenet_v2_traced",
                                           "mobilenet_v3_small_scripted", "squeezenet1_1_traced",
                                           "densenet121_traced", "googlenet_scripted",
                                           "shufflenet_v2_x0_5_traced", "shufflenet_v2_x0_5_scripted",
                                           "efficientnet_b0_scripted", "efficientnet_b0_traced",
                                           "vit_tiny_traced", "vit_tiny_scripted"));

}  // namespace
}  // namespace nncf::exporting
