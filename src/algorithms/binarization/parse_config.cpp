#include <c10/util/Exception.h>

#include <cmath>
#include <utility>

#include "nncf/algorithms/binarization/config.h"
#include "nncf/config/node.h"

namespace nncf::binarization {
namespace {

const std::vector<std::pair<BinarizationMode, const char*>> kModes = {{BinarizationMode::Xnor, "xnor"},
                                                                      {BinarizationMode::Dorefa, "dorefa"}};

void parse_initializer(const ConfigNode& init, BinarizationConfig& c) {
  init.expect_object();
  if (init.has("precision"))
    init["precision"].fail("not a binarization key: precision initialization is quantization's");
  init.check_keys({"range", "batchnorm_adaptation"});
  if (init.has("range")) {
    const ConfigNode range = init["range"];
    // NNCF's quantization initializer schema: an object, or a list of per-group objects. Only the
    // sample count matters here (the activation scales are set from a percentile, NNCF's rule).
    if (range.is_array()) {
      for (size_t i = 0; i < range.size(); ++i) {
        const ConfigNode r = range[i];
        r.expect_object();
        if (r.has("num_init_samples"))
          c.num_init_samples = std::max(c.num_init_samples, r["num_init_samples"].as_int(0, INT64_MAX));
      }
    } else {
      range.expect_object();
      if (range.has("num_init_samples")) c.num_init_samples = range["num_init_samples"].as_int(0, INT64_MAX);
    }
  }
  if (init.has("batchnorm_adaptation")) {
    const ConfigNode bn = init["batchnorm_adaptation"];
    bn.expect_object();
    bn.check_keys({"num_bn_adaptation_samples"});
    c.num_bn_adaptation_samples =
        bn.has("num_bn_adaptation_samples") ? bn["num_bn_adaptation_samples"].as_int(0, INT64_MAX) : 2000;
  }
}

}  // namespace

const char* to_string(BinarizationMode m) {
  for (const auto& [e, name] : kModes)
    if (e == m) return name;
  return "?";
}

BinarizationConfig BinarizationConfig::parse(const AlgorithmConfig& algorithm) {
  const ConfigNode& node = algorithm.section;
  node.expect_object();
  if (algorithm.name != "binarization")
    node["algorithm"].fail("expected \"binarization\", got \"" + algorithm.name + "\"");
  node.check_keys({"algorithm", "mode", "params", "initializer", "ignored_scopes", "target_scopes",
                   "validate_scopes", "compression_lr_multiplier", "export_to_onnx_standard_ops",
                   "activation_scale_init"});
  BinarizationConfig c;
  c.path = node.path();
  if (node.has("mode")) c.mode = node["mode"].as_enum(kModes);
  if (node.has("params")) c.staged = quantization::parse_staged_params(node["params"]);
  if (node.has("initializer")) parse_initializer(node["initializer"], c);
  if (node.has("ignored_scopes")) c.ignored_scopes = node["ignored_scopes"].as_scopes();
  if (node.has("target_scopes")) c.target_scopes = node["target_scopes"].as_scopes();
  c.top_ignored_scopes = algorithm.top_ignored_scopes;
  c.top_target_scopes = algorithm.top_target_scopes;
  if (node.has("validate_scopes")) c.validate_scopes = node["validate_scopes"].as_bool();
  if (node.has("export_to_onnx_standard_ops"))
    c.export_to_onnx_standard_ops = node["export_to_onnx_standard_ops"].as_bool();
  if (node.has("activation_scale_init"))
    c.activation_scale_init =
        node["activation_scale_init"].as_enum(std::vector<std::pair<ScaleInit, const char*>>{
            {ScaleInit::Percentile, "percentile"}, {ScaleInit::Mse, "mse"}});
  if (node.has("compression_lr_multiplier"))
    c.compression_lr_multiplier = node["compression_lr_multiplier"].as_double(0, HUGE_VAL);
  return c;
}

}  // namespace nncf::binarization
