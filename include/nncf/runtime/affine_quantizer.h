#pragma once

// What an inserted module that fake-quantizes on an affine integer grid tells exporters that write
// it with a runtime's own ops (TorchScript's aten::fake_quantize_*), without their knowing the
// algorithm that made it.

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace nncf::runtime {

struct AffineGrid {
  at::Tensor step, zero_point;  ///< one value, or one per channel
  int64_t quant_min = 0, quant_max = 0;
  int64_t axis = 0;  ///< the channel axis when per channel
  bool per_channel = false;
};

class AffineQuantizer {
 public:
  virtual ~AffineQuantizer() = default;
  /// A disabled quantizer is the identity.
  virtual bool quantizes() const = 0;
  virtual AffineGrid affine_grid() const = 0;
};

}  // namespace nncf::runtime
