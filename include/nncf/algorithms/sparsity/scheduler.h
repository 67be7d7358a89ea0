#pragma once

// The sparsity level schedules of NNCF 2.4 (`nncf/common/sparsity/schedulers.py`; section 3.7 of
// the reference notes). A scheduler drives its controller through a SchedulerTarget:
//
//   auto scheduler = SparsityScheduler::create(config, {
//       [&](double level) { ctrl.set_sparsity_level(level); },
//       [&] { ctrl.freeze(); },
//       [&] { return loss.current_sparsity(); }});   // adaptive (RB) only
//   for (epoch) { scheduler->epoch_step(); for (batch) { scheduler->step(); ... } }
//
// Levels, with e = current_epoch(), I = sparsity_init, T = sparsity_target, E = sparsity_target_epoch:
// - before the first epoch_step: I, whatever the schedule (the controller applies I when it builds
//   the model; NNCF's multistep scheduler *reports* levels[0] there, but the model carries I);
// - polynomial: p = clamp(e / E, 0, 1); concave T - (T - I)(1 - p)^power, convex I + (T - I) p^power;
//   exactly T from epoch E on (E == 0: from epoch 0);
// - exponential, on the density d = 1 - level: d = (1 - I)((1 - T) / (1 - I))^(e / E), level
//   min(1 - d, T); exactly T from epoch E on;
// - multistep: levels[bisect_right(multistep_steps, e)] (`sparsity_target` is not used: the last
//   level is the target);
// - adaptive: at each epoch_step (the first included), if current_sparsity() >= level - eps the
//   epoch is "bad"; after `patience` bad epochs the level rises by `step`; it is then capped at T
//   (so an I above T drops to T at epoch 0), as NNCF does.
//
// Per-step polynomial (`update_per_optimizer_step`): the k-th step() after an epoch_step (k = 1, 2,
// ...) sets the level for the fractional epoch e + (k - 1) / steps_per_epoch (NNCF's
// `max(steps_in_epoch - 1, 0)`: a step() is called *before* the optimizer step, so the first step
// of an epoch has the epoch's own level and does not call set_level again). When steps_per_epoch
// is not configured it is the number of step() calls between the first two epoch_step()s; until
// then step() changes nothing. Unlike NNCF, the epoch counter advances normally during that
// measuring epoch (NNCF holds it at -1, delaying the whole schedule by one epoch), and a later
// epoch of another length is not an error (NNCF raises).
//
// Calls into the target, in order, at each epoch_step(): freeze() once, at the first epoch_step()
// that reaches e >= sparsity_freeze_epoch (before set_level, as NNCF does: the level of that epoch
// is not applied to frozen magnitude masks); then set_level(current_level()) at *every*
// epoch_step(), changed or not (NNCF recomputes magnitude masks from the current weights each
// epoch; the controller ignores levels for frozen masks). step() calls set_level only in per-step
// mode, as above; before the first epoch_step() it changes no level.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "nncf/algorithms/controller.h"
#include "nncf/algorithms/sparsity/config.h"

namespace nncf::sparsity {

/// What a scheduler drives (the controller provides it).
struct SchedulerTarget {
  /// Applies a sparsity level (see the header comment for when it is called). Required.
  std::function<void(double level)> set_level;
  /// Freezes the masks; called once, at the beginning of epoch `sparsity_freeze_epoch`. Required.
  std::function<void()> freeze;
  /// The sparsity the model reached (the RB loss's); required by the adaptive schedule only.
  std::function<double()> current_sparsity;
};

/// The level schedule of a magnitude or RB sparsity algorithm in global level-setting mode.
class SparsityScheduler : public CompressionScheduler {
 public:
  /// A scheduler for `config.params.schedule`. Throws c10::Error for `const_sparsity` and for the
  /// `local` level-setting mode (neither has a schedule: use a plain CompressionScheduler), when
  /// `set_level` or `freeze` is empty, or when the adaptive schedule has no `current_sparsity`.
  /// Calls nothing on `target` yet.
  static std::unique_ptr<SparsityScheduler> create(const SparsityConfig& config, SchedulerTarget target);

  /// The level for the current position: the last level computed by step()/epoch_step()
  /// (`sparsity_init` before any step).
  double current_level() const { return level_; }
  /// Whether freeze() has been called.
  bool frozen() const { return frozen_; }
  /// The level the schedule ends at: the last multistep level, `sparsity_target` otherwise (the
  /// adaptive schedule is capped at it). The controllers' compression stage compares
  /// current_level() with it.
  double target_level() const;

  void step(std::optional<int64_t> next_step = std::nullopt) override;
  void epoch_step(std::optional<int64_t> next_epoch = std::nullopt) override;

  /// Everything needed to resume exactly: `current_step`, `current_epoch`, `level`,
  /// `steps_in_epoch`, `steps_per_epoch` (-1 while unknown), `bad_epochs` (adaptive), `frozen`
  /// (0 or 1).
  std::map<std::string, double> state() const override;
  /// Restores state() on a scheduler created from the same config. Throws c10::Error naming a
  /// missing or invalid key. Calls neither set_level nor freeze: the restored model already
  /// carries its level and frozen masks.
  void load_state(const std::map<std::string, double>& state) override;

 private:
  SparsityScheduler(const SparsityConfig& config, SchedulerTarget target);
  /// The non-adaptive schedules as a pure function of a (fractional) epoch >= 0.
  double scheduled_level(double epoch) const;

  SparsityParams params_;
  double init_;
  SchedulerTarget target_;
  double level_;
  int64_t steps_in_epoch_ = 0;
  std::optional<int64_t> steps_per_epoch_;
  int64_t bad_epochs_ = 0;
  bool frozen_ = false;
};

}  // namespace nncf::sparsity
