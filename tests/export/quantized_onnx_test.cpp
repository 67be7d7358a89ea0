// Quantized ONNX exports through ctrl->export_model: QuantizeLinear/DequantizeLinear graphs run in
// ONNX Runtime and reproduce our fake-quantized output (argmax agreement, every element within a
// quantization step of the output scale); the default export writes OpenVINO's FakeQuantize.

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>

#include "nncf/algorithms/quantization/controller.h"
#include "nncf/api/compression.h"
#include "support/errors.h"
#include "support/models.h"
#include "support/ort.h"

namespace nncf::exporting {
namespace {

std::string temp(const std::string& name) {
  return ::testing::TempDir() + "/nncf_q_" + name;
}

onnx::ModelProto read_model(const std::string& path) {
  onnx::ModelProto m;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(m.ParseFromIstream(&in)) << path;
  return m;
}

std::map<std::string, int> op_counts(const onnx::ModelProto& m) {
  std::map<std::string, int> counts;
  for (const auto& n : m.graph().node())
    counts[n.domain().empty() ? n.op_type() : n.domain() + "::" + n.op_type()]++;
  return counts;
}

Config config_of(const std::string& quantization, const std::string& shape) {
  return Config::from_string(R"({"input_info": {"sample_size": )" + shape +
                             R"(}, "compression": {"algorithm": "quantization", )" + quantization + "}}");
}

// A trained-looking SmallCNN: BatchNorm statistics from one training-mode pass.
testing::SmallCNN small_cnn(const torch::Tensor& x) {
  torch::manual_seed(0);
  testing::SmallCNN net(testing::SmallCNNOptions().width(8).dropout(0));
  torch::NoGradGuard no_grad;
  net->train();
  for (int i = 0; i < 5; ++i) net->forward(x);
  return net;
}

// Runs the exported file in ONNX Runtime on `x` (then removes it) and compares with our eval-mode
// output: the argmax agrees on at least `agreement` of the inputs, and no output is further than 5%
// of the largest from ours (a level that rounds the other way moves an output by a step of the last
// quantizer times the head's weights).
void expect_onnxruntime_agrees(runtime::CompressedModel& model, const std::string& path,
                               const torch::Tensor& x, double agreement) {
  model->eval();
  torch::Tensor ours;
  {
    torch::NoGradGuard no_grad;
    ours = model->forward(x);
  }
  const auto theirs =
      testing::run_onnxruntime(path, {{testing::onnxruntime_signature(path).inputs.at(0), x}});
  std::remove(path.c_str());
  ASSERT_EQ(theirs.size(), 1u);
  const double agree = theirs[0].argmax(1).eq(ours.argmax(1)).to(torch::kDouble).mean().item<double>();
  EXPECT_GE(agree, agreement) << "argmax agreement";
  const double diff = (theirs[0] - ours).abs().max().item<double>();
  EXPECT_LE(diff, 0.05 * ours.abs().max().item<double>()) << "max abs diff " << diff;
}

TEST(QuantizedOnnx, QdqExportRunsInOnnxRuntimeAndMatches) {
  const torch::Tensor init = torch::randn({64, 1, 12, 12});
  auto net = small_cnn(init);
  auto [ctrl, model] = create_compressed_model(
      net,
      config_of(R"("export_to_onnx_standard_ops": true, "initializer": {"range": {"num_init_samples": 64}})",
                "[1, 1, 12, 12]"));
  ctrl->initialize(InitData([&](const InitData::Visitor& visit) { visit({init}); }));
  const std::string path = temp("qdq.onnx");
  ctrl->export_model(path);
  const auto counts = op_counts(read_model(path));
  // Input, two conv-bn-relu outputs, pooled features, three weights: a Q/DQ pair each.
  EXPECT_EQ(counts.at("QuantizeLinear"), 4 + 3) << path;
  EXPECT_EQ(counts.at("DequantizeLinear"), 4 + 3) << path;
  EXPECT_EQ(counts.count("BatchNormalization"), 1u) << "BN stays when the conv weight is quantized";

  torch::manual_seed(3);
  expect_onnxruntime_agrees(model, path, torch::randn({1000, 1, 12, 12}), 0.999);
}

TEST(QuantizedOnnx, DefaultExportWritesOpenVinoFakeQuantize) {
  const torch::Tensor init = torch::randn({16, 1, 12, 12});
  auto net = small_cnn(init);
  auto [ctrl, model] = create_compressed_model(
      net, config_of(R"("weights": {"bits": 4}, "activations": {"bits": 6})", "[1, 1, 12, 12]"));
  ctrl->initialize(InitData([&](const InitData::Visitor& visit) { visit({init}); }));
  const std::string path = temp("fq.onnx");
  ctrl->export_model(path);
  const onnx::ModelProto m = read_model(path);
  std::remove(path.c_str());
  const auto counts = op_counts(m);
  EXPECT_EQ(counts.at("org.openvinotoolkit::FakeQuantize"), 4 + 3);
  std::map<int64_t, int> levels;
  for (const auto& n : m.graph().node()) {
    if (n.op_type() != "FakeQuantize") continue;
    for (const auto& a : n.attribute()) {
      if (a.name() == "levels") levels[a.i()]++;
    }
  }
  EXPECT_EQ(levels[16], 3) << "4-bit weights";
  EXPECT_EQ(levels[64], 4) << "6-bit activations";
  // ONNX Runtime cannot run OpenVINO's op: that is what the standard-ops export is for.
  EXPECT_NE(testing::error_of([&] {
              ctrl->export_model(path);
              testing::run_onnxruntime(path, {{testing::onnxruntime_signature(path).inputs.at(0), init}});
            }).find("FakeQuantize"),
            std::string::npos);
  std::remove(path.c_str());
}

TEST(QuantizedOnnx, OverflowFixWeightsAreWidenedAndLowBitActivationsNeedFakeQuantize) {
  const torch::Tensor init = torch::randn({16, 1, 12, 12});
  auto net = small_cnn(init);
  auto [ctrl, model] =
      create_compressed_model(net, config_of(R"("overflow_fix": "enable")", "[1, 1, 12, 12]"));
  ctrl->initialize(InitData([&](const InitData::Visitor& visit) { visit({init}); }));
  const std::string path = temp("widened.onnx");
  ctrl->export_model(path);
  const onnx::ModelProto m = read_model(path);
  std::remove(path.c_str());
  int weights256 = 0;
  for (const auto& n : m.graph().node()) {
    if (n.op_type() != "FakeQuantize") continue;
    for (const auto& a : n.attribute()) weights256 += a.name() == "levels" && a.i() == 256;
  }
  EXPECT_EQ(weights256, 4 + 3) << "7-bit weights are written with 256 levels, like 8-bit activations";

  auto low = create_compressed_model(
      net, config_of(R"("export_to_onnx_standard_ops": true, "activations": {"bits": 4})", "[1, 1, 12, 12]"));
  const std::string msg = testing::error_of([&] { low.ctrl->export_model(temp("low.onnx")); });
  EXPECT_NE(msg.find("8-bit grids only"), std::string::npos) << msg;
}

TEST(QuantizedOnnx, TorchvisionResNet18QdqInOnnxRuntime) {
  const char* dir = std::getenv("NNCF_TEST_MODELS_DIR");
  ASSERT_NE(dir, nullptr) << "NNCF_TEST_MODELS_DIR is set by CTest";
  torch::manual_seed(0);
  auto [ctrl, model] =
      create_compressed_model(std::string(dir) + "/resnet18_traced.pt",
                              config_of(R"("export_to_onnx_standard_ops": true, "preset": "mixed",
                    "initializer": {"batchnorm_adaptation": {"num_bn_adaptation_samples": 0}})",
                                        "[1, 3, 32, 32]"));
  const torch::Tensor x = torch::randn({8, 3, 32, 32});
  ctrl->initialize(InitData([&](const InitData::Visitor& visit) { visit({x}); }));
  const std::string path = temp("resnet18_qdq.onnx");
  ctrl->export_model(path);
  expect_onnxruntime_agrees(model, path, x, 1.0);
}

}  // namespace
}  // namespace nncf::exporting
