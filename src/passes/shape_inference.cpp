#include "nncf/passes/shape_inference.h"

#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/function_schema.h>
#include <ATen/core/jit_type.h>
#include <c10/util/Exception.h>
#include <torch/csrc/jit/runtime/operator.h>

#include <algorithm>
#include <exception>

#include "nncf/ir/constant.h"

// Operators resolve as the runtime resolves them (runtime/program.cpp): the c10 dispatcher
// first, then the operators only the JIT registers; the structural prim ops are native. The
// passes layer sits below the runtime, so it keeps its own copy of that resolution; constant
// arguments convert as in the runtime, by the IR's own conversion (nncf/ir/constant.h).

namespace nncf::passes {
namespace {

using Stack = std::vector<c10::IValue>;

std::string describe(const ir::Node& node) {
  return c10::str(node.qualified_op(), " (scope '", node.scope(), "')");
}

std::string first_line(const char* what) {
  std::string s(what);
  return s.substr(0, s.find('\n'));
}

// Boxed kernels read `int[]` with toIntVector(), which accepts only an int-typed list.
c10::IValue construct_list(const std::string& type, Stack& in) {
  auto typed = [&](auto tag, auto element) {
    c10::List<decltype(tag)> list;
    for (c10::IValue& v : in) list.push_back(element(v));
    return c10::IValue(std::move(list));
  };
  if (type == "int[]") return typed(int64_t(), [](c10::IValue& v) { return v.toInt(); });
  if (type == "float[]") return typed(double(), [](c10::IValue& v) { return v.toDouble(); });
  if (type == "bool[]") return typed(bool(), [](c10::IValue& v) { return v.toBool(); });
  if (type == "Tensor[]") return typed(at::Tensor(), [](c10::IValue& v) { return v.toTensor(); });
  if (type == "Tensor?[]") {
    return typed(c10::optional<at::Tensor>(), [](c10::IValue& v) {
      return v.isNone() ? c10::optional<at::Tensor>() : c10::optional<at::Tensor>(v.toTensor());
    });
  }
  c10::impl::GenericList list(c10::AnyType::get());
  for (c10::IValue& v : in) list.push_back(v);
  return c10::IValue(std::move(list));
}

bool is_structural(const std::string& op) {
  return op == "prim::ListConstruct" || op == "prim::TupleConstruct" || op == "prim::ListUnpack" ||
         op == "prim::TupleUnpack" || op == "prim::TupleIndex" || op == "prim::ModeSelect";
}

// Runs a structural prim op natively (the JIT's versions build their Operation from a jit::Node).
void run_structural(const ir::Node& node, Stack& stack) {
  const std::string& op = node.op();
  if (op == "prim::ListConstruct") {
    c10::IValue list = construct_list(node.output()->type(), stack);
    stack = {std::move(list)};
  } else if (op == "prim::TupleConstruct") {
    stack = {c10::ivalue::Tuple::create(std::vector<c10::IValue>(stack))};
  } else if (op == "prim::ListUnpack" || op == "prim::TupleUnpack") {
    c10::IValue packed = stack.at(0);
    c10::ArrayRef<c10::IValue> elements =
        op == "prim::ListUnpack" ? packed.toListRef() : packed.toTupleRef().elements();
    stack.assign(elements.begin(), elements.end());
  } else if (op == "prim::TupleIndex") {
    const auto& elements = stack.at(0).toTupleRef().elements();
    int64_t n = static_cast<int64_t>(elements.size()), i = stack.at(1).toInt();
    TORCH_CHECK(i >= -n && i < n, "tuple index ", i, " out of range for a tuple of ", n);
    stack = {elements[i < 0 ? i + n : i]};
  } else if (op == "prim::ModeSelect") {
    c10::IValue picked = stack.at(stack.at(0).toBool() ? 1 : 2);
    stack = {std::move(picked)};
  }
}

bool is_meta(const c10::IValue& v) {
  if (v.isTensor()) return v.toTensor().is_meta();
  if (v.isList()) {
    for (const c10::IValue& e : v.toListRef()) {
      if (is_meta(e)) return true;
    }
  }
  return false;
}

// `v` with its tensors (also inside lists and tuples) replaced by tensors of the same sizes and
// dtype on `device`: zero-filled on a real device.
c10::IValue convert(const c10::IValue& v, c10::Device device) {
  if (v.isTensor()) {
    const at::Tensor& t = v.toTensor();
    if (t.device() == device) return v;
    at::TensorOptions o = t.options().device(device);
    return device.is_meta() ? at::empty(t.sizes(), o) : at::zeros(t.sizes(), o);
  }
  if (v.isList()) {
    c10::impl::GenericList list = v.toList().copy();
    for (size_t i = 0; i < list.size(); ++i) list.set(i, convert(list.get(i), device));
    return list;
  }
  if (v.isTuple()) {
    std::vector<c10::IValue> elements;
    for (const c10::IValue& e : v.toTupleRef().elements()) elements.push_back(convert(e, device));
    return c10::ivalue::Tuple::create(std::move(elements));
  }
  return v;
}

std::vector<int64_t> expand(const c10::IValue& v, size_t n) {
  std::vector<int64_t> out = v.isInt() ? std::vector<int64_t>{v.toInt()} : v.toIntVector();
  if (out.size() == 1) out.resize(n, out[0]);
  return out;
}

// The output of a convolution, from the arguments of its schema (Note [Operators without meta
// kernels]); nullopt for a layout it does not know (string padding).
std::optional<c10::IValue> conv_rule(const ir::Node& node, const Stack& a) {
  const std::string& op = node.op();
  const bool generic = op == "aten::convolution" || op == "aten::_convolution";
  const bool transposed = generic ? a.at(6).toBool() : op.rfind("aten::conv_transpose", 0) == 0;
  if (!a.at(0).isTensor() || !a.at(1).isTensor() || !a.at(4).isIntList()) return std::nullopt;
  const at::Tensor& x = a[0].toTensor();
  const at::Tensor& w = a[1].toTensor();
  const size_t n = static_cast<size_t>(w.dim()) - 2;
  // conv{1,2,3}d: stride, padding, dilation, groups; conv_transpose: stride, padding,
  // output_padding, groups, dilation; convolution: stride, padding, dilation, transposed,
  // output_padding, groups.
  std::vector<int64_t> stride = expand(a.at(3), n), padding = expand(a.at(4), n), dilation, out_pad(n, 0);
  int64_t groups;
  if (generic) {
    dilation = expand(a.at(5), n);
    out_pad = expand(a.at(7), n);
    groups = a.at(8).toInt();
  } else if (transposed) {
    out_pad = expand(a.at(5), n);
    groups = a.at(6).toInt();
    dilation = expand(a.at(7), n);
  } else {
    dilation = expand(a.at(5), n);
    groups = a.at(6).toInt();
  }
  const bool batched = x.dim() == static_cast<int64_t>(n) + 2;
  std::vector<int64_t> sizes;
  if (batched) sizes.push_back(x.size(0));
  sizes.push_back(transposed ? w.size(1) * groups : w.size(0));
  for (size_t d = 0; d < n; ++d) {
    const int64_t in = x.size(x.dim() - static_cast<int64_t>(n) + static_cast<int64_t>(d));
    const int64_t k = dilation[d] * (w.size(2 + d) - 1);
    sizes.push_back(transposed ? (in - 1) * stride[d] - 2 * padding[d] + k + out_pad[d] + 1
                               : (in + 2 * padding[d] - k - 1) / stride[d] + 1);
  }
  return c10::IValue(at::empty(sizes, x.options()));
}

std::optional<c10::IValue> shape_rule(const ir::Node& node, const Stack& args) {
  using ir::Metatype;
  const Metatype m = node.metatype();
  if (m == Metatype::Conv || m == Metatype::ConvTranspose)
    return node.outputs().size() == 1 ? conv_rule(node, args) : std::nullopt;
  // Dropout keeps its input's shape too. PReLU and Softmax get no rule: where they lack a meta
  // kernel they run on zeros (shape_independent_of_data).
  if (ir::is_elementwise_activation(m) || m == Metatype::Dropout) {
    if (node.outputs().size() != 1 || args.empty() || !args[0].isTensor()) return std::nullopt;
    return c10::IValue(at::empty_like(args[0].toTensor()));
  }
  return std::nullopt;
}

// Operator families whose output shapes never depend on tensor data (unlike aten::item,
// nonzero, or indexing with a mask), so running them on zeros gives the right shapes.
bool shape_independent_of_data(ir::Metatype m) {
  using ir::Metatype;
  switch (m) {
    case Metatype::Conv:
    case Metatype::ConvTranspose:
    case Metatype::Linear:
    case Metatype::MatMul:
    case Metatype::Embedding:
    case Metatype::BatchNorm:
    case Metatype::GroupNorm:
    case Metatype::LayerNorm:
    case Metatype::InstanceNorm:
    case Metatype::PReLU:
    case Metatype::Softmax:
    case Metatype::Add:
    case Metatype::Sub:
    case Metatype::Mul:
    case Metatype::Div:
    case Metatype::MaxPool:
    case Metatype::AvgPool:
    case Metatype::AdaptiveAvgPool:
    case Metatype::AdaptiveMaxPool:
    case Metatype::Mean:
    case Metatype::Sum:
    case Metatype::Cat:
    case Metatype::Reshape:
    case Metatype::Split:
    case Metatype::Pad:
    case Metatype::Interpolate:
    case Metatype::Dropout:
      return true;
    default:
      return false;
  }
}

// Calls a dispatcher or JIT operator on `stack`; returns an empty string or why it cannot run.
std::string call_operator(const ir::Node& node, const std::vector<const c10::IValue*>& args, Stack& stack) {
  const c10::FunctionSchema* schema = nullptr;
  c10::optional<c10::OperatorHandle> handle =
      c10::Dispatcher::singleton().findSchema({node.op(), node.overload()});
  std::optional<torch::jit::Operation> jit_op;
  if (handle) {
    schema = &handle->schema();
  } else {
    for (const auto& candidate : torch::jit::getAllOperatorsFor(c10::Symbol::fromQualString(node.op()))) {
      if (candidate->schema().overload_name() != node.overload()) continue;
      // Some JIT operators build their Operation from the jit::Node they run in.
      const auto& s = candidate->schema();
      if (s.is_vararg() || s.is_varret() || s.name() == "prim::isinstance")
        return "needs a TorchScript node to run";
      schema = &s;
      jit_op = candidate->getOperation();
      break;
    }
  }
  if (schema == nullptr) return "unknown operator: not in the c10 dispatcher or the JIT operator registry";
  const auto& formal = schema->arguments();
  TORCH_CHECK(node.inputs().size() <= formal.size(), "nncf::passes::ShapeInference: ", describe(node),
              " has ", node.inputs().size(), " arguments, but its schema takes ", formal.size(), ": ",
              *schema);
  TORCH_CHECK(schema->returns().size() == node.outputs().size(),
              "nncf::passes::ShapeInference: ", describe(node), " has ", node.outputs().size(),
              " outputs, but its schema returns ", schema->returns().size());
  for (size_t i = 0; i < formal.size(); ++i) {
    if (i < node.inputs().size()) {
      stack.push_back(args[i] != nullptr ? *args[i]
                                         : ir::to_ivalue(node.input(i).constant(), &formal[i].type()));
    } else {
      // Trailing arguments left out take their schema defaults: a boxed call needs them all.
      TORCH_CHECK(formal[i].default_value().has_value(), "nncf::passes::ShapeInference: ", describe(node),
                  " is missing argument '", formal[i].name(), "' of ", *schema);
      stack.push_back(*formal[i].default_value());
    }
  }
  // Note [Operators without meta kernels]: LibTorch's C++ build lacks meta kernels for some
  // common operators (convolutions, relu: Python registers those in torch/_meta_registrations.py).
  // Convolutions and same-shape activations get a shape rule here; any other operator runs its
  // real kernel on zero-filled CPU tensors of the same shapes, its results made meta again.
  const bool meta = !stack.empty() && std::any_of(stack.begin(), stack.end(), is_meta);
  Stack saved = meta ? stack : Stack();
  auto call = [&] {
    if (handle) {
      handle->callBoxed(&stack);
    } else {
      (*jit_op)(stack);
    }
  };
  try {
    call();
    return {};
  } catch (const std::exception& e) {
    if (!meta) return c10::str("cannot run on these tensors: ", first_line(e.what()));
    if (std::optional<c10::IValue> out = shape_rule(node, saved)) {
      stack = {std::move(*out)};
      return {};
    }
    if (!shape_independent_of_data(node.metatype())) {
      return c10::str("cannot run on these tensors: ", first_line(e.what()));
    }
    try {
      stack.clear();
      for (const c10::IValue& v : saved) stack.push_back(convert(v, c10::Device(c10::kCPU)));
      call();
      for (c10::IValue& v : stack) v = convert(v, c10::Device(c10::kMeta));
      return {};
    } catch (const std::exception& e2) {
      return c10::str("cannot run on these tensors: ", first_line(e2.what()));
    }
  }
  return {};
}

ValueInfo info_of(const c10::IValue& v) {
  ValueInfo info;
  info.known = true;
  if (v.isTensor()) {
    const at::Tensor& t = v.toTensor();
    info.sizes = t.sizes().vec();
    info.dtype = t.scalar_type();
  } else {
    info.value = v;
  }
  return info;
}

}  // namespace

InputShapes InputShapes::of(const std::map<std::string, at::Tensor>& tensors, bool training) {
  InputShapes shapes;
  shapes.training = training;
  for (const auto& [name, t] : tensors) shapes.tensors[name] = {t.sizes().vec(), t.scalar_type()};
  return shapes;
}

int64_t ValueInfo::numel() const {
  TORCH_CHECK(sizes.has_value(), "nncf::passes::ValueInfo: numel of a value that is not a known tensor");
  int64_t n = 1;
  for (int64_t s : *sizes) n *= s;
  return n;
}

const ValueInfo& ShapeInferenceResult::at(const ir::Value* v) const {
  auto it = values.find(v);
  TORCH_CHECK(it != values.end(), "nncf::passes::ShapeInferenceResult: value '", v ? v->name() : "<null>",
              "' is not a value of the inferred graph");
  return it->second;
}

ShapeInferenceResult ShapeInference::run(const ir::Graph& graph, const InputShapes& inputs) const {
  ShapeInferenceResult result;
  result.training = inputs.training;
  // The evaluated values; a value absent here is unknown.
  std::unordered_map<const ir::Value*, c10::IValue> env;
  // prim::NumToTensor's scalar, so that aten::Int of it stays known on the meta device, where a
  // tensor has no data to read (traced code turns sizes into tensors and back).
  std::unordered_map<const ir::Value*, c10::IValue> scalar_of;
  const at::TensorOptions options = at::TensorOptions().device(device_);

  for (const ir::Value* v : graph.inputs()) {
    if (v->role() == ir::InputRole::Training) {
      env[v] = c10::IValue(inputs.training);
      continue;
    }
    auto it = inputs.tensors.find(v->name());
    if (it == inputs.tensors.end()) {
      result.diagnostics.push_back({nullptr, c10::str("no shape given for input '", v->name(), "'")});
      continue;
    }
    const std::vector<int64_t>& want = v->shape();
    const std::vector<int64_t>& got = it->second.sizes;
    bool ok = want.empty() || want.size() == got.size();
    for (size_t d = 0; ok && d < want.size(); ++d) ok = want[d] == -1 || want[d] == got[d];
    TORCH_CHECK(ok, "nncf::passes::ShapeInference: input '", v->name(), "' has shape ", c10::IntArrayRef(got),
                ", but the graph was captured for shape ", c10::IntArrayRef(want), " (-1: any size)");
    at::TensorOptions o = options.dtype(it->second.dtype);
    env[v] = device_.is_meta() ? at::empty(got, o) : at::zeros(got, o);
  }

  // Note [Mode-specific ops] (capture/merge_modes.cpp): nodes of the other mode do not run.
  const ir::RunsIn other = inputs.training ? ir::RunsIn::Eval : ir::RunsIn::Training;
  Stack stack;
  for (const ir::Node* node : graph.nodes()) {
    if (node->runs_in() == other) continue;
    std::vector<const c10::IValue*> args(node->inputs().size(), nullptr);
    bool inputs_known = true;
    // prim::ModeSelect reads only the value of the inferred mode.
    const size_t unread = node->op() == "prim::ModeSelect" ? (inputs.training ? 2 : 1) : SIZE_MAX;
    for (size_t i = 0; i < args.size() && inputs_known; ++i) {
      if (!node->input(i).is_value() || i == unread) continue;
      auto it = env.find(node->input(i).value());
      inputs_known = it != env.end();
      if (inputs_known) args[i] = &it->second;
    }
    if (!inputs_known) continue;  // knowledge stopped upstream, where the diagnostic is

    stack.clear();
    const ir::Value* in0 = args.empty() || !node->input(0).is_value() ? nullptr : node->input(0).value();
    std::string why;
    if (device_.is_meta() && in0 != nullptr && scalar_of.count(in0) &&
        (node->op() == "aten::Int" || node->op() == "aten::Float" || node->op() == "aten::ScalarImplicit")) {
      const c10::IValue& s = scalar_of.at(in0);
      stack = {node->op() == "aten::Int"     ? c10::IValue(s.toScalar().toLong())
               : node->op() == "aten::Float" ? c10::IValue(s.toScalar().toDouble())
                                             : s};
    } else if (is_structural(node->op())) {
      for (size_t i = 0; i < args.size(); ++i) {
        stack.push_back(args[i]                     ? *args[i]
                        : node->input(i).is_value() ? c10::IValue()
                                                    : ir::to_ivalue(node->input(i).constant(), nullptr));
      }
      run_structural(*node, stack);
    } else {
      why = call_operator(*node, args, stack);
    }
    if (!why.empty()) {
      result.diagnostics.push_back({node, c10::str(describe(*node), ": ", why)});
      continue;
    }
    TORCH_CHECK(stack.size() == node->outputs().size(), "nncf::passes::ShapeInference: ", describe(*node),
                " produced ", stack.size(), " values for ", node->outputs().size(), " outputs");
    if (node->op() == "prim::NumToTensor" && args[0] != nullptr) scalar_of[node->output()] = *args[0];
    for (size_t k = 0; k < stack.size(); ++k) env[node->output(k)] = std::move(stack[k]);
  }

  for (const ir::Value* v : graph.inputs()) {
    auto it = env.find(v);
    result.values[v] = it == env.end() ? ValueInfo() : info_of(it->second);
  }
  for (const ir::Node* node : graph.nodes()) {
    for (const ir::Value* v : node->outputs()) {
      auto it = env.find(v);
      result.values[v] = it == env.end() ? ValueInfo() : info_of(it->second);
    }
  }
  return result;
}

}  // namespace nncf::passes
