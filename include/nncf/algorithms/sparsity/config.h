#pragma once

// The typed form of a `magnitude_sparsity`, `rb_sparsity` or `const_sparsity` section (NNCF 2.4
// schema; section 2.3 of the reference notes). The member initializers are the defaults, except
// `params.schedule`, whose default depends on the algorithm (polynomial for magnitude, exponential
// for RB); `parse` sets it.
//
// `parse` validates the whole section: unknown keys (with a "did you mean" hint) at the section
// level, in `params` and in `initializer`; types; ranges; enum values; `{re}` scope regexes. Each
// error names the JSON path (`compression[0].params.sparsity_target: expected in [0, 1), got 1`).
// It is defined in the `nncf_api` library, the JSON edge.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nncf {
struct AlgorithmConfig;
}

namespace nncf::sparsity {

/// `params.schedule`: how the sparsity level grows with the epochs (scheduler.h).
enum class Schedule { Polynomial, Exponential, Adaptive, Multistep };
/// `params.sparsity_level_setting_mode`: `global` = one level for the whole model, driven by the
/// scheduler; `local` = per-layer levels set by the user, no scheduler.
enum class LevelSettingMode { Global, Local };
/// `params.weight_importance` (magnitude only): `normed_abs` = |w| / ||W||_2 per layer (makes
/// global thresholds comparable across layers); `abs` = |w|.
enum class WeightImportance { NormedAbs, Abs };

/// The JSON spellings: `polynomial`, `global`, `normed_abs`, ...
const char* to_string(Schedule schedule);
const char* to_string(LevelSettingMode mode);
const char* to_string(WeightImportance importance);

/// `params`: the level schedule and how levels are applied.
struct SparsityParams {
  /// `schedule`; `parse` defaults it to polynomial (magnitude) or exponential (rb).
  Schedule schedule = Schedule::Polynomial;
  /// `sparsity_target`: the level reached at `sparsity_target_epoch`; in [0, 1), default 0.5.
  /// Ignored by `multistep`, whose last level is the target.
  double sparsity_target = 0.5;
  /// `sparsity_target_epoch`: zero-based epoch from which the level is the target; >= 0, default 90.
  int64_t sparsity_target_epoch = 90;
  /// `sparsity_freeze_epoch`: zero-based epoch from which the masks are frozen; >= 0, default 100.
  int64_t sparsity_freeze_epoch = 100;
  /// `power` (> 0) / `concave` of the polynomial schedule; default 0.9 / true.
  double power = 0.9;
  bool concave = true;
  /// `update_per_optimizer_step`: polynomial only, update the level at every optimizer step, not
  /// only every epoch; default false.
  bool update_per_optimizer_step = false;
  /// `steps_per_epoch` (>= 1) for the per-step updates; unset = measured during epoch 0.
  std::optional<int64_t> steps_per_epoch;
  /// `multistep_steps`: epochs at which the level changes, strictly increasing, >= 0; default [90].
  std::vector<int64_t> multistep_steps = {90};
  /// `multistep_sparsity_levels`: one more than `multistep_steps`, each in [0, 1); default [0.1, 0.5].
  std::vector<double> multistep_sparsity_levels = {0.1, 0.5};
  /// `patience` (>= 1) of the adaptive schedule: bad epochs before the level is raised; default 1.
  int64_t patience = 1;
  /// The adaptive schedule's increment and tolerance. NNCF reads them as `step` / `eps`, but its
  /// schema rejects those keys, so they are fixed here and not parsed.
  double adaptive_step = 0.05;
  double adaptive_eps = 0.03;
  /// `sparsity_level_setting_mode`; default `global`.
  LevelSettingMode sparsity_level_setting_mode = LevelSettingMode::Global;
  /// `weight_importance` (magnitude only; rejected in rb_sparsity); default `normed_abs`.
  WeightImportance weight_importance = WeightImportance::NormedAbs;
};

struct SparsityConfig {
  /// `magnitude_sparsity`, `rb_sparsity` or `const_sparsity`.
  std::string algorithm;
  /// JSON path of the section (`compression[0]`), for errors raised after parsing.
  std::string path;
  /// `sparsity_init`: the level applied when the model is created; in [0, 1), default 0.
  double sparsity_init = 0.0;
  /// `params` (defaults when absent; `const_sparsity` has none).
  SparsityParams params;
  /// Section-level scopes, exact node names or `{re}` regexes.
  std::vector<std::string> ignored_scopes;
  std::vector<std::string> target_scopes;
  /// The config's top-level `ignored_scopes` / `target_scopes`, applied after the section's.
  std::vector<std::string> top_ignored_scopes;
  std::vector<std::string> top_target_scopes;
  /// `validate_scopes`: a scope entry that matches no op is an error; false makes it a warning.
  bool validate_scopes = true;
  /// `initializer.batchnorm_adaptation.num_bn_adaptation_samples` (magnitude only): 0 when
  /// `initializer.batchnorm_adaptation` is absent; 2000 (NNCF's default) when it is present
  /// without the key.
  int64_t num_bn_adaptation_samples = 0;
  /// `compression_lr_multiplier` for this algorithm; unset = the global one, if any.
  std::optional<double> compression_lr_multiplier;

  /// Validates and reads a sparsity section; throws c10::Error naming the JSON path. Defined in
  /// nncf_api.
  static SparsityConfig parse(const AlgorithmConfig& section);
};

}  // namespace nncf::sparsity
