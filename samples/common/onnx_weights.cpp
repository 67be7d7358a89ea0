#include "common/onnx_weights.h"

#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace nncf_sample {
namespace {

// Protobuf's wire format, as much of it as ModelProto -> GraphProto -> NodeProto / TensorProto
// needs; the sample links no protobuf library (the installed nncf package keeps its own private).
class Reader {
 public:
  Reader(std::string_view data, const std::string& source) : data_(data), source_(source) {}
  bool done() const { return pos_ >= data_.size(); }

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (done()) fail("truncated varint");
      const auto byte = static_cast<uint8_t>(data_[pos_++]);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return v;
    }
    fail("varint longer than 10 bytes");
  }

  // The next field's number and wire type.
  std::pair<uint32_t, uint32_t> tag() {
    const uint64_t t = varint();
    return {static_cast<uint32_t>(t >> 3), static_cast<uint32_t>(t & 7)};
  }

  std::string_view bytes() {
    const uint64_t n = varint();
    if (n > data_.size() - pos_) fail("length-delimited field runs past the end");
    std::string_view v = data_.substr(pos_, n);
    pos_ += n;
    return v;
  }

  void skip(uint32_t wire) {
    switch (wire) {
      case 0:
        varint();
        return;
      case 1:
        advance(8);
        return;
      case 2:
        bytes();
        return;
      case 5:
        advance(4);
        return;
      default:
        fail("unsupported wire type " + std::to_string(wire));
    }
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(source_ + ": not a valid ONNX model (" + what + " at byte " +
                             std::to_string(pos_) + ")");
  }

 private:
  void advance(size_t n) {
    if (n > data_.size() - pos_) fail("fixed-size field runs past the end");
    pos_ += n;
  }
  std::string_view data_;
  const std::string& source_;
  size_t pos_ = 0;
};

struct Tensor {
  int64_t numel = 1;
  int32_t type = 0;
};

struct Node {
  std::string op;
  std::vector<std::string> inputs, outputs;
  std::vector<Tensor> constants;  // Constant: its `value` attribute
};

Tensor read_tensor(std::string_view data, const std::string& source, std::string* name) {
  Reader r(data, source);
  Tensor t;
  while (!r.done()) {
    const auto [field, wire] = r.tag();
    if (field == 1 && wire == 0) {  // dims, unpacked
      t.numel *= static_cast<int64_t>(r.varint());
    } else if (field == 1 && wire == 2) {  // dims, packed
      Reader dims(r.bytes(), source);
      while (!dims.done()) t.numel *= static_cast<int64_t>(dims.varint());
    } else if (field == 2 && wire == 0) {
      t.type = static_cast<int32_t>(r.varint());
    } else if (field == 8 && wire == 2 && name != nullptr) {
      *name = std::string(r.bytes());
    } else {
      r.skip(wire);
    }
  }
  return t;
}

Node read_node(std::string_view data, const std::string& source) {
  Reader r(data, source);
  Node n;
  while (!r.done()) {
    const auto [field, wire] = r.tag();
    if (field == 1 && wire == 2) {
      n.inputs.emplace_back(r.bytes());
    } else if (field == 2 && wire == 2) {
      n.outputs.emplace_back(r.bytes());
    } else if (field == 4 && wire == 2) {
      n.op = std::string(r.bytes());
    } else if (field == 5 && wire == 2) {  // AttributeProto: t (field 5) holds a Constant's tensor
      Reader a(r.bytes(), source);
      while (!a.done()) {
        const auto [af, aw] = a.tag();
        if (af == 5 && aw == 2) {
          n.constants.push_back(read_tensor(a.bytes(), source, nullptr));
        } else {
          a.skip(aw);
        }
      }
    } else {
      r.skip(wire);
    }
  }
  return n;
}

