// Quantized ONNX exports through ctrl->export_model: QuantizeLinear/DequantizeLinear graphs run in
// ONNX Runtime and reproduce our fake-quantized output (argmax agreement, every element within a
// quantization step of the output scale); the default export writes OpenVINO's FakeQuantize.

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
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

// A trained-looking SmallCNN: BatchNorm statistics from one training-mode pass, and a negative
// BatchNorm weight in every other channel (a folded BatchNorm then mirrors those channels' grids).
testing::SmallCNN small_cnn(const torch::Tensor& x) {
  torch::manual_seed(0);
  testing::SmallCNN net(testing::SmallCNNOptions().width(8).dropout(0));
  torch::NoGradGuard no_grad;
  net->train();
  for (int i = 0; i < 5; ++i) net->forward(x);
  for (auto* bn : {&net->bn1, &net->bn2}) (*bn)->weight.slice(0, 0, c10::nullopt, 2).mul_(-0.5);
  return net;
}

// Records the tensor it sees (inserted after a quantizer: that quantizer's output).
struct RecorderImpl : torch::nn::Cloneable<RecorderImpl> {
  void reset() override {}
  torch::Tensor forward(const torch::Tensor& x) {
    seen = x.detach().clone();
    return x;
  }
  torch::Tensor seen;
};
TORCH_MODULE(Recorder);

// The activation DequantizeLinear that feeds the node named `consumer` (an op's ONNX output is
// named after its scope) in a QDQ export, found through shape and pooling ops, and its scale.
struct QuantizedInput {
  const onnx::NodeProto* consumer = nullptr;
  std::string name;  // the DequantizeLinear output
  float step = 0;
};

QuantizedInput quantized_input_of(const onnx::ModelProto& m, const std::string& consumer) {
  std::map<std::string, const onnx::TensorProto*> init;
  for (const auto& t : m.graph().initializer()) init[t.name()] = &t;
  std::map<std::string, const onnx::NodeProto*> producer;
  QuantizedInput q;
  for (const auto& n : m.graph().node()) {
    for (const auto& o : n.output()) producer[o] = &n;
    if (n.output(0) == consumer) q.consumer = &n;
  }
  if (q.consumer == nullptr) return q;
  const onnx::NodeProto* n = producer.at(q.consumer->input(0));
  while (n->op_type() != "DequantizeLinear") n = producer.at(n->input(0));
  q.name = n->output(0);
  const onnx::TensorProto* scale = init.at(n->input(1));
  EXPECT_EQ(scale->dims_size(), 0) << "per-tensor activation scale";
  q.step = *reinterpret_cast<const float*>(scale->raw_data().data());
  return q;
}

// The weight of a Gemm as exported: the initializer behind its QuantizeLinear/DequantizeLinear.
torch::Tensor gemm_weight(const onnx::ModelProto& m, const onnx::NodeProto& gemm) {
  std::map<std::string, const onnx::NodeProto*> producer;
  for (const auto& n : m.graph().node()) producer[n.output(0)] = &n;
  std::string w = gemm.input(1);
  while (producer.count(w)) w = producer.at(w)->input(0);
  for (const auto& t : m.graph().initializer()) {
    if (t.name() == w)
      return torch::from_blob(const_cast<char*>(t.raw_data().data()), {t.dims(0), t.dims(1)}, torch::kFloat)
          .clone();
  }
  ADD_FAILURE() << "the weight of " << gemm.output(0) << " is not an initializer";
  return {};
}

