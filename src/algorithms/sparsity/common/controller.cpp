#include "nncf/algorithms/sparsity/controller.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>
#include <torch/autograd.h>
#include <torch/nn/modules/container/any.h>
#include <torch/types.h>

#include <iomanip>
#include <set>
#include <sstream>

#include "nncf/algorithms/batchnorm_adaptation.h"
#include "nncf/algorithms/priorities.h"
#include "nncf/algorithms/scopes.h"
#include "nncf/algorithms/sparsity/mask.h"
#include "nncf/algorithms/sparsity/scheduler.h"
#include "nncf/algorithms/weights.h"
#include "nncf/ir/log.h"
#include "nncf/kernels/rb_mask.h"

namespace nncf::sparsity {
namespace {

std::string joined(const std::vector<SparsifiedWeight>& weights) {
  std::vector<std::string> names;
  for (const auto& w : weights) names.push_back(w.weight);
  return c10::Join(",", names);
}

}  // namespace

std::string SparsityController::percent(double v) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(2) << 100.0 * v << "%";
  return s.str();
}

SparsityController::SparsityController(runtime::CompressedModel model, SparsityConfig config)
    : model_(std::move(model)), config_(std::move(config)) {}

void SparsityController::insert_masks(const std::function<torch::nn::AnyModule(const torch::Tensor&)>& make) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const ir::Value* v : model_->graph().inputs()) {
    if (v->role() == ir::InputRole::Parameter) shapes[v->name()] = model_->tensor(v->name()).sizes().vec();
  }
  const SectionScopes scopes =
      select_scopes(model_->graph(), config_.path, config_.ignored_scopes, config_.target_scopes,
                    config_.top_ignored_scopes, config_.top_target_scopes, config_.validate_scopes);
  nncf_spelling_ = scopes.nncf_spelling;
  const ScopeFilter& filter = scopes.filter;
  std::map<std::string, size_t> index;  // weight -> position in weights_
  for (const ir::Node* n : model_->graph().nodes()) {
    const ir::Value* w = weight_of(*n, shapes);
    if (w == nullptr || !filter.considers(*n)) continue;
    if (auto it = index.find(w->name()); it != index.end()) {
      weights_[it->second].scopes.push_back(n->scope());
      continue;
    }
    index[w->name()] = weights_.size();
    std::string hook = w->name();
    std::replace(hook.begin(), hook.end(), '.', '_');
    weights_.push_back({w->name(), {n->scope()}, c10::str(hook, "|", config_.algorithm), n->nncf_name()});
  }
  for (const SparsifiedWeight& w : weights_) {
    layout_.insert({runtime::InsertionPoint::weight(w.weight)}, make(model_->tensor(w.weight)), w.name,
                   priority::kSparsity);
  }
  if (config_.compression_lr_multiplier && *config_.compression_lr_multiplier != 1.0) {
    const double m = *config_.compression_lr_multiplier;
    for (const auto& h : layout_.insertions()) {
      for (auto& p : h.module.ptr()->parameters())
        p.register_hook([m](const at::Tensor& g) { return g * m; });
    }
  }
  // Local mode (NNCF): no schedule; the level (sparsity_init, then set_sparsity_level) applies to
  // each layer on its own.
  if (config_.algorithm != "const_sparsity" &&
      config_.params.sparsity_level_setting_mode == LevelSettingMode::Global) {
    SchedulerTarget target;
    // No BN adaptation at scheduled level changes: NNCF's schedulers call set_sparsity_level
    // without it, and with update_per_optimizer_step a pass per step would cost more than training.
    target.set_level = [this](double level) { set_sparsity_level(level, false); };
    target.freeze = [this] { freeze(); };
    target.current_sparsity = [this] { return current_sparsity(); };
    auto scheduler = SparsityScheduler::create(config_, std::move(target));
    level_scheduler_ = scheduler.get();
    scheduler_ = std::move(scheduler);
  } else {
    scheduler_ = std::make_unique<CompressionScheduler>();
  }
}

void SparsityController::initialize(const InitData& data) {
  init_data_ = data;
}

void SparsityController::adapt_batchnorm() {
  if (config_.num_bn_adaptation_samples <= 0) return;
  TORCH_CHECK(!init_data_.empty(), "nncf: ", config_.path,
              ": BatchNorm adaptation (set_sparsity_level with run_batchnorm_adaptation) needs data: call "
              "ctrl->initialize(loader) first");
  run_batchnorm_adaptation(model_, init_data_, config_.num_bn_adaptation_samples);
}

