#include <c10/util/Exception.h>

#include <climits>
#include <cmath>
#include <sstream>
#include <utility>

#include "nncf/algorithms/pruning/config.h"
#include "nncf/config/node.h"

namespace nncf::pruning {
namespace {

template <typename E>
using Names = std::vector<std::pair<E, const char*>>;

const Names<PruningSchedule> kSchedules = {{PruningSchedule::Exponential, "exponential"},
                                           {PruningSchedule::ExponentialWithBias, "exponential_with_bias"},
                                           {PruningSchedule::Baseline, "baseline"}};
const Names<FilterImportance> kImportances = {{FilterImportance::L2, "L2"},
                                              {FilterImportance::L1, "L1"},
                                              {FilterImportance::GeometricMedian, "geometric_median"}};

// A pruning level: the fraction of filters (or FLOPs) removed, in [0, 1).
double read_level(const ConfigNode& node) {
  const double v = node.as_double();
  if (!(v >= 0 && v < 1)) {
    std::ostringstream os;
    os << "expected in [0, 1), got " << v;
    node.fail(os.str());
  }
  return v;
}

void parse_params(const ConfigNode& node, FilterPruningConfig& c) {
  node.expect_object();
  node.check_keys({"schedule", "pruning_target", "pruning_flops_target", "num_init_steps", "pruning_steps",
                   "weight_importance", "filter_importance", "all_weights", "prune_first_conv",
                   "prune_last_conv", "prune_downsample_convs", "prune_batch_norms", "zero_grad",
                   "interlayer_ranking_type", "legr_params", "save_ranking_coeffs_path",
                   "load_ranking_coeffs_path", "round_channels_to", "pruning_quota"});
  if (node.has("schedule")) c.schedule = node["schedule"].as_enum(kSchedules);
  if (node.has("pruning_target") && node.has("pruning_flops_target"))
    node["pruning_flops_target"].fail(
        "pruning_target and pruning_flops_target are mutually exclusive: give one");
  if (node.has("pruning_target")) c.pruning_target = read_level(node["pruning_target"]);
  if (node.has("pruning_flops_target")) c.pruning_flops_target = read_level(node["pruning_flops_target"]);
  if (node.has("num_init_steps")) c.num_init_steps = node["num_init_steps"].as_int(0, INT32_MAX);
  if (node.has("pruning_steps")) c.pruning_steps = node["pruning_steps"].as_int(1, INT32_MAX);
  if (node.has("weight_importance") && node.has("filter_importance"))
    node["filter_importance"].fail(
        "weight_importance (NNCF 1.x) and filter_importance (2.x) name the same choice: give one");
  for (const char* key : {"weight_importance", "filter_importance"})
    if (node.has(key)) c.importance = node[key].as_enum(kImportances);
  if (node.has("all_weights")) c.all_weights = node["all_weights"].as_bool();
  if (node.has("prune_first_conv")) c.prune_first_conv = node["prune_first_conv"].as_bool();
  if (node.has("prune_last_conv") && node["prune_last_conv"].as_bool())
    node["prune_last_conv"].fail(
        "not supported: NNCF 2.x removed prune_last_conv; a layer whose channels reach the model output is "
        "never "
        "pruned");
  if (node.has("prune_downsample_convs")) c.prune_downsample_convs = node["prune_downsample_convs"].as_bool();
  if (node.has("prune_batch_norms")) c.prune_batch_norms = node["prune_batch_norms"].as_bool();
  if (node.has("zero_grad")) c.zero_grad = node["zero_grad"].as_bool();
  if (node.has("interlayer_ranking_type") &&
      node["interlayer_ranking_type"].as_enum({"unweighted_ranking", "learned_ranking"}) == "learned_ranking")
    node["interlayer_ranking_type"].fail(
        "learned_ranking (LeGR) is not supported yet; use unweighted_ranking");
  for (const char* key : {"legr_params", "save_ranking_coeffs_path", "load_ranking_coeffs_path"})
    if (node.has(key)) node[key].fail("a LeGR key: learned_ranking is not supported yet");
  if (node.has("round_channels_to")) c.round_channels_to = node["round_channels_to"].as_int(1, INT32_MAX);
  if (node.has("pruning_quota")) c.pruning_quota = node["pruning_quota"].as_double(0, 1);
}

int64_t parse_initializer(const ConfigNode& init) {
  init.expect_object();
  for (const char* key : {"range", "precision"})
    if (init.has(key))
      init[key].fail(std::string("not a filter_pruning key: ") + key +
                     " initialization is quantization's (filter_pruning accepts batchnorm_adaptation)");
  init.check_keys({"batchnorm_adaptation"});
  if (!init.has("batchnorm_adaptation")) return 0;
  const ConfigNode bn = init["batchnorm_adaptation"];
  bn.expect_object();
  bn.check_keys({"num_bn_adaptation_samples"});
  return bn.has("num_bn_adaptation_samples") ? bn["num_bn_adaptation_samples"].as_int(0, INT64_MAX) : 2000;
}

}  // namespace

const char* to_string(PruningSchedule s) {
  for (const auto& [e, name] : kSchedules)
    if (e == s) return name;
  return "?";
}

const char* to_string(FilterImportance i) {
  for (const auto& [e, name] : kImportances)
    if (e == i) return name;
  return "?";
}

FilterPruningConfig FilterPruningConfig::parse(const AlgorithmConfig& algorithm) {
  const ConfigNode& node = algorithm.section;
  node.expect_object();
  if (algorithm.name != "filter_pruning")
    node["algorithm"].fail("expected \"filter_pruning\", got \"" + algorithm.name + "\"");
  node.check_keys({"algorithm", "pruning_init", "params", "initializer", "ignored_scopes", "target_scopes",
                   "validate_scopes", "compression_lr_multiplier"});
  FilterPruningConfig c;
  c.path = node.path();
  if (node.has("pruning_init")) c.pruning_init = read_level(node["pruning_init"]);
  if (node.has("params")) parse_params(node["params"], c);
  if (c.pruning_init > c.target_level()) {
    std::ostringstream os;
    os << "pruning_init (" << c.pruning_init << ") is above the target (" << c.target_level() << ")";
    node["pruning_init"].fail(os.str());
  }
  if (node.has("initializer")) c.num_bn_adaptation_samples = parse_initializer(node["initializer"]);
  if (node.has("ignored_scopes")) c.ignored_scopes = node["ignored_scopes"].as_scopes();
  if (node.has("target_scopes")) c.target_scopes = node["target_scopes"].as_scopes();
  c.top_ignored_scopes = algorithm.top_ignored_scopes;
  c.top_target_scopes = algorithm.top_target_scopes;
  if (node.has("validate_scopes")) c.validate_scopes = node["validate_scopes"].as_bool();
  // compression_lr_multiplier is accepted (NNCF's schema allows it everywhere); filter pruning has
  // no trainable parameters for it to scale.
  if (node.has("compression_lr_multiplier")) node["compression_lr_multiplier"].as_double(0, HUGE_VAL);
  return c;
}

}  // namespace nncf::pruning
