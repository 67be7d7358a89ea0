#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <map>
#include <unordered_set>

#include "nncf/export/onnx.h"

namespace nncf::exporting {

struct OnnxBuilder::Impl {
  onnx::ModelProto model;
  std::unordered_set<std::string> names;
  std::map<std::string, std::optional<std::vector<int64_t>>> shapes;
  std::map<std::string, int32_t> types;               // element types, where inference tells them
  int inferred_nodes = -1;                            // node count at the last shape inference
  std::map<std::string, std::vector<int64_t>> given;  // set_shape()
};

OnnxBuilder::OnnxBuilder(int64_t opset) : impl_(std::make_unique<Impl>()), opset_(opset) {
  TORCH_CHECK(opset == 13, "nncf::export_onnx: only opset 13 is supported, got ", opset);
  onnx::ModelProto& m = impl_->model;
  m.set_ir_version(8);  // IR version 8 (ONNX 1.10+), what opset-13 runtimes read
  m.set_producer_name("nncf-cpp");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  m.mutable_graph()->set_name("nncf");
}

OnnxBuilder::~OnnxBuilder() = default;

onnx::ModelProto& OnnxBuilder::model() {
  return impl_->model;
}

std::string OnnxBuilder::unique_name(std::string_view hint) {
  std::string base(hint.empty() ? std::string_view("v") : hint);
  std::string name = base;
  for (int i = 1; impl_->names.count(name); ++i) name = c10::str(base, ".", i);
  impl_->names.insert(name);
  return name;
}

void OnnxBuilder::add_node(const std::string& op_type, const std::vector<std::string>& inputs,
                           const std::vector<std::string>& outputs,
                           const std::vector<OnnxAttribute>& attributes, const std::string& domain,
                           int64_t domain_version) {
  onnx::ModelProto& m = impl_->model;
  if (!domain.empty()) {
    bool known = false;
    for (const auto& op : m.opset_import()) known = known || op.domain() == domain;
    if (!known) {
      auto* op = m.add_opset_import();
      op->set_domain(domain);
      op->set_version(domain_version);
    }
  }
  onnx::NodeProto* node = m.mutable_graph()->add_node();
  node->set_op_type(op_type);
  if (!domain.empty()) node->set_domain(domain);
  node->set_name(outputs.empty() ? unique_name(op_type) : outputs[0]);
  for (const std::string& in : inputs) node->add_input(in);
  for (const std::string& out : outputs) node->add_output(out);
  for (const OnnxAttribute& a : attributes) {
    onnx::AttributeProto* attr = node->add_attribute();
    attr->set_name(a.name);
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, int64_t>) {
            attr->set_type(onnx::AttributeProto::INT);
            attr->set_i(v);
          } else if constexpr (std::is_same_v<T, float>) {
            attr->set_type(onnx::AttributeProto::FLOAT);
            attr->set_f(v);
          } else if constexpr (std::is_same_v<T, std::string>) {
            attr->set_type(onnx::AttributeProto::STRING);
            attr->set_s(v);
          } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
            attr->set_type(onnx::AttributeProto::INTS);
            for (int64_t x : v) attr->add_ints(x);
          } else if constexpr (std::is_same_v<T, std::vector<float>>) {
            attr->set_type(onnx::AttributeProto::FLOATS);
            for (float x : v) attr->add_floats(x);
          } else {
            attr->set_type(onnx::AttributeProto::TENSOR);
            const std::string tmp = unique_name("attr");
            add_initializer(tmp, v);
            // Move the tensor from the initializers into the attribute.
            auto* inits = m.mutable_graph()->mutable_initializer();
            attr->mutable_t()->Swap(&(*inits)[inits->size() - 1]);
            attr->mutable_t()->clear_name();
            inits->RemoveLast();
          }
        },
        a.value);
  }
}

std::string OnnxBuilder::add(const std::string& op_type, const std::vector<std::string>& inputs,
                             const std::vector<OnnxAttribute>& attributes, std::string_view hint) {
  std::string out = unique_name(hint.empty() ? std::string_view(op_type) : hint);
  add_node(op_type, inputs, {out}, attributes);
  return out;
}

std::string OnnxBuilder::add_initializer(std::string_view hint, const at::Tensor& tensor) {
  const std::string name = unique_name(hint);
  onnx::TensorProto* t = impl_->model.mutable_graph()->add_initializer();
  t->set_name(name);
  at::Tensor c = tensor.detach().to(at::kCPU).contiguous();
  for (int64_t d : c.sizes()) t->add_dims(d);
  auto raw = [&](onnx::TensorProto::DataType type) {
    t->set_data_type(type);
    t->set_raw_data(std::string(static_cast<const char*>(c.data_ptr()), c.nbytes()));
  };
  switch (c.scalar_type()) {
    case at::kFloat:
      raw(onnx::TensorProto::FLOAT);
      break;
    case at::kDouble:
      raw(onnx::TensorProto::DOUBLE);
      break;
    case at::kLong:
      raw(onnx::TensorProto::INT64);
      break;
    case at::kInt:
      raw(onnx::TensorProto::INT32);
      break;
    case at::kChar:
    case at::kByte:
    case at::kBool: {
      // 8-bit types go in int32_data, one element per entry.
      t->set_data_type(c.scalar_type() == at::kChar   ? onnx::TensorProto::INT8
                       : c.scalar_type() == at::kByte ? onnx::TensorProto::UINT8
                                                      : onnx::TensorProto::BOOL);
      at::Tensor i = c.to(at::kInt);
      const int32_t* p = i.data_ptr<int32_t>();
      for (int64_t k = 0; k < i.numel(); ++k) t->add_int32_data(p[k]);
      break;
    }
    default:
      TORCH_CHECK(false, "nncf::export_onnx: initializer '", name, "' has unsupported dtype ",
                  c.scalar_type());
  }
  return name;
}

