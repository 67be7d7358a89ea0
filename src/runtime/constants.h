#pragma once

// IR constants as the IValues a boxed kernel reads (private to the runtime).

#include <ATen/core/function_schema.h>
#include <ATen/core/ivalue.h>
#include <ATen/core/jit_type.h>

#include "nncf/ir/constant.h"
#include "nncf/ir/graph.h"

namespace nncf::runtime::detail {

/// The schema's type of argument `i`, or nullptr if there is none (vararg, native step).
const c10::TypePtr* argument_type(const c10::FunctionSchema* schema, size_t i);

/// `c` as an IValue; ints and int lists become floats where `expected` (may be null) says so.
/// The IR's conversion, which shape inference uses too.
using ir::to_ivalue;

}  // namespace nncf::runtime::detail
