#pragma once

// Filter-pruning level schedules (NNCF 2.x `nncf/common/pruning/schedulers.py`; nncf-reference.md
// §3.8), per epoch. With W = num_init_steps, S = pruning_steps, I = pruning_init, T the target
// (filters or FLOPs) and i = e - W for epoch e:
// - before the first epoch_step: I (the controller applies it when it builds the model);
// - warm-up, e < W: level 0;
// - baseline: T from epoch W on; the masks freeze at epoch W;
// - exponential, on the density d = 1 - level: d = (1 - I)((1 - T) / (1 - I))^(i / (S - 1)),
//   level min(1 - d, T) (S == 1: T);
// - exponential_with_bias: level = a·exp(-k·i) + b with a + b = I, a·exp(-k(S-1)) + b = T and
//   a·exp(-k·(S-1)/8) + b = 0.75·T (NNCF solves these with scipy's fsolve; here k is the root of
//   one equation in k, found by bisection), capped at T;
// - from epoch W + S on (baseline: W): T, and the masks freeze at the first such epoch_step.
//
// At each epoch_step: freeze() once when the freeze epoch is reached, after set_level of that
// epoch's level (NNCF: the last level is applied, then frozen). step() changes nothing.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "nncf/algorithms/controller.h"
#include "nncf/algorithms/pruning/config.h"

namespace nncf::pruning {

class PruningScheduler : public CompressionScheduler {
 public:
  PruningScheduler(const FilterPruningConfig& config, std::function<void(double)> set_level,
                   std::function<void()> freeze);

  /// The level of epoch `epoch` (-1: before the first epoch_step).
  double level_at(int64_t epoch) const;
  double current_level() const { return level_at(current_epoch_); }
  double target_level() const { return target_; }
  bool frozen() const { return frozen_; }
  int64_t freeze_epoch() const { return freeze_epoch_; }

  void epoch_step(std::optional<int64_t> next_epoch = std::nullopt) override;
  std::map<std::string, double> state() const override;
  void load_state(const std::map<std::string, double>& state) override;

  /// exponential_with_bias's (a, b, k) for the config (exposed for tests).
  struct Bias {
    double a = 0, b = 0, k = 0;
  };
  const Bias& bias() const { return bias_; }

 private:
  PruningSchedule schedule_;
  double init_, target_;
  int64_t warmup_, steps_, freeze_epoch_;
  Bias bias_;
  bool frozen_ = false;
  std::function<void(double)> set_level_;
  std::function<void()> freeze_;
};

}  // namespace nncf::pruning
