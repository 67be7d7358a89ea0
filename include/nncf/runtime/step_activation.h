#pragma once

// What an inserted module that binarizes activations -- out = level * [x > switch_c], one switching
// point per channel of dim 1 -- tells exporters that write it with a runtime's own ops
// (TorchScript: aten::gt and aten::where), without their knowing the algorithm that made it.

#include <ATen/core/Tensor.h>

namespace nncf::runtime {

class StepActivation {
 public:
  virtual ~StepActivation() = default;
  /// A disabled binarizer is the identity.
  virtual bool binarizes() const = 0;
  /// The switching points, one per channel ([C]), and the output level (one element).
  virtual at::Tensor switch_points() const = 0;
  virtual at::Tensor level() const = 0;
};

}  // namespace nncf::runtime
