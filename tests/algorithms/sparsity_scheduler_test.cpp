#include "nncf/algorithms/sparsity/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "support/errors.h"

namespace nncf::sparsity {
namespace {

using testing::error_of;

// What a scheduler did to its controller: the levels set, and when freeze() came.
struct Recorder {
  std::vector<double> levels;
  std::vector<std::string> events;  // "set" / "freeze", in order
  double sparsity = 0;              // what current_sparsity() reports (adaptive)

  SchedulerTarget target() {
    return {[this](double level) {
              levels.push_back(level);
              events.push_back("set");
            },
            [this] { events.push_back("freeze"); }, [this] { return sparsity; }};
  }
  int freezes() const { return static_cast<int>(std::count(events.begin(), events.end(), "freeze")); }
};

SparsityConfig config_of(Schedule schedule, double init, double target, int64_t target_epoch) {
  SparsityConfig c;
  c.algorithm = schedule == Schedule::Adaptive || schedule == Schedule::Exponential ? "rb_sparsity"
                                                                                    : "magnitude_sparsity";
  c.path = "compression";
  c.sparsity_init = init;
  c.params.schedule = schedule;
  c.params.sparsity_target = target;
  c.params.sparsity_target_epoch = target_epoch;
  return c;
}

// The level after each of `epochs` epoch_step()s, checking each one was also set.
std::vector<double> epoch_levels(const SparsityConfig& config, int epochs) {
  Recorder r;
  auto s = SparsityScheduler::create(config, r.target());
  EXPECT_DOUBLE_EQ(s->current_level(), config.sparsity_init);
  std::vector<double> out;
  for (int e = 0; e < epochs; ++e) {
    s->epoch_step();
    EXPECT_EQ(s->current_epoch(), e);
    out.push_back(s->current_level());
  }
  EXPECT_EQ(r.levels, out);
  return out;
}

void expect_levels(const std::vector<double>& actual, const std::vector<double>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], 1e-12) << "at " << i;
}

TEST(SparsityScheduler, PolynomialConcave) {
  auto c = config_of(Schedule::Polynomial, 0.1, 0.5, 4);
  c.params.power = 2;
  // 0.5 - 0.4 (1 - e/4)^2
  expect_levels(epoch_levels(c, 6), {0.1, 0.275, 0.4, 0.475, 0.5, 0.5});
}

TEST(SparsityScheduler, PolynomialConvex) {
  auto c = config_of(Schedule::Polynomial, 0.1, 0.5, 4);
  c.params.power = 2;
  c.params.concave = false;
  // 0.1 + 0.4 (e/4)^2
  expect_levels(epoch_levels(c, 6), {0.1, 0.125, 0.2, 0.325, 0.5, 0.5});
}

TEST(SparsityScheduler, PolynomialDefaults) {
  auto c = config_of(Schedule::Polynomial, 0.0, 0.5, 90);  // power 0.9, concave
  auto levels = epoch_levels(c, 92);
  expect_levels({levels[0], levels[1], levels[45], levels[89], levels[90], levels[91]},
                {0.0, 0.005002789161123511, 0.23205663436592672, 0.4912873203547767, 0.5, 0.5});
}

TEST(SparsityScheduler, TargetEpochZeroIsTheTargetFromEpochZero) {
  expect_levels(epoch_levels(config_of(Schedule::Polynomial, 0.1, 0.6, 0), 2), {0.6, 0.6});
  expect_levels(epoch_levels(config_of(Schedule::Exponential, 0.1, 0.6, 0), 2), {0.6, 0.6});
}

TEST(SparsityScheduler, ExponentialOnDensity) {
  // 1 - 0.5^(e/4), capped at 0.5
  expect_levels(epoch_levels(config_of(Schedule::Exponential, 0.0, 0.5, 4), 7),
                {0.0, 0.1591035847462855, 0.2928932188134524, 0.4053964424986395, 0.5, 0.5, 0.5});
}

TEST(SparsityScheduler, EverySchedulesTargetLevelIsReachedExactly) {
  // The compression stage compares current_level() with target_level() exactly, so each schedule
  // must land on it: the last multistep level, sparsity_target otherwise (adaptive is capped at it).
  for (Schedule schedule : {Schedule::Polynomial, Schedule::Exponential, Schedule::Multistep}) {
    for (bool concave : {true, false}) {
      auto c = config_of(schedule, 0.1, 0.7, 3);
      c.params.concave = concave;
      c.params.multistep_steps = {3};
      c.params.multistep_sparsity_levels = {0.1, 0.65};
      Recorder r;
      auto s = SparsityScheduler::create(c, r.target());
      const double target = schedule == Schedule::Multistep ? 0.65 : 0.7;
      EXPECT_EQ(s->target_level(), target) << to_string(schedule);
      for (int e = 0; e < 3; ++e) {
        s->epoch_step();
        EXPECT_LT(s->current_level(), s->target_level()) << to_string(schedule) << " at " << e;
      }
      s->epoch_step();
      EXPECT_EQ(s->current_level(), s->target_level()) << to_string(schedule) << " concave " << concave;
    }
  }
  auto c = config_of(Schedule::Adaptive, 0.2, 0.3, 90);
  Recorder r;
  r.sparsity = 1.0;  // every epoch "bad": +0.05 each
  auto s = SparsityScheduler::create(c, r.target());
  EXPECT_EQ(s->target_level(), 0.3);
  s->epoch_step();
  EXPECT_LT(s->current_level(), 0.3);
  s->epoch_step();
  EXPECT_EQ(s->current_level(), 0.3);
}

