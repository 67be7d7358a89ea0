// The ONNX Runtime oracle itself: small models written by hand with the ONNX protobuf classes run
// through run_onnxruntime and match the same math in LibTorch (QDQ bit-exact, float to 1e-5), and
// ORT's errors come back as c10::Error.

#include "support/ort.h"

#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <stdlib.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/errors.h"

namespace nncf::testing {
namespace {

namespace fs = std::filesystem;

int32_t onnx_type(at::ScalarType type) {
  switch (type) {
    case at::kFloat:
      return onnx::TensorProto::FLOAT;
    case at::kChar:
      return onnx::TensorProto::INT8;
    case at::kLong:
      return onnx::TensorProto::INT64;
    default:
      TORCH_CHECK(false, "onnx_type: unsupported dtype ", type);
  }
}

/// An ONNX model under construction: opset 13, IR version 8.
struct ModelBuilder {
  onnx::ModelProto model;
  onnx::GraphProto* graph = model.mutable_graph();

  ModelBuilder() {
    model.set_ir_version(8);
    model.set_producer_name("nncf_tests");
    model.add_opset_import()->set_version(13);
    graph->set_name("ort_test");
  }

  void value(onnx::ValueInfoProto* v, const std::string& name, at::ScalarType type, at::IntArrayRef dims) {
    v->set_name(name);
    auto* tensor_type = v->mutable_type()->mutable_tensor_type();
    tensor_type->set_elem_type(onnx_type(type));
    for (int64_t d : dims) tensor_type->mutable_shape()->add_dim()->set_dim_value(d);
  }
  void input(const std::string& name, at::ScalarType type, at::IntArrayRef dims) {
    value(graph->add_input(), name, type, dims);
  }
  void output(const std::string& name, at::ScalarType type, at::IntArrayRef dims) {
    value(graph->add_output(), name, type, dims);
  }

  /// `t` as an initializer; int8 data goes in int32_data, as the ONNX spec stores it.
  void initializer(const std::string& name, const at::Tensor& t) {
    auto* proto = graph->add_initializer();
    proto->set_name(name);
    proto->set_data_type(onnx_type(t.scalar_type()));
    for (int64_t d : t.sizes()) proto->add_dims(d);
    const at::Tensor c = t.contiguous();
    if (t.scalar_type() == at::kFloat) {
      for (int64_t i = 0; i < c.numel(); ++i) proto->add_float_data(c.data_ptr<float>()[i]);
    } else if (t.scalar_type() == at::kChar) {
      for (int64_t i = 0; i < c.numel(); ++i) proto->add_int32_data(c.data_ptr<int8_t>()[i]);
    } else {
      for (int64_t i = 0; i < c.numel(); ++i) proto->add_int64_data(c.data_ptr<int64_t>()[i]);
    }
  }

  onnx::NodeProto* node(const std::string& op, std::vector<std::string> inputs,
                        std::vector<std::string> outputs, const std::string& domain = "") {
    auto* n = graph->add_node();
    n->set_op_type(op);
    n->set_name(op + "_" + std::to_string(graph->node_size()));
    if (!domain.empty()) n->set_domain(domain);
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return n;
  }

