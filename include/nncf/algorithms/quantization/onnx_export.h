#pragma once

// How FakeQuantize modules are written to ONNX (nncf-reference.md §1.6):
//  * standard ops (`export_to_onnx_standard_ops: true`): QuantizeLinear/DequantizeLinear pairs in
//    the default domain, int8 for signed grids and uint8 otherwise, per channel through `axis`
//    (weights too: their initializer already lies on the grid). Activations need a full 8-bit grid
//    (256 levels); weights may use fewer bits.
//  * default: `org.openvinotoolkit::FakeQuantize(x, input_low, input_high, output_low, output_high,
//    levels)` for any bit width, which OpenVINO converts natively.
// Overflow-fix weights (8-bit quantizers trained on 7 bits) are widened to 256 levels as NNCF does:
// the step stays, the range doubles, the weights (already clamped to 7 bits) are unchanged.
// A BatchNorm after a quantized conv is folded into the weight quantizer: each output channel's grid
// is scaled by the BatchNorm's factor (per-channel from then on), so the folded weight is still
// exactly on its grid. With standard ops a channel whose factor is negative has its levels mirrored
// around the zero point; where that leaves the int8/uint8 range (level -128 of a full signed grid)
// or the quantizer is per-channel along another axis, the BatchNorm is not folded.

#include <set>

#include "nncf/export/onnx.h"

namespace nncf::quantization {

/// A HookExporter for nncf::quantization::FakeQuantize modules; `half_range` lists the modules of
/// overflow-fix weight quantizers. Disabled quantizers write nothing (identity).
exporting::HookExporter fake_quantize_exporter(bool standard_ops,
                                               std::set<const torch::nn::Module*> half_range = {});

}  // namespace nncf::quantization
