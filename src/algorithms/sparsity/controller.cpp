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
#include "nncf/algorithms/scopes.h"
#include "nncf/algorithms/sparsity/mask.h"
#include "nncf/algorithms/sparsity/scheduler.h"
#include "nncf/algorithms/weights.h"
#include "nncf/kernels/rb_mask.h"

namespace nncf::sparsity {
namespace {

std::string percent(double v) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(2) << 100.0 * v << "%";
  return s.str();
}

std::string joined(const std::vector<SparsifiedWeight>& weights) {
  std::vector<std::string> names;
  for (const auto& w : weights) names.push_back(w.weight);
  return c10::Join(",", names);
}

// ---- magnitude --------------------------------------------------------------------------------

class MagnitudeSparsityController : public SparsityController {
 public:
  MagnitudeSparsityController(runtime::CompressedModel model, SparsityConfig config)
      : SparsityController(std::move(model), std::move(config)) {
    insert_masks([this](const torch::Tensor& w) {
      masks_.push_back(BinaryMask(w.sizes().vec()));
      return torch::nn::AnyModule(masks_.back());
    });
    thresholds_.assign(weights_.size(), std::nullopt);
    if (config_.sparsity_init > 0) set_sparsity_level(config_.sparsity_init, false);
  }

  void set_sparsity_level(double level, bool run_bn) override {
    TORCH_CHECK(level >= 0 && level < 1, "nncf: ", config_.path, ": sparsity level must be in [0, 1), got ",
                level);
    if (frozen_) {  // frozen masks do not change; an explicit BN adaptation still runs (NNCF)
      if (run_bn) adapt_batchnorm();
      return;
    }
    level_ = level;
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> importance;
    for (const auto& w : weights_) {
      torch::Tensor t = model_->tensor(w.weight).detach().abs().to(torch::kFloat);
      if (config_.params.weight_importance == WeightImportance::NormedAbs) {
        const double norm = t.norm().item<double>();
        if (norm > 0) t = t / norm;
      }
      importance.push_back(std::move(t));
    }
    // NNCF: threshold = sorted(importance)[int((N - 1) * level)], mask = importance > threshold.
    // At level 0 that would still drop the smallest element; nncf-cpp keeps every weight.
    auto threshold_of = [&](const torch::Tensor& flat) -> std::optional<double> {
      if (level <= 0 || flat.numel() == 0) return std::nullopt;
      const int64_t k = static_cast<int64_t>(static_cast<double>(flat.numel() - 1) * level);
      return std::get<0>(flat.kthvalue(k + 1)).item<double>();
    };
    std::optional<double> global;
    if (config_.params.sparsity_level_setting_mode == LevelSettingMode::Global) {
      std::vector<torch::Tensor> flat;
      for (const auto& t : importance) flat.push_back(t.reshape(-1));
      global = threshold_of(torch::cat(flat));
    }
    for (size_t i = 0; i < weights_.size(); ++i) {
      const std::optional<double> thr = config_.params.sparsity_level_setting_mode == LevelSettingMode::Global
                                            ? global
                                            : threshold_of(importance[i].reshape(-1));
      thresholds_[i] = thr;
      masks_[i]->mask.copy_(thr ? importance[i].gt(*thr).to(masks_[i]->mask.scalar_type())
                                : torch::ones_like(masks_[i]->mask));
    }
    if (run_bn) adapt_batchnorm();
  }

 protected:
  at::Tensor binary_mask(size_t i) const override { return masks_[i]->mask; }

  void add_statistics(Statistics& stats, StatisticsTable& layers) const override {
    layers.header.push_back("threshold");
    for (size_t i = 0; i < weights_.size(); ++i) {
      std::ostringstream s;
      if (thresholds_[i]) {
        stats.values[c10::str(config_.algorithm, ".threshold.", weights_[i].weight)] = *thresholds_[i];
        s << std::setprecision(4) << *thresholds_[i];
      } else {
        s << "-";
      }
      layers.rows[i].push_back(s.str());
    }
  }