  /// Checks the model (unless it uses a custom domain) and writes it to `path`.
  std::string save(const fs::path& path, bool check = true) {
    if (check) onnx::checker::check_model(model);
    std::ofstream out(path, std::ios::binary);
    TORCH_CHECK(model.SerializeToOstream(&out), "cannot write ", path.string());
    return path.string();
  }
};

void set_axis(onnx::NodeProto* node, int64_t axis) {
  auto* attr = node->add_attribute();
  attr->set_name("axis");
  attr->set_type(onnx::AttributeProto::INT);
  attr->set_i(axis);
}

/// ONNX QuantizeLinear in LibTorch: saturate(round_half_even(x / scale) + zero_point) to int8.
/// `scale`/`zero_point` are already broadcastable to `x`.
at::Tensor quantize_linear(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& zero_point) {
  return at::clamp(at::round(x / scale) + zero_point.to(at::kFloat), -128, 127).to(at::kChar);
}
at::Tensor dequantize_linear(const at::Tensor& q, const at::Tensor& scale, const at::Tensor& zero_point) {
  return (q.to(at::kFloat) - zero_point.to(at::kFloat)) * scale;
}

/// Gives each test a fresh directory for its model files, removed afterwards.
class OrtOracle : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "nncf_ort_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  fs::path dir_;
};

TEST_F(OrtOracle, IsInstalled) {
  ASSERT_TRUE(onnxruntime_available()) << onnxruntime_missing_reason();
}

TEST_F(OrtOracle, MatMulAddReluMatchesLibTorch) {
  torch::manual_seed(0);
  const at::Tensor x = torch::randn({3, 4}), w = torch::randn({4, 5}), b = torch::randn({5});
  ModelBuilder m;
  m.input("x", at::kFloat, {3, 4});
  m.initializer("w", w);
  m.initializer("b", b);
  m.node("MatMul", {"x", "w"}, {"xw"});
  m.node("Add", {"xw", "b"}, {"xwb"});
  m.node("Relu", {"xwb"}, {"y"});
  m.output("y", at::kFloat, {3, 5});
  const std::string path = m.save(dir_ / "matmul_add_relu.onnx");

  const at::Tensor expected = at::relu(x.matmul(w) + b);
  for (const std::string opt : {"all", "disabled"}) {
    const auto outputs = run_onnxruntime(path, {{"x", x}}, opt);
    ASSERT_EQ(outputs.size(), 1u);
    ASSERT_EQ(outputs[0].sizes(), expected.sizes());
    EXPECT_LE((outputs[0] - expected).abs().max().item<float>(), 1e-5) << "opt=" << opt;
  }
}

TEST_F(OrtOracle, QdqPerTensorInt8IsExact) {
  torch::manual_seed(1);
  // Values past both ends of the int8 range saturate: (127 - 3) * 0.05 = 6.2, (-128 - 3) * 0.05 = -6.55.
  const at::Tensor x =
      at::cat({torch::randn({30}) * 3, torch::tensor({7.f, -9.f, 0.f, 6.2f})}).reshape({2, 17});
  const at::Tensor scale = torch::tensor(0.05f), zero_point = torch::tensor(3, at::kChar);
  ModelBuilder m;
  m.input("x", at::kFloat, {2, 17});
  m.initializer("scale", scale);
  m.initializer("zero_point", zero_point);
  m.node("QuantizeLinear", {"x", "scale", "zero_point"}, {"q"});
  m.node("DequantizeLinear", {"q", "scale", "zero_point"}, {"y"});
  m.output("q", at::kChar, {2, 17});
  m.output("y", at::kFloat, {2, 17});
  const std::string path = m.save(dir_ / "qdq_per_tensor.onnx");

  const at::Tensor q = quantize_linear(x, scale, zero_point);
  const at::Tensor y = dequantize_linear(q, scale, zero_point);
  for (const std::string opt : {"all", "disabled"}) {
    const auto outputs = run_onnxruntime(path, {{"x", x}}, opt);
    ASSERT_EQ(outputs.size(), 2u);
    EXPECT_TRUE(at::equal(outputs[0], q)) << "opt=" << opt;
    EXPECT_TRUE(at::equal(outputs[1], y)) << "opt=" << opt;
  }
  EXPECT_EQ(q[1][13].item<int8_t>(), 127);   // 7 saturates
  EXPECT_EQ(q[1][14].item<int8_t>(), -128);  // -9 saturates
}

TEST_F(OrtOracle, QdqPerChannelInt8IsExact) {
  torch::manual_seed(2);
  // Per-channel along axis 0 of a conv-weight-like [4, 3, 2, 2], then along the last axis of [5, 3].
  for (const auto& [dims, axis] :
       std::vector<std::pair<std::vector<int64_t>, int64_t>>{{{4, 3, 2, 2}, 0}, {{5, 3}, 1}}) {
    const int64_t channels = dims[axis];
    const at::Tensor x = torch::randn(dims) * 2;
    const at::Tensor scale = torch::rand({channels}) * 0.05 + 0.01;
    const at::Tensor zero_point = torch::randint(-10, 10, {channels}, at::kChar);
    ModelBuilder m;
    m.input("x", at::kFloat, dims);
    m.initializer("scale", scale);
    m.initializer("zero_point", zero_point);
    set_axis(m.node("QuantizeLinear", {"x", "scale", "zero_point"}, {"q"}), axis);
    set_axis(m.node("DequantizeLinear", {"q", "scale", "zero_point"}, {"y"}), axis);
    m.output("y", at::kFloat, dims);
    const std::string path = m.save(dir_ / ("qdq_per_channel_" + std::to_string(axis) + ".onnx"));

    std::vector<int64_t> view(dims.size(), 1);
    view[axis] = channels;
    const at::Tensor s = scale.view(view), z = zero_point.view(view);
    const at::Tensor expected = dequantize_linear(quantize_linear(x, s, z), s, z);
    const auto outputs = run_onnxruntime(path, {{"x", x}});
    ASSERT_EQ(outputs.size(), 1u);
    EXPECT_TRUE(at::equal(outputs[0], expected)) << "axis=" << axis;
  }
}

// The shape of a QDQ export: quantized activation, per-channel int8 weight, MatMul, Add.
TEST_F(OrtOracle, QdqLinearMatchesLibTorch) {
  torch::manual_seed(3);
  const at::Tensor x = torch::randn({6, 4});
  const at::Tensor w_q = torch::randint(-128, 128, {4, 3}, at::kChar);
  const at::Tensor w_scale = torch::tensor({0.02f, 0.01f, 0.03f}), w_zp = torch::zeros({3}, at::kChar);
  const at::Tensor x_scale = torch::tensor(0.05f), x_zp = torch::tensor(3, at::kChar);
  const at::Tensor bias = torch::randn({3});
  ModelBuilder m;
  m.input("x", at::kFloat, {6, 4});
  for (const auto& [name, t] : std::vector<std::pair<std::string, at::Tensor>>{{"x_scale", x_scale},
                                                                               {"x_zp", x_zp},
                                                                               {"w_q", w_q},
                                                                               {"w_scale", w_scale},
                                                                               {"w_zp", w_zp},
                                                                               {"bias", bias}})
    m.initializer(name, t);
  m.node("QuantizeLinear", {"x", "x_scale", "x_zp"}, {"x_q"});
  m.node("DequantizeLinear", {"x_q", "x_scale", "x_zp"}, {"x_dq"});
  set_axis(m.node("DequantizeLinear", {"w_q", "w_scale", "w_zp"}, {"w_dq"}), 1);
  m.node("MatMul", {"x_dq", "w_dq"}, {"xw"});
  m.node("Add", {"xw", "bias"}, {"y"});
  m.output("y", at::kFloat, {6, 3});
  const std::string path = m.save(dir_ / "qdq_linear.onnx");

  const at::Tensor x_dq = dequantize_linear(quantize_linear(x, x_scale, x_zp), x_scale, x_zp);
  const at::Tensor expected = x_dq.matmul(dequantize_linear(w_q, w_scale, w_zp)) + bias;
  for (const std::string opt : {"all", "disabled"}) {
    const auto outputs = run_onnxruntime(path, {{"x", x}}, opt);
    ASSERT_EQ(outputs.size(), 1u);
    EXPECT_LE((outputs[0] - expected).abs().max().item<float>(), 1e-5) << "opt=" << opt;
  }
  const auto signature = onnxruntime_signature(path);
  EXPECT_EQ(signature.inputs, std::vector<std::string>{"x"});
  EXPECT_EQ(signature.outputs, std::vector<std::string>{"y"});
}

TEST_F(OrtOracle, UnknownCustomOpIsAnError) {
  ModelBuilder m;
  auto* opset = m.model.add_opset_import();
  opset->set_domain("org.nncf.test");
  opset->set_version(1);
  m.input("x", at::kFloat, {2});
  m.node("NoSuchQuantizer", {"x"}, {"y"}, "org.nncf.test");
  m.output("y", at::kFloat, {2});
  const std::string path = m.save(dir_ / "custom_op.onnx", /*check=*/false);

  const std::string message = error_of([&] { run_onnxruntime(path, {{"x", torch::ones({2})}}); });
  EXPECT_NE(message.find("NoSuchQuantizer"), std::string::npos) << message;
}

TEST_F(OrtOracle, WrongInputNameIsAnError) {
  ModelBuilder m;
  m.input("x", at::kFloat, {2});
  m.node("Relu", {"x"}, {"y"});
  m.output("y", at::kFloat, {2});
  const std::string path = m.save(dir_ / "relu.onnx");

  const std::string message = error_of([&] { run_onnxruntime(path, {{"not_x", torch::ones({2})}}); });
  EXPECT_NE(message.find("ONNX Runtime failed"), std::string::npos) << message;
}

}  // namespace
}  // namespace nncf::testing
