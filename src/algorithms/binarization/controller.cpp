#include "nncf/algorithms/binarization/controller.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>
#include <torch/types.h>

#include <iomanip>
#include <map>
#include <sstream>

#include "nncf/algorithms/batchnorm_adaptation.h"
#include "nncf/algorithms/priorities.h"
#include "nncf/algorithms/scopes.h"
#include "nncf/ir/log.h"

namespace nncf::binarization {
namespace {

std::string tensor_input(const ir::Node* n, size_t i) {
  if (i >= n->inputs().size() || !n->input(i).is_value()) return {};
  const ir::Value* v = n->input(i).value();
  if (!v->is_graph_input() || v->role() != ir::InputRole::Parameter) return {};
  return v->name();
}

std::string hook_name(std::string tensor, const char* what) {
  std::replace(tensor.begin(), tensor.end(), '.', '_');
  return tensor + "|binarization_" + what;
}

std::string format(double v) {
  std::ostringstream s;
  s << std::setprecision(4) << v;
  return s.str();
}

}  // namespace

// NNCF's StagedQuantizationScheduler on binarizers: at the start of each epoch, a group is on iff
// the epoch has reached its start epoch. BatchNorm adaptation runs when a group switches on.
class BinarizationController::Scheduler : public CompressionScheduler {
 public:
  explicit Scheduler(BinarizationController& ctrl) : ctrl_(ctrl) {}

  void epoch_step(std::optional<int64_t> next_epoch) override {
    CompressionScheduler::epoch_step(next_epoch);
    apply(/*adapt=*/true);
  }

  void load_state(const std::map<std::string, double>& state) override {
    CompressionScheduler::load_state(state);
    apply(/*adapt=*/false);  // the BatchNorm statistics come with the checkpoint
  }

 private:
  void apply(bool adapt) {
    const auto& staged = ctrl_.config_.staged;
    const bool acts = current_epoch_ >= staged.activations_quant_start_epoch;
    const bool weights = current_epoch_ >= staged.weights_quant_start_epoch;
    const bool switched_on = (acts && !activations_on_) || (weights && !weights_on_);
    ctrl_.enable_activation_binarization(acts);
    ctrl_.enable_weight_binarization(weights);
    activations_on_ = acts;
    weights_on_ = weights;
    if (adapt && switched_on) ctrl_.adapt_batchnorm();
  }

