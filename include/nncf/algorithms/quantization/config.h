#pragma once

// The typed form of an `"algorithm": "quantization"` section (NNCF 2.x schema; section 2.2 of the
// reference notes). The member initializers are the defaults: a section that sets nothing yields
// `QuantizationConfig{}`.
//
// `parse` validates the whole section: unknown keys (with a "did you mean" hint), types, ranges,
// enum values and `{re}` scope regexes, each error naming the JSON path. It is defined in the
// `nncf_api` library, the JSON edge; the structs need only range_init.h (for RangeInitType).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nncf/algorithms/quantization/mode.h"
#include "nncf/algorithms/quantization/range_init.h"

namespace nncf {
struct AlgorithmConfig;
class ConfigNode;
}

namespace nncf::quantization {

/// `preset`: `performance` = symmetric weights and activations; `mixed` = symmetric weights,
/// asymmetric activations. Explicit `mode` keys win over the preset, and it applies only on some
/// targets (QuantizationConfig::preset_applies).
enum class Preset { Performance, Mixed };
/// `overflow_fix`: 7-bit effective weights for 8-bit weight quantizers on CPU/ANY targets.
enum class OverflowFix { Enable, Disable, FirstLayerOnly };
enum class QuantizerGroup { Weights, Activations };

/// The JSON spellings: `performance`, `first_layer_only`, `weights`, ... (`RangeInitType`'s
/// `to_string` is in range_init.h.)
const char* to_string(Preset preset);
const char* to_string(OverflowFix fix);
const char* to_string(QuantizerGroup group);

/// `initializer.range`, or one entry of its per-layer list form.
struct RangeInitConfig {
  /// `type`; default `mixed_min_max` (NNCF 2.1+).
  RangeInitType type = RangeInitType::MixedMinMax;
  /// `num_init_samples`: samples run for statistics; >= 0, default 256.
  int64_t num_init_samples = 256;
  /// `params.min_percentile` / `params.max_percentile`, in percent, for the percentile types;
  /// default 0.1 / 99.9, both in [0, 100] and min < max.
  double min_percentile = 0.1;
  double max_percentile = 99.9;
  /// Per-layer entries only: where this entry applies (exact names or `{re}` regexes).
  std::vector<std::string> target_scopes;
  std::vector<std::string> ignored_scopes;
  /// Per-layer entries only: `target_quantizer_group`; unset = weights and activations.
  std::optional<QuantizerGroup> target_quantizer_group;
};

/// `weights` / `activations`: constraints for one group of quantizers.
struct QuantizerGroupConfig {
  /// `mode`; unset = from the preset.
  std::optional<QuantizationMode> mode;
  /// `bits`: in [2, 8], what FakeQuantize runs; default 8. A width the target's HW config does not
  /// allow is an error on CPU, GPU and VPU (placement.h).
  int64_t bits = 8;
  /// `signed`; unset = decided from the range-init statistics.
  std::optional<bool> is_signed;
  /// `per_channel` (axis 0 for weights, 1 for activations); unset = the target's preference
  /// (per-channel weights and per-tensor activations on CPU, GPU and VPU; per-tensor with TRIAL).
  std::optional<bool> per_channel;
  /// `logarithm_scale`: train log(scale) instead of scale; default false.
  bool logarithm_scale = false;
  /// Group-level scopes, exact or `{re}`; default empty.
  std::vector<std::string> ignored_scopes;
  std::vector<std::string> target_scopes;
  /// `unified_scale_ops` (activations only): groups of op scopes that share one quantizer.
  std::vector<std::vector<std::string>> unified_scale_ops;
};

/// One entry of `scope_overrides.weights` / `scope_overrides.activations`: settings that win over
/// every group-wise or automatic choice for the quantizers `scope` matches.
struct ScopeOverride {
  /// The key: an exact node name or a `{re}` regex.
  std::string scope;
  /// JSON path of the entry (`compression.scope_overrides.weights.conv1`), for errors raised
  /// after parsing; empty for an entry built in code.
  std::string path;
  std::optional<QuantizationMode> mode;
  /// `bits`: in [2, 8].
  std::optional<int64_t> bits;
  std::optional<bool> is_signed;
  std::optional<bool> per_channel;
  /// `initializer.range` for these quantizers (object or per-layer list); empty = inherited.
  std::vector<RangeInitConfig> range_init;
};

/// `initializer.precision` (nncf-reference.md §2.2, §3.3).
struct PrecisionInitConfig {
  enum class Type { Manual, Hawq };
  /// `type`: `manual` (also when the section has no type) or `hawq`; `autoq` is rejected.
  Type type = Type::Manual;
  /// JSON path of the section, for errors raised after parsing.
  std::string path;
  /// `bitwidth_per_scope`: `[[bits, "<quantizer id>"], ...]`, ids in NNCF's spelling
  /// (`ResNet/NNCFConv2d[conv1]/conv2d_0|WEIGHT`) or nncf-cpp's (`conv1|WEIGHT`).
  struct Entry {
    int64_t bits = 8;
    std::string id;
    std::string path;  ///< the entry's JSON path
  };
  std::vector<Entry> bitwidth_per_scope;
  /// HAWQ: `bits` (candidate widths, default [2, 4, 8]), `compression_ratio` (1.5),
  /// `num_data_points` (100), `iter_number` (200), `tolerance` (1e-4), `dump_init_precision_data`,
  /// `bitwidth_assignment_mode` (`liberal` / `strict`), `traces_per_layer_path`.
  std::vector<int64_t> bits = {2, 4, 8};
  double compression_ratio = 1.5;
  int64_t num_data_points = 100;
  int64_t iter_number = 200;
  double tolerance = 1e-4;
  bool dump_init_precision_data = false;
  bool strict_bitwidth_assignment = false;
  std::string traces_per_layer_path;
};

/// `params`: the staged quantization scheduler (its presence switches the scheduler on).
struct StagedQuantizationParams {
  /// `batch_multiplier`: batches of gradient accumulation per backward; unset = 1.
  std::optional<int64_t> batch_multiplier;
  /// `activations_quant_start_epoch` / `weights_quant_start_epoch`: zero-based epoch at which
  /// the group starts being quantized; default 1 each.
  int64_t activations_quant_start_epoch = 1;
  int64_t weights_quant_start_epoch = 1;
  /// `lr_poly_drop_start_epoch`: unset = the learning rate is not dropped.
  std::optional<int64_t> lr_poly_drop_start_epoch;
  /// `lr_poly_drop_duration_epochs`; default 30.
  int64_t lr_poly_drop_duration_epochs = 30;
  /// `disable_wd_start_epoch`: unset = weight decay stays on.
  std::optional<int64_t> disable_wd_start_epoch;
  /// `base_lr` / `base_wd`; default 1e-3 / 1e-5.
  double base_lr = 1e-3;
  double base_wd = 1e-5;
};

/// Parses a staged `params` object (quantization's and binarization's); throws c10::Error naming
/// the JSON path of the first problem.
StagedQuantizationParams parse_staged_params(const ConfigNode& node);

/// What the staged schedule asks of the optimizer at fractional epoch `epoch` (epochs done plus the
/// fraction of this one), as NNCF's staged sample does: the learning rate falls as
/// ((start + duration - epoch) / duration)^2.1 from lr_poly_drop_start_epoch over
/// lr_poly_drop_duration_epochs (1 before; 0 after -- NNCF leaves its last value there, which is
/// ~0), and weight decay is off once epoch > disable_wd_start_epoch.
double staged_lr_multiplier(const StagedQuantizationParams& p, double epoch);
bool staged_weight_decay_enabled(const StagedQuantizationParams& p, double epoch);

struct QuantizationConfig {
  /// JSON path of the section (`compression[1]`), for errors raised after parsing.
  std::string path;
  /// The config file the section was read from; empty for a string or a struct built in code.
  std::string file;

