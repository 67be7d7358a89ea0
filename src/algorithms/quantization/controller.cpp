#include "nncf/algorithms/quantization/controller.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <ATen/ops/zeros.h>
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <set>
#include <sstream>

#include "nncf/algorithms/batchnorm_adaptation.h"
#include "nncf/algorithms/priorities.h"
#include "nncf/algorithms/quantization/hw_config.h"
#include "nncf/algorithms/scopes.h"
#include "nncf/ir/metatype.h"
#include "nncf/runtime/transformation.h"

namespace nncf::quantization {
namespace {

// Observes the tensors at a quantizer's points during range initialization.
class RangeObserverImpl : public torch::nn::Module {
 public:
  explicit RangeObserverImpl(RangeCollector collector) : collector(std::move(collector)) {}
  torch::Tensor forward(const torch::Tensor& x) {
    if (active) collector.update(x.detach());
    return x;
  }
  RangeCollector collector;
  bool active = true;
};
TORCH_MODULE(RangeObserver);

// Restores the model's mode when a pass over data ends, however it ends.
struct ModeGuard {
  runtime::CompressedModel& model;
  bool training;
  explicit ModeGuard(runtime::CompressedModel& m) : model(m), training(m->is_training()) {}
  ~ModeGuard() {
    model->set_batchnorm_adaptation(false);
    model->train(training);
  }
};

std::string format_range(const Quantizer& q) {
  const FakeQuantizeImpl& m = *q.module;
  torch::NoGradGuard no_grad;
  torch::Tensor low, high;
  if (m.options.mode() == QuantizationMode::Symmetric) {
    const auto l = m.levels();
    high = m.scale_value();
    low = high * static_cast<double>(l.low) / static_cast<double>(l.high);
  } else {
    low = m.input_low;
    high = m.input_low + m.input_range_value();
  }
  std::ostringstream s;
  s << std::setprecision(4) << "[" << low.min().item<double>() << ", " << high.max().item<double>() << "]";
  return s.str();
}

}  // namespace

// Staged quantization (`params`): groups start disabled and are enabled -- with a fresh range
// init -- at the beginning of their start epoch.
//
// Note [Staged range init needs data]: that range init runs on the data given to initialize().
// A controller that will need it and has none (a fresh run without initialize(), or a resumed one
// whose caller skipped initialize(), which on a resumed controller only takes the data) fails at
// the first step()/epoch_step() with a message naming ctrl->initialize(loader), instead of
// silently keeping stale ranges at the start epoch.
class QuantizationController::Scheduler : public CompressionScheduler {
 public:
  explicit Scheduler(QuantizationController& ctrl) : ctrl_(ctrl), needs_data_(range_init_needs_data(ctrl)) {
    const auto& staged = *ctrl_.config_.staged;
    if (staged.activations_quant_start_epoch > 0) ctrl_.disable_activation_quantization();
    if (staged.weights_quant_start_epoch > 0) ctrl_.disable_weight_quantization();
  }

  void step(std::optional<int64_t> next_step) override {
    require_data();
    CompressionScheduler::step(next_step);
  }

  void epoch_step(std::optional<int64_t> next_epoch) override {
    require_data();
    CompressionScheduler::epoch_step(next_epoch);
    const auto& staged = *ctrl_.config_.staged;
    const bool acts = current_epoch_ >= staged.activations_quant_start_epoch;
    const bool weights = current_epoch_ >= staged.weights_quant_start_epoch;
    const bool changed = acts != activations_on_ || weights != weights_on_;
    ctrl_.set_enabled(QuantizerGroup::Activations, acts);
    ctrl_.set_enabled(QuantizerGroup::Weights, weights);
    activations_on_ = acts;
    weights_on_ = weights;
    // Without data, init_range() still re-initializes what needs none (weights from the model),
    // exactly as with data; require_data() has already refused the case that does need it.
    if (changed && (acts || weights) && (!ctrl_.init_data_.empty() || !needs_data_))
      ctrl_.init_range(ctrl_.init_data_);
  }