// Runs the QDQ export at `path` in ONNX Runtime on `x` (then removes it) and compares with our
// eval-mode output:
//  * the quantized activation that feeds op `probe` -- made an extra graph output -- is within one
//    quantization step of our fake-quantized tensor, element by element (ONNX Runtime's integer
//    kernels round the requantized output, and the bias on the int32 grid, where we compute in
//    float: a value close to a rounding boundary may land one level away);
//  * when `probe` is the final Gemm: every output element is within what one step on each of its
//    inputs can move it, step * sum_i |W_ji|;
//  * the argmax agrees on at least `agreement` of the inputs.
// Returns the fraction of the probed activation's elements one level off.
double expect_onnxruntime_agrees(const std::shared_ptr<CompressionController>& ctrl,
                                 runtime::CompressedModel& model, const std::string& path, const torch::Tensor& x,
                                 const std::string& probe, double agreement) {
  onnx::ModelProto m = read_model(path);
  std::remove(path.c_str());
  const QuantizedInput in = quantized_input_of(m, probe);
  EXPECT_FALSE(in.name.empty()) << "no quantized input of " << probe << " in the export";
  if (in.name.empty()) return 1;
  auto* out = m.mutable_graph()->add_output();
  out->set_name(in.name);
  out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  const std::string probe_path = path + ".probe.onnx";
  {
    std::ofstream f(probe_path, std::ios::binary);
    EXPECT_TRUE(m.SerializeToOstream(&f));
  }
  // Our side of the same tensor: the quantizer of that input, recorded after it runs.
  auto qc = std::dynamic_pointer_cast<quantization::QuantizationController>(ctrl);
  EXPECT_TRUE(qc);
  std::vector<const quantization::Quantizer*> matches;
  for (const auto& q : qc->quantizers()) {
    const auto& consumers = q.spec.consumer_scopes;
    if (q.spec.group == quantization::QuantizerGroup::Activations &&
        std::find(consumers.begin(), consumers.end(), probe) != consumers.end())
      matches.push_back(&q);
  }
  EXPECT_EQ(matches.size(), 1u) << "activation quantizers before " << probe;
  if (matches.size() != 1) return 1;
  EXPECT_EQ(matches[0]->module->affine_params().step.item<float>(), in.step);
  Recorder recorder;
  model->insert(matches[0]->spec.points, torch::nn::AnyModule(recorder), "test_recorder", 1000);
  model->eval();
  torch::Tensor ours;
  {
    torch::NoGradGuard no_grad;
    ours = model->forward(x);
  }
  model->remove("test_recorder");
  const auto theirs =
      testing::run_onnxruntime(probe_path, {{testing::onnxruntime_signature(probe_path).inputs.at(0), x}});
  std::remove(probe_path.c_str());
  EXPECT_EQ(theirs.size(), 2u);
  const torch::Tensor a = recorder->seen.flatten(1), a_ort = theirs.at(1).flatten(1);
  EXPECT_EQ(a.sizes(), a_ort.sizes());
  const torch::Tensor levels = ((a_ort - a) / in.step).abs();
  EXPECT_LE(levels.max().item<double>(), 1.001) << "levels apart at the input of " << probe;
  if (in.consumer->op_type() == "Gemm") {
    const torch::Tensor bound = in.step * gemm_weight(m, *in.consumer).abs().sum(1) + 1e-5 * ours.abs().max();
    EXPECT_TRUE((theirs[0] - ours).abs().le(bound).all().item<bool>())
        << "max excess over one step per input " << ((theirs[0] - ours).abs() - bound).max().item<double>();
  }
  const double agree = theirs[0].argmax(1).eq(ours.argmax(1)).to(torch::kDouble).mean().item<double>();
  EXPECT_GE(agree, agreement) << "argmax agreement";
  const double off = levels.gt(0.5).to(torch::kDouble).mean().item<double>();
  std::cout << "[ ORT      ] " << probe << ": " << 100 * off << "% one level off; argmax agreement "
            << 100 * agree << "%\n";
  return off;
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
  EXPECT_EQ(counts.count("BatchNormalization"), 0u) << "BN folds into the quantized conv";

  torch::manual_seed(3);
  expect_onnxruntime_agrees(ctrl, model, path, torch::randn({1000, 1, 12, 12}), "fc", 0.999);
}

