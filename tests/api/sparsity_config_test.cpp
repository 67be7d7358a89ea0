#include "nncf/algorithms/sparsity/config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "nncf/api/config.h"
#include "support/errors.h"

namespace nncf::sparsity {
namespace {

using testing::error_of;

SparsityConfig parse(const std::string& text, size_t index = 0) {
  Config config = Config::from_string(text);
  return SparsityConfig::parse(config.compression().at(index));
}

SparsityConfig parse_section(const std::string& section) {
  return parse(R"({"compression": )" + section + "}");
}

TEST(SparsityConfig, MagnitudeDefaults) {
  SparsityConfig c = parse_section(R"({"algorithm": "magnitude_sparsity"})");
  EXPECT_EQ(c.algorithm, "magnitude_sparsity");
  EXPECT_EQ(c.path, "compression");
  EXPECT_EQ(c.sparsity_init, 0.0);
  const SparsityParams& p = c.params;
  EXPECT_EQ(p.schedule, Schedule::Polynomial);
  EXPECT_EQ(p.sparsity_target, 0.5);
  EXPECT_EQ(p.sparsity_target_epoch, 90);
  EXPECT_EQ(p.sparsity_freeze_epoch, 100);
  EXPECT_EQ(p.power, 0.9);
  EXPECT_TRUE(p.concave);
  EXPECT_FALSE(p.update_per_optimizer_step);
  EXPECT_FALSE(p.steps_per_epoch.has_value());
  EXPECT_EQ(p.multistep_steps, (std::vector<int64_t>{90}));
  EXPECT_EQ(p.multistep_sparsity_levels, (std::vector<double>{0.1, 0.5}));
  EXPECT_EQ(p.patience, 1);
  EXPECT_EQ(p.adaptive_step, 0.05);
  EXPECT_EQ(p.adaptive_eps, 0.03);
  EXPECT_EQ(p.sparsity_level_setting_mode, LevelSettingMode::Global);
  EXPECT_EQ(p.weight_importance, WeightImportance::NormedAbs);
  EXPECT_TRUE(c.ignored_scopes.empty());
  EXPECT_TRUE(c.target_scopes.empty());
  EXPECT_EQ(c.num_bn_adaptation_samples, 0);
  EXPECT_FALSE(c.compression_lr_multiplier.has_value());
  // An empty params object changes nothing either.
  EXPECT_EQ(parse_section(R"({"algorithm": "magnitude_sparsity", "params": {}})").params.schedule,
            Schedule::Polynomial);
}

TEST(SparsityConfig, RbDefaultsToExponential) {
  SparsityConfig c = parse_section(R"({"algorithm": "rb_sparsity"})");
  EXPECT_EQ(c.algorithm, "rb_sparsity");
  EXPECT_EQ(c.params.schedule, Schedule::Exponential);
  EXPECT_EQ(c.params.sparsity_target, 0.5);
  EXPECT_EQ(
      parse_section(R"({"algorithm": "rb_sparsity", "params": {"sparsity_target": 0.7}})").params.schedule,
      Schedule::Exponential);
  EXPECT_EQ(
      parse_section(R"({"algorithm": "rb_sparsity", "params": {"schedule": "adaptive", "patience": 3}})")
          .params.patience,
      3);
}

TEST(SparsityConfig, ConstDefaults) {
  SparsityConfig c = parse_section(
      R"({"algorithm": "const_sparsity", "ignored_scopes": "{re}.*fc.*", "compression_lr_multiplier": 2})");
  EXPECT_EQ(c.algorithm, "const_sparsity");
  EXPECT_EQ(c.sparsity_init, 0.0);
  EXPECT_EQ(c.ignored_scopes, (std::vector<std::string>{"{re}.*fc.*"}));
  EXPECT_EQ(c.compression_lr_multiplier, 2.0);
}

TEST(SparsityConfig, FullMagnitudeSection) {
  SparsityConfig c = parse(R"({"compression": [{"algorithm": "quantization"}, {
      "algorithm": "magnitude_sparsity",
      "sparsity_init": 0.05,
      "params": {
        "schedule": "multistep", "sparsity_target": 0.7, "sparsity_target_epoch": 20,
        "sparsity_freeze_epoch": 30, "power": 2, "concave": false,
        "update_per_optimizer_step": false, "steps_per_epoch": 100,
        "multistep_steps": [2, 5, 10], "multistep_sparsity_levels": [0.1, 0.3, 0.5, 0.7],
        "patience": 2, "sparsity_level_setting_mode": "local", "weight_importance": "abs"},
      "initializer": {"batchnorm_adaptation": {"num_bn_adaptation_samples": 512}},
      "ignored_scopes": ["ResNet/NNCFLinear[fc]/linear_0"],
      "target_scopes": "{re}.*conv.*",
      "compression_lr_multiplier": 0.5}]})",
                           1);
  EXPECT_EQ(c.path, "compression[1]");
  EXPECT_EQ(c.sparsity_init, 0.05);
  const SparsityParams& p = c.params;
  EXPECT_EQ(p.schedule, Schedule::Multistep);
  EXPECT_EQ(p.sparsity_target, 0.7);
  EXPECT_EQ(p.sparsity_target_epoch, 20);
  EXPECT_EQ(p.sparsity_freeze_epoch, 30);
  EXPECT_EQ(p.power, 2.0);
  EXPECT_FALSE(p.concave);
  EXPECT_EQ(p.steps_per_epoch, 100);
  EXPECT_EQ(p.multistep_steps, (std::vector<int64_t>{2, 5, 10}));
  EXPECT_EQ(p.multistep_sparsity_levels, (std::vector<double>{0.1, 0.3, 0.5, 0.7}));
  EXPECT_EQ(p.patience, 2);
  EXPECT_EQ(p.sparsity_level_setting_mode, LevelSettingMode::Local);
  EXPECT_EQ(p.weight_importance, WeightImportance::Abs);
  EXPECT_EQ(c.num_bn_adaptation_samples, 512);
  EXPECT_EQ(c.ignored_scopes, (std::vector<std::string>{"ResNet/NNCFLinear[fc]/linear_0"}));
  EXPECT_EQ(c.target_scopes, (std::vector<std::string>{"{re}.*conv.*"}));
  EXPECT_EQ(c.compression_lr_multiplier, 0.5);
}

