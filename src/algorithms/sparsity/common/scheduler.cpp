#include "nncf/algorithms/sparsity/scheduler.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace nncf::sparsity {

std::unique_ptr<SparsityScheduler> SparsityScheduler::create(const SparsityConfig& config,
                                                             SchedulerTarget target) {
  TORCH_CHECK(config.algorithm != "const_sparsity", "nncf: ", config.path,
              ": const_sparsity has no level schedule (its masks are loaded from a checkpoint)");
  TORCH_CHECK(config.params.sparsity_level_setting_mode == LevelSettingMode::Global, "nncf: ", config.path,
              ": the local level-setting mode has no schedule (levels are set per layer)");
  TORCH_CHECK(target.set_level && target.freeze, "nncf: SparsityScheduler needs set_level and freeze");
  TORCH_CHECK(config.params.schedule != Schedule::Adaptive || target.current_sparsity, "nncf: ", config.path,
              ": the adaptive schedule needs current_sparsity (the RB loss)");
  return std::unique_ptr<SparsityScheduler>(new SparsityScheduler(config, std::move(target)));
}

SparsityScheduler::SparsityScheduler(const SparsityConfig& config, SchedulerTarget target)
    : params_(config.params),
      init_(config.sparsity_init),
      target_(std::move(target)),
      level_(config.sparsity_init),
      steps_per_epoch_(config.params.steps_per_epoch) {}

double SparsityScheduler::target_level() const {
  return params_.schedule == Schedule::Multistep ? params_.multistep_sparsity_levels.back()
                                                 : params_.sparsity_target;
}

double SparsityScheduler::scheduled_level(double epoch) const {
  const double target = target_level();
  const auto target_epoch = static_cast<double>(params_.sparsity_target_epoch);
  switch (params_.schedule) {
    case Schedule::Polynomial: {
      // From the target epoch on the level is the target exactly: the formulas at p = 1 can miss it
      // by an ulp, and the compression stage compares with it.
      if (epoch >= target_epoch) return target;
      double p = std::clamp(epoch / target_epoch, 0.0, 1.0);
      return params_.concave ? target - (target - init_) * std::pow(1 - p, params_.power)
                             : init_ + (target - init_) * std::pow(p, params_.power);
    }
    case Schedule::Exponential: {
      if (epoch >= target_epoch) return target;
      // Levels are < 1 (the parser's range), so both densities are > 0.
      double initial_density = 1 - init_, target_density = 1 - target;
      double density = initial_density * std::pow(target_density / initial_density, epoch / target_epoch);
      return std::min(1 - density, target);
    }
    case Schedule::Multistep: {
      const auto& steps = params_.multistep_steps;
      auto e = static_cast<int64_t>(std::floor(epoch));
      size_t index = std::upper_bound(steps.begin(), steps.end(), e) - steps.begin();
      return params_.multistep_sparsity_levels[index];
    }
    case Schedule::Adaptive:
      break;
  }
  TORCH_INTERNAL_ASSERT(false, "the adaptive schedule is not a function of the epoch");
}

void SparsityScheduler::epoch_step(std::optional<int64_t> next_epoch) {
  if (params_.update_per_optimizer_step && !steps_per_epoch_ && current_epoch_ >= 0 && steps_in_epoch_ > 0)
    steps_per_epoch_ = steps_in_epoch_;
  CompressionScheduler::epoch_step(next_epoch);
  steps_in_epoch_ = 0;
  if (params_.schedule == Schedule::Adaptive) {
    if (target_.current_sparsity() >= level_ - params_.adaptive_eps) ++bad_epochs_;
    double level = level_;
    if (bad_epochs_ >= params_.patience) {
      bad_epochs_ = 0;
      level += params_.adaptive_step;
    }
    level_ = std::min(level, params_.sparsity_target);
  } else {
    level_ = scheduled_level(static_cast<double>(std::max<int64_t>(current_epoch_, 0)));
  }
  if (!frozen_ && current_epoch_ >= params_.sparsity_freeze_epoch) {
    frozen_ = true;
    target_.freeze();
  }
  target_.set_level(level_);
}

void SparsityScheduler::step(std::optional<int64_t> next_step) {
  CompressionScheduler::step(next_step);
  int64_t before = steps_in_epoch_++;
  // The first step of an epoch has the level epoch_step() just set (see the header).
  if (!params_.update_per_optimizer_step || !steps_per_epoch_ || current_epoch_ < 0 || before == 0) return;
  level_ = scheduled_level(static_cast<double>(current_epoch_) +
                           static_cast<double>(before) / static_cast<double>(*steps_per_epoch_));
  target_.set_level(level_);
}

std::map<std::string, double> SparsityScheduler::state() const {
  return {{"current_step", static_cast<double>(current_step_)},
          {"current_epoch", static_cast<double>(current_epoch_)},
          {"level", level_},
          {"steps_in_epoch", static_cast<double>(steps_in_epoch_)},
          {"steps_per_epoch", steps_per_epoch_ ? static_cast<double>(*steps_per_epoch_) : -1.0},
          {"bad_epochs", static_cast<double>(bad_epochs_)},
          {"frozen", frozen_ ? 1.0 : 0.0}};
}

namespace {

double read_state(const std::map<std::string, double>& state, const char* key, double min, double max) {
  auto it = state.find(key);
  TORCH_CHECK(it != state.end(), "nncf: sparsity scheduler state: missing key '", key, "'");
  double v = it->second;
  TORCH_CHECK(v >= min && v <= max, "nncf: sparsity scheduler state: '", key, "' expected in [", min, ", ",
              max, "], got ", v);
  return v;
}

int64_t read_state_int(const std::map<std::string, double>& state, const char* key, double min) {
  double v = read_state(state, key, min, 9007199254740992.0);  // 2^53: exact in a double
  TORCH_CHECK(v == std::floor(v), "nncf: sparsity scheduler state: '", key, "' expected an integer, got ", v);
  return static_cast<int64_t>(v);
}

}  // namespace

void SparsityScheduler::load_state(const std::map<std::string, double>& state) {
  // Everything is read before anything is assigned: a bad state leaves the scheduler as it was.
  int64_t step = read_state_int(state, "current_step", -1);
  int64_t epoch = read_state_int(state, "current_epoch", -1);
  double level = read_state(state, "level", 0, 1);
  int64_t steps_in_epoch = read_state_int(state, "steps_in_epoch", 0);
  int64_t steps_per_epoch = read_state_int(state, "steps_per_epoch", -1);
  TORCH_CHECK(steps_per_epoch != 0,
              "nncf: sparsity scheduler state: 'steps_per_epoch' expected -1 or >= 1, got 0");
  int64_t bad_epochs = read_state_int(state, "bad_epochs", 0);
  int64_t frozen = read_state_int(state, "frozen", 0);
  TORCH_CHECK(frozen <= 1, "nncf: sparsity scheduler state: 'frozen' expected 0 or 1, got ", frozen);
  current_step_ = step;
  current_epoch_ = epoch;
  level_ = level;
  steps_in_epoch_ = steps_in_epoch;
  steps_per_epoch_ = steps_per_epoch > 0 ? std::optional<int64_t>(steps_per_epoch) : std::nullopt;
  bad_epochs_ = bad_epochs;
  frozen_ = frozen == 1;
}

}  // namespace nncf::sparsity
