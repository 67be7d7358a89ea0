#include "nncf/algorithms/sparsity/config.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>

#include <climits>
#include <cmath>
#include <sstream>
#include <utility>

#include "nncf/config/node.h"
#include "nncf/ir/log.h"

namespace nncf::sparsity {
namespace {

template <typename E>
using Names = std::vector<std::pair<E, const char*>>;

const Names<Schedule> kSchedules = {{Schedule::Polynomial, "polynomial"},
                                    {Schedule::Exponential, "exponential"},
                                    {Schedule::Adaptive, "adaptive"},
                                    {Schedule::Multistep, "multistep"}};
const Names<LevelSettingMode> kModes = {{LevelSettingMode::Global, "global"},
                                        {LevelSettingMode::Local, "local"}};
const Names<WeightImportance> kImportances = {{WeightImportance::NormedAbs, "normed_abs"},
                                              {WeightImportance::Abs, "abs"}};

// A sparsity level: the fraction of zeroed weights, in [0, 1) (a level of 1 would zero every
// weight, and the exponential schedule works on the density 1 - level, which must stay > 0).
double read_level(const ConfigNode& node) {
  double v = node.as_double();
  if (!(v >= 0 && v < 1)) {
    std::ostringstream os;
    os << "expected in [0, 1), got " << v;
    node.fail(os.str());
  }
  return v;
}

int64_t read_epoch(const ConfigNode& node) {
  return node.as_int(0, INT64_MAX);
}

const std::vector<std::string> kParamKeys = {"schedule",
                                             "sparsity_target",
                                             "sparsity_target_epoch",
                                             "sparsity_freeze_epoch",
                                             "power",
                                             "concave",
                                             "update_per_optimizer_step",
                                             "steps_per_epoch",
                                             "multistep_steps",
                                             "multistep_sparsity_levels",
                                             "patience",
                                             "sparsity_level_setting_mode"};

SparsityParams parse_params(const ConfigNode& node, bool magnitude) {
  node.expect_object();
  if (!magnitude && node.has("weight_importance"))
    node["weight_importance"].fail(
        "not an rb_sparsity key: weight importance is magnitude_sparsity's (rb_sparsity learns its masks)");
  std::vector<std::string> known = kParamKeys;
  if (magnitude) known.push_back("weight_importance");
  node.check_keys(known);

  SparsityParams p;
  p.schedule = magnitude ? Schedule::Polynomial : Schedule::Exponential;
  if (node.has("schedule")) p.schedule = node["schedule"].as_enum(kSchedules);
  // The adaptive schedule raises the level when the RB loss reports that the model caught up;
  // magnitude sparsity has no such loss (NNCF fails at the first epoch_step).
  if (magnitude && p.schedule == Schedule::Adaptive)
    node["schedule"].fail("the adaptive schedule needs the RB loss: rb_sparsity only");
  if (node.has("sparsity_target")) p.sparsity_target = read_level(node["sparsity_target"]);
  if (node.has("sparsity_target_epoch")) p.sparsity_target_epoch = read_epoch(node["sparsity_target_epoch"]);
  if (node.has("sparsity_freeze_epoch")) p.sparsity_freeze_epoch = read_epoch(node["sparsity_freeze_epoch"]);
  if (node.has("power")) {
    ConfigNode power = node["power"];
    p.power = power.as_double();
    if (!(p.power > 0 && std::isfinite(p.power))) {
      std::ostringstream os;
      os << "expected > 0, got " << p.power;
      power.fail(os.str());
    }
  }
  if (node.has("concave")) p.concave = node["concave"].as_bool();
  if (node.has("update_per_optimizer_step")) {
    p.update_per_optimizer_step = node["update_per_optimizer_step"].as_bool();
    // NNCF ignores the flag for the other schedules; say so instead.
    if (p.update_per_optimizer_step && p.schedule != Schedule::Polynomial)
      node["update_per_optimizer_step"].fail(
          std::string("only the polynomial schedule updates per step, got \"") + to_string(p.schedule) +
          "\"");
  }
  if (node.has("steps_per_epoch")) p.steps_per_epoch = node["steps_per_epoch"].as_int(1, INT64_MAX);
  if (node.has("multistep_steps")) {
    ConfigNode steps = node["multistep_steps"];
    p.multistep_steps = steps.as_int_list();
    for (size_t i = 0; i < p.multistep_steps.size(); ++i) {
      read_epoch(steps[i]);
      if (i > 0 && p.multistep_steps[i] <= p.multistep_steps[i - 1])
        steps[i].fail("expected strictly increasing epochs, got " + std::to_string(p.multistep_steps[i]) +
                      " after " + std::to_string(p.multistep_steps[i - 1]));
    }
  }
  if (node.has("multistep_sparsity_levels")) {
    ConfigNode levels = node["multistep_sparsity_levels"];
    p.multistep_sparsity_levels = levels.as_double_list();
    for (size_t i = 0; i < p.multistep_sparsity_levels.size(); ++i) read_level(levels[i]);
  }
  if (p.multistep_sparsity_levels.size() != p.multistep_steps.size() + 1) {
    ConfigNode where =
        node.has("multistep_sparsity_levels") ? node["multistep_sparsity_levels"] : node["multistep_steps"];
    where.fail("expected one more level than multistep_steps (" +
               std::to_string(p.multistep_steps.size() + 1) + "), got " +
               std::to_string(p.multistep_sparsity_levels.size()));
  }
  if (node.has("patience")) p.patience = node["patience"].as_int(1, INT64_MAX);
  if (node.has("sparsity_level_setting_mode"))
    p.sparsity_level_setting_mode = node["sparsity_level_setting_mode"].as_enum(kModes);
  if (node.has("weight_importance")) p.weight_importance = node["weight_importance"].as_enum(kImportances);
  return p;
}

int64_t parse_initializer(const ConfigNode& init) {
  init.expect_object();
  for (const char* key : {"range", "precision"})
    if (init.has(key))
      init[key].fail(std::string("not a sparsity key: ") + key +
                     " initialization is quantization's (magnitude_sparsity accepts batchnorm_adaptation)");
  init.check_keys({"batchnorm_adaptation"});
  if (!init.has("batchnorm_adaptation")) return 0;
  ConfigNode bn = init["batchnorm_adaptation"];
  bn.expect_object();
  bn.check_keys({"num_bn_adaptation_samples"});
  const int64_t samples =
      bn.has("num_bn_adaptation_samples") ? bn["num_bn_adaptation_samples"].as_int(0, INT64_MAX) : 2000;
  // NNCF's magnitude sparsity never runs it on its own (neither initialize() nor its schedulers);
  // say so rather than let the section look effective.
  if (samples > 0)
    log_warning_once(
        c10::str(bn.path(), ": magnitude_sparsity runs BatchNorm adaptation only when ",
                 "set_sparsity_level(level, /*run_batchnorm_adaptation=*/true) is called (as NNCF); ",
                 "initialize() and the scheduler's level changes do not run it"));
  return samples;
}

}  // namespace

SparsityConfig SparsityConfig::parse(const AlgorithmConfig& algorithm) {
  const ConfigNode& node = algorithm.section;
  node.expect_object();
  const std::string& name = algorithm.name;
  if (name != "magnitude_sparsity" && name != "rb_sparsity" && name != "const_sparsity")
    node["algorithm"].fail("expected \"magnitude_sparsity\", \"rb_sparsity\" or \"const_sparsity\", got \"" +
                           name + "\"");
  const bool magnitude = name == "magnitude_sparsity";
  std::vector<std::string> known = {"algorithm", "ignored_scopes", "target_scopes", "validate_scopes",
                                    "compression_lr_multiplier"};
  if (name == "const_sparsity") {
    // Its masks come from a checkpoint: nothing to schedule or initialize.
    for (const char* key : {"sparsity_init", "params", "initializer"})
      if (node.has(key))
        node[key].fail(std::string("not a const_sparsity key: const_sparsity has no ") + key +
                       " (its masks are loaded from a checkpoint)");
  } else {
    known.insert(known.end(), {"sparsity_init", "params"});
    if (magnitude)
      known.push_back("initializer");
    else if (node.has("initializer"))
      node["initializer"].fail("not an rb_sparsity key: batch-norm adaptation is magnitude_sparsity's");
  }
  node.check_keys(known);

  SparsityConfig c;
  c.algorithm = name;
  c.path = node.path();
  if (name != "const_sparsity") c.params.schedule = magnitude ? Schedule::Polynomial : Schedule::Exponential;
  if (node.has("sparsity_init")) c.sparsity_init = read_level(node["sparsity_init"]);
  if (node.has("params")) c.params = parse_params(node["params"], magnitude);
  if (node.has("initializer")) c.num_bn_adaptation_samples = parse_initializer(node["initializer"]);
  if (node.has("ignored_scopes")) c.ignored_scopes = node["ignored_scopes"].as_scopes();
  if (node.has("target_scopes")) c.target_scopes = node["target_scopes"].as_scopes();
  c.top_ignored_scopes = algorithm.top_ignored_scopes;
  c.top_target_scopes = algorithm.top_target_scopes;
  if (node.has("validate_scopes")) c.validate_scopes = node["validate_scopes"].as_bool();
  if (node.has("compression_lr_multiplier"))
    c.compression_lr_multiplier = node["compression_lr_multiplier"].as_double(0, HUGE_VAL);
  return c;
}

}  // namespace nncf::sparsity
