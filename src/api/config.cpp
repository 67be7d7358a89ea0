#include "nncf/api/config.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "nncf/api/algorithms.h"

namespace nncf {
namespace {

std::string join_quoted(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + json_quoted(s);
  return out;
}

}  // namespace

const std::vector<std::string>& known_algorithm_names() {
  static const std::vector<std::string> kNames = {
      "quantization", "magnitude_sparsity",     "rb_sparsity",      "const_sparsity", "filter_pruning",
      "binarization", "knowledge_distillation", "movement_sparsity"};
  return kNames;
}

const std::vector<std::string>& supported_algorithm_names() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const Algorithm* a : algorithm_table()) names.push_back(a->name);
    return names;
  }();
  return kNames;
}

namespace {

const std::vector<std::pair<TargetDevice, const char*>> kDevices = {
    {TargetDevice::Any, "ANY"},    {TargetDevice::Cpu, "CPU"}, {TargetDevice::Gpu, "GPU"},
    {TargetDevice::Vpu, "VPU"},    {TargetDevice::Npu, "NPU"}, {TargetDevice::CpuSpr, "CPU_SPR"},
    {TargetDevice::Trial, "TRIAL"}};
const std::vector<std::pair<InputFiller, const char*>> kFillers = {
    {InputFiller::Zeros, "zeros"}, {InputFiller::Ones, "ones"}, {InputFiller::Random, "random"}};
const std::vector<std::pair<c10::ScalarType, const char*>> kInputTypes = {
    {c10::kFloat, "float"}, {c10::kDouble, "double"}, {c10::kHalf, "half"}, {c10::kLong, "long"},
    {c10::kInt, "int"},     {c10::kByte, "uint8"},    {c10::kBool, "bool"}};

template <typename E>
const char* enum_name(E e, const std::vector<std::pair<E, const char*>>& table) {
  for (const auto& [value, name] : table)
    if (value == e) return name;
  TORCH_INTERNAL_ASSERT(false, "unknown enum value ", static_cast<int>(e));
}

InputInfo parse_input_info(const ConfigNode& node) {
  node.check_keys({"sample_size", "type", "filler", "keyword"});
  InputInfo info;
  ConfigNode size = node["sample_size"];
  if (!size.exists()) size.fail("required key is missing");
  info.sample_size = size.as_int_list();
  for (size_t i = 0; i < info.sample_size.size(); ++i) size[i].as_int(0, INT64_MAX);
  if (node.has("type")) info.type = node["type"].as_enum(kInputTypes);
  if (node.has("filler")) info.filler = node["filler"].as_enum(kFillers);
  if (node.has("keyword")) info.keyword = node["keyword"].as_string();
  return info;
}

}  // namespace

const char* to_string(TargetDevice device) {
  return enum_name(device, kDevices);
}
const char* to_string(InputFiller filler) {
  return enum_name(filler, kFillers);
}

// ---- Config --------------------------------------------------------------------------------------

Config Config::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TORCH_CHECK(in.good(), path, ": cannot open the config file");
  std::stringstream text;
  text << in.rdbuf();
  TORCH_CHECK(!in.bad(), path, ": cannot read the config file");
  return from_string(text.str(), path);
}

Config Config::from_string(const std::string& text, const std::string& source) {
  Config config;
  config.root_ = ConfigNode::parse(text, source);
  const ConfigNode& root = config.root_;
  root.expect_object();
  // The root is open (samples keep their own keys there), so a misspelt framework key would be
  // silently kept; refuse keys within two edits of one we read.
  static const std::vector<std::string> kTopLevel = {
      "input_info", "target_device", "compression", "log_dir", "compression_lr_multiplier",
      "disable_shape_matching", "scopes_without_shape_matching", "accuracy_aware_training",
      // NNCF's sample-level keys, kept for the program
      "model", "model_params", "pretrained", "num_classes", "dataset", "dataset_dir", "batch_size",
      "batch_size_val", "batch_size_init", "epochs", "optimizer", "weight_decay", "seed", "mode", "workers",
      "multiprocessing_distributed", "distributed", "print_freq", "test_every_n_epochs",
      "checkpoint_save_dir", "metrics_dump", "weights", "eval_only", "export_to_onnx",
      "export_to_ir_via_onnx", "no_strip_on_export", "disable_compression",
      // appended to every algorithm's own lists
      "ignored_scopes", "target_scopes"};
  for (const auto& key : root.keys()) {
    if (std::find(kTopLevel.begin(), kTopLevel.end(), key) != kTopLevel.end()) continue;
    for (const auto& known : kTopLevel)
      if (edit_distance(key, known) <= 2)
        root[key].fail("unknown key; did you mean " + json_quoted(known) + "?");
  }

  if (root.has("input_info")) {
    ConfigNode info = root["input_info"];
    if (info.is_array()) {
      for (const auto& e : info.elements()) config.input_info_.push_back(parse_input_info(e));
    } else {
      config.input_info_.push_back(parse_input_info(info));
    }
  }
  if (root.has("target_device")) config.target_device_ = root["target_device"].as_enum(kDevices);
  if (root.has("log_dir")) config.log_dir_ = root["log_dir"].as_string();
  if (root.has("compression_lr_multiplier"))
    config.compression_lr_multiplier_ = root["compression_lr_multiplier"].as_double();
  if (root.has("disable_shape_matching"))
    config.disable_shape_matching_ = root["disable_shape_matching"].as_bool();
  if (root.has("scopes_without_shape_matching"))
    config.scopes_without_shape_matching_ = root["scopes_without_shape_matching"].as_scopes();
  if (root.has("accuracy_aware_training")) {
    ConfigNode aat = root["accuracy_aware_training"];
    aat.expect_object();
    aat["mode"].as_enum({"adaptive_compression_level", "early_exit"});
    config.accuracy_aware_training_ = aat;
  }
  std::vector<std::string> top_ignored, top_target;
  if (root.has("ignored_scopes")) top_ignored = root["ignored_scopes"].as_scopes();
  if (root.has("target_scopes")) top_target = root["target_scopes"].as_scopes();
  if (root.has("compression")) {
    ConfigNode compression = root["compression"];
    std::vector<ConfigNode> sections =
        compression.is_array() ? compression.elements() : std::vector<ConfigNode>{compression};
    for (const auto& section : sections) {
      section.expect_object();
      ConfigNode algorithm = section["algorithm"];
      if (!algorithm.exists()) algorithm.fail("required key is missing");
      config.compression_.push_back(
          {algorithm.as_enum(known_algorithm_names()), section, top_ignored, top_target});
    }
  }
  return config;
}

const AlgorithmConfig* Config::find_algorithm(const std::string& name) const {
  for (const auto& section : compression_)
    if (section.name == name) return &section;
  return nullptr;
}

void Config::require_supported() const {
  for (const auto& section : compression_) {
    const Algorithm* algorithm = nncf::find_algorithm(section.name);
    if (algorithm == nullptr) {
      section.section.fail("not supported yet: algorithm " + json_quoted(section.name) +
                           " (nncf-cpp builds " + join_quoted(supported_algorithm_names()) + ")");
    }
    algorithm->validate(section);
  }
  if (accuracy_aware_training_) accuracy_aware_training_->fail("not supported yet: accuracy-aware training");
}

}  // namespace nncf