  BinarizationController& ctrl_;
  bool activations_on_ = false, weights_on_ = false;
};

BinarizationController::BinarizationController(runtime::CompressedModel model, BinarizationConfig config)
    : model_(std::move(model)), config_(std::move(config)) {
  const ir::Graph& graph = model_->graph();
  const SectionScopes scopes =
      select_scopes(graph, config_.path, config_.ignored_scopes, config_.target_scopes,
                    config_.top_ignored_scopes, config_.top_target_scopes, config_.validate_scopes);
  nncf_spelling_ = scopes.nncf_spelling;
  const ScopeFilter& filter = scopes.filter;
  std::map<std::string, WeightBinarizer> by_weight;  // a weight shared by several convolutions
  for (const ir::Node* n : graph.nodes()) {
    if (n->op() != "aten::conv2d" || !filter.considers(*n)) continue;
    const std::string w = tensor_input(n, 1);
    if (w.empty()) continue;
    const at::Tensor weight = model_->tensor(w);
    if (weight.dim() != 4) continue;
    int64_t groups = 1;
    if (n->inputs().size() > 6 && n->input(6).is_constant() &&
        n->input(6).constant().kind() == ir::Constant::Kind::Int)
      groups = n->input(6).constant().to_int();
    BinarizedConv layer;
    layer.scope = n->scope();
    layer.nncf_name = n->nncf_name();
    layer.weight = w;
    auto it = by_weight.find(w);
    if (it == by_weight.end()) {
      layer.weights = WeightBinarizer(config_.mode);
      by_weight.emplace(w, layer.weights);
      layout_.insert({runtime::InsertionPoint::weight(w)}, torch::nn::AnyModule(layer.weights),
                     hook_name(w, "weights"), priority::kBinarization);
    } else {
      layer.weights = it->second;
    }
    layer.activations = ActivationBinarizer(weight.size(1) * groups);
    layer.activations->mse_scale_init = config_.activation_scale_init == ScaleInit::Mse;
    std::string scope = n->scope();
    layout_.insert({runtime::InsertionPoint::pre_op(n->scope(), 0)}, torch::nn::AnyModule(layer.activations),
                   hook_name(scope, "activations"), priority::kBinarization);
    layers_.push_back(std::move(layer));
  }
  if (config_.compression_lr_multiplier && *config_.compression_lr_multiplier != 1.0) {
    const double m = *config_.compression_lr_multiplier;
    for (const BinarizedConv& l : layers_)
      for (auto& p : l.activations->parameters()) p.register_hook([m](const at::Tensor& g) { return g * m; });
  }
  scheduler_ = std::make_unique<Scheduler>(*this);
  // Before the first epoch_step: as at epoch 0 (NNCF's schedulers start both groups disabled
  // unless their start epoch is 0).
  enable_activation_binarization(config_.staged.activations_quant_start_epoch <= 0);
  enable_weight_binarization(config_.staged.weights_quant_start_epoch <= 0);
}

BinarizationController::~BinarizationController() = default;

CompressionScheduler& BinarizationController::scheduler() {
  return *scheduler_;
}

void BinarizationController::enable_activation_binarization(bool on) {
  for (BinarizedConv& l : layers_) l.activations->set_enabled(on);
}

void BinarizationController::enable_weight_binarization(bool on) {
  for (BinarizedConv& l : layers_) l.weights->set_enabled(on);
}

void BinarizationController::adapt_batchnorm() {
  if (config_.num_bn_adaptation_samples > 0 && !init_data_.empty())
    run_batchnorm_adaptation(model_, init_data_, config_.num_bn_adaptation_samples);
}

void BinarizationController::initialize(const InitData& data) {
  init_data_ = data;
  if (config_.num_init_samples <= 0 || layers_.empty() || data.empty()) return;
  // Activation scales from the first batch each binarizer sees (the model in eval mode, every
  // binarizer passing its input through while it records).
  const bool training = model_->is_training();
  for (BinarizedConv& l : layers_) {
    l.activations->observing = true;
    l.activations->observed = at::Tensor();
  }
  auto done = [&] {
    for (BinarizedConv& l : layers_) l.activations->observing = false;
    model_->train(training);
  };
  try {
    torch::NoGradGuard no_grad;
    model_->eval();
    data.for_each([&](std::vector<c10::IValue> inputs) {
      model_->forward(std::move(inputs));
      return false;  // one batch: NNCF's rule takes the percentile of one batch
    });
  } catch (...) {
    done();
    throw;
  }
  done();
  for (BinarizedConv& l : layers_) {
    if (l.activations->observed.defined()) l.activations->init_scale(l.activations->observed);
    l.activations->observed = at::Tensor();
  }
}

at::Tensor BinarizationController::loss() const {
  return at::zeros({});
}

CompressionStage BinarizationController::compression_stage() const {
  if (layers_.empty()) return CompressionStage::Uncompressed;
  const bool acts = layers_.front().activations->is_enabled(),
             weights = layers_.front().weights->is_enabled();
  if (acts && weights) return CompressionStage::FullyCompressed;
  return acts || weights ? CompressionStage::PartiallyCompressed : CompressionStage::Uncompressed;
}

Statistics BinarizationController::statistics() const {
  torch::NoGradGuard no_grad;
  Statistics stats;
  const bool acts = !layers_.empty() && layers_.front().activations->is_enabled();
  const bool weights = !layers_.empty() && layers_.front().weights->is_enabled();
  StatisticsTable summary{
      "binarization: summary", {"mode", "layers", "weights binarized", "activations binarized"}, {}};
  summary.rows.push_back(
      {to_string(config_.mode), std::to_string(layers_.size()), weights ? "yes" : "no", acts ? "yes" : "no"});
  stats.tables.push_back(summary);
  StatisticsTable table{"binarization: layers",
                        {nncf_spelling_ ? "layer" : "op", "activation scale", "mean threshold", "scale set"},
                        {}};
  for (const BinarizedConv& l : layers_) {
    const double s = l.activations->scale().item<double>();
    const double t = l.activations->threshold().mean().item<double>();
    table.rows.push_back({nncf_spelling_ && !l.nncf_name.empty() ? l.nncf_name : l.scope, format(s),
                          format(t), l.activations->is_initialized() ? "yes" : "no"});
    if (weights) stats.values["compression.weight_bits." + l.weight] = 1;
  }
  stats.tables.push_back(table);
  stats.values["binarization.layers"] = static_cast<double>(layers_.size());
  stats.values["binarization.weights_enabled"] = weights ? 1 : 0;
  stats.values["binarization.activations_enabled"] = acts ? 1 : 0;
  return stats;
}

std::map<std::string, c10::IValue> BinarizationController::state() const {
  std::vector<std::string> scopes;
  for (const BinarizedConv& l : layers_) scopes.push_back(l.scope);
  std::map<std::string, c10::IValue> s{{"layers", c10::Join(",", scopes)}};
  for (const auto& [k, v] : scheduler_->state()) s["scheduler." + k] = v;
  return s;
}

void BinarizationController::load_state(const std::map<std::string, c10::IValue>& s) {
  TORCH_CHECK(s.count("layers"), "nncf: binarization state has no 'layers'");
  std::vector<std::string> scopes;
  for (const BinarizedConv& l : layers_) scopes.push_back(l.scope);
  const std::string ours = c10::Join(",", scopes), saved = s.at("layers").toStringRef();
  TORCH_CHECK(saved == ours, "nncf: binarization state was saved for the layers [", saved,
              "], this model binarizes [", ours, "]");
  std::map<std::string, double> sched;
  for (const auto& [k, v] : s)
    if (k.rfind("scheduler.", 0) == 0) sched[k.substr(10)] = v.toDouble();
  scheduler_->load_state(sched);
}

}  // namespace nncf::binarization