  void load_state(const std::map<std::string, double>& state) override {
    CompressionScheduler::load_state(state);
    const auto& staged = *ctrl_.config_.staged;
    activations_on_ = current_epoch_ >= staged.activations_quant_start_epoch;
    weights_on_ = current_epoch_ >= staged.weights_quant_start_epoch;
  }

 private:
  // Whether init_range() reads data: some activation quantizer has an entry with samples to run
  // (weights are read from the model). Per-layer entries are counted unless they target weights.
  static bool range_init_needs_data(const QuantizationController& ctrl) {
    const auto& quantizers = ctrl.quantizers_;
    if (std::none_of(quantizers.begin(), quantizers.end(),
                     [](const Quantizer& q) { return q.spec.group == QuantizerGroup::Activations; }))
      return false;
    auto any = [](const std::vector<RangeInitConfig>& entries) {
      return std::any_of(entries.begin(), entries.end(), [](const RangeInitConfig& r) {
        return r.num_init_samples > 0 && r.target_quantizer_group != QuantizerGroup::Weights;
      });
    };
    if (any(ctrl.config_.range_init)) return true;
    return std::any_of(ctrl.config_.activation_overrides.begin(), ctrl.config_.activation_overrides.end(),
                       [&](const ScopeOverride& o) { return any(o.range_init); });
  }

  // See Note [Staged range init needs data].
  void require_data() const {
    if ((activations_on_ && weights_on_) || !needs_data_ || !ctrl_.init_data_.empty()) return;
    const auto& staged = *ctrl_.config_.staged;
    const bool acts_next = !activations_on_ && (weights_on_ || staged.activations_quant_start_epoch <=
                                                                   staged.weights_quant_start_epoch);
    const char* key = acts_next ? "activations_quant_start_epoch" : "weights_quant_start_epoch";
    TORCH_CHECK(
        false, "nncf: ", ctrl_.config_.path, ".params.", key, ": staged quantization initializes the ",
        "ranges again at epoch ",
        acts_next ? staged.activations_quant_start_epoch : staged.weights_quant_start_epoch,
        " and needs data for it: call ctrl->initialize(loader) before training (after resuming ",
        "from a checkpoint too: a resumed controller keeps the saved ranges and only takes the data)");
  }

