#pragma once

// How the runtime resolves an IR node's operator and its constant arguments, for code that turns
// the IR into another executable form (TorchScript export).

#include <ATen/core/function_schema.h>
#include <ATen/core/ivalue.h>
#include <ATen/core/jit_type.h>

#include "nncf/ir/graph.h"

namespace nncf::runtime {

/// The schema of the operator `node` calls (a dispatcher operator, or one only the JIT registers),
/// or nullptr for the structural prim ops (lists, tuples, prim::ModeSelect). Throws c10::Error
/// naming the node for an unknown operator.
const c10::FunctionSchema* schema_of(const ir::Node& node);

/// An IR constant as the IValue an argument of `type` takes (ints become floats where the schema
/// wants floats); `type` may be null.
c10::IValue constant_to_ivalue(const ir::Constant& constant, const c10::TypePtr* type);

}  // namespace nncf::runtime
