// The bytes an ONNX file stores for its conv/linear weights, on models written here field by field
// in protobuf's wire format.

#include "common/onnx_weights.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>

namespace nncf_sample {
namespace {

std::string varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

std::string field(uint32_t number, const std::string& bytes) {  // length-delimited
  return varint(number << 3 | 2) + varint(bytes.size()) + bytes;
}

std::string field(uint32_t number, uint64_t value) {  // varint
  return varint(number << 3) + varint(value);
}

// TensorProto: dims (unpacked), data_type, name, raw_data of the right size.
std::string tensor(const std::string& name, int32_t type, std::initializer_list<int64_t> dims,
                   size_t raw_bytes) {
  std::string t;
  for (int64_t d : dims) t += field(1, static_cast<uint64_t>(d));
  return t + field(2, static_cast<uint64_t>(type)) + field(8, name) + field(9, std::string(raw_bytes, '\0'));
}

std::string node(const std::string& op, std::initializer_list<std::string> inputs, const std::string& output,
                 const std::string& attribute = "") {
  std::string n;
  for (const std::string& i : inputs) n += field(1, i);
  n += field(2, output) + field(4, op);
  if (!attribute.empty()) n += field(5, attribute);
  return n;
}

TEST(OnnxWeightBytes, CountsEachWeightAtItsStoredElementSize) {
  std::string graph;
  // An int8 conv weight through DequantizeLinear: 1 byte per weight.
  graph += field(5, tensor("w_q", 3, {4, 3, 3, 3}, 108));
  graph += field(5, tensor("s", 1, {}, 4)) + field(5, tensor("z", 3, {}, 1));
  graph += field(1, node("DequantizeLinear", {"w_q", "s", "z"}, "w"));
  graph += field(1, node("Conv", {"x", "w"}, "y"));
  // A float weight through QuantizeLinear -> DequantizeLinear (what a QDQ export stores): 4 bytes.
  graph += field(5, tensor("w2", 1, {8, 4, 1, 1}, 128));
  graph += field(1, node("QuantizeLinear", {"w2", "s", "z"}, "w2_q"));
  graph += field(1, node("DequantizeLinear", {"w2_q", "s", "z"}, "w2_dq"));
  graph += field(1, node("Conv", {"y", "w2_dq"}, "y2"));
  // A Gemm whose weight is a Constant node's float16 tensor, used twice (counted once).
  graph += field(1, node("Constant", {}, "fc", field(5, tensor("", 10, {10, 8}, 160))));
  graph += field(1, node("Gemm", {"y2", "fc"}, "out"));
  graph += field(1, node("Gemm", {"y2", "fc"}, "out2"));
  // Activation times activation: no weight.
  graph += field(1, node("MatMul", {"out", "out2"}, "prod"));
  const std::string model = field(1, uint64_t{8}) + field(7, graph);  // ir_version, graph

  const OnnxWeightBytes b = onnx_weight_bytes_of(model, "m.onnx");
  EXPECT_EQ(b.tensors, 3);
  EXPECT_DOUBLE_EQ(b.fp32_bytes, 4.0 * (108 + 32 + 80));
  EXPECT_DOUBLE_EQ(b.stored_bytes, 108 + 4.0 * 32 + 2.0 * 80);
  EXPECT_DOUBLE_EQ(b.rate(), 4.0 * 220 / (108 + 128 + 160));
}

TEST(OnnxWeightBytes, PackedDimsAndInt4) {
  std::string t = field(1, varint(16) + varint(2)) + field(2, uint64_t{22}) + field(8, std::string("w"));
  const std::string graph = field(5, t) + field(1, node("MatMul", {"x", "w"}, "y"));
  const OnnxWeightBytes b = onnx_weight_bytes_of(field(7, graph), "m.onnx");
  EXPECT_EQ(b.tensors, 1);
  EXPECT_DOUBLE_EQ(b.rate(), 8.0) << "INT4: half a byte per weight";
}

TEST(OnnxWeightBytes, MalformedFilesNameTheFile) {
  for (const std::string& bad :
       {std::string("\x3a\x05\x0a", 3), std::string("\x08", 1), std::string("abc")}) {
    try {
      onnx_weight_bytes_of(bad, "broken.onnx");
      ADD_FAILURE() << "no error";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("broken.onnx"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(onnx_weight_bytes("/nonexistent/model.onnx"), std::runtime_error);
}

}  // namespace
}  // namespace nncf_sample