// Bytes per element of TensorProto.DataType; 0 for types a weight would not have (strings).
double element_bytes(int32_t type) {
  switch (type) {
    case 2:   // UINT8
    case 3:   // INT8
    case 9:   // BOOL
    case 17:  // FLOAT8E4M3FN
    case 18:  // FLOAT8E4M3FNUZ
    case 19:  // FLOAT8E5M2
    case 20:  // FLOAT8E5M2FNUZ
      return 1;
    case 21:  // UINT4
    case 22:  // INT4
      return 0.5;
    case 4:   // UINT16
    case 5:   // INT16
    case 10:  // FLOAT16
    case 16:  // BFLOAT16
      return 2;
    case 1:   // FLOAT
    case 6:   // INT32
    case 12:  // UINT32
      return 4;
    case 7:   // INT64
    case 11:  // DOUBLE
    case 13:  // UINT64
      return 8;
    default:
      return 0;
  }
}

}  // namespace

OnnxWeightBytes onnx_weight_bytes_of(const std::string& model_bytes, const std::string& source) {
  std::map<std::string, Tensor> tensors;  // initializers and Constant outputs, by value name
  std::map<std::string, const Node*> producer;
  std::vector<Node> nodes;
  Reader model(model_bytes, source);
  bool has_graph = false;
  while (!model.done()) {
    const auto [field, wire] = model.tag();
    if (field != 7 || wire != 2) {
      model.skip(wire);
      continue;
    }
    has_graph = true;
    Reader graph(model.bytes(), source);
    while (!graph.done()) {
      const auto [gf, gw] = graph.tag();
      if (gf == 1 && gw == 2) {
        nodes.push_back(read_node(graph.bytes(), source));
      } else if (gf == 5 && gw == 2) {
        std::string name;
        const Tensor t = read_tensor(graph.bytes(), source, &name);
        tensors[name] = t;
      } else {
        graph.skip(gw);
      }
    }
  }
  if (!has_graph) model.fail("no graph");
  for (const Node& n : nodes) {
    for (const std::string& out : n.outputs) producer[out] = &n;
    if (n.op == "Constant" && n.constants.size() == 1 && n.outputs.size() == 1)
      tensors[n.outputs[0]] = n.constants[0];
  }
  static const std::map<std::string, size_t> kWeightInput = {
      {"Conv", 1},        {"ConvTranspose", 1}, {"Gemm", 1},        {"MatMul", 1},
      {"ConvInteger", 1}, {"MatMulInteger", 1}, {"QLinearConv", 3}, {"QLinearMatMul", 3}};
  static const std::set<std::string> kPassThrough = {"DequantizeLinear", "QuantizeLinear", "Identity", "Cast",
                                                     "Reshape",          "Transpose"};
  OnnxWeightBytes result;
  std::set<std::string> counted;
  for (const Node& n : nodes) {
    const auto w = kWeightInput.find(n.op);
    if (w == kWeightInput.end() || w->second >= n.inputs.size()) continue;
    std::string value = n.inputs[w->second];
    // Back through the ops that carry a weight to its stored tensor; a bounded walk (a malformed
    // file could hold a cycle).
    for (int hops = 0; hops < 16 && !tensors.count(value); ++hops) {
      const auto p = producer.find(value);
      if (p == producer.end() || !kPassThrough.count(p->second->op) || p->second->inputs.empty()) break;
      value = p->second->inputs[0];
    }
    const auto t = tensors.find(value);
    if (t == tensors.end() || !counted.insert(value).second) continue;
    result.tensors += 1;
    result.fp32_bytes += 4.0 * static_cast<double>(t->second.numel);
    result.stored_bytes += element_bytes(t->second.type) * static_cast<double>(t->second.numel);
  }
  return result;
}

OnnxWeightBytes onnx_weight_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot read the ONNX file");
  std::stringstream text;
  text << in.rdbuf();
  return onnx_weight_bytes_of(text.str(), path);
}

}  // namespace nncf_sample
