#include "sample_config.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <utility>

namespace nncf_sample {
namespace {

// Fails on members of `node` that are not in `known`: a typo in a config must not be ignored.
void check_keys(const nncf::ConfigNode& node, const std::set<std::string>& known) {
  for (const std::string& k : node.keys()) {
    if (known.count(k)) continue;
    std::string list;
    for (const std::string& n : known) list += (list.empty() ? "" : ", ") + n;
    TORCH_CHECK(false, node.file().empty() ? "config" : node.file(), ": ",
                node.path().empty() ? k : node.path() + "." + k, ": unknown key (known: ", list, ")");
  }
}

OptimizerConfig parse_optimizer(const nncf::ConfigNode& node, OptimizerConfig o) {
  if (!node.exists()) return o;
  check_keys(node, {"type", "base_lr", "weight_decay", "momentum", "nesterov", "schedule_type", "steps",
                    "step_size", "gamma", "power", "patience", "threshold", "cooldown", "min_lr", "schedule_params"});
  if (node.has("type")) o.type = c10::str(node["type"].as_enum({"sgd", "adam", "adamw", "SGD", "Adam", "AdamW"}));
  for (auto& ch : o.type) ch = static_cast<char>(std::tolower(ch));
  if (node.has("base_lr")) o.base_lr = node["base_lr"].as_double(0, 100);
  if (node.has("weight_decay")) o.weight_decay = node["weight_decay"].as_double(0, 1);
  if (node.has("momentum")) o.momentum = node["momentum"].as_double(0, 1);
  if (node.has("nesterov")) o.nesterov = node["nesterov"].as_bool();
  if (node.has("schedule_type"))
    o.schedule_type =
        node["schedule_type"].as_enum({"none", "multistep", "step", "exponential", "cosine", "poly", "plateau"});
  // NNCF's samples put the schedule's parameters either beside schedule_type or in schedule_params.
  for (const nncf::ConfigNode& p : {node, node["schedule_params"]}) {
    if (!p.exists()) continue;
    if (p.has("steps")) {
      o.steps.clear();
      for (const auto& s : p["steps"].elements()) o.steps.push_back(s.as_int(0, 1 << 30));
    }
    if (p.has("step_size")) o.step_size = p["step_size"].as_int(1, 1 << 30);
    if (p.has("gamma")) o.gamma = p["gamma"].as_double(0, 10);
    if (p.has("power")) o.power = p["power"].as_double(0, 100);
    if (p.has("patience")) o.patience = p["patience"].as_int(0, 1 << 30);
    if (p.has("threshold")) o.threshold = p["threshold"].as_double(0, 1);
    if (p.has("cooldown")) o.cooldown = p["cooldown"].as_int(0, 1 << 30);
    if (p.has("min_lr")) o.min_lr = p["min_lr"].as_double(0, 100);
  }
  return o;
}

}  // namespace

double OptimizerConfig::lr_at(int64_t epoch, int64_t epochs) const {
  if (schedule_type == "multistep") {
    int64_t passed = 0;
    for (int64_t s : steps) passed += epoch >= s;
    return base_lr * std::pow(gamma, static_cast<double>(passed));
  }
  if (schedule_type == "step") return base_lr * std::pow(gamma, static_cast<double>(epoch / step_size));
  if (schedule_type == "exponential") return base_lr * std::pow(gamma, static_cast<double>(epoch));
  if (schedule_type == "poly") {
    const double t = epochs > 0 ? static_cast<double>(epoch) / static_cast<double>(epochs) : 0;
    return base_lr * std::pow(std::max(0.0, 1 - t), power);
  }
  if (schedule_type == "cosine") {
    const double t = epochs > 0 ? static_cast<double>(epoch) / static_cast<double>(epochs) : 0;
    return 0.5 * base_lr * (1 + std::cos(M_PI * t));
  }
  return base_lr;
}

LrSchedule::LrSchedule(OptimizerConfig config, int64_t epochs)
    : c_(std::move(config)), epochs_(epochs), current_(c_.base_lr) {}

double LrSchedule::lr(int64_t epoch) const {
  return c_.schedule_type == "plateau" ? current_ : c_.lr_at(epoch, epochs_);
}

void LrSchedule::observe(double accuracy) {
  if (c_.schedule_type != "plateau") return;
  if (best_ < 0 || accuracy > best_ * (1 + c_.threshold)) {
    best_ = accuracy;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  if (cooldown_left_ > 0) {
    --cooldown_left_;
    bad_epochs_ = 0;
  }
  if (bad_epochs_ > c_.patience) {
    current_ = std::max(c_.min_lr, current_ * c_.gamma);
    cooldown_left_ = c_.cooldown;
    bad_epochs_ = 0;
  }
}

std::map<std::string, double> LrSchedule::state() const {
  return {{"lr", current_},
          {"best", best_},
          {"bad_epochs", static_cast<double>(bad_epochs_)},
          {"cooldown_left", static_cast<double>(cooldown_left_)}};
}

void LrSchedule::load_state(const std::map<std::string, double>& state) {
  auto get = [&](const char* k, double fallback) {
    auto it = state.find(k);
    return it == state.end() ? fallback : it->second;
  };
  current_ = get("lr", c_.base_lr);
  best_ = get("best", -1);
  bad_epochs_ = static_cast<int64_t>(get("bad_epochs", 0));
  cooldown_left_ = static_cast<int64_t>(get("cooldown_left", 0));
}

std::string SampleConfig::compression_name() const {
  std::string name;
  for (const auto& a : nncf.compression()) name += (name.empty() ? "" : "+") + a.name;
  return name;
}

SampleConfig parse_sample_config(const std::string& json, const std::string& source) {
  SampleConfig c{source, nncf::Config::from_string(json, source)};
  c.text = json;
  const nncf::ConfigNode& root = c.nncf.root();
  // NNCF's sample keys this sample has no use for are accepted (configs move between the two);
  // anything else is an error, so that a typo is not silently ignored.
  check_keys(root, {"model", "model_params", "pretrained", "dataset", "input_info", "num_classes", "batch_size",
                    "batch_size_val", "batch_size_init", "epochs", "optimizer", "fp32", "compression",
                    "target_device", "seed", "log_dir", "multiprocessing_distributed", "distributed", "print_freq",
                    "workers", "test_every_n_epochs", "mode", "weights", "checkpoint_save_dir", "dataset_dir",
                    "export_to_onnx", "metrics_dump", "no_strip_on_export", "disable_compression", "val_split"});
  c.model.name = root["model"].as_string();
  const std::vector<std::string> known = model_names();
  TORCH_CHECK(std::find(known.begin(), known.end(), c.model.name) != known.end(), source, ": model: unknown '",
              c.model.name, "' (known: ", c10::Join(", ", known), ")");
  if (root.has("model_params")) {
    const auto& p = root["model_params"];
    check_keys(p, {"small_input", "width"});
    if (p.has("small_input")) c.model.small_input = p["small_input"].as_bool();
    if (p.has("width")) c.model.width = p["width"].as_double(1e-3, 16);
  }
  if (root.has("dataset"))
    c.dataset = root["dataset"].as_enum({"fashion_mnist", "mnist", "cifar10", "cifar100", "image_folder", "imagenet"});
  const auto& size = root["input_info"]["sample_size"];
  TORCH_CHECK(size.exists(), source, ": input_info.sample_size is required ([1, C, H, W])");
  for (const auto& d : size.elements()) c.sample_size.push_back(d.as_int(1, 1 << 20));
  TORCH_CHECK(c.sample_size.size() == 4, source, ": input_info.sample_size: expected [1, C, H, W], got ",
              c.sample_size.size(), " dimensions");
  c.model.in_channels = c.sample_size[1];
  if (root.has("num_classes")) c.model.num_classes = root["num_classes"].as_int(1, 1 << 20);
  if (root.has("batch_size")) c.batch_size = root["batch_size"].as_int(1, 1 << 16);
  if (root.has("batch_size_val")) c.batch_size_val = root["batch_size_val"].as_int(1, 1 << 16);
  if (root.has("seed")) c.seed = static_cast<uint64_t>(root["seed"].as_int(0, INT64_MAX));
  if (root.has("epochs")) c.epochs = root["epochs"].as_int(0, 100000);
  c.optimizer = parse_optimizer(root["optimizer"], c.optimizer);
  c.fp32_optimizer = c.optimizer;
  if (root.has("fp32")) {
    const auto& f = root["fp32"];
    check_keys(f, {"epochs", "optimizer"});
    if (f.has("epochs")) c.fp32_epochs = f["epochs"].as_int(0, 100000);
    c.fp32_optimizer = parse_optimizer(f["optimizer"], c.fp32_optimizer);
  }
  if (root.has("val_split")) {
    const auto& v = root["val_split"];
    check_keys(v, {"num_samples", "seed"});
    if (v.has("num_samples")) c.val_samples = v["num_samples"].as_int(0, INT64_MAX);
    if (v.has("seed")) c.val_seed = static_cast<uint64_t>(v["seed"].as_int(0, INT64_MAX));
  }
  c.nncf.require_supported();
  return c;
}

SampleConfig fp32_control_config(const SampleConfig& config) {
  nlohmann::json j =
      nlohmann::json::parse(config.text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  j.erase("compression");
  SampleConfig c = parse_sample_config(j.dump(), config.path);
  c.text = config.text;
  return c;
}

SampleConfig load_sample_config(const std::string& path) {
  std::ifstream in(path);
  TORCH_CHECK(in.good(), "cannot read config file '", path, "'");
  std::stringstream text;
  text << in.rdbuf();
  return parse_sample_config(text.str(), path);
}

}  // namespace nncf_sample
