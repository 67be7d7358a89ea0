// torch::jit::Graph -> ir::Graph. Constants are folded into node arguments; lists of constants
// become constant lists; tensor constants become Buffer inputs so that the IR stays tensor-free.

#include <cstring>
#include <optional>
#include <unordered_map>

#include "internal.h"
#include "nncf/ir/printer.h"

namespace nncf::capture::detail {
using torch::jit::Node;

namespace {

std::string type_name(const c10::TypePtr& t) {
  using c10::TypeKind;
  switch (t->kind()) {
    case TypeKind::TensorType: return "Tensor";
    case TypeKind::IntType: return "int";
    case TypeKind::FloatType: return "float";
    case TypeKind::BoolType: return "bool";
    case TypeKind::NumberType: return "Scalar";
    case TypeKind::StringType: return "str";
    case TypeKind::DeviceObjType: return "Device";
    case TypeKind::NoneType: return "NoneType";
    case TypeKind::OptionalType: {
      const std::string inner = type_name(t->expectRef<c10::OptionalType>().getElementType());
      return inner + "?";
    }
    case TypeKind::ListType:
      return type_name(t->expectRef<c10::ListType>().getElementType()) + "[]";
    case TypeKind::TupleType: {
      std::string s = "(";
      const auto& elems = t->expectRef<c10::TupleType>().elements();
      for (size_t i = 0; i < elems.size(); ++i) s += (i ? ", " : "") + type_name(elems[i]);
      return s + ")";
    }
    default: return t->annotation_str();
  }
}

// A JIT constant as an IR constant; nullopt for tensors (which become inputs).
c10::optional<ir::Constant> to_constant(const c10::IValue& v, const Node* user) {
  if (v.isNone()) return ir::Constant::none();
  if (v.isBool()) return ir::Constant::boolean(v.toBool());
  if (v.isInt()) return ir::Constant::integer(v.toInt());
  if (v.isDouble()) return ir::Constant::real(v.toDouble());
  if (v.isString()) return ir::Constant::string(v.toStringRef());
  if (v.isDevice()) return ir::Constant::device(v.toDevice().str());
  if (v.isIntList()) return ir::Constant::int_list(v.toIntVector());
  if (v.isDoubleList()) return ir::Constant::double_list(v.toDoubleVector());
  if (v.isBoolList()) {
    std::vector<bool> bits;
    for (bool b : v.toBoolList()) bits.push_back(b);
    return ir::Constant::bool_list(bits);
  }
  if (v.isTensor()) return c10::nullopt;
  TORCH_CHECK(false, "capture: ", describe(user), " takes a constant of type ", v.tagKind(),
              ", which the IR cannot hold");
}

// The module path trace_once recorded as the node's scope (Note [Module scopes] in trace.cpp), if
// it recorded one.
std::optional<std::string> module_of(const Node* n) {
  const torch::jit::ScopePtr scope = const_cast<Node*>(n)->scope();  // a getter, not const in LibTorch
  const std::string s = scope->isBlank() ? std::string() : scope->name().toUnqualString();
  if (s.rfind(kModuleScopePrefix, 0) != 0) return std::nullopt;
  return s.substr(std::strlen(kModuleScopePrefix));
}

// prim::ListConstruct of constants of one scalar kind folds into a constant list.
c10::optional<ir::Constant> fold_list(const Node* n) {
  if (n->kind() != c10::prim::ListConstruct) return c10::nullopt;
  const std::string type = type_name(n->output()->type());
  if (type != "int[]" && type != "float[]" && type != "bool[]") return c10::nullopt;
  std::vector<c10::IValue> items;
  for (const torch::jit::Value* in : n->inputs()) {
    if (in->node()->kind() != c10::prim::Constant) return c10::nullopt;
    items.push_back(*torch::jit::toIValue(in));
  }
  if (type == "int[]") {
    std::vector<int64_t> v;
    for (const auto& i : items) v.push_back(i.toInt());
    return ir::Constant::int_list(v);
  }
  if (type == "float[]") {
    std::vector<double> v;
    for (const auto& i : items) v.push_back(i.toDouble());
    return ir::Constant::double_list(v);
  }
  std::vector<bool> v;
  for (const auto& i : items) v.push_back(i.toBool());
  return ir::Constant::bool_list(v);
}

bool is_structural_prim(c10::Symbol k) {
  return k == c10::prim::ListConstruct || k == c10::prim::TupleConstruct || k == c10::prim::ListUnpack ||
         k == c10::prim::TupleUnpack || k == c10::prim::TupleIndex ||
         k == c10::Symbol::fromQualString("prim::ModeSelect");
}

}  // namespace

ir::Graph convert(const torch::jit::Graph& graph, size_t num_data_inputs, size_t num_parameters,
                  NamedTensors& constants, const std::unordered_set<const torch::jit::Node*>& inplace,
                  const ModeMarks& modes) {
  ir::Graph g;
  std::unordered_map<const torch::jit::Value*, ir::Value*> values;
  std::unordered_map<const torch::jit::Value*, ir::Constant> folded;

  const auto& inputs = graph.inputs();
  for (size_t i = 0; i < inputs.size(); ++i) {
    ir::InputRole role = ir::InputRole::Buffer;
    if (i < num_data_inputs) {
      role = ir::InputRole::Data;
    } else if (i == num_data_inputs) {
      role = ir::InputRole::Training;
    } else if (i <= num_data_inputs + num_parameters) {
      role = ir::InputRole::Parameter;
    }
    values[inputs[i]] = g.add_input(inputs[i]->debugName(), type_name(inputs[i]->type()), role);
  }

  auto arg_of = [&](const torch::jit::Value* v, const Node* user) -> ir::Arg {
    if (auto it = values.find(v); it != values.end()) return it->second;
    if (auto it = folded.find(v); it != folded.end()) return it->second;
    TORCH_INTERNAL_ASSERT(v->node()->kind() == c10::prim::Constant, "unmapped value ", v->debugName());
    c10::IValue iv = *torch::jit::toIValue(v);
    if (auto c = to_constant(iv, user)) return *c;
    // A tensor the forward created outside the traced ops (an unregistered member, a tensor
    // built from host data): it becomes a buffer of the captured model.
    const std::string name = "nncf_constants." + std::to_string(constants.size());
    constants.emplace_back(name, iv.toTensor());
    ir::Value* in = g.add_input(name, "Tensor", ir::InputRole::Buffer);
    values[v] = in;
    return in;
  };

  for (const Node* n : graph.nodes()) {
    if (n->kind() == c10::prim::Constant) continue;
    if (auto list = fold_list(n)) {
      folded[n->output()] = *list;
      continue;
    }
    std::string op = n->kind().toQualString();
    if (const c10::FunctionSchema* schema = n->maybeSchema()) {
      if (!schema->overload_name().empty()) op += "." + schema->overload_name();
    } else {
      TORCH_CHECK(is_structural_prim(n->kind()), "capture: ", describe(n),
                  " has no operator schema; it cannot be executed outside TorchScript");
    }
    std::vector<ir::Arg> args;
    for (const torch::jit::Value* in : n->inputs()) args.push_back(arg_of(in, n));
    std::vector<std::string> types;
    for (const torch::jit::Value* out : n->outputs()) types.push_back(type_name(out->type()));
    ir::Node* node = g.create_node(op, std::move(args), types);
    node->set_inplace_hint(inplace.count(n) != 0);
    node->set_module(module_of(n));
    if (auto mode = modes.find(n); mode != modes.end()) node->set_runs_in(mode->second);
    for (size_t k = 0; k < n->outputs().size(); ++k) values[n->outputs()[k]] = node->output(k);
  }
  for (const torch::jit::Value* out : graph.outputs()) {
    ir::Arg a = arg_of(out, graph.return_node());
    TORCH_CHECK(a.is_value(), "capture: the model returns a constant; nothing to capture");
    g.add_output(a.value());
  }
  return g;
}

}  // namespace nncf::capture::detail
