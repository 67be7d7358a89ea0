#include "nncf/algorithms/pruning/scheduler.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>

namespace nncf::pruning {
namespace {

// exponential_with_bias: with x = S - 1, a(e^{-kx} - 1) = T - I and a(e^{-kx/8} - 1) = 0.75T - I,
// so k solves (e^{-kx/8} - 1) / (e^{-kx} - 1) = r := (0.75T - I) / (T - I). The left side rises
// from 1/8 (k -> 0) to 1 (k -> inf): a root exists iff 1/8 < r < 1; otherwise (an init at or above
// 0.75 of the target) there is no such curve and the exponential schedule is used.
std::optional<PruningScheduler::Bias> solve_bias(double init, double target, int64_t steps) {
  const double x = static_cast<double>(steps - 1);
  if (x <= 0 || target <= init) return std::nullopt;
  const double r = (0.75 * target - init) / (target - init);
  if (!(r > 0.125 && r < 1)) return std::nullopt;
  auto f = [&](double k) { return std::expm1(-k * x / 8) / std::expm1(-k * x) - r; };
  double lo = 1e-9, hi = 1.0;
  while (f(hi) < 0 && hi < 1e6) hi *= 2;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (f(mid) < 0 ? lo : hi) = mid;
  }
  PruningScheduler::Bias b;
  b.k = 0.5 * (lo + hi);
  b.a = (target - init) / std::expm1(-b.k * x);
  b.b = init - b.a;
  return b;
}

}  // namespace

PruningScheduler::PruningScheduler(const FilterPruningConfig& config, std::function<void(double)> set_level,
                                   std::function<void()> freeze)
    : schedule_(config.schedule),
      init_(config.pruning_init),
      target_(config.target_level()),
      warmup_(config.num_init_steps),
      steps_(config.pruning_steps),
      freeze_epoch_(config.schedule == PruningSchedule::Baseline
                        ? config.num_init_steps
                        : config.num_init_steps + config.pruning_steps),
      set_level_(std::move(set_level)),
      freeze_(std::move(freeze)) {
  TORCH_CHECK(set_level_ && freeze_, "nncf: PruningScheduler needs set_level and freeze");
  if (schedule_ == PruningSchedule::ExponentialWithBias) {
    if (auto b = solve_bias(init_, target_, steps_)) {
      bias_ = *b;
    } else {
      schedule_ = PruningSchedule::Exponential;
    }
  }
}

double PruningScheduler::level_at(int64_t epoch) const {
  if (epoch < 0) return init_;
  if (epoch < warmup_) return 0.0;
  if (epoch >= freeze_epoch_ || schedule_ == PruningSchedule::Baseline) return target_;
  const double i = static_cast<double>(epoch - warmup_);
  switch (schedule_) {
    case PruningSchedule::Exponential: {
      if (steps_ <= 1) return target_;
      const double d0 = 1 - init_, dt = 1 - target_;
      const double d = d0 * std::pow(dt / d0, i / static_cast<double>(steps_ - 1));
      return std::min(1 - d, target_);
    }
    case PruningSchedule::ExponentialWithBias:
      return std::min(bias_.a * std::exp(-bias_.k * i) + bias_.b, target_);
    case PruningSchedule::Baseline:
      break;
  }
  return target_;
}

void PruningScheduler::epoch_step(std::optional<int64_t> next_epoch) {
  CompressionScheduler::epoch_step(next_epoch);
  set_level_(current_level());
  if (!frozen_ && current_epoch_ >= freeze_epoch_) {
    frozen_ = true;
    freeze_();
  }
}

std::map<std::string, double> PruningScheduler::state() const {
  std::map<std::string, double> s = CompressionScheduler::state();
  s["frozen"] = frozen_ ? 1.0 : 0.0;
  return s;
}

void PruningScheduler::load_state(const std::map<std::string, double>& state) {
  CompressionScheduler::load_state(state);
  auto it = state.find("frozen");
  TORCH_CHECK(it != state.end(), "nncf: filter_pruning scheduler state has no 'frozen'");
  frozen_ = it->second != 0;
}

}  // namespace nncf::pruning
