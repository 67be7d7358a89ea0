#pragma once

// The `binarization` section (nncf-reference.md §2.5, §3.4), typed. NNCF's keys: `mode`,
// `params` (the staged schedule, shared with quantization), `initializer`, scopes and
// `compression_lr_multiplier`.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nncf/algorithms/quantization/config.h"

namespace nncf {
struct AlgorithmConfig;
}

namespace nncf::binarization {

/// `xnor`: sign(w) times each output channel's mean |w|; `dorefa`: times the whole tensor's.
enum class BinarizationMode { Xnor, Dorefa };
const char* to_string(BinarizationMode m);

/// How an activation binarizer's scale S is set from its first batch: NNCF's 99.9th percentile, or
/// the S that minimizes the binarization error sum (S [x > S/2] - x)^2 at the initial threshold.
enum class ScaleInit { Percentile, Mse };

struct BinarizationConfig {
  /// The section's JSON path (`compression[0]`), for messages.
  std::string path;
  BinarizationMode mode = BinarizationMode::Xnor;
  /// `params`: when activations and weights start being binarized (NNCF's defaults, epoch 1 each,
  /// also without a `params` object), and what the schedule asks of the optimizer.
  quantization::StagedQuantizationParams staged;
  /// `initializer.range.num_init_samples`: samples whose activations set the activation scales at
  /// initialize() (0: the first training batch sets them, as in NNCF, whose range init is a no-op
  /// for binarization).
  int64_t num_init_samples = 0;
  /// nncf-cpp `activation_scale_init`: `percentile` (NNCF's rule, the default) or `mse`.
  ScaleInit activation_scale_init = ScaleInit::Percentile;
  /// `initializer.batchnorm_adaptation.num_bn_adaptation_samples`: run when a stage switches on.
  int64_t num_bn_adaptation_samples = 0;
  std::optional<double> compression_lr_multiplier;
  /// nncf-cpp (quantization's key): ONNX export with standard ops (Greater/Where) instead of
  /// OpenVINO's FakeQuantize(levels=2), so that ONNX Runtime runs the model.
  bool export_to_onnx_standard_ops = false;

  std::vector<std::string> ignored_scopes, target_scopes;
  std::vector<std::string> top_ignored_scopes, top_target_scopes;
  bool validate_scopes = true;

  /// Parses and validates; throws c10::Error naming the JSON path of the first problem.
  static BinarizationConfig parse(const AlgorithmConfig& section);
};

}  // namespace nncf::binarization
