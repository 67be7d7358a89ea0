#include "constants.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/util/Exception.h>
#include <torch/csrc/jit/runtime/operator.h>

#include "nncf/runtime/ops.h"

namespace nncf::runtime::detail {

// The schema's type of argument `i`, or nullptr if there is none (vararg, native step).
const c10::TypePtr* argument_type(const c10::FunctionSchema* schema, size_t i) {
  if (schema == nullptr || i >= schema->arguments().size()) return nullptr;
  return &schema->arguments()[i].type();
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
