#pragma once

// The `filter_pruning` section (nncf-reference.md §2.4, §3.8), typed. NNCF's keys of both eras are
// read: `weight_importance` (1.x) and `filter_importance` (2.x) name the same choice.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nncf {
struct AlgorithmConfig;
}

namespace nncf::pruning {

enum class PruningSchedule { Baseline, Exponential, ExponentialWithBias };
enum class FilterImportance { L1, L2, GeometricMedian };
const char* to_string(PruningSchedule s);
const char* to_string(FilterImportance i);

struct FilterPruningConfig {
  /// The section's JSON path (`compression[0]`), for messages.
  std::string path;
  /// The level set when the model is built (masks applied from the start).
  double pruning_init = 0.0;
  PruningSchedule schedule = PruningSchedule::Exponential;
  /// The fraction of filters to remove; 0.5 when neither target is given.
  double pruning_target = 0.5;
  /// The fraction of FLOPs to remove instead (mutually exclusive with pruning_target).
  std::optional<double> pruning_flops_target;
  /// Warm-up epochs at level 0 before the schedule starts.
  int64_t num_init_steps = 0;
  /// Epochs over which the level rises to the target; the masks freeze after them.
  int64_t pruning_steps = 100;
  FilterImportance importance = FilterImportance::L2;
  /// One threshold over all groups on L2-normalized weights (else one level per group).
  bool all_weights = false;
  bool prune_first_conv = false;
  bool prune_downsample_convs = false;
  /// Mask (and remove) the BatchNorm channels after pruned filters too.
  bool prune_batch_norms = true;
  /// Masked filters get no gradient (else a straight-through gradient lets them recover).
  bool zero_grad = true;
  /// Kept filters per group are rounded up to a multiple of this (NNCF: 8); 1 disables it.
  int64_t round_channels_to = 8;
  /// With all_weights and a FLOPs target: the most of a group's filters the search may remove.
  double pruning_quota = 0.9;
  /// `initializer.batchnorm_adaptation.num_bn_adaptation_samples` (0 = none), run by initialize().
  int64_t num_bn_adaptation_samples = 0;

  std::vector<std::string> ignored_scopes, target_scopes;
  std::vector<std::string> top_ignored_scopes, top_target_scopes;
  bool validate_scopes = true;

  /// The level the schedule ends at: pruning_flops_target if given, else pruning_target.
  double target_level() const { return pruning_flops_target.value_or(pruning_target); }
  bool prunes_flops() const { return pruning_flops_target.has_value(); }

  /// Parses and validates; throws c10::Error naming the JSON path of the first problem.
  static FilterPruningConfig parse(const AlgorithmConfig& section);
};

}  // namespace nncf::pruning