TEST(QuantizedOnnx, AMirroredLevelOutsideInt8KeepsTheBatchNorm) {
  const torch::Tensor init = torch::randn({16, 1, 12, 12});
  auto net = small_cnn(init);
  auto [ctrl, model] = create_compressed_model(
      net, config_of(R"("export_to_onnx_standard_ops": true, "overflow_fix": "disable")", "[1, 1, 12, 12]"));
  ctrl->initialize(InitData([&](const InitData::Visitor& visit) { visit({init}); }));
  // Channel 0 of bn1 has a negative weight; push a conv1 weight of that channel to level -128.
  {
    torch::NoGradGuard no_grad;
    net->conv1->weight[0].view(-1)[0] = -10 * net->conv1->weight.abs().max();
  }
  const std::string path = temp("no_fold.onnx");
  ctrl->export_model(path);
  const auto counts = op_counts(read_model(path));
  EXPECT_EQ(counts.at("BatchNormalization"), 1) << "bn1 stays: -(-128) is not an int8 level";
  torch::manual_seed(4);
  expect_onnxruntime_agrees(ctrl, model, path, torch::randn({256, 1, 12, 12}), "fc", 0.99);
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
  EXPECT_EQ(counts.count("BatchNormalization"), 0u) << "BN folds into the quantized convs";
  // Every weight lies on its FakeQuantize's grid (OpenVINO's formula), mirrored channels included.
  std::map<std::string, torch::Tensor> init_values;
  for (const auto& t : m.graph().initializer()) {
    std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
    if (t.data_type() == onnx::TensorProto::FLOAT)
      init_values[t.name()] =
          torch::from_blob(const_cast<char*>(t.raw_data().data()), dims, torch::kFloat).to(torch::kDouble);
  }
  int weights = 0;
  for (const auto& n : m.graph().node()) {
    if (n.op_type() != "FakeQuantize" || !init_values.count(n.input(0))) continue;
    ++weights;
    const torch::Tensor w = init_values.at(n.input(0)), lo = init_values.at(n.input(1)),
                        hi = init_values.at(n.input(2));
    EXPECT_TRUE(lo.le(hi).all().item<bool>()) << n.input(0);
    const double l = static_cast<double>(n.attribute(0).i() - 1);
    const torch::Tensor fq = torch::round((w.clamp_min(lo).clamp_max(hi) - lo) / (hi - lo) * l) / l * (hi - lo) + lo;
    EXPECT_LE((fq - w).abs().max().item<double>(), 1e-6 * w.abs().max().item<double>()) << n.input(0);
  }
  EXPECT_EQ(weights, 3);
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

// Deep networks: ONNX Runtime runs every conv of the QDQ export as an integer QLinearConv (the
// BatchNorms are folded into the quantized weights). Each integer layer reproduces ours within one
// level; through twenty of them the rare one-level differences compound (an untrained network on
// random inputs, the worst case: measured on ResNet-18, 0.1% of the first block's inputs are one
// level off, ~50% of the classifier's inputs by a few levels), so the deep models are checked at
// their first integer layer, and on argmax agreement.
struct DeepCase {
  const char* file;
  std::vector<int64_t> shape;
  const char* probe;  // the op after the first QLinearConv
  double agreement;
};

void PrintTo(const DeepCase& c, std::ostream* os) {
  *os << c.file;
}

class QuantizedOnnxDeepTest : public ::testing::TestWithParam<DeepCase> {};

TEST_P(QuantizedOnnxDeepTest, QdqRunsWithIntegerConvsInOnnxRuntime) {
  const DeepCase& c = GetParam();
  const char* dir = std::getenv("NNCF_TEST_MODELS_DIR");
  ASSERT_NE(dir, nullptr) << "NNCF_TEST_MODELS_DIR is set by CTest";
  torch::manual_seed(0);
  std::vector<int64_t> one = c.shape;
  one[0] = 1;
  auto [ctrl, model] = create_compressed_model(
      std::string(dir) + "/" + c.file,
      config_of(R"("export_to_onnx_standard_ops": true,
                   "initializer": {"range": {"num_init_samples": 64},
                                   "batchnorm_adaptation": {"num_bn_adaptation_samples": 64}})",
                c10::str(c10::IntArrayRef(one))));
  const torch::Tensor x = torch::randn(c.shape);
  ctrl->initialize(InitData([&](const InitData::Visitor& visit) {
    for (int64_t i = 0; i < x.size(0); i += 32) visit({x.slice(0, i, i + 32)});
  }));
  const std::string path = temp(c10::str(c.file, ".onnx"));
  ctrl->export_model(path);
  const auto counts = op_counts(read_model(path));
  EXPECT_EQ(counts.count("BatchNormalization"), 0u) << "every BatchNorm folds into its quantized conv";
  expect_onnxruntime_agrees(ctrl, model, path, x, c.probe, c.agreement);
}

INSTANTIATE_TEST_SUITE_P(Torchvision, QuantizedOnnxDeepTest,
                         ::testing::Values(DeepCase{"resnet18_traced.pt", {256, 3, 32, 32}, "layer1.0.conv1", 0.9},
                                           DeepCase{"mobilenet_v2_traced.pt", {256, 3, 32, 32}, "features.1.conv.0.0", 0.9}),
                         [](const auto& info) {
                           std::string name = info.param.file;
                           return name.substr(0, name.find('.'));
                         });

}  // namespace
}  // namespace nncf::exporting