std::string OnnxBuilder::add_ints(std::string_view hint, const std::vector<int64_t>& values) {
  return add_initializer(hint, at::tensor(values, at::kLong));
}

std::string OnnxBuilder::add_float_scalar(std::string_view hint, float value) {
  return add_initializer(hint, at::scalar_tensor(value, at::kFloat));
}

void OnnxBuilder::set_shape(const std::string& name, std::vector<int64_t> dims) {
  impl_->shapes[name] = dims;
  impl_->given[name] = std::move(dims);
}

std::optional<std::vector<int64_t>> OnnxBuilder::shape(const std::string& name) {
  auto known = impl_->shapes.find(name);
  const int nodes = impl_->model.graph().node_size();
  if (known != impl_->shapes.end() && (known->second || impl_->inferred_nodes == nodes)) return known->second;
  infer();
  auto it = impl_->shapes.find(name);
  if (it != impl_->shapes.end()) return it->second;
  impl_->shapes[name] = std::nullopt;
  return std::nullopt;
}

std::optional<int32_t> OnnxBuilder::elem_type(const std::string& name) {
  auto known = impl_->types.find(name);
  if (known == impl_->types.end() && impl_->inferred_nodes != impl_->model.graph().node_size()) {
    infer();
    known = impl_->types.find(name);
  }
  if (known == impl_->types.end()) return std::nullopt;
  return known->second;
}

void OnnxBuilder::infer() {
  const int nodes = impl_->model.graph().node_size();
  // Infer on a copy: the exported graph keeps no value_info of half-built states.
  // Large initializers go in as typed inputs: their contents are no shape's business, and copying
  // them for every query would cost more than the inference.
  onnx::ModelProto copy;
  *copy.mutable_opset_import() = impl_->model.opset_import();
  copy.set_ir_version(impl_->model.ir_version());
  const onnx::GraphProto& g = impl_->model.graph();
  onnx::GraphProto* cg = copy.mutable_graph();
  *cg->mutable_node() = g.node();
  *cg->mutable_input() = g.input();
  for (const auto& t : g.initializer()) {
    int64_t numel = 1;
    for (int64_t d : t.dims()) numel *= d;
    if (numel <= 64) {
      *cg->add_initializer() = t;
      continue;
    }
    onnx::ValueInfoProto* vi = cg->add_input();
    vi->set_name(t.name());
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(t.data_type());
    for (int64_t d : t.dims()) tt->mutable_shape()->add_dim()->set_dim_value(d);
  }
  for (const auto& [n, dims] : impl_->given) {
    onnx::ValueInfoProto* vi = cg->add_value_info();
    vi->set_name(n);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    auto* shape = tt->mutable_shape();
    for (int64_t d : dims) {
      auto* dim = shape->add_dim();
      if (d >= 0) dim->set_dim_value(d);
    }
  }
  onnx::ShapeInferenceOptions opts;
  opts.enable_data_propagation = true;
  try {
    onnx::shape_inference::InferShapes(copy, onnx::OpSchemaRegistry::Instance(), opts);
  } catch (const std::exception&) {
    // Leave what is unknown unknown; the caller says what it needed.
  }
  impl_->inferred_nodes = nodes;
  auto record = [&](const onnx::ValueInfoProto& vi) {
    if (!vi.type().has_tensor_type()) return;
    if (vi.type().tensor_type().elem_type() != 0 && !impl_->given.count(vi.name()))
      impl_->types[vi.name()] = vi.type().tensor_type().elem_type();
    if (!vi.type().tensor_type().has_shape()) return;
    std::vector<int64_t> dims;
    for (const auto& d : vi.type().tensor_type().shape().dim())
      dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
    impl_->shapes[vi.name()] = dims;
  };
  for (const auto& vi : copy.graph().input()) record(vi);
  for (const auto& vi : copy.graph().value_info()) record(vi);
  for (const auto& vi : copy.graph().output()) record(vi);
  for (const auto& t : g.initializer()) {
    impl_->shapes[t.name()] = std::vector<int64_t>(t.dims().begin(), t.dims().end());
    impl_->types[t.name()] = t.data_type();
  }
}

}  // namespace nncf::exporting
