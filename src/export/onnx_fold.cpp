// Constant folding at export: Note [Constant folding] in onnx_ops.h.

#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>
#include <torch/csrc/jit/runtime/operator.h>

#include "nncf/runtime/ops.h"
#include "onnx_ops.h"

namespace nncf::exporting::detail {
namespace {

// Ops whose result is not a function of their arguments (random numbers, uninitialized memory),
// and dropout, whose converter is the identity whatever its arguments say.
bool nondeterministic(const std::string& op) {
  for (const char* word : {"rand", "bernoulli", "normal", "uniform", "multinomial", "exponential",
                           "geometric", "cauchy", "poisson", "rrelu", "empty", "dropout"}) {
    if (op.find(word) != std::string::npos) return true;
  }
  return false;
}

// Ops that read only the dtype and device of their first argument (x.new_zeros(size)). The data
// an export runs on is float on the CPU, so a float tensor stands for it.
bool reads_dtype_only(const std::string& op) {
  return op == "aten::new_zeros" || op == "aten::new_ones" || op == "aten::new_full";
}

// An argument of `schema` that the op writes into (self of fill_, copy_, add_ ...).
bool is_written(const c10::FunctionSchema* schema, size_t i) {
  if (schema == nullptr || i >= schema->arguments().size()) return false;
  const auto* alias = schema->arguments()[i].alias_info();
  return alias != nullptr && alias->isWrite();
}

// As the runtime builds lists (Program::construct_list): typed by the IR value's type.
c10::IValue list_of(const std::string& type, std::vector<c10::IValue>& items) {
  if (type == "int[]") {
    c10::List<int64_t> l;
    for (const auto& v : items) l.push_back(v.toInt());
    return l;
  }
  if (type == "float[]") {
    c10::List<double> l;
    for (const auto& v : items) l.push_back(v.toDouble());
    return l;
  }
  if (type == "bool[]") {
    c10::List<bool> l;
    for (const auto& v : items) l.push_back(v.toBool());
    return l;
  }
  if (type == "Tensor[]") {
    c10::List<at::Tensor> l;
    for (const auto& v : items) l.push_back(v.toTensor());
    return l;
  }
  if (type == "Tensor?[]") {
    c10::List<c10::optional<at::Tensor>> l;
    for (const auto& v : items) l.push_back(v.isNone() ? c10::optional<at::Tensor>() : v.toTensor());
    return l;
  }
  c10::impl::GenericList l(c10::AnyType::get());
  for (const auto& v : items) l.push_back(v);
  return l;
}

// Runs `node` on `stack` (its arguments) as the runtime would; nullopt for ops it does not run here.
std::optional<std::vector<c10::IValue>> evaluate(const ir::Node& node, std::vector<c10::IValue> stack) {
  const std::string& op = node.op();
  if (op == "prim::ListConstruct") return std::vector<c10::IValue>{list_of(node.output()->type(), stack)};
  if (op == "prim::TupleConstruct")
    return std::vector<c10::IValue>{c10::ivalue::Tuple::create(std::move(stack))};
  if (op == "prim::ListUnpack" || op == "prim::TupleUnpack") {
    std::vector<c10::IValue> items =
        stack.at(0).isTuple() ? stack[0].toTupleRef().elements().vec() : stack[0].toListRef().vec();
    if (items.size() != node.outputs().size()) return std::nullopt;
    return items;
  }
  if (auto handle = c10::Dispatcher::singleton().findSchema({op, node.overload()})) {
    // A boxed kernel reads every schema argument from the stack; the IR may omit trailing
    // defaults (the runtime fills them in), so such a node is left to the exporter.
    if (stack.size() != handle->schema().arguments().size()) return std::nullopt;
    handle->callBoxed(&stack);
  } else {
    // Operators only the JIT registers (aten::Int, prim::NumToTensor, ...).
    const torch::jit::Operator* found = nullptr;
    for (const auto& candidate : torch::jit::getAllOperatorsFor(c10::Symbol::fromQualString(op))) {
      const auto& s = candidate->schema();
      if (s.overload_name() == node.overload() && !s.is_vararg() && !s.is_varret() &&
          s.name() != "prim::isinstance")  // needs a TorchScript node (as in the runtime)
        found = candidate.get();
    }
    if (found == nullptr || stack.size() != found->schema().arguments().size()) return std::nullopt;
    found->getOperation()(stack);
  }
  if (stack.size() != node.outputs().size()) return std::nullopt;
  return stack;
}

}  // namespace

std::optional<c10::IValue> ConstantFolder::input(const ir::Value* v, const KnownInput& known) {
  std::optional<c10::IValue> in = known(v);
  if (!in || !in->isTensor()) return in;
  auto it = clones_.find(v);
  if (it == clones_.end()) it = clones_.emplace(v, in->toTensor().clone()).first;
  return c10::IValue(it->second);
}

bool ConstantFolder::fold(const ir::Node& node, bool has_converter, const KnownInput& known) {
  const std::string& op = node.op();
  if (nondeterministic(op) || op == "prim::ModeSelect" || op == "prim::TupleIndex") return false;
  const c10::FunctionSchema* schema = nullptr;
  try {
    schema = runtime::schema_of(node);
  } catch (const c10::Error&) {
    return false;  // an op unknown here: the converter lookup says what is missing
  }
  // Decide before anything is cloned: most nodes read data or are converted as they are.
  bool reads_folded = false, writes = false;
  for (size_t i = 0; i < node.inputs().size(); ++i) {
    const ir::Arg& a = node.input(i);
    if (a.is_constant()) continue;
    const ir::Value* v = a.value();
    if (is_folded(v)) {
      reads_folded = true;
      writes = writes || is_written(schema, i);
      continue;
    }
    // Writing into a parameter, a buffer or data is the runtime's business, not export's.
    if (is_written(schema, i)) return false;
    if (!v->is_graph_input() || !known(v)) {
      if (i == 0 && reads_dtype_only(op)) continue;
      return false;
    }
  }
  if (has_converter && !reads_folded && !writes) return false;

  std::vector<c10::IValue> stack;
  for (size_t i = 0; i < node.inputs().size(); ++i) {
    const ir::Arg& a = node.input(i);
    if (a.is_constant()) {
      const c10::TypePtr* type =
          schema != nullptr && i < schema->arguments().size() ? &schema->arguments()[i].type() : nullptr;
      stack.push_back(runtime::constant_to_ivalue(a.constant(), type));
    } else if (is_folded(a.value())) {
      stack.push_back(values_.at(a.value()));
    } else if (auto in = a.value()->is_graph_input() ? input(a.value(), known) : std::nullopt) {
      stack.push_back(*in);
    } else {
      stack.push_back(at::empty({0}, at::kFloat));  // reads_dtype_only
    }
  }
  std::optional<std::vector<c10::IValue>> out;
  try {
    out = evaluate(node, std::move(stack));
  } catch (const c10::Error& e) {
    TORCH_CHECK(false, "nncf::export_onnx: cannot evaluate node '", node.scope(), "' (", node.qualified_op(),
                "), whose arguments are all constants: ", e.what_without_backtrace());
  }
  if (!out) return false;
  for (size_t k = 0; k < out->size(); ++k) values_[node.output(k)] = std::move((*out)[k]);
  return true;
}

Sym ConstantFolder::sym(const ir::Value* v, OnnxBuilder& b) {
  const c10::IValue& iv = values_.at(v);
  const std::string hint = c10::str(v->producer() != nullptr ? v->producer()->scope() : v->name(), ".folded");
  // The ONNX graph computes in float: double tensors (Python floats kept as tensors) become float.
  auto initializer = [&](const at::Tensor& t) {
    return b.add_initializer(hint, t.scalar_type() == at::kDouble ? t.to(at::kFloat) : t);
  };
  if (iv.isTensor()) {
    const at::Tensor& t = iv.toTensor();
    auto w = written_.find(v);
    if (w != written_.end() && w->second.first == static_cast<int64_t>(t._version()))
      return Sym::tensor(w->second.second);
    std::string name = initializer(t);
    written_[v] = {static_cast<int64_t>(t._version()), name};
    return Sym::tensor(name);
  }
  if (iv.isNone()) return Sym{};
  if (iv.isBool()) return Sym::int_const(iv.toBool());
  if (iv.isInt()) return Sym::int_const(iv.toInt());
  Sym s;
  if (iv.isDouble()) {
    s.kind = Sym::Kind::Double;
    s.d = iv.toDouble();
    return s;
  }
  if (iv.isIntList()) {
    s.kind = Sym::Kind::IntList;
    for (int64_t i : iv.toIntVector()) s.items.push_back(Sym::int_const(i));
    return s;
  }
  if (iv.isList() || iv.isTuple()) {
    s.kind = Sym::Kind::TensorList;
    for (const c10::IValue& e : iv.isTuple() ? iv.toTupleRef().elements().vec() : iv.toListRef().vec()) {
      if (e.isTensor()) {
        s.items.push_back(Sym::tensor(initializer(e.toTensor())));
      } else if (e.isNone()) {
        s.items.emplace_back();
      } else {
        s.items.push_back(Sym{Sym::Kind::Other});
      }
    }
    return s;
  }
  s.kind = Sym::Kind::Other;
  return s;
}

}  // namespace nncf::exporting::detail