  /// `initializer.range`: one entry for the object form, the entries of the per-layer list form.
  /// Default: one `RangeInitConfig{}` (256 samples, `mixed_min_max`).
  std::vector<RangeInitConfig> range_init = {RangeInitConfig{}};
  /// True when `initializer.range` was given as a per-layer list.
  bool range_init_per_layer = false;
  /// `initializer.batchnorm_adaptation.num_bn_adaptation_samples`; 0 disables; default 2000.
  int64_t num_bn_adaptation_samples = 2000;
  /// `initializer.precision`; unset = every quantizer keeps its configured width.
  std::optional<PrecisionInitConfig> precision;

  /// `weights` / `activations` group constraints.
  QuantizerGroupConfig weights;
  QuantizerGroupConfig activations;
  /// `preset`; default `performance`.
  Preset preset = Preset::Performance;
  /// Whether `preset` was given (on TRIAL the preset applies only then).
  bool preset_given = false;
  /// `quantize_inputs`: quantize the model inputs; default true.
  bool quantize_inputs = true;
  /// `quantize_outputs`: an extra quantizer on the model outputs; default false.
  bool quantize_outputs = false;
  /// Section-level scopes, exact node names or `{re}` regexes (searched, not fully matched).
  std::vector<std::string> ignored_scopes;
  std::vector<std::string> target_scopes;
  /// The config's top-level `ignored_scopes` / `target_scopes`, applied after the section's.
  std::vector<std::string> top_ignored_scopes;
  std::vector<std::string> top_target_scopes;
  /// `validate_scopes`: an `ignored_scopes` / `target_scopes` entry (the section's, or its weights'
  /// or activations') that matches no op is an error; false makes it a warning. Default true.
  bool validate_scopes = true;
  /// `scope_overrides.weights` / `scope_overrides.activations`, in document order.
  std::vector<ScopeOverride> weight_overrides;
  std::vector<ScopeOverride> activation_overrides;
  /// `export_to_onnx_standard_ops`: QuantizeLinear/DequantizeLinear instead of FakeQuantize;
  /// default false.
  bool export_to_onnx_standard_ops = false;
  /// `overflow_fix`; default `enable`.
  OverflowFix overflow_fix = OverflowFix::Enable;
  /// `params`: set = staged quantization scheduler.
  std::optional<StagedQuantizationParams> staged;
  /// `compression_lr_multiplier` for this algorithm; unset = the global one, if any.
  std::optional<double> compression_lr_multiplier;

