#pragma once

// The quantization mode, shared by the FakeQuantize module and the quantization config.

namespace nncf::quantization {

/// Symmetric: a learned `scale`, range [scale * level_low / level_high, scale]. Asymmetric: a
/// learned `input_low` and `input_range`, tuned so that zero is on the grid.
enum class QuantizationMode { Symmetric, Asymmetric };

/// "symmetric" / "asymmetric" (the JSON spelling).
const char* to_string(QuantizationMode mode);

}  // namespace nncf::quantization