TEST(SparsityConfig, PerStepPolynomialAndEqualInitAndTarget) {
  SparsityConfig c = parse_section(R"({"algorithm": "magnitude_sparsity", "sparsity_init": 0.5,
      "params": {"update_per_optimizer_step": true, "sparsity_target": 0.5}})");
  EXPECT_TRUE(c.params.update_per_optimizer_step);
  EXPECT_FALSE(c.params.steps_per_epoch.has_value());
  EXPECT_EQ(c.sparsity_init, c.params.sparsity_target);  // NNCF allows equal (and even init > target)
}

TEST(SparsityConfig, BatchNormAdaptationWithoutCountUsesNncfDefault) {
  EXPECT_EQ(
      parse_section(R"({"algorithm": "magnitude_sparsity", "initializer": {"batchnorm_adaptation": {}}})")
          .num_bn_adaptation_samples,
      2000);
  EXPECT_EQ(
      parse_section(R"({"algorithm": "magnitude_sparsity", "initializer": {}})").num_bn_adaptation_samples,
      0);
}

TEST(SparsityConfig, EnumsToString) {
  EXPECT_STREQ(to_string(Schedule::Polynomial), "polynomial");
  EXPECT_STREQ(to_string(Schedule::Exponential), "exponential");
  EXPECT_STREQ(to_string(Schedule::Adaptive), "adaptive");
  EXPECT_STREQ(to_string(Schedule::Multistep), "multistep");
  EXPECT_STREQ(to_string(LevelSettingMode::Global), "global");
  EXPECT_STREQ(to_string(LevelSettingMode::Local), "local");
  EXPECT_STREQ(to_string(WeightImportance::NormedAbs), "normed_abs");
  EXPECT_STREQ(to_string(WeightImportance::Abs), "abs");
}