  /// Whether the preset constrains the modes on `target_device`, as in NNCF 2.x: always on `ANY`,
  /// `CPU`, `CPU_SPR` and `GPU`; on `TRIAL` only when `preset` is given; never on `VPU`/`NPU`,
  /// where the HW config's preferred mode is used (asymmetric activations on VPU).
  bool preset_applies(const std::string& target_device) const;
  /// The weights mode on `target_device`: the explicit `weights.mode`, else symmetric where the
  /// preset applies (both presets), else unset (the HW config's first choice).
  std::optional<QuantizationMode> weights_mode(const std::string& target_device) const;
  /// The activations mode on `target_device`: the explicit `activations.mode`, else the preset's
  /// where it applies, else unset.
  std::optional<QuantizationMode> activations_mode(const std::string& target_device) const;
  /// The modes on target `ANY` (the default target), where the preset always applies.
  QuantizationMode weights_mode() const { return *weights_mode("ANY"); }
  QuantizationMode activations_mode() const { return *activations_mode("ANY"); }

  /// Validates and reads a `quantization` section. `initializer.precision` of type `hawq` or
  /// `autoq` throws "not supported yet"; `manual` is read. Defined in nncf_api.
  static QuantizationConfig parse(const AlgorithmConfig& section);
};

}  // namespace nncf::quantization
