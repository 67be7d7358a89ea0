#include "nncf/algorithms/quantization/config.h"

// The parts of the config structs that need no JSON (the parser is in nncf_api).

namespace nncf::quantization {

const char* to_string(Preset preset) {
  return preset == Preset::Mixed ? "mixed" : "performance";
}

const char* to_string(OverflowFix fix) {
  switch (fix) {
    case OverflowFix::Enable:
      return "enable";
    case OverflowFix::Disable:
      return "disable";
    case OverflowFix::FirstLayerOnly:
      return "first_layer_only";
  }
  return "?";
}

const char* to_string(QuantizerGroup group) {
  return group == QuantizerGroup::Weights ? "weights" : "activations";
}

QuantizationMode QuantizationConfig::weights_mode() const {
  return weights.mode.value_or(QuantizationMode::Symmetric);
}

QuantizationMode QuantizationConfig::activations_mode() const {
  if (activations.mode) return *activations.mode;
  return preset == Preset::Mixed ? QuantizationMode::Asymmetric : QuantizationMode::Symmetric;
}

}  // namespace nncf::quantization
