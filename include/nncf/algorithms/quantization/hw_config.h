#pragma once

// Hardware configurations: which operations a target runs with quantized inputs and weights, and
// which quantizer configurations (bits, mode, granularity, signedness) it accepts for each. They
// are data, in NNCF's HW-config JSON format (`data/hw_configs/{cpu,gpu,vpu}.json`, compiled into
// the library), so a target is added or changed without touching the placement code:
//
//   {"target_device": "CPU",
//    "config": {"quantization": {"q8_a": {"bits": 8, "mode": ["symmetric", "asymmetric"],
//                                         "granularity": "pertensor"}, ...}},
//    "operations": [{"type": "Convolution",
//                    "quantization": {"activations": "q8_a", "weights": ["q8_w_sym", "q8_w_asym"]}},
//                   {"type": "Concat", "attributes": {"scales": "unified"}}, ...]}
//
// An alias expands to the cartesian product of its `mode` and `granularity` lists, in the order
// listed (mode outer); lists of aliases concatenate (repeats dropped). The order is the
// preference: placement takes the first configuration that the user's constraints allow.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nncf/algorithms/quantization/mode.h"

namespace nncf::quantization {

/// One quantizer configuration.
struct QConfig {
  int64_t bits = 8;
  QuantizationMode mode = QuantizationMode::Symmetric;
  bool per_channel = false;
  /// Forced signedness: set when the HW config gives `level_low`/`level_high` (e.g. -128..127 is
  /// signed), or when the user's `signed` key forces it. Unset = decided from statistics.
  std::optional<bool> is_signed;
  /// The grid drops its lowest level (e.g. `level_low: -127, level_high: 127`).
  bool narrow_range = false;

  bool operator==(const QConfig& other) const;
  bool operator!=(const QConfig& other) const { return !(*this == other); }
};

/// "8-bit symmetric per-tensor", "4-bit asymmetric per-channel signed", ...
std::string to_string(const QConfig& config);

/// One entry of `operations`.
struct HwOperation {
  /// OpenVINO operation type: `Convolution`, `DepthWiseConvolution`, `MatMul`, `Add`, `Concat`, ...
  std::string type;
  /// Allowed configurations for the op's activation inputs; empty = inputs are not quantized.
  std::vector<QConfig> activations;
  /// Allowed configurations for the op's weights; empty = weights are not quantized.
  std::vector<QConfig> weights;
  /// `attributes.scales == "unified"`: all quantized inputs share one quantizer's range.
  bool unified_scales = false;
  /// `attributes.adjust_padding` (VPU).
  bool adjust_padding = false;
};

class HardwareConfig {
 public:
  /// The built-in configuration of a `target_device`: `ANY`, `CPU` and `CPU_SPR` give the CPU
  /// file, `GPU` the GPU file, `VPU` and `NPU` the VPU file. Throws c10::Error for any other name
  /// (`TRIAL` has no HW config: the caller uses default traits).
  static const HardwareConfig& for_device(const std::string& target_device);

  /// Parses a HW config. Every error is a c10::Error naming `source`, the JSON path and what was
  /// wrong: an unknown alias, a bad mode/granularity/bits, an operation without `type`, a
  /// duplicate operation type, `level_low`/`level_high` that do not fit `bits`.
  static HardwareConfig parse(const std::string& json_text, const std::string& source);

  /// `target_device` of the file ("CPU", "GPU", "VPU").
  const std::string& target_device() const { return target_device_; }
  const std::vector<HwOperation>& operations() const { return operations_; }
  /// The entry of an operation type, or nullptr when the file does not list it.
  const HwOperation* find(const std::string& type) const;

 private:
  std::string target_device_;
  std::vector<HwOperation> operations_;
};

}  // namespace nncf::quantization
