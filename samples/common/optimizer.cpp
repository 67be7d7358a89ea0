#include "common/optimizer.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <utility>

namespace nncf_sample {

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
  check_keys(
      node, {"type", "base_lr", "weight_decay", "momentum", "nesterov", "schedule_type", "steps", "step_size",
             "gamma", "power", "patience", "threshold", "cooldown", "min_lr", "schedule_params"});
  if (node.has("type"))
    o.type = c10::str(node["type"].as_enum({"sgd", "adam", "adamw", "SGD", "Adam", "AdamW"}));
  for (auto& ch : o.type) ch = static_cast<char>(std::tolower(ch));
  if (node.has("base_lr")) o.base_lr = node["base_lr"].as_double(0, 100);
  if (node.has("weight_decay")) o.weight_decay = node["weight_decay"].as_double(0, 1);
  if (node.has("momentum")) o.momentum = node["momentum"].as_double(0, 1);
  if (node.has("nesterov")) o.nesterov = node["nesterov"].as_bool();
  if (node.has("schedule_type"))
    o.schedule_type = node["schedule_type"].as_enum(
        {"none", "multistep", "step", "exponential", "cosine", "poly", "plateau"});
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

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerConfig& c,
                                                        const std::vector<torch::Tensor>& parameters) {
  if (c.type == "adam") {
    return std::make_unique<torch::optim::Adam>(
        parameters, torch::optim::AdamOptions(c.base_lr).weight_decay(c.weight_decay));
  }
  if (c.type == "adamw") {
    return std::make_unique<torch::optim::AdamW>(
        parameters, torch::optim::AdamWOptions(c.base_lr).weight_decay(c.weight_decay));
  }
  return std::make_unique<torch::optim::SGD>(parameters, torch::optim::SGDOptions(c.base_lr)
                                                             .momentum(c.momentum)
                                                             .nesterov(c.nesterov)
                                                             .weight_decay(c.weight_decay));
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

void set_weight_decay(torch::optim::Optimizer& optimizer, double weight_decay) {
  for (auto& group : optimizer.param_groups()) {
    auto& options = group.options();
    if (auto* sgd = dynamic_cast<torch::optim::SGDOptions*>(&options)) {
      sgd->weight_decay(weight_decay);
    } else if (auto* adam = dynamic_cast<torch::optim::AdamOptions*>(&options)) {
      adam->weight_decay(weight_decay);
    } else if (auto* adamw = dynamic_cast<torch::optim::AdamWOptions*>(&options)) {
      adamw->weight_decay(weight_decay);
    } else {
      TORCH_CHECK(false, "set_weight_decay: an optimizer this sample does not make (sgd, adam, adamw)");
    }
  }
}

}  // namespace nncf_sample