 private:
  std::vector<BinaryMask> masks_;
  std::vector<std::optional<double>> thresholds_;
};

// ---- RB ---------------------------------------------------------------------------------------

// NNCF's scale of the density error in the loss.
constexpr double kRBLossScale = 0.05;

// The number of kept weights, [m > 0] summed, with the straight-through gradient of
// sigmoid(m) summed: d/dm = sigmoid'(m).
struct KeptCount : public torch::autograd::Function<KeptCount> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& m) {
    ctx->save_for_backward({m});
    return m.gt(0).sum().to(m.scalar_type());
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const torch::Tensor m = ctx->get_saved_variables()[0];
    return {kernels::rb_sigmoid_backward(grads[0], m)};  // one fused pass
  }
};

class RBSparsityController : public SparsityController {
 public:
  RBSparsityController(runtime::CompressedModel model, SparsityConfig config)
      : SparsityController(std::move(model), std::move(config)) {
    insert_masks([this](const torch::Tensor& w) {
      masks_.push_back(RBMask(w.sizes().vec()));
      return torch::nn::AnyModule(masks_.back());
    });
    level_ = config_.sparsity_init;
  }

  void set_sparsity_level(double level, bool run_bn) override {
    TORCH_CHECK(level >= 0 && level < 1, "nncf: ", config_.path, ": sparsity level must be in [0, 1), got ",
                level);
    level_ = level;
    if (run_bn) adapt_batchnorm();
  }

  void freeze() override {
    SparsityController::freeze();
    for (auto& m : masks_) m->set_frozen(true);
  }

  // Density with a straight-through gradient: the value counts kept weights ([m > 0]), the
  // gradient flows through sigmoid(m). Global: ((density - target) / 0.05)^2. Local: the sum of
  // the per-layer terms (NNCF's local form reads an attribute its masks do not have; this is the
  // per-layer analogue of the global loss).
  at::Tensor loss() const override {
    if (frozen_ || masks_.empty()) return at::zeros({});
    const double target = 1.0 - level_;
    if (config_.params.sparsity_level_setting_mode == LevelSettingMode::Global) {
      torch::Tensor kept = at::zeros({});
      int64_t total = 0;
      for (const auto& m : masks_) {
        kept = kept + KeptCount::apply(m->mask);
        total += m->mask.numel();
      }
      return ((kept / static_cast<double>(total) - target) / kRBLossScale).pow(2);
    }
    torch::Tensor loss = at::zeros({});
    for (const auto& m : masks_) {
      loss =
          loss +
          ((KeptCount::apply(m->mask) / static_cast<double>(m->mask.numel()) - target) / kRBLossScale).pow(2);
    }
    return loss;
  }

 protected:
  at::Tensor binary_mask(size_t i) const override { return masks_[i]->binary_mask(); }

  void add_statistics(Statistics& stats, StatisticsTable& layers) const override {
    layers.header.push_back("mean keep probability");
    double sum = 0;
    int64_t total = 0;
    for (size_t i = 0; i < masks_.size(); ++i) {
      const torch::Tensor p = masks_[i]->mask.detach().sigmoid();
      layers.rows[i].push_back(percent(p.mean().item<double>()));
      sum += p.sum().item<double>();
      total += p.numel();
    }
    stats.values[config_.algorithm + ".mean_sparse_prob"] =
        total ? 1.0 - sum / static_cast<double>(total) : 0.0;
  }

 private:
  std::vector<RBMask> masks_;
};

// ---- const ------------------------------------------------------------------------------------

