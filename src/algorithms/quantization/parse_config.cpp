#include "nncf/algorithms/quantization/config.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <regex>
#include <tuple>
#include <utility>

#include "nncf/config/node.h"

namespace nncf::quantization {
namespace {

template <typename E>
using Names = std::vector<std::pair<E, const char*>>;

const Names<QuantizationMode> kModes = {{QuantizationMode::Symmetric, "symmetric"},
                                        {QuantizationMode::Asymmetric, "asymmetric"}};
const Names<Preset> kPresets = {{Preset::Performance, "performance"}, {Preset::Mixed, "mixed"}};
const Names<OverflowFix> kOverflowFixes = {{OverflowFix::Enable, "enable"},
                                           {OverflowFix::Disable, "disable"},
                                           {OverflowFix::FirstLayerOnly, "first_layer_only"}};
const Names<QuantizerGroup> kGroups = {{QuantizerGroup::Weights, "weights"},
                                       {QuantizerGroup::Activations, "activations"}};

// Keys that NNCF 1.x accepted and 2.x rejects: say what replaced them instead of a generic hint.
void reject_legacy_keys(const ConfigNode& node) {
  static const std::vector<std::pair<std::string, std::string>> kLegacy = {
      {"disable_saturation_fix", "NNCF 1.7 key, replaced in 2.0 by \"overflow_fix\": \"disable\""},
      {"quantizable_subgraph_patterns", "NNCF 1.x key, removed in 2.0"},
      {"num_bn_forget_samples", "NNCF 1.x key, removed in 2.0 (no BN forgetting step)"},
      {"num_init_steps", "NNCF 1.5 key, replaced in 1.6 by \"num_init_samples\""}};
  for (const auto& [key, why] : kLegacy)
    if (node.has(key)) node[key].fail("unknown key: " + why);
}

const std::vector<std::string> kRangeKeys = {"num_init_samples", "type", "params"};

RangeInitConfig parse_range_entry(const ConfigNode& node, bool per_layer) {
  node.expect_object();
  reject_legacy_keys(node);
  std::vector<std::string> known = kRangeKeys;
  if (per_layer) known.insert(known.end(), {"target_scopes", "ignored_scopes", "target_quantizer_group"});
  node.check_keys(known);
  RangeInitConfig r;
  if (node.has("num_init_samples")) r.num_init_samples = node["num_init_samples"].as_int(0, INT64_MAX);
  if (node.has("type")) {
    // The spellings are range_init.h's; the list here only feeds the error message.
    ConfigNode type = node["type"];
    auto parsed = range_init_type_from_string(type.as_string());
    if (!parsed)
      type.as_enum(
          {"mixed_min_max", "min_max", "mean_min_max", "threesigma", "percentile", "mean_percentile"});
    r.type = *parsed;
  }
  if (node.has("params")) {
    ConfigNode params = node["params"];
    params.expect_object();
    params.check_keys({"min_percentile", "max_percentile"});
    if (params.has("min_percentile")) r.min_percentile = params["min_percentile"].as_double(0, 100);
    if (params.has("max_percentile")) r.max_percentile = params["max_percentile"].as_double(0, 100);
    if (r.min_percentile >= r.max_percentile)
      params.fail(c10::str("expected min_percentile < max_percentile, got ", r.min_percentile,
                           " >= ", r.max_percentile));
  }
  if (node.has("target_scopes")) r.target_scopes = node["target_scopes"].as_scopes();
  if (node.has("ignored_scopes")) r.ignored_scopes = node["ignored_scopes"].as_scopes();
  if (node.has("target_quantizer_group"))
    r.target_quantizer_group = node["target_quantizer_group"].as_enum(kGroups);
  return r;
}

// `initializer.range` in either form; returns the entries and whether it was the list form.
std::pair<std::vector<RangeInitConfig>, bool> parse_range(const ConfigNode& node) {
  if (!node.is_array()) return {{parse_range_entry(node, false)}, false};
  std::vector<RangeInitConfig> out;
  for (const auto& e : node.elements()) out.push_back(parse_range_entry(e, true));
  return {out, true};
}

const std::vector<std::string> kQuantizerKeys = {"mode", "bits", "signed", "per_channel"};

// What FakeQuantize runs; whether the target's HW config allows it is checked at placement,
// where the ops are known.
int64_t read_bits(const ConfigNode& node) {
  return node.as_int(2, 8);
}

PrecisionInitConfig parse_precision(const ConfigNode& node) {
  node.expect_object();
  node.check_keys({"type", "bits", "compression_ratio", "num_data_points", "iter_number", "tolerance",
                   "dump_init_precision_data", "bitwidth_per_scope", "bitwidth_assignment_mode",
                   "traces_per_layer_path", "eval_subset_ratio", "warmup_iter_number"});
  PrecisionInitConfig p;
  p.path = node.path();
  const std::string type = node.has("type") ? node["type"].as_enum({"manual", "hawq", "autoq"}) : "manual";
  if (type == "autoq")
    node["type"].fail(
        "not supported: AutoQ (reinforcement-learning bit-width search); use \"hawq\" or \"manual\"");
  p.type = type == "hawq" ? PrecisionInitConfig::Type::Hawq : PrecisionInitConfig::Type::Manual;
  for (const char* key : {"eval_subset_ratio", "warmup_iter_number"})
    if (node.has(key)) node[key].fail("an AutoQ key; this section's type is \"" + type + "\"");
  if (node.has("bits")) {
    p.bits.clear();
    const ConfigNode bits = node["bits"];
    if (!bits.is_array() || bits.size() == 0) bits.fail("expected a non-empty list of bit widths");
    for (const ConfigNode& b : bits.elements()) {
      const int64_t v = read_bits(b);
      if (std::find(p.bits.begin(), p.bits.end(), v) != p.bits.end()) b.fail("a width listed twice");
      p.bits.push_back(v);
    }
    std::sort(p.bits.begin(), p.bits.end());
  }
  if (node.has("compression_ratio")) p.compression_ratio = node["compression_ratio"].as_double(1.0, 64.0);
  if (node.has("num_data_points")) p.num_data_points = node["num_data_points"].as_int(1, INT64_MAX);
  if (node.has("iter_number")) p.iter_number = node["iter_number"].as_int(1, INT64_MAX);
  if (node.has("tolerance")) p.tolerance = node["tolerance"].as_double(0.0, 1.0);
  if (node.has("dump_init_precision_data"))
    p.dump_init_precision_data = node["dump_init_precision_data"].as_bool();
  if (node.has("bitwidth_assignment_mode"))
    p.strict_bitwidth_assignment =
        node["bitwidth_assignment_mode"].as_enum({"liberal", "strict"}) == "strict";
  if (node.has("traces_per_layer_path")) p.traces_per_layer_path = node["traces_per_layer_path"].as_string();
  if (node.has("bitwidth_per_scope")) {
    const ConfigNode list = node["bitwidth_per_scope"];
    if (!list.is_array()) list.fail("expected a list of [bits, \"<quantizer id>\"] pairs");
    for (const ConfigNode& e : list.elements()) {
      if (!e.is_array() || e.size() != 2) e.fail("expected a [bits, \"<quantizer id>\"] pair");
      PrecisionInitConfig::Entry entry;
      entry.bits = read_bits(e[0]);
      entry.id = e[1].as_string();
      entry.path = e.path();
      if (entry.id.empty()) e[1].fail("an empty quantizer id");
      p.bitwidth_per_scope.push_back(std::move(entry));
    }
  }
  if (p.type == PrecisionInitConfig::Type::Hawq)
    node.fail(
        "not supported yet: HAWQ mixed-precision initialization (type \"hawq\"); \"manual\" with "
        "bitwidth_per_scope is");
  return p;
}

QuantizerGroupConfig parse_group(const ConfigNode& node, bool activations) {
  node.expect_object();
  std::vector<std::string> known = kQuantizerKeys;
  known.insert(known.end(), {"ignored_scopes", "target_scopes", "logarithm_scale"});
  if (activations) known.push_back("unified_scale_ops");
  node.check_keys(known);
  QuantizerGroupConfig g;
  if (node.has("mode")) g.mode = node["mode"].as_enum(kModes);
  if (node.has("bits")) g.bits = read_bits(node["bits"]);
  if (node.has("signed")) g.is_signed = node["signed"].as_bool();
  if (node.has("per_channel")) g.per_channel = node["per_channel"].as_bool();
  if (node.has("logarithm_scale")) g.logarithm_scale = node["logarithm_scale"].as_bool();
  if (node.has("ignored_scopes")) g.ignored_scopes = node["ignored_scopes"].as_scopes();
  if (node.has("target_scopes")) g.target_scopes = node["target_scopes"].as_scopes();
  if (node.has("unified_scale_ops"))
    for (const auto& group : node["unified_scale_ops"].elements()) {
      if (!group.is_array()) group.fail("expected a list of scopes, got " + group.dump());
      g.unified_scale_ops.push_back(group.as_scopes());
    }
  return g;
}

std::vector<ScopeOverride> parse_overrides(const ConfigNode& node) {
  node.expect_object();
  std::vector<ScopeOverride> out;
  for (const auto& scope : node.keys()) {
    ConfigNode entry = node[scope];
    entry.expect_object();
    std::vector<std::string> known = kQuantizerKeys;
    known.push_back("initializer");
    entry.check_keys(known);
    ScopeOverride o;
    o.scope = scope;
    o.path = entry.path();
    if (scope.rfind("{re}", 0) == 0) {
      // The key is the scope; validate it like a scope list would, naming the entry.
      try {
        std::regex(scope.substr(4), std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        entry.fail(std::string("invalid regular expression in the key: ") + e.what());
      }
    }
    if (entry.has("mode")) o.mode = entry["mode"].as_enum(kModes);
    if (entry.has("bits")) o.bits = read_bits(entry["bits"]);
    if (entry.has("signed")) o.is_signed = entry["signed"].as_bool();
    if (entry.has("per_channel")) o.per_channel = entry["per_channel"].as_bool();
    if (entry.has("initializer")) {
      ConfigNode init = entry["initializer"];
      init.expect_object();
      init.check_keys({"range"});
      if (init.has("range")) o.range_init = parse_range(init["range"]).first;
    }
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace

StagedQuantizationParams parse_staged_params(const ConfigNode& node) {
  node.expect_object();
  node.check_keys({"batch_multiplier", "activations_quant_start_epoch", "weights_quant_start_epoch",
                   "lr_poly_drop_start_epoch", "lr_poly_drop_duration_epochs", "disable_wd_start_epoch",
                   "base_lr", "base_wd"});
  StagedQuantizationParams p;
  auto epoch = [&](const char* key) { return node[key].as_int(0, INT64_MAX); };
  if (node.has("batch_multiplier")) p.batch_multiplier = node["batch_multiplier"].as_int(1, INT64_MAX);
  if (node.has("activations_quant_start_epoch"))
    p.activations_quant_start_epoch = epoch("activations_quant_start_epoch");
  if (node.has("weights_quant_start_epoch")) p.weights_quant_start_epoch = epoch("weights_quant_start_epoch");
  if (node.has("lr_poly_drop_start_epoch")) p.lr_poly_drop_start_epoch = epoch("lr_poly_drop_start_epoch");
  if (node.has("lr_poly_drop_duration_epochs"))
    p.lr_poly_drop_duration_epochs = node["lr_poly_drop_duration_epochs"].as_int(1, INT64_MAX);
  if (node.has("disable_wd_start_epoch")) p.disable_wd_start_epoch = epoch("disable_wd_start_epoch");
  if (node.has("base_lr")) p.base_lr = node["base_lr"].as_double(0, HUGE_VAL);
  if (node.has("base_wd")) p.base_wd = node["base_wd"].as_double(0, HUGE_VAL);
  return p;
}

double staged_lr_multiplier(const StagedQuantizationParams& p, double epoch) {
  if (!p.lr_poly_drop_start_epoch) return 1.0;
  const double start = static_cast<double>(*p.lr_poly_drop_start_epoch);
  const double duration = static_cast<double>(p.lr_poly_drop_duration_epochs);
  if (epoch < start) return 1.0;
  if (epoch >= start + duration) return 0.0;
  return std::pow((start + duration - epoch) / duration, 2.1);
}

bool staged_weight_decay_enabled(const StagedQuantizationParams& p, double epoch) {
  return !p.disable_wd_start_epoch || epoch <= static_cast<double>(*p.disable_wd_start_epoch);
}

QuantizationConfig QuantizationConfig::parse(const AlgorithmConfig& algorithm) {
  const ConfigNode& node = algorithm.section;
  node.expect_object();
  if (algorithm.name != "quantization")
    node["algorithm"].fail("expected \"quantization\", got \"" + algorithm.name + "\"");
  reject_legacy_keys(node);
  node.check_keys({"algorithm", "initializer", "preset", "quantize_inputs", "quantize_outputs", "weights",
                   "activations", "scope_overrides", "export_to_onnx_standard_ops", "overflow_fix", "params",
                   "ignored_scopes", "target_scopes", "validate_scopes", "compression_lr_multiplier"});
  QuantizationConfig q;
  q.path = node.path();
  q.file = node.file();
  if (node.has("initializer")) {
    ConfigNode init = node["initializer"];
    init.expect_object();
    reject_legacy_keys(init);
    init.check_keys({"range", "batchnorm_adaptation", "precision"});
    if (init.has("range")) std::tie(q.range_init, q.range_init_per_layer) = parse_range(init["range"]);
    if (init.has("batchnorm_adaptation")) {
      ConfigNode bn = init["batchnorm_adaptation"];
      bn.expect_object();
      reject_legacy_keys(bn);
      bn.check_keys({"num_bn_adaptation_samples"});
      if (bn.has("num_bn_adaptation_samples"))
        q.num_bn_adaptation_samples = bn["num_bn_adaptation_samples"].as_int(0, INT64_MAX);
    }
    if (init.has("precision")) q.precision = parse_precision(init["precision"]);
  }
  if (node.has("preset")) {
    q.preset = node["preset"].as_enum(kPresets);
    q.preset_given = true;
  }
  if (node.has("quantize_inputs")) q.quantize_inputs = node["quantize_inputs"].as_bool();
  if (node.has("quantize_outputs")) q.quantize_outputs = node["quantize_outputs"].as_bool();
  if (node.has("weights")) q.weights = parse_group(node["weights"], false);
  if (node.has("activations")) q.activations = parse_group(node["activations"], true);
  if (node.has("scope_overrides")) {
    ConfigNode so = node["scope_overrides"];
    so.expect_object();
    so.check_keys({"weights", "activations"});
    if (so.has("weights")) q.weight_overrides = parse_overrides(so["weights"]);
    if (so.has("activations")) q.activation_overrides = parse_overrides(so["activations"]);
  }
  if (node.has("export_to_onnx_standard_ops"))
    q.export_to_onnx_standard_ops = node["export_to_onnx_standard_ops"].as_bool();
  if (node.has("overflow_fix")) q.overflow_fix = node["overflow_fix"].as_enum(kOverflowFixes);
  if (node.has("params")) q.staged = parse_staged_params(node["params"]);
  if (node.has("ignored_scopes")) q.ignored_scopes = node["ignored_scopes"].as_scopes();
  if (node.has("target_scopes")) q.target_scopes = node["target_scopes"].as_scopes();
  q.top_ignored_scopes = algorithm.top_ignored_scopes;
  q.top_target_scopes = algorithm.top_target_scopes;
  if (node.has("validate_scopes")) q.validate_scopes = node["validate_scopes"].as_bool();
  if (node.has("compression_lr_multiplier"))
    q.compression_lr_multiplier = node["compression_lr_multiplier"].as_double(0, HUGE_VAL);
  return q;
}

}  // namespace nncf::quantization