TEST(SparsityScheduler, MultistepBoundaries) {
  auto c = config_of(Schedule::Multistep, 0.05, 0.5, 90);
  c.params.multistep_steps = {1, 3};
  c.params.multistep_sparsity_levels = {0.1, 0.5, 0.9};
  // sparsity_init before the first epoch_step, levels[0] until epoch 1, a change *at* each step.
  expect_levels(epoch_levels(c, 5), {0.1, 0.5, 0.5, 0.9, 0.9});
  Recorder r;
  auto s = SparsityScheduler::create(c, r.target());
  EXPECT_DOUBLE_EQ(s->current_level(), 0.05);
  EXPECT_DOUBLE_EQ(s->target_level(), 0.9);
  s->epoch_step(2);
  EXPECT_DOUBLE_EQ(s->current_level(), 0.5);
  s->epoch_step(0);
  EXPECT_DOUBLE_EQ(s->current_level(), 0.1);
}

TEST(SparsityScheduler, PerStepWithConfiguredStepsPerEpoch) {
  auto c = config_of(Schedule::Polynomial, 0.0, 0.5, 2);
  c.params.power = 1;  // linear: 0.25 per epoch
  c.params.update_per_optimizer_step = true;
  c.params.steps_per_epoch = 4;
  Recorder r;
  auto s = SparsityScheduler::create(c, r.target());
  s->step();  // before the first epoch_step: nothing
  EXPECT_TRUE(r.levels.empty());
  s->step(-1);
  for (int e = 0; e < 2; ++e) {
    s->epoch_step();
    for (int k = 0; k < 4; ++k) s->step();
  }
  s->epoch_step();
  // The first step of an epoch keeps the epoch's level; the k-th is at e + (k - 1) / 4.
  expect_levels(r.levels, {0.0, 0.0625, 0.125, 0.1875, 0.25, 0.3125, 0.375, 0.4375, 0.5});
  EXPECT_EQ(s->current_step(), 7);
  EXPECT_DOUBLE_EQ(s->current_level(), 0.5);
}

TEST(SparsityScheduler, PerStepMeasuresStepsPerEpochDuringEpochZero) {
  auto c = config_of(Schedule::Polynomial, 0.0, 0.5, 2);
  c.params.power = 1;
  c.params.update_per_optimizer_step = true;
  Recorder r;
  auto s = SparsityScheduler::create(c, r.target());
  EXPECT_EQ(s->state().at("steps_per_epoch"), -1);
  for (int e = 0; e < 2; ++e) {
    s->epoch_step();
    for (int k = 0; k < 4; ++k) s->step();
  }
  s->epoch_step();
  // Epoch 0 only measures: its level is set once, by epoch_step().
  expect_levels(r.levels, {0.0, 0.25, 0.3125, 0.375, 0.4375, 0.5});
  EXPECT_EQ(s->state().at("steps_per_epoch"), 4);
}

TEST(SparsityScheduler, AdaptiveRaisesAfterPatienceBadEpochs) {
  auto c = config_of(Schedule::Adaptive, 0.0, 0.2, 90);
  c.params.patience = 2;
  Recorder r;
  auto s = SparsityScheduler::create(c, r.target());
  // (reached sparsity, level after that epoch_step): bad when reached >= level - 0.03.
  const std::vector<std::pair<double, double>> script = {{0.0, 0.0},  {0.0, 0.05}, {0.01, 0.05}, {0.03, 0.05},
                                                         {0.04, 0.1}, {0.08, 0.1}, {0.09, 0.15}, {0.13, 0.15},
                                                         {0.14, 0.2}, {0.2, 0.2},  {0.2, 0.2}};
  for (size_t e = 0; e < script.size(); ++e) {
    r.sparsity = script[e].first;
    s->epoch_step();
    EXPECT_NEAR(s->current_level(), script[e].second, 1e-12) << "epoch " << e;
  }
  EXPECT_EQ(r.levels.size(), script.size());
}

TEST(SparsityScheduler, AdaptiveCapsAnInitAboveTheTarget) {
  auto c = config_of(Schedule::Adaptive, 0.4, 0.3, 90);
  Recorder r;
  r.sparsity = 0.0;  // not bad: the level does not rise, but is still capped
  auto s = SparsityScheduler::create(c, r.target());
  EXPECT_DOUBLE_EQ(s->current_level(), 0.4);
  s->epoch_step();
  EXPECT_DOUBLE_EQ(s->current_level(), 0.3);
}

