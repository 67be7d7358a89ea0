#pragma once

// The shapes a model's graph is inferred with: every parameter and buffer as the model holds it,
// and the data inputs from one batch of example inputs (a data input without one stays unknown).

#include <ATen/core/ivalue.h>

#include <vector>

#include "nncf/passes/shape_inference.h"
#include "nncf/runtime/compressed_model.h"

namespace nncf {

passes::InputShapes model_input_shapes(const runtime::CompressedModel& model,
                                       const std::vector<c10::IValue>& example_inputs);

}  // namespace nncf
