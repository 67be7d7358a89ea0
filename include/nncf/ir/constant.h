#pragma once

// IR constants as LibTorch IValues, for code that calls LibTorch operators on IR nodes (the
// runtime, shape inference, export). Apart from graph.h, which names no LibTorch type.

#include <ATen/core/ivalue.h>
#include <ATen/core/jit_type.h>

#include "nncf/ir/graph.h"

namespace nncf::ir {

/// `c` as the IValue that an argument of type `expected` takes; `expected` may be null (no schema
/// argument: a vararg, a structural prim op), which converts each kind as is. An int becomes a
/// float where `expected` is `float` or `float?`, and an int list a float list where it is
/// `float[]` or `float[]?`: a boxed kernel reads a float with toDouble(), which rejects an int (the
/// text form may write `1` for `1.0`). Ints are int64_t, the only int of the boxed stack.
c10::IValue to_ivalue(const Constant& c, const c10::TypePtr* expected);

}  // namespace nncf::ir
