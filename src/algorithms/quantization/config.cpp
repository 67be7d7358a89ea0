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

bool QuantizationConfig::preset_applies(const std::string& target_device) const {
  // NNCF 2.x (`_parse_group_params`): the preset's modes are constraints on ANY/CPU/GPU, and on
  // TRIAL only when the user asked for a preset; VPU keeps its HW config's order.
  if (target_device == "ANY" || target_device == "CPU" || target_device == "CPU_SPR" ||
      target_device == "GPU")
    return true;
  return target_device == "TRIAL" && preset_given;
}

std::optional<QuantizationMode> QuantizationConfig::weights_mode(const std::string& target_device) const {
  if (weights.mode) return weights.mode;
  if (!preset_applies(target_device)) return std::nullopt;
  return QuantizationMode::Symmetric;
}

std::optional<QuantizationMode> QuantizationConfig::activations_mode(const std::string& target_device) const {
  if (activations.mode) return activations.mode;
  if (!preset_applies(target_device)) return std::nullopt;
  return preset == Preset::Mixed ? QuantizationMode::Asymmetric : QuantizationMode::Symmetric;
}

}  // namespace nncf::quantization