at::Tensor SparsityController::loss() const {
  return at::zeros({});
}

void SparsityController::set_sparsity_level(double level, bool) {
  level_ = level;
}

void SparsityController::freeze() {
  frozen_ = true;
}

double SparsityController::current_sparsity() const {
  torch::NoGradGuard no_grad;
  double zeros = 0;
  int64_t total = 0;
  for (size_t i = 0; i < weights_.size(); ++i) {
    const torch::Tensor m = binary_mask(i);
    zeros += static_cast<double>(m.numel()) - m.sum().item<double>();
    total += m.numel();
  }
  return total ? zeros / static_cast<double>(total) : 0.0;
}

CompressionStage SparsityController::compression_stage() const {
  // NNCF (magnitude and RB): the scheduler's level against the scheduler's target; local mode
  // sets its levels by hand and has no target to reach.
  if (level_scheduler_ == nullptr) return CompressionStage::FullyCompressed;
  const double level = level_scheduler_->current_level();
  // Level 0 first (NNCF's order): a schedule whose target is 0 compresses nothing.
  if (level <= 0) return CompressionStage::Uncompressed;
  return level >= level_scheduler_->target_level() ? CompressionStage::FullyCompressed
                                                   : CompressionStage::PartiallyCompressed;
}

Statistics SparsityController::statistics() const {
  torch::NoGradGuard no_grad;
  Statistics stats;
  StatisticsTable layers{c10::str(config_.algorithm, ": sparsity per layer"),
                         {nncf_spelling_ ? "layer" : "weight", "shape", "sparsity"},
                         {}};
  for (size_t i = 0; i < weights_.size(); ++i) {
    const torch::Tensor m = binary_mask(i);
    const double sparsity =
        1.0 - m.sum().item<double>() / static_cast<double>(std::max<int64_t>(m.numel(), 1));
    std::ostringstream shape;
    shape << m.sizes();
    const SparsifiedWeight& w = weights_[i];
    layers.rows.push_back(
        {nncf_spelling_ && !w.nncf_name.empty() ? w.nncf_name : w.weight, shape.str(), percent(sparsity)});
  }
  add_statistics(stats, layers);
  stats.tables.insert(stats.tables.begin(), layers);
  const double current = current_sparsity();
  stats.tables.insert(stats.tables.begin(),
                      StatisticsTable{c10::str(config_.algorithm, ": summary"),
                                      {"target level", "sparsity of masked weights", "frozen"},
                                      {{percent(level_), percent(current), frozen_ ? "yes" : "no"}}});
  stats.values[config_.algorithm + ".sparsity_level"] = level_;
  stats.values[config_.algorithm + ".current_sparsity"] = current;
  // What the compression achieves (nncf/algorithms/algorithm.h): each weight's kept fraction.
  for (size_t i = 0; i < weights_.size(); ++i) {
    torch::NoGradGuard no_grad;
    stats.values["compression.weight_density." + weights_[i].weight] =
        binary_mask(i).ne(0).to(torch::kDouble).mean().item<double>();
  }
  return stats;
}

std::map<std::string, c10::IValue> SparsityController::state() const {
  std::map<std::string, c10::IValue> s{{"weights", joined(weights_)}, {"level", level_}, {"frozen", frozen_}};
  for (const auto& [k, v] : scheduler_->state()) s["scheduler." + k] = v;
  return s;
}

void SparsityController::load_state(const std::map<std::string, c10::IValue>& s) {
  for (const char* key : {"weights", "level", "frozen"}) {
    TORCH_CHECK(s.count(key), "nncf: ", config_.algorithm, " state has no '", key, "'");
  }
  const std::string saved = s.at("weights").toStringRef(), ours = joined(weights_);
  TORCH_CHECK(saved == ours, "nncf: ", config_.algorithm, " state was saved for the weights [", saved,
              "], this model sparsifies [", ours, "]");
  level_ = s.at("level").toDouble();
  frozen_ = s.at("frozen").toBool();
  std::map<std::string, double> sched;
  for (const auto& [k, v] : s) {
    if (k.rfind("scheduler.", 0) == 0) sched[k.substr(10)] = v.toDouble();
  }
  scheduler_->load_state(sched);
}

}  // namespace nncf::sparsity