// Each bad section and a fragment of its error, which names the JSON path.
TEST(SparsityConfig, BadSectionsNameTheirPath) {
  const std::string mag = R"("algorithm": "magnitude_sparsity")";
  const std::string rb = R"("algorithm": "rb_sparsity")";
  const std::string cst = R"("algorithm": "const_sparsity")";
  const std::vector<std::pair<std::string, std::string>> corpus = {
      {"{" + mag + R"(, "params": {"sparsity_target": 1.0}})",
       "compression.params.sparsity_target: expected in [0, 1), got 1"},
      {"{" + mag + R"(, "params": {"sparsity_target": "0.5"}})",
       "compression.params.sparsity_target: expected a number, got"},
      {"{" + mag + R"(, "sparsity_init": -0.1})", "compression.sparsity_init: expected in [0, 1), got -0.1"},
      {"{" + mag + R"(, "params": {"sparsity_target_epoch": -1}})",
       "compression.params.sparsity_target_epoch: expected >= 0, got -1"},
      {"{" + mag + R"(, "params": {"sparsity_freeze_epoch": "10"}})",
       "compression.params.sparsity_freeze_epoch: expected an integer"},
      {"{" + mag + R"(, "params": {"power": 0}})", "compression.params.power: expected > 0, got 0"},
      {"{" + mag + R"(, "params": {"concave": 1}})", "compression.params.concave: expected a boolean"},
      {"{" + mag + R"(, "params": {"multistep_steps": [1, 2], "multistep_sparsity_levels": [0.1, 0.2]}})",
       "compression.params.multistep_sparsity_levels: expected one more level than multistep_steps (3), got "
       "2"},
      {"{" + mag + R"(, "params": {"multistep_steps": [1, 2]}})",
       "compression.params.multistep_steps: expected one more level than multistep_steps (3), got 2"},
      {"{" + mag +
           R"(, "params": {"multistep_steps": [3, 3], "multistep_sparsity_levels": [0.1, 0.2, 0.3]}})",
       "compression.params.multistep_steps[1]: expected strictly increasing epochs, got 3 after 3"},
      {"{" + mag + R"(, "params": {"multistep_steps": [-1], "multistep_sparsity_levels": [0.1, 0.2]}})",
       "compression.params.multistep_steps[0]: expected >= 0, got -1"},
      {"{" + mag + R"(, "params": {"multistep_steps": [1], "multistep_sparsity_levels": [0.1, 1.5]}})",
       "compression.params.multistep_sparsity_levels[1]: expected in [0, 1), got 1.5"},
      {"{" + mag + R"(, "sparsity_inti": 0.1})",
       "compression.sparsity_inti: unknown key; did you mean \"sparsity_init\"?"},
      {"{" + mag + R"(, "params": {"sparsity_targt": 0.1}})",
       "compression.params.sparsity_targt: unknown key; did you mean \"sparsity_target\"?"},
      {"{" + mag + R"(, "params": {"step": 0.1}})", "compression.params.step: unknown key"},
      {"{" + mag + R"(, "params": {"eps": 0.1}})", "compression.params.eps: unknown key"},
      {"{" + mag + R"(, "initializer": {"batchnorm_adaption": {}}})",
       "compression.initializer.batchnorm_adaption: unknown key; did you mean \"batchnorm_adaptation\"?"},
      {"{" + mag + R"(, "initializer": {"batchnorm_adaptation": {"num_bn_adaptation_samples": -1}}})",
       "compression.initializer.batchnorm_adaptation.num_bn_adaptation_samples: expected >= 0, got -1"},
      {"{" + mag + R"(, "initializer": {"batchnorm_adaptation": {"num_bn_forget_samples": 1}}})",
       "compression.initializer.batchnorm_adaptation.num_bn_forget_samples: unknown key"},
      {"{" + mag + R"(, "initializer": {"range": {"num_init_samples": 10}}})",
       "compression.initializer.range: not a sparsity key: range initialization is quantization's"},
      {"{" + mag + R"(, "initializer": {"precision": {"type": "hawq"}}})",
       "compression.initializer.precision: not a sparsity key"},
      {"{" + mag + R"(, "params": {"schedule": "polynominal"}})",
       "compression.params.schedule: expected one of \"polynomial\", \"exponential\", \"adaptive\", "
       "\"multistep\", "
       "got \"polynominal\"; did you mean \"polynomial\"?"},
      {"{" + mag + R"(, "params": {"schedule": "adaptive"}})",
       "compression.params.schedule: the adaptive schedule needs the RB loss: rb_sparsity only"},
      {"{" + mag + R"(, "params": {"weight_importance": "l2"}})",
       "compression.params.weight_importance: expected one of \"normed_abs\", \"abs\""},
      {"{" + mag + R"(, "params": {"sparsity_level_setting_mode": "per_layer"}})",
       "compression.params.sparsity_level_setting_mode: expected one of \"global\", \"local\""},
      {"{" + mag + R"(, "params": {"steps_per_epoch": 0}})",
       "compression.params.steps_per_epoch: expected >= 1, got 0"},
      {"{" + mag + R"(, "params": {"patience": 0}})", "compression.params.patience: expected >= 1, got 0"},
      {"{" + mag + R"(, "compression_lr_multiplier": -1})",
       "compression.compression_lr_multiplier: expected >= 0"},
      {"{" + mag + R"(, "target_scopes": ["{re}("]})", "compression.target_scopes"},
      {"{" + mag + R"(, "params": []})", "compression.params: expected an object"},
      {"{" + rb + R"(, "params": {"schedule": "exponential", "update_per_optimizer_step": true}})",
       "compression.params.update_per_optimizer_step: only the polynomial schedule updates per step, got "
       "\"exponential\""},
      {"{" + rb + R"(, "params": {"weight_importance": "abs"}})",
       "compression.params.weight_importance: not an rb_sparsity key"},
      {"{" + rb + R"(, "initializer": {"batchnorm_adaptation": {}}})",
       "compression.initializer: not an rb_sparsity key"},
      {"{" + cst + R"(, "params": {}})", "compression.params: not a const_sparsity key"},
      {"{" + cst + R"(, "sparsity_init": 0.1})", "compression.sparsity_init: not a const_sparsity key"},
      {"{" + cst + R"(, "initializer": {}})", "compression.initializer: not a const_sparsity key"},
      {"{" + cst + R"(, "ignored_scope": "x"})",
       "compression.ignored_scope: unknown key; did you mean \"ignored_scopes\"?"},
  };
  for (const auto& [section, fragment] : corpus) {
    SCOPED_TRACE(section);
    std::string message = error_of([&] { parse_section(section); });
    EXPECT_NE(message.find(fragment), std::string::npos) << "missing `" << fragment << "` in: " << message;
  }
}

TEST(SparsityConfig, ErrorsInAListNameTheIndex) {
  Config config = Config::from_string(
      R"({"compression": [{"algorithm": "quantization"}, {"algorithm": "rb_sparsity", "params": {"sparsity_target": 2}}]})");
  std::string message = error_of([&] { config.require_supported(); });
  EXPECT_NE(message.find("compression[1].params.sparsity_target: expected in [0, 1), got 2"),
            std::string::npos)
      << message;
}

TEST(SparsityConfig, SupportedAndValidatedByRequireSupported) {
  const auto& names = supported_algorithm_names();
  for (const char* name : {"magnitude_sparsity", "rb_sparsity", "const_sparsity"})
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  Config::from_string(R"({"compression": [{"algorithm": "magnitude_sparsity"}, {"algorithm": "rb_sparsity"},
                          {"algorithm": "const_sparsity"}]})")
      .require_supported();
}

TEST(SparsityConfig, ParseRejectsOtherAlgorithms) {
  Config config = Config::from_string(R"({"compression": {"algorithm": "quantization"}})");
  std::string message = error_of([&] { SparsityConfig::parse(config.compression()[0]); });
  EXPECT_NE(message.find("compression.algorithm: expected \"magnitude_sparsity\", \"rb_sparsity\" or "
                         "\"const_sparsity\", got \"quantization\""),
            std::string::npos)
      << message;
}

}  // namespace
}  // namespace nncf::sparsity