TEST(SparsityScheduler, FreezeOnceAtTheFreezeEpochBeforeItsLevel) {
  auto c = config_of(Schedule::Polynomial, 0.0, 0.5, 2);
  c.params.sparsity_freeze_epoch = 3;
  Recorder r;
  auto s = SparsityScheduler::create(c, r.target());
  for (int e = 0; e < 3; ++e) s->epoch_step();
  EXPECT_EQ(r.freezes(), 0);
  EXPECT_FALSE(s->frozen());
  s->epoch_step();  // epoch 3
  EXPECT_EQ(r.freezes(), 1);
  EXPECT_TRUE(s->frozen());
  EXPECT_EQ(r.events, (std::vector<std::string>{"set", "set", "set", "freeze", "set"}));
  for (int e = 4; e < 8; ++e) s->epoch_step();
  EXPECT_EQ(r.freezes(), 1);
  EXPECT_EQ(r.levels.size(), 8u);  // set_level at every epoch_step, frozen or not

  Recorder jump;
  auto t = SparsityScheduler::create(c, jump.target());
  t->epoch_step(10);
  EXPECT_EQ(jump.events, (std::vector<std::string>{"freeze", "set"}));
}

TEST(SparsityScheduler, StateRoundTripContinuesIdentically) {
  for (Schedule schedule :
       {Schedule::Polynomial, Schedule::Exponential, Schedule::Multistep, Schedule::Adaptive}) {
    SCOPED_TRACE(to_string(schedule));
    auto c = config_of(schedule, 0.05, 0.6, 5);
    c.params.sparsity_freeze_epoch = 4;
    c.params.multistep_steps = {1, 3};
    c.params.multistep_sparsity_levels = {0.1, 0.3, 0.6};
    c.params.update_per_optimizer_step = schedule == Schedule::Polynomial;  // steps_per_epoch measured
    Recorder a;
    auto original = SparsityScheduler::create(c, a.target());
    // Reached sparsity as a function of the epoch, the same for both (adaptive).
    auto run = [](SparsityScheduler& s, Recorder& r, int epochs) {
      for (int e = 0; e < epochs; ++e) {
        r.sparsity = 0.04 * (s.current_epoch() + 1);
        s.epoch_step();
        for (int k = 0; k < 3; ++k) s.step();
      }
    };
    run(*original, a, 2);
    original->step();  // mid-epoch
    auto saved = original->state();

    Recorder b;
    auto restored = SparsityScheduler::create(c, b.target());
    restored->load_state(saved);
    EXPECT_TRUE(b.events.empty()) << "load_state must not call the target";
    EXPECT_EQ(restored->state(), saved);
    EXPECT_DOUBLE_EQ(restored->current_level(), original->current_level());

    a.levels.clear();
    a.events.clear();
    original->step();
    restored->step();
    run(*original, a, 5);
    run(*restored, b, 5);
    EXPECT_EQ(b.events, a.events);
    EXPECT_EQ(b.levels, a.levels);
    EXPECT_EQ(restored->state(), original->state());
    EXPECT_TRUE(restored->frozen());
  }
}

TEST(SparsityScheduler, LoadStateNamesMissingAndBadKeys) {
  auto c = config_of(Schedule::Polynomial, 0.0, 0.5, 2);
  Recorder r;
  auto s = SparsityScheduler::create(c, r.target());
  auto state = s->state();
  state.erase("steps_in_epoch");
  EXPECT_NE(error_of([&] { s->load_state(state); }).find("missing key 'steps_in_epoch'"), std::string::npos);
  state = s->state();
  state["frozen"] = 2;
  EXPECT_NE(error_of([&] { s->load_state(state); }).find("'frozen' expected 0 or 1, got 2"),
            std::string::npos);
  state = s->state();
  state["current_epoch"] = 1.5;
  EXPECT_NE(error_of([&] { s->load_state(state); }).find("'current_epoch' expected an integer"),
            std::string::npos);
  EXPECT_EQ(s->current_epoch(), -1);  // a bad state changes nothing
}

TEST(SparsityScheduler, CreateRejectsWhatHasNoSchedule) {
  SparsityConfig c;
  c.algorithm = "const_sparsity";
  c.path = "compression[0]";
  Recorder r;
  EXPECT_NE(error_of([&] {
              SparsityScheduler::create(c, r.target());
            }).find("compression[0]: const_sparsity has no"),
            std::string::npos);
  c.algorithm = "magnitude_sparsity";
  c.params.sparsity_level_setting_mode = LevelSettingMode::Local;
  EXPECT_NE(error_of([&] { SparsityScheduler::create(c, r.target()); }).find("local level-setting mode"),
            std::string::npos);
  c = config_of(Schedule::Adaptive, 0, 0.5, 90);
  SchedulerTarget no_sparsity = r.target();
  no_sparsity.current_sparsity = nullptr;
  EXPECT_NE(error_of([&] { SparsityScheduler::create(c, no_sparsity); }).find("needs current_sparsity"),
            std::string::npos);
}

}  // namespace
}  // namespace nncf::sparsity