  QuantizationController& ctrl_;
  bool needs_data_;
  bool activations_on_ = false;
  bool weights_on_ = false;
};

QuantizationController::QuantizationController(runtime::CompressedModel model, QuantizationConfig config,
                                               std::string target_device, QuantizerSetup setup,
                                               std::vector<Quantizer> quantizers)
    : model_(std::move(model)),
      config_(std::move(config)),
      target_device_(std::move(target_device)),
      setup_(std::move(setup)),
      quantizers_(std::move(quantizers)) {
  if (config_.staged) {
    scheduler_ = std::make_unique<Scheduler>(*this);
  } else {
    scheduler_ = std::make_unique<CompressionScheduler>();
  }
}

QuantizationController::~QuantizationController() = default;

void QuantizationController::set_enabled(QuantizerGroup group, bool enabled) {
  for (Quantizer& q : quantizers_) {
    if (q.spec.group == group) q.module->set_enabled(enabled);
  }
}

void QuantizationController::initialize(const InitData& data) {
  init_data_ = data;
  if (resumed_) return;  // ranges and BN statistics come from the checkpoint
  init_range(data);
  if (config_.num_bn_adaptation_samples > 0)
    run_batchnorm_adaptation(data, config_.num_bn_adaptation_samples);
}

void QuantizationController::init_range(const InitData& data) {
  // Which entry of `initializer.range` initializes each quantizer.
  std::vector<std::optional<RangeInitConfig>> entry(quantizers_.size());
  for (size_t i = 0; i < quantizers_.size(); ++i) {
    const QuantizerSpec& spec = quantizers_[i].spec;
    const auto& overrides =
        spec.group == QuantizerGroup::Weights ? config_.weight_overrides : config_.activation_overrides;
    for (const ScopeOverride& o : overrides) {
      const ScopeMatcher m({o.scope});
      if (!o.range_init.empty() && m.matches_any(spec.names)) {
        entry[i] = o.range_init.front();
      }
    }
    if (entry[i]) continue;
    if (!config_.range_init_per_layer) {
      entry[i] = config_.range_init.front();
      continue;
    }
    std::vector<size_t> matched;
    for (size_t k = 0; k < config_.range_init.size(); ++k) {
      const RangeInitConfig& r = config_.range_init[k];
      if (r.target_quantizer_group && *r.target_quantizer_group != spec.group) continue;
      const ScopeFilter filter(r.ignored_scopes, r.target_scopes);
      // NNCF matches per-layer entries against the quantizer id; an entry may also name an op the
      // quantizer feeds.
      if (filter.considers_any(spec.names)) {
        matched.push_back(k);
      }
    }
    TORCH_CHECK(matched.size() <= 1, "nncf: ", config_.path, ".initializer.range: quantizer ", spec.id,
                " matches entries ", c10::Join(", ", matched), "; a quantizer may match only one entry");
    if (!matched.empty()) entry[i] = config_.range_init[matched[0]];
  }

  std::vector<RangeCollector> collectors;
  std::vector<std::optional<size_t>> collector_of(quantizers_.size());
  std::vector<RangeObserver> observers;
  std::vector<int64_t> wanted;  // samples per observer
  std::vector<std::string> observer_names;
  int64_t max_samples = 0;
  for (size_t i = 0; i < quantizers_.size(); ++i) {
    if (!entry[i] || entry[i]->num_init_samples <= 0) continue;
    const QuantizerSpec& spec = quantizers_[i].spec;
    RangeCollectorOptions options;
    options.symmetric = spec.config.mode == QuantizationMode::Symmetric;
    if (spec.config.per_channel) options.channel_axis = spec.axis;
    options.min_percentile = entry[i]->min_percentile;
    options.max_percentile = entry[i]->max_percentile;
    RangeCollector collector(entry[i]->type, options);
    if (spec.group == QuantizerGroup::Weights) {
      torch::NoGradGuard no_grad;
      // A weight is one "batch" and is never reduced per sample (NNCF: plain min/max of the
      // whole weight, or of each channel, for every min/max type).
      options.weights = true;
      RangeCollector weight_collector(entry[i]->type, options);
      weight_collector.update(model_->tensor(spec.weight).detach());
      collectors.push_back(std::move(weight_collector));
      collector_of[i] = collectors.size() - 1;
      continue;
    }
    collector_of[i] = observers.size();  // index into observers, resolved below
    observers.push_back(RangeObserver(std::move(collector)));
    wanted.push_back(entry[i]->num_init_samples);
    max_samples = std::max(max_samples, entry[i]->num_init_samples);
  }

  std::vector<bool> was_enabled;
  for (Quantizer& q : quantizers_) was_enabled.push_back(q.module->is_enabled());
  if (!observers.empty()) {
    // Statistics of the floating-point model: quantizers off, observers at their points.
    size_t k = 0;
    runtime::TransformationLayout layout;
    for (size_t i = 0; i < quantizers_.size(); ++i) {
      if (!collector_of[i] || quantizers_[i].spec.group != QuantizerGroup::Activations) continue;
      observer_names.push_back(c10::str("nncf_range_observer_", k));
      layout.insert(quantizers_[i].spec.points, torch::nn::AnyModule(observers[k]), observer_names.back(),
                    priority::kRangeObservation);
      ++k;
    }
    runtime::apply(model_, layout);
    for (Quantizer& q : quantizers_) q.module->set_enabled(false);
    try {
      torch::NoGradGuard no_grad;
      ModeGuard mode(model_);
      model_->eval();
      int64_t seen = 0;
      data.for_each([&](std::vector<c10::IValue> inputs) {
        for (size_t o = 0; o < observers.size(); ++o) observers[o]->active = seen < wanted[o];
        const int64_t n = batch_size_of(inputs);
        model_->forward(std::move(inputs));
        seen += n;
        return seen < max_samples;
      });
      TORCH_CHECK(seen > 0, "nncf: ", config_.path,
                  ".initializer.range: the initialization data yielded no batch");
    } catch (...) {
      for (const auto& n : observer_names) model_->remove(n);
      for (size_t i = 0; i < quantizers_.size(); ++i) quantizers_[i].module->set_enabled(was_enabled[i]);
      throw;
    }
    for (const auto& n : observer_names) model_->remove(n);
    for (size_t i = 0; i < quantizers_.size(); ++i) quantizers_[i].module->set_enabled(was_enabled[i]);
  }

  for (size_t i = 0; i < quantizers_.size(); ++i) {
    if (!collector_of[i]) continue;
    Quantizer& q = quantizers_[i];
    const RangeCollector& c = q.spec.group == QuantizerGroup::Weights
                                  ? collectors[*collector_of[i]]
                                  : observers[*collector_of[i]]->collector;
    if (c.batches() == 0) continue;
    auto [min, max] = c.range();
    FakeQuantizeImpl& m = *q.module;
    if (q.spec.config.mode == QuantizationMode::Symmetric) {
      const bool negative = (min < 0).any().item<bool>();
      m.set_signed(q.spec.config.is_signed.value_or(negative));
      const torch::Tensor scale = symmetric_scale(min, max);
      m.set_range(scale, scale);
    } else {
      auto [low, range] = asymmetric_range(min, max);
      m.set_range(low, low + range);
    }
  }
}

void QuantizationController::run_batchnorm_adaptation(const InitData& data, int64_t samples) {
  nncf::run_batchnorm_adaptation(model_, data, samples);
}

std::map<std::string, c10::IValue> QuantizationController::state() const {
  std::vector<std::string> ids;
  for (const Quantizer& q : quantizers_) ids.push_back(q.spec.id);
  std::map<std::string, c10::IValue> s{{"quantizers", c10::Join("\n", ids)}};
  for (const auto& [k, v] : scheduler_->state()) s["scheduler." + k] = v;
  return s;
}

void QuantizationController::load_state(const std::map<std::string, c10::IValue>& s) {
  TORCH_CHECK(s.count("quantizers"), "nncf: quantization state has no 'quantizers'");
  std::vector<std::string> ids;
  for (const Quantizer& q : quantizers_) ids.push_back(q.spec.id);
  const std::string saved = s.at("quantizers").toStringRef(), ours = c10::Join("\n", ids);
  if (saved != ours) {
    std::set<std::string> a, b(ids.begin(), ids.end());
    std::stringstream in(saved);
    for (std::string line; std::getline(in, line);) a.insert(line);
    std::vector<std::string> missing, extra;
    for (const auto& id : a) {
      if (!b.count(id)) missing.push_back(id);
    }
    for (const auto& id : b) {
      if (!a.count(id)) extra.push_back(id);
    }
    TORCH_CHECK(false,
                "nncf: the quantization state does not match this model's quantizers; only in the state: [",
                c10::Join(", ", missing), "]; only in the model: [", c10::Join(", ", extra), "]");
  }
  std::map<std::string, double> sched;
  for (const auto& [k, v] : s) {
    if (k.rfind("scheduler.", 0) == 0) sched[k.substr(10)] = v.toDouble();
  }
  scheduler_->load_state(sched);
  resumed_ = true;
}

at::Tensor QuantizationController::loss() const {
  return at::zeros({});
}

CompressionScheduler& QuantizationController::scheduler() {
  return *scheduler_;
}

CompressionStage QuantizationController::compression_stage() const {
  size_t on = 0;
  for (const Quantizer& q : quantizers_) on += q.module->is_enabled();
  if (on == 0) return CompressionStage::Uncompressed;
  return on == quantizers_.size() ? CompressionStage::FullyCompressed : CompressionStage::PartiallyCompressed;
}

Statistics QuantizationController::statistics() const {
  Statistics stats;
  StatisticsTable summary{
      "Quantization: quantizers by group",
      {"group", "count", "enabled", "bits", "symmetric", "asymmetric", "signed", "per-tensor", "per-channel"},
      {}};
  for (QuantizerGroup group : {QuantizerGroup::Weights, QuantizerGroup::Activations}) {
    std::map<int64_t, int> bits;
    int count = 0, enabled = 0, sym = 0, is_signed = 0, per_channel = 0;
    for (const Quantizer& q : quantizers_) {
      if (q.spec.group != group) continue;
      ++count;
      enabled += q.module->is_enabled();
      ++bits[q.module->bits()];
      sym += q.spec.config.mode == QuantizationMode::Symmetric;
      is_signed += q.module->is_signed();
      per_channel += q.spec.config.per_channel;
    }
    std::vector<std::string> by_bits;
    for (const auto& [b, n] : bits) by_bits.push_back(c10::str(b, "-bit: ", n));
    const std::string g = to_string(group);
    summary.rows.push_back({g, std::to_string(count), std::to_string(enabled), c10::Join(", ", by_bits),
                            std::to_string(sym), std::to_string(count - sym), std::to_string(is_signed),
                            std::to_string(count - per_channel), std::to_string(per_channel)});
    stats.values["quantization." + g + ".count"] = count;
    stats.values["quantization." + g + ".enabled_ratio"] = count ? static_cast<double>(enabled) / count : 0.0;
  }
  // What the compression achieves (nncf/algorithms/algorithm.h): overflow-fix weights train on
  // 7 bits and are stored (and exported) on 8.
  for (const Quantizer& q : quantizers_) {
    if (q.spec.group == QuantizerGroup::Weights && q.module->is_enabled())
      stats.values["compression.weight_bits." + q.spec.weight] =
          static_cast<double>(q.module->bits() + (q.spec.half_range ? 1 : 0));
  }
  // Quantizers are named as the config names locations: NNCF's ids when its entries use NNCF's names.
  std::vector<ScopeList> lists = {{"", &config_.ignored_scopes},
                                  {"", &config_.target_scopes},
                                  {"", &config_.top_ignored_scopes},
                                  {"", &config_.top_target_scopes},
                                  {"", &config_.weights.ignored_scopes},
                                  {"", &config_.weights.target_scopes},
                                  {"", &config_.activations.ignored_scopes},
                                  {"", &config_.activations.target_scopes}};
  for (const RangeInitConfig& r : config_.range_init) {
    lists.push_back({"", &r.target_scopes});
    lists.push_back({"", &r.ignored_scopes});
  }
  const bool nncf_spelling = uses_nncf_spelling(lists);
  StatisticsTable layers{"Quantization: quantizers",
                         {"quantizer", "bits", "mode", "granularity", "signed", "enabled", "range"},
                         {}};
  for (const Quantizer& q : quantizers_) {
    const std::string bits = q.spec.half_range ? c10::str(q.module->bits(), " (of 8, overflow fix)")
                                               : std::to_string(q.module->bits());
    layers.rows.push_back(
        {nncf_spelling && !q.spec.nncf_id.empty() ? q.spec.nncf_id : q.spec.id, bits,
         to_string(q.spec.config.mode),
         q.spec.config.per_channel ? c10::str("per-channel(", q.spec.channels, ")") : "per-tensor",
         q.module->is_signed() ? "yes" : "no", q.module->is_enabled() ? "yes" : "no", format_range(q)});
  }
  stats.tables = {summary, layers};
  return stats;
}

}  // namespace nncf::quantization