class ConstSparsityController : public SparsityController {
 public:
  ConstSparsityController(runtime::CompressedModel model, SparsityConfig config)
      : SparsityController(std::move(model), std::move(config)) {
    insert_masks([this](const torch::Tensor& w) {
      masks_.push_back(BinaryMask(w.sizes().vec()));
      torch::NoGradGuard no_grad;
      masks_.back()->mask.copy_(w.detach().ne(0).to(masks_.back()->mask.scalar_type()));
      return torch::nn::AnyModule(masks_.back());
    });
    level_ = current_sparsity();
    frozen_ = true;
  }

  void set_sparsity_level(double, bool) override {
    TORCH_CHECK(false, "nncf: ", config_.path,
                ": const_sparsity keeps the model's zeros; its level cannot be set");
  }
  CompressionStage compression_stage() const override { return CompressionStage::FullyCompressed; }

 protected:
  at::Tensor binary_mask(size_t i) const override { return masks_[i]->mask; }

 private:
  std::vector<BinaryMask> masks_;
};

}  // namespace

SparsityController::SparsityController(runtime::CompressedModel model, SparsityConfig config)
    : model_(std::move(model)), config_(std::move(config)) {}

void SparsityController::insert_masks(const std::function<torch::nn::AnyModule(const torch::Tensor&)>& make) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const ir::Value* v : model_->graph().inputs()) {
    if (v->role() == ir::InputRole::Parameter) shapes[v->name()] = model_->tensor(v->name()).sizes().vec();
  }
  const ScopeFilter filter(config_.ignored_scopes, config_.target_scopes);
  std::map<std::string, size_t> index;  // weight -> position in weights_
  for (const ir::Node* n : model_->graph().nodes()) {
    const ir::Value* w = weight_of(*n, shapes);
    if (w == nullptr || !filter.considers(n->scope())) continue;
    if (auto it = index.find(w->name()); it != index.end()) {
      weights_[it->second].scopes.push_back(n->scope());
      continue;
    }
    index[w->name()] = weights_.size();
    std::string hook = w->name();
    std::replace(hook.begin(), hook.end(), '.', '_');
    weights_.push_back({w->name(), {n->scope()}, c10::str(hook, "|", config_.algorithm)});
  }
  for (const SparsifiedWeight& w : weights_) {
    model_->insert(runtime::InsertionPoint::weight(w.weight), make(model_->tensor(w.weight)), w.name,
                   kSparsityPriority);
  }
  if (config_.compression_lr_multiplier && *config_.compression_lr_multiplier != 1.0) {
    const double m = *config_.compression_lr_multiplier;
    for (const auto& h : model_->hooks()) {
      if (h.name.size() < config_.algorithm.size() ||
          h.name.compare(h.name.size() - config_.algorithm.size(), std::string::npos, config_.algorithm) !=
              0) {
        continue;
      }
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
  StatisticsTable layers{
      c10::str(config_.algorithm, ": sparsity per layer"), {"weight", "shape", "sparsity"}, {}};
  for (size_t i = 0; i < weights_.size(); ++i) {
    const torch::Tensor m = binary_mask(i);
    const double sparsity =
        1.0 - m.sum().item<double>() / static_cast<double>(std::max<int64_t>(m.numel(), 1));
    std::ostringstream shape;
    shape << m.sizes();
    layers.rows.push_back({weights_[i].weight, shape.str(), percent(sparsity)});
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

std::shared_ptr<SparsityController> build_sparsity(runtime::CompressedModel model, SparsityConfig config) {
  if (config.algorithm == "magnitude_sparsity") {
    return std::make_shared<MagnitudeSparsityController>(std::move(model), std::move(config));
  }
  if (config.algorithm == "rb_sparsity") {
    return std::make_shared<RBSparsityController>(std::move(model), std::move(config));
  }
  TORCH_CHECK(config.algorithm == "const_sparsity", "nncf: ", config.path, ": not a sparsity algorithm: '",
              config.algorithm, "'");
  return std::make_shared<ConstSparsityController>(std::move(model), std::move(config));
}

}  // namespace nncf::sparsity
