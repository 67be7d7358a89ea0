#include "constants.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/util/Exception.h>
#include <torch/csrc/jit/runtime/operator.h>

#include "nncf/runtime/ops.h"

namespace nncf::runtime::detail {
namespace {

bool expects_float(const c10::TypePtr& type) {
  if (auto opt = type->cast<c10::OptionalType>()) return expects_float(opt->getElementType());
  return type->kind() == c10::TypeKind::FloatType;
}

bool expects_float_list(const c10::TypePtr& type) {
  if (auto opt = type->cast<c10::OptionalType>()) return expects_float_list(opt->getElementType());
  auto list = type->cast<c10::ListType>();
  return list && list->getElementType()->kind() == c10::TypeKind::FloatType;
}

}  // namespace

// The schema's type of argument `i`, or nullptr if there is none (vararg, native step).
const c10::TypePtr* argument_type(const c10::FunctionSchema* schema, size_t i) {
  if (schema == nullptr || i >= schema->arguments().size()) return nullptr;
  return &schema->arguments()[i].type();
}

// Ints and int lists are coerced where the schema wants floats: a boxed kernel reads a `float`
// argument with toDouble(), which rejects an int IValue (the text form may write `1` for `1.0`).
c10::IValue to_ivalue(const ir::Constant& c, const c10::TypePtr* expected) {
  using K = ir::Constant::Kind;
  switch (c.kind()) {
    case K::None:
      return c10::IValue();
    case K::Bool:
      return c10::IValue(c.to_bool());
    case K::Int:
      if (expected && expects_float(*expected)) return c10::IValue(static_cast<double>(c.to_int()));
      return c10::IValue(c.to_int());  // int64_t: the boxed stack holds no narrower int
    case K::Double:
      return c10::IValue(c.to_double());
    case K::String:
      return c10::IValue(c.to_string());
    case K::Device:
      return c10::IValue(c10::Device(c.to_string()));
    case K::IntList: {
      if (expected && expects_float_list(*expected)) {
        const auto& v = c.to_int_list();
        return c10::IValue(c10::List<double>(std::vector<double>(v.begin(), v.end())));
      }
      return c10::IValue(c10::List<int64_t>(c.to_int_list()));
    }
    case K::DoubleList:
      return c10::IValue(c10::List<double>(c.to_double_list()));
    case K::BoolList: {
      c10::List<bool> list;
      for (bool b : c.to_bool_list()) list.push_back(b);
      return c10::IValue(std::move(list));
    }
  }
  TORCH_INTERNAL_ASSERT(false, "unhandled constant kind");
}

}  // namespace nncf::runtime::detail

namespace nncf::runtime {

const c10::FunctionSchema* schema_of(const ir::Node& node) {
  const std::string& op = node.op();
  if (op == "prim::ListConstruct" || op == "prim::TupleConstruct" || op == "prim::ListUnpack" ||
      op == "prim::TupleUnpack" || op == "prim::TupleIndex" || op == "prim::ModeSelect") {
    return nullptr;
  }
  if (auto handle = c10::Dispatcher::singleton().findSchema({op, node.overload()})) return &handle->schema();
  for (const auto& candidate : torch::jit::getAllOperatorsFor(c10::Symbol::fromQualString(op))) {
    if (candidate->schema().overload_name() == node.overload()) return &candidate->schema();
  }
  TORCH_CHECK(false, "nncf: unknown operator ", node.qualified_op(), " at node scope '", node.scope(), "'");
}

c10::IValue constant_to_ivalue(const ir::Constant& constant, const c10::TypePtr* type) {
  return detail::to_ivalue(constant, type);
}

}  // namespace nncf::runtime
