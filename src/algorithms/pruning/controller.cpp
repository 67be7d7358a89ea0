#include "nncf/algorithms/pruning/controller.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>
#include <torch/autograd.h>
#include <torch/optim/adagrad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/rmsprop.h>
#include <torch/optim/sgd.h>
#include <torch/types.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <numeric>
#include <set>
#include <sstream>
#include <unordered_set>

#include "nncf/algorithms/batchnorm_adaptation.h"
#include "nncf/algorithms/model_shapes.h"
#include "nncf/algorithms/priorities.h"
#include "nncf/algorithms/pruning/importance.h"
#include "nncf/algorithms/scopes.h"
#include "nncf/algorithms/weights.h"
#include "nncf/ir/log.h"
#include "nncf/passes/channel_groups.h"
#include "nncf/passes/flops.h"
#include "nncf/passes/shape_inference.h"
#include "nncf/runtime/channel_slicing.h"

namespace nncf::pruning {
namespace {

using passes::ChannelConsumer;
using passes::ChannelGroup;
using Kind = ChannelConsumer::Kind;

using Shapes = std::map<std::string, std::vector<int64_t>>;

passes::ChannelGroups::WeightShapes weight_shapes(const Shapes& s) {
  return {s.begin(), s.end()};
}

Shapes parameter_shapes(const runtime::CompressedModel& model) {
  Shapes shapes;
  for (const ir::Value* v : model->graph().inputs())
    if (v->role() == ir::InputRole::Parameter) shapes[v->name()] = model->tensor(v->name()).sizes().vec();
  return shapes;
}

// The name of node input `i` when it is a parameter or buffer of the model, else empty.
std::string tensor_input(const ir::Node* n, size_t i) {
  if (i >= n->inputs().size() || !n->input(i).is_value()) return {};
  const ir::Value* v = n->input(i).value();
  if (!v->is_graph_input() || (v->role() != ir::InputRole::Parameter && v->role() != ir::InputRole::Buffer))
    return {};
  return v->name();
}

bool is_transposed(const ir::Node* n) {
  return n->op().rfind("aten::conv_transpose", 0) == 0;
}

bool is_conv(const ir::Node* n) {
  return n->op().rfind("aten::conv", 0) == 0 && !is_transposed(n);
}

// A convolution's largest stride (1 for anything else).
int64_t stride_of(const ir::Node* n) {
  if (!is_conv(n) || n->inputs().size() < 4 || !n->input(3).is_constant()) return 1;
  const ir::Constant& c = n->input(3).constant();
  if (c.kind() == ir::Constant::Kind::IntList) {
    const std::vector<int64_t> s = c.to_int_list();
    return s.empty() ? 1 : *std::max_element(s.begin(), s.end());
  }
  return c.kind() == ir::Constant::Kind::Int ? c.to_int() : 1;
}

// The convolutions that see the model's data before any other weighted op: NNCF's "first convs".
std::unordered_set<const ir::Node*> first_convs(const ir::Graph& graph, const Shapes& shapes) {
  std::unordered_set<const ir::Value*> raw;  // data not yet through a weighted op
  for (const ir::Value* v : graph.inputs())
    if (v->role() == ir::InputRole::Data) raw.insert(v);
  std::unordered_set<const ir::Node*> first;
  for (const ir::Node* n : graph.nodes()) {
    const bool reads_raw = std::any_of(n->inputs().begin(), n->inputs().end(), [&](const ir::Arg& a) {
      return a.is_value() && raw.count(a.value()) != 0;
    });
    if (!reads_raw) continue;
    if (weight_of(*n, shapes) != nullptr) {
      if (is_conv(n) || is_transposed(n)) first.insert(n);
      continue;
    }
    for (const ir::Value* out : n->outputs()) raw.insert(out);
  }
  return first;
}

std::string hook_name(std::string tensor) {
  std::replace(tensor.begin(), tensor.end(), '.', '_');
  return tensor + "|filter_pruning";
}

// Removed channels, per tensor and dim, of one shrink.
using Plan = FilterPruningController::Plan;

// Adds to `plan` what removing channels `removed` (indices into the group's current channels)
// from `group` takes from each tensor.
void plan_group(const ChannelGroup& group, const std::vector<int64_t>& removed, Plan& plan) {
  auto add = [&](const std::string& tensor, int64_t dim, int64_t offset, int64_t factor) {
    if (tensor.empty()) return;
    std::set<int64_t>& s = plan[tensor][dim];
    for (int64_t r : removed)
      for (int64_t j = 0; j < factor; ++j) s.insert((offset + r) * factor + j);
  };
  for (const passes::ChannelProducer& p : group.producers) {
    add(tensor_input(p.node, 1), is_transposed(p.node) ? 1 : 0, 0, 1);
    add(tensor_input(p.node, 2), 0, 0, 1);
  }
  for (const ChannelConsumer& c : group.consumers) {
    switch (c.kind) {
      case Kind::Conv:
        add(tensor_input(c.node, 1), 1, c.offset, 1);
        break;
      case Kind::ConvTranspose:
        add(tensor_input(c.node, 1), 0, c.offset, 1);
        break;
      case Kind::Linear:
        add(tensor_input(c.node, 1), 1, c.offset, c.factor);
        break;
      case Kind::BatchNorm:
        for (size_t i = 1; i <= 4; ++i) add(tensor_input(c.node, i), 0, c.offset, 1);
        break;
      case Kind::Depthwise:
        add(tensor_input(c.node, 1), 0, c.offset, 1);
        add(tensor_input(c.node, 2), 0, c.offset, 1);
        break;
      case Kind::Cat:
        break;
    }
  }
}

at::Tensor kept_indices(int64_t size, const std::set<int64_t>& removed) {
  std::vector<int64_t> kept;
  kept.reserve(static_cast<size_t>(size));
  for (int64_t i = 0; i < size; ++i)
    if (!removed.count(i)) kept.push_back(i);
  return torch::tensor(kept, torch::kLong);
}

// The tensors of an optimizer's state for one parameter, or nullopt for a state type not known.
std::optional<std::vector<at::Tensor*>> state_tensors(torch::optim::OptimizerParamState& s) {
  if (auto* sgd = dynamic_cast<torch::optim::SGDParamState*>(&s))
    return std::vector<at::Tensor*>{&sgd->momentum_buffer()};
  if (auto* adam = dynamic_cast<torch::optim::AdamParamState*>(&s))
    return std::vector<at::Tensor*>{&adam->exp_avg(), &adam->exp_avg_sq(), &adam->max_exp_avg_sq()};
  if (auto* adamw = dynamic_cast<torch::optim::AdamWParamState*>(&s))
    return std::vector<at::Tensor*>{&adamw->exp_avg(), &adamw->exp_avg_sq(), &adamw->max_exp_avg_sq()};
  if (auto* rms = dynamic_cast<torch::optim::RMSpropParamState*>(&s))
    return std::vector<at::Tensor*>{&rms->square_avg(), &rms->momentum_buffer(), &rms->grad_avg()};
  if (auto* ada = dynamic_cast<torch::optim::AdagradParamState*>(&s))
    return std::vector<at::Tensor*>{&ada->sum()};
  return std::nullopt;
}

std::string impl_key(const at::Tensor& t) {
  return c10::guts::to_string(t.unsafeGetTensorImpl());
}

// Whether a module holds state with more than one element (a per-channel quantizer, a mask).
bool has_channel_state(const torch::nn::Module& m) {
  for (const auto& p : m.parameters())
    if (p.numel() > 1) return true;
  for (const auto& b : m.buffers())
    if (b.numel() > 1) return true;
  return false;
}

std::string percent(double v) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(2) << 100.0 * v << "%";
  return s.str();
}

// Keeps a copy of every tensor it sees: a consumer's input, for the folds of a shrink.
class ProbeImpl : public torch::nn::Module {
 public:
  at::Tensor forward(at::Tensor x) {
    seen.push_back(x.detach().clone());
    return x;
  }
  std::vector<at::Tensor> seen;
};
TORCH_MODULE(Probe);

// The example inputs with every floating tensor replaced by standard normal values (seeded, so
// that a shrink is deterministic, and from a generator of its own, so that it draws nothing from
// the global one that training uses).
std::vector<c10::IValue> random_like(const std::vector<c10::IValue>& inputs) {
  at::Generator gen = at::detail::createCPUGenerator(20240917);
  std::vector<c10::IValue> out;
  for (const c10::IValue& v : inputs) {
    if (v.isTensor() && v.toTensor().is_floating_point()) {
      const at::Tensor& t = v.toTensor();
      out.emplace_back(at::randn(t.sizes(), gen, t.options().device(at::kCPU)).to(t.device()));
    } else {
      out.push_back(v);
    }
  }
  return out;
}

// Whether a convolution node pads (its `padding` argument, input 4: nonzero ints or "same").
bool pads(const ir::Node* n) {
  if (n->inputs().size() < 5 || !n->input(4).is_constant()) return true;
  const ir::Constant& c = n->input(4).constant();
  if (c.kind() == ir::Constant::Kind::IntList) {
    const std::vector<int64_t>& p = c.to_int_list();
    return std::any_of(p.begin(), p.end(), [](int64_t v) { return v != 0; });
  }
  if (c.kind() == ir::Constant::Kind::Int) return c.to_int() != 0;
  return c.kind() == ir::Constant::Kind::String ? c.to_string() != "valid" : true;
}

// A convolution's `groups` (input 6 of aten::conv{1,2,3}d), 1 when it is not a constant.
int64_t groups_of(const ir::Node* n) {
  if (n->inputs().size() < 7 || !n->input(6).is_constant()) return 1;
  const ir::Constant& c = n->input(6).constant();
  return c.kind() == ir::Constant::Kind::Int ? c.to_int() : 1;
}

// The product of a transposed convolution's strides (input 3).
double stride_product(const ir::Node* n) {
  if (n->inputs().size() < 4 || !n->input(3).is_constant()) return 1;
  const ir::Constant& c = n->input(3).constant();
  if (c.kind() != ir::Constant::Kind::IntList) return c.kind() == ir::Constant::Kind::Int ? c.to_int() : 1;
  double p = 1;
  for (int64_t v : c.to_int_list()) p *= static_cast<double>(v);
  return p;
}

// The running mean of the BatchNorm that is the only reader of `n`'s output, else empty.
std::string following_running_mean(const ir::Node* n) {
  if (n->outputs().size() != 1) return {};
  const std::vector<ir::Use>& uses = n->outputs()[0]->uses();
  if (uses.size() != 1 || uses[0].user->op() != "aten::batch_norm" || uses[0].index != 0) return {};
  return tensor_input(uses[0].user, 3);
}

}  // namespace

FilterPruningController::FilterPruningController(runtime::CompressedModel model, FilterPruningConfig config,
                                                 std::vector<c10::IValue> example_inputs)
    : model_(std::move(model)),
      config_(std::move(config)),
      scheduler_(
          config_, [this](double level) { set_pruning_level(level); }, [this] { freeze(); }) {
  example_inputs_ = example_inputs;
  const ir::Graph& graph = model_->graph();
  const Shapes shapes = parameter_shapes(model_);

  const SectionScopes scopes =
      select_scopes(graph, config_.path, config_.ignored_scopes, config_.target_scopes,
                    config_.top_ignored_scopes, config_.top_target_scopes, config_.validate_scopes);
  nncf_spelling_ = scopes.nncf_spelling;
  const ScopeFilter& filter = scopes.filter;
  const std::unordered_set<const ir::Node*> first = first_convs(graph, shapes);
  auto label = [&](const ir::Node* n) {
    return nncf_spelling_ && !n->nncf_name().empty() ? n->nncf_name() : n->scope();
  };

  const passes::ChannelGroups analysis(graph, weight_shapes(shapes));
  std::map<const ir::Node*, int> group_of_producer;
  for (const ChannelGroup& g : analysis.groups()) {
    std::vector<std::string> reasons = g.reasons;
    for (const passes::ChannelProducer& p : g.producers) {
      if (!filter.considers(*p.node)) reasons.push_back(label(p.node) + " is not selected by the scopes");
      if (!config_.prune_first_conv && first.count(p.node))
        reasons.push_back(label(p.node) + " is a first convolution and prune_first_conv is false");
      if (!config_.prune_downsample_convs && stride_of(p.node) > 1)
        reasons.push_back(c10::str(label(p.node), " downsamples (stride ", stride_of(p.node),
                                   ") and prune_downsample_convs is false"));
    }
    if (g.channels <= 1) reasons.push_back("has a single channel");
    if (!reasons.empty()) {
      SkippedGroup s;
      for (const passes::ChannelProducer& p : g.producers) s.layers.push_back(label(p.node));
      s.reasons = std::move(reasons);
      skipped_.push_back(std::move(s));
      continue;
    }
    PruningGroup group;
    group.channels_before = group.channels_now = g.channels;
    group.keep = torch::ones({g.channels});
    for (const passes::ChannelProducer& p : g.producers) {
      const std::string w = tensor_input(p.node, 1);
      if (std::none_of(group.layers.begin(), group.layers.end(),
                       [&](const PrunedLayer& l) { return l.weight == w; }))
        group.layers.push_back({p.node->scope(), p.node->nncf_name(), w, tensor_input(p.node, 2),
                                is_transposed(p.node) ? 1 : 0});
      group_of_producer[p.node] = static_cast<int>(groups_.size());
    }
    for (const ChannelConsumer& c : g.consumers)
      if (c.kind == Kind::Depthwise) group_of_producer[c.node] = static_cast<int>(groups_.size());
    groups_.push_back(std::move(group));
  }

  find_segments(analysis);
  std::map<std::string, int64_t> dims;  // masked tensor -> its channel dim
  for (const PruningGroup& g : groups_)
    for (const PrunedLayer& l : g.layers) dims[l.weight] = l.dim;
  for (const PruningGroup& g : groups_) {
    for (const PruningGroup::Segment& seg : g.segments) {
      if (masks_.count(seg.tensor)) continue;
      const int64_t dim = dims.count(seg.tensor) ? dims.at(seg.tensor) : 0;
      FilterMask m(model_->tensor(seg.tensor).size(dim), dim, config_.zero_grad);
      masks_.emplace(seg.tensor, m);
      layout_.insert({runtime::InsertionPoint::weight(seg.tensor)}, torch::nn::AnyModule(m),
                     hook_name(seg.tensor), priority::kPruning);
    }
  }

  // Costs: FLOPs of each weighted op from shape inference at the example inputs.
  for (const ir::Value* v : graph.inputs())
    if (v->role() == ir::InputRole::Parameter) params_before_ += model_->tensor(v->name()).numel();
  std::map<const ir::Node*, OpCost> costs;
  if (!example_inputs.empty()) {
    const passes::ShapeInferenceResult inferred =
        passes::ShapeInference().run(graph, model_input_shapes(model_, example_inputs));
    const passes::GraphCost cost = passes::CountFlops().run(graph, inferred);
    for (const ir::Node* n : graph.nodes()) {
      const ir::Value* w = weight_of(*n, shapes);
      auto it = cost.nodes.find(n);
      if (w == nullptr || it == cost.nodes.end()) continue;
      OpCost& c = costs[n];
      c.flops = it->second.flops;
      c.params = it->second.params;
      flops_before_ += c.flops;
    }
  }
  int index = 0;
  for (const ChannelGroup& g : analysis.groups()) {
    auto first_producer = group_of_producer.find(g.producers.front().node);
    if (first_producer == group_of_producer.end()) continue;
    index = first_producer->second;
    for (const passes::ChannelProducer& p : g.producers) {
      costs[p.node].out_group = index;
      costs[p.node].out_channels = g.channels;
    }
    for (const ChannelConsumer& c : g.consumers) {
      if (c.kind == Kind::Depthwise) {
        costs[c.node].out_group = index;
        costs[c.node].out_channels = g.channels;
      } else if (c.kind == Kind::Conv || c.kind == Kind::ConvTranspose || c.kind == Kind::Linear) {
        const std::vector<int64_t>& ws = shapes.at(tensor_input(c.node, 1));
        costs[c.node].in_columns = c.kind == Kind::ConvTranspose ? ws[0] : ws[1];
        costs[c.node].in_groups.emplace_back(index, c.factor);
      }
    }
  }
  for (auto& [n, c] : costs) costs_.push_back(c);

  if (config_.prunes_flops())
    TORCH_CHECK(flops_before_ > 0, "nncf: ", config_.path,
                ".params.pruning_flops_target needs the model's input shapes to count FLOPs: give input_info "
                "(or example inputs)");
  if (config_.pruning_init > 0) set_pruning_level(config_.pruning_init);
}

void FilterPruningController::find_segments(const passes::ChannelGroups& analysis) {
  for (PruningGroup& group : groups_) {
    const ChannelGroup* g = analysis.group_of(group.layers.front().scope);
    TORCH_CHECK(g != nullptr && g->channels == group.channels_now, "nncf: filter_pruning: the group of ",
                group.layers.front().scope, " changed since the model was built");
    group.segments.clear();
    std::set<std::string> seen;
    auto add = [&](const std::string& tensor, int64_t offset) {
      if (!tensor.empty() && seen.insert(tensor).second) group.segments.push_back({tensor, offset});
    };
    for (const passes::ChannelProducer& p : g->producers) {
      add(tensor_input(p.node, 1), 0);
      add(tensor_input(p.node, 2), 0);
    }
    for (const ChannelConsumer& c : g->consumers) {
      if (c.kind == Kind::Depthwise || (c.kind == Kind::BatchNorm && config_.prune_batch_norms)) {
        add(tensor_input(c.node, 1), c.offset);
        add(tensor_input(c.node, 2), c.offset);
      }
    }
  }
}

void FilterPruningController::write_masks() {
  torch::NoGradGuard no_grad;
  for (auto& [tensor, m] : masks_) m->mask.fill_(1);
  for (const PruningGroup& g : groups_)
    for (const PruningGroup::Segment& seg : g.segments)
      masks_.at(seg.tensor)->mask.slice(0, seg.offset, seg.offset + g.channels_now).copy_(g.keep);
}

void FilterPruningController::initialize(const InitData& data) {
  init_data_ = data;
  if (config_.num_bn_adaptation_samples > 0)
    run_batchnorm_adaptation(model_, data, config_.num_bn_adaptation_samples);
}

at::Tensor FilterPruningController::loss() const {
  return at::zeros({});
}

std::vector<at::Tensor> FilterPruningController::importances() const {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> out;
  for (const PruningGroup& g : groups_) {
    at::Tensor sum = torch::zeros({g.channels_now}, torch::kDouble);
    for (const PrunedLayer& l : g.layers) {
      at::Tensor w = model_->tensor(l.weight).detach().to(torch::kDouble);
      if (config_.all_weights) {
        const double norm = w.norm().item<double>();
        if (norm > 0) w = w / norm;
      }
      sum += filter_importance(w, l.dim, config_.importance);
    }
    out.push_back(sum);
  }
  return out;
}

int64_t FilterPruningController::flops_with(const std::vector<int64_t>& removed) const {
  double total = 0;
  for (const OpCost& c : costs_) {
    double ratio = 1;
    if (c.out_group >= 0 && c.out_channels > 0)
      ratio *= static_cast<double>(c.out_channels - removed[static_cast<size_t>(c.out_group)]) /
               static_cast<double>(c.out_channels);
    if (c.in_columns > 0) {
      int64_t gone = 0;
      for (const auto& [g, factor] : c.in_groups) gone += removed[static_cast<size_t>(g)] * factor;
      ratio *= static_cast<double>(c.in_columns - gone) / static_cast<double>(c.in_columns);
    }
    total += static_cast<double>(c.flops) * ratio;
  }
  return static_cast<int64_t>(std::llround(total));
}

std::vector<int64_t> FilterPruningController::removed_for(double level) const {
  std::vector<int64_t> removed;
  for (const PruningGroup& g : groups_)
    removed.push_back(pruned_count(g.channels_before, level, config_.round_channels_to));
  return removed;
}

void FilterPruningController::set_pruning_level(double level) {
  TORCH_CHECK(level >= 0 && level < 1, "nncf: ", config_.path, ": pruning level must be in [0, 1), got ",
              level);
  if (frozen_) return;
  level_ = level;
  const std::vector<at::Tensor> imp = importances();
  // Total removed channels per group (counted from the model as built).
  std::vector<int64_t> removed(groups_.size(), 0);
  auto already = [&](size_t g) { return groups_[g].channels_before - groups_[g].channels_now; };
  // Global ranking: the filters of every group in one importance order.
  std::vector<std::pair<double, std::pair<size_t, int64_t>>> order;
  if (config_.all_weights) {
    for (size_t g = 0; g < groups_.size(); ++g) {
      const at::Tensor v = imp[g].contiguous();
      for (int64_t c = 0; c < v.numel(); ++c) order.push_back({v.data_ptr<double>()[c], {g, c}});
    }
    std::stable_sort(order.begin(), order.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  std::vector<std::set<int64_t>> chosen(groups_.size());  // global mode: channels to mask, per group
  if (!config_.all_weights && !config_.prunes_flops()) {
    removed = removed_for(level);
  } else if (!config_.all_weights) {
    // The smallest uniform level whose pruned model has at most (1 - level) of the FLOPs.
    const double budget = (1.0 - level) * static_cast<double>(flops_before_);
    double lo = 0, hi = 1 - 1e-9;
    if (static_cast<double>(flops_with(removed_for(hi))) > budget) {
      lo = hi;
      log_warning_once(
          c10::str("nncf: ", config_.path, ": pruning_flops_target ", level,
                   " cannot be reached by the prunable groups; pruning them as far as possible"));
    }
    for (int i = 0; i < 60 && hi - lo > 1e-12; ++i) {
      const double mid = 0.5 * (lo + hi);
      (static_cast<double>(flops_with(removed_for(mid))) <= budget ? hi : lo) = mid;
    }
    removed = removed_for(hi);
    // Rounding makes the uniform level coarse (a 16-filter group keeps 16 or 8): give back one
    // rounding step at a time, to the group that brings the FLOPs closest to the budget, while
    // they stay within it.
    const int64_t step = std::max<int64_t>(config_.round_channels_to, 1);
    for (;;) {
      int best = -1;
      int64_t best_flops = -1;
      for (size_t g = 0; g < groups_.size(); ++g) {
        if (removed[g] <= already(g)) continue;
        std::vector<int64_t> trial = removed;
        trial[g] = std::max(already(g), removed[g] - step);
        const int64_t f = flops_with(trial);
        if (static_cast<double>(f) <= budget && f > best_flops) best = static_cast<int>(g), best_flops = f;
      }
      if (best < 0) break;
      removed[static_cast<size_t>(best)] =
          std::max(already(static_cast<size_t>(best)), removed[static_cast<size_t>(best)] - step);
    }
  } else {
    // Global: the least important filters first, each group keeping at least one filter (with a
    // FLOPs target: at most pruning_quota of them), until the level of filters or FLOPs is met.
    int64_t total = 0;
    for (const PruningGroup& g : groups_) total += g.channels_before;
    const int64_t want = static_cast<int64_t>(level * static_cast<double>(total));
    const double budget = (1.0 - level) * static_cast<double>(flops_before_);
    for (size_t g = 0; g < groups_.size(); ++g) removed[g] = already(g);
    int64_t count = std::accumulate(removed.begin(), removed.end(), int64_t{0});
    for (const auto& [value, where] : order) {
      const bool done =
          config_.prunes_flops() ? static_cast<double>(flops_with(removed)) <= budget : count >= want;
      if (done) break;
      const auto [g, c] = where;
      const int64_t cap =
          config_.prunes_flops()
              ? static_cast<int64_t>(config_.pruning_quota * static_cast<double>(groups_[g].channels_before))
              : groups_[g].channels_before - 1;
      if (removed[g] >= std::min(cap, groups_[g].channels_before - 1)) continue;
      chosen[g].insert(c);
      ++removed[g];
      ++count;
    }
  }
  torch::NoGradGuard no_grad;
  for (size_t g = 0; g < groups_.size(); ++g) {
    PruningGroup& group = groups_[g];
    at::Tensor keep = torch::ones({group.channels_now});
    if (config_.all_weights) {
      for (int64_t c : chosen[g]) keep[c] = 0;
    } else {
      const int64_t k = std::clamp<int64_t>(removed[g] - already(g), 0, group.channels_now - 1);
      if (k > 0) {
        const at::Tensor idx = std::get<1>(imp[g].sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
        keep.index_fill_(0, idx.slice(0, 0, k), 0);
      }
    }
    group.keep = keep;
  }
  write_masks();
}

void FilterPruningController::freeze() {
  frozen_ = true;
  if (optimizer_ != nullptr) shrink(optimizer_);
}

int64_t FilterPruningController::flops_now() const {
  std::vector<int64_t> removed;
  for (const PruningGroup& g : groups_)
    removed.push_back(g.channels_before - g.channels_now +
                      (g.channels_now - static_cast<int64_t>(g.kept().sum().item<double>())));
  return flops_before_ > 0 ? flops_with(removed) : 0;
}

int64_t FilterPruningController::params_now() const {
  // The current tensors with the masked channels of every group taken out.
  const Shapes shapes = parameter_shapes(model_);
  const passes::ChannelGroups analysis(model_->graph(), weight_shapes(shapes));
  Plan plan;
  for (const ChannelGroup& g : analysis.groups()) {
    for (const PruningGroup& group : groups_) {
      if (group.layers.empty() || g.producers.empty() ||
          g.producers.front().node->scope() != group.layers.front().scope)
        continue;
      const at::Tensor keep = group.kept();
      std::vector<int64_t> removed;
      for (int64_t c = 0; c < keep.numel(); ++c)
        if (keep[c].item<double>() == 0) removed.push_back(c);
      plan_group(g, removed, plan);
    }
  }
  int64_t total = 0;
  for (const auto& [name, sizes] : shapes) {
    std::vector<int64_t> s = sizes;
    if (auto it = plan.find(name); it != plan.end())
      for (const auto& [dim, gone] : it->second)
        s[static_cast<size_t>(dim)] -= static_cast<int64_t>(gone.size());
    total += std::accumulate(s.begin(), s.end(), int64_t{1}, std::multiplies<>());
  }
  // Parameters that are not graph inputs of rank >= 2 (biases, BatchNorm scales) are in `shapes`
  // too: parameter_shapes lists every Parameter input.
  return total;
}

void FilterPruningController::shrink(torch::optim::Optimizer* optimizer, bool fold) {
  const Shapes shapes = parameter_shapes(model_);
  const passes::ChannelGroups analysis(model_->graph(), weight_shapes(shapes));
  Plan plan;
  std::vector<std::pair<size_t, at::Tensor>> shrunk;  // group -> kept indices
  std::map<std::string, int64_t> depthwise;           // depthwise convolution -> its new groups
  std::vector<const ir::Node*> consumers;             // weighted ops that lose input channels
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    PruningGroup& group = groups_[gi];
    const at::Tensor keep = group.kept().to(torch::kDouble).contiguous();
    std::vector<int64_t> removed;
    for (int64_t c = 0; c < keep.numel(); ++c)
      if (keep.data_ptr<double>()[c] == 0) removed.push_back(c);
    if (removed.empty()) continue;
    const ChannelGroup* g = analysis.group_of(group.layers.front().scope);
    TORCH_CHECK(g != nullptr && g->channels == group.channels_now, "nncf: filter_pruning: the group of ",
                group.layers.front().scope, " changed since the model was built");
    plan_group(*g, removed, plan);
    for (const ChannelConsumer& c : g->consumers) {
      if (c.kind == Kind::Depthwise)
        depthwise[c.node->scope()] = g->channels - static_cast<int64_t>(removed.size());
      const bool weighted = c.kind == Kind::Conv || c.kind == Kind::ConvTranspose || c.kind == Kind::Linear;
      if (weighted && std::find(consumers.begin(), consumers.end(), c.node) == consumers.end())
        consumers.push_back(c.node);
    }
    shrunk.emplace_back(gi,
                        kept_indices(group.channels_now, std::set<int64_t>(removed.begin(), removed.end())));
  }
  if (plan.empty()) return;

  // The folds first: measuring them inserts and removes probes, which moves the model's hooks.
  std::vector<std::pair<std::string, std::string>> notes;
  const std::vector<Fold> folds = fold ? folds_for(plan, consumers, notes) : std::vector<Fold>{};

  // Check everything before changing anything.
  std::vector<std::string> problems;
  std::map<std::string, std::vector<const runtime::Hook*>> weight_hooks;
  for (const runtime::Hook& h : model_->hooks()) {
    for (const runtime::InsertionPoint& p : h.points) {
      const bool on_plan = p.kind == runtime::InsertionPoint::Kind::WeightPreOp && plan.count(p.target);
      if (on_plan) {
        weight_hooks[p.target].push_back(&h);
        if (dynamic_cast<runtime::ChannelSliceable*>(h.module.ptr().get()) == nullptr &&
            has_channel_state(*h.module.ptr()))
          problems.push_back(c10::str("the module ", h.name, " on ", p.target,
                                      " holds per-channel state and cannot be sliced"));
      } else if (p.kind != runtime::InsertionPoint::Kind::WeightPreOp && has_channel_state(*h.module.ptr())) {
        problems.push_back(
            c10::str("the module ", h.name, " at ", runtime::to_string(p),
                     " holds per-channel activation state, which shrinking does not slice yet"));
      }
    }
  }
  std::vector<std::pair<at::Tensor, std::vector<at::Tensor*>>> states;  // parameter -> its state tensors
  if (optimizer != nullptr) {
    for (const auto& [name, dims] : plan) {
      const at::Tensor t = model_->tensor(name);
      auto it = optimizer->state().find(impl_key(t));
      if (it == optimizer->state().end()) continue;
      auto tensors = state_tensors(*it->second);
      if (!tensors) {
        problems.push_back(
            "the optimizer's state of " + name +
            " is of a type shrinking does not know (SGD, Adam, AdamW, RMSprop and Adagrad are)");
        continue;
      }
      states.emplace_back(t, std::move(*tensors));
    }
  }
  if (optimizer != nullptr) {
    for (const auto& [name, hooks] : weight_hooks)
      for (const runtime::Hook* h : hooks)
        for (const at::Tensor& p : h->module.ptr()->parameters()) {
          auto it = optimizer->state().find(impl_key(p));
          if (p.numel() > 1 && it != optimizer->state().end() && !state_tensors(*it->second))
            problems.push_back(
                "the optimizer's state of a parameter of " + h->name +
                " is of a type shrinking does not know (SGD, Adam, AdamW, RMSprop and Adagrad are)");
        }
  }
  TORCH_CHECK(problems.empty(), "nncf: filter_pruning: cannot shrink the model: ", c10::Join("; ", problems));

  for (const auto& [layer, why] : notes) {
    approximations_.emplace_back(layer, why);
    log_warning_once("nncf: filter_pruning: shrinking changes the output of " + layer + ": " + why);
  }
  // What the removed channels still feed their consumers goes into the consumers' biases (with
  // every tensor still at its full size).
  torch::NoGradGuard no_grad;
  for (const Fold& f : folds) {
    at::Tensor t = model_->tensor(f.tensor);
    t.add_(f.delta.to(t.options()));
  }
  for (const auto& [name, dims] : plan) {
    at::Tensor t = model_->tensor(name);
    for (const auto& [dim, gone] : dims) {
      const at::Tensor kept = kept_indices(t.size(dim), gone);
      for (auto& [param, tensors] : states)
        if (param.is_same(t))
          for (at::Tensor* s : tensors)
            if (s->defined() && s->dim() > dim && s->size(dim) == t.size(dim))
              runtime::keep_channels_of(*s, dim, kept);
      runtime::keep_channels_of(t, dim, kept);
      for (const runtime::Hook* h : weight_hooks[name]) {
        auto* sliceable = dynamic_cast<runtime::ChannelSliceable*>(h->module.ptr().get());
        if (sliceable == nullptr) continue;
        sliceable->keep_channels(dim, kept);
        // The module's own parameters that lost channels (a per-channel quantizer's scales): their
        // optimizer state follows along the dim whose size changed.
        if (optimizer == nullptr) continue;
        for (const at::Tensor& p : h->module.ptr()->parameters()) {
          auto it = optimizer->state().find(impl_key(p));
          if (it == optimizer->state().end()) continue;
          auto tensors = state_tensors(*it->second);
          if (!tensors) continue;  // reported above
          for (at::Tensor* st : *tensors) {
            if (!st->defined() || st->dim() != p.dim() || st->sizes().equals(p.sizes())) continue;
            for (int64_t d = 0; d < p.dim(); ++d)
              if (st->size(d) != p.size(d) && p.size(d) == kept.numel())
                runtime::keep_channels_of(*st, d, kept);
          }
        }
      }
    }
  }
  for (const auto& [gi, kept] : shrunk) {
    groups_[gi].channels_now = kept.numel();
    groups_[gi].keep = torch::ones({kept.numel()});
  }
  // A depthwise convolution's groups is its channel count (conv: input 6).
  for (const auto& [scope, channels] : depthwise)
    model_->set_constant(scope, 6, ir::Constant::integer(channels));
}

std::vector<FilterPruningController::Fold> FilterPruningController::folds_for(
    const Plan& plan, const std::vector<const ir::Node*>& consumers,
    std::vector<std::pair<std::string, std::string>>& notes) {
  std::vector<Fold> folds;
  if (consumers.empty()) return folds;
  auto note = [&](const ir::Node* n, const std::string& why) {
    notes.emplace_back(nncf_spelling_ && !n->nncf_name().empty() ? n->nncf_name() : n->scope(), why);
  };
  // Run the masked model in eval mode (the mode whose outputs a shrink must keep) on the example
  // inputs and on random ones, each consumer's input recorded.
  if (example_inputs_.empty()) {
    for (const ir::Node* n : consumers)
      note(n,
           "no example inputs (input_info) to measure what its removed input channels carry; nothing is "
           "folded");
    return folds;
  }
  std::vector<Probe> probes;
  std::vector<runtime::Hook> hooks;
  for (const ir::Node* n : consumers) {
    probes.emplace_back();
    hooks.push_back({{runtime::InsertionPoint::pre_op(n->scope(), 0)},
                     "fold_probe_" + std::to_string(hooks.size()) + "|filter_pruning",
                     torch::nn::AnyModule(probes.back()),
                     std::numeric_limits<int>::max()});
  }
  const bool training = model_->is_training();
  model_->insert(hooks);
  auto restore = [&] {
    for (const runtime::Hook& h : hooks) model_->remove(h.name);
    model_->train(training);
  };
  try {
    torch::NoGradGuard no_grad;
    model_->eval();
    model_->forward(example_inputs_);
    model_->forward(random_like(example_inputs_));
  } catch (...) {
    restore();
    throw;
  }
  restore();

  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < consumers.size(); ++i) {
    const ir::Node* n = consumers[i];
    const bool linear = n->op() == "aten::linear", transposed = is_transposed(n);
    const std::string weight = tensor_input(n, 1);
    const int64_t dim = transposed ? 0 : 1;
    auto it = plan.find(weight);
    if (it == plan.end() || !it->second.count(dim)) continue;
    const std::set<int64_t>& gone = it->second.at(dim);
    const at::Tensor idx = torch::tensor(std::vector<int64_t>(gone.begin(), gone.end()), torch::kLong);
    const std::vector<at::Tensor>& seen = probes[i]->seen;
    if (seen.size() < 2) {
      note(n, "it did not run on the example inputs; nothing is folded");
      continue;
    }
    // The removed channels (features) of each run, and their values at one position: the centre of
    // the first sample of the example inputs.
    std::vector<at::Tensor> removed;
    for (const at::Tensor& x : seen) {
      const int64_t axis = linear ? x.dim() - 1 : 1;
      removed.push_back(x.to(torch::kDouble).index_select(axis, idx.to(x.device())).cpu());
    }
    const int64_t count = idx.numel();
    at::Tensor value, shaped;
    if (linear) {
      value = removed[0].reshape({-1, count})[0];
      std::vector<int64_t> view(static_cast<size_t>(removed[0].dim()), 1);
      view.back() = count;
      shaped = value.view(view);
    } else {
      const at::Tensor flat = removed[0][0].reshape({count, -1});
      value = flat.select(1, flat.size(1) / 2);
      std::vector<int64_t> view(static_cast<size_t>(removed[0].dim()), 1);
      view[1] = count;
      shaped = value.view(view);
    }
    const bool zero = std::all_of(removed.begin(), removed.end(),
                                  [](const at::Tensor& r) { return r.abs().max().item<double>() == 0; });
    if (zero) continue;  // the usual case: masked channels are zero after a ReLU
    std::vector<std::string> why;
    const bool constant = std::all_of(removed.begin(), removed.end(), [&](const at::Tensor& r) {
      return torch::allclose(r, shaped.expand_as(r), 1e-5, 1e-6);
    });
    if (!constant)
      why.emplace_back(
          "its removed input channels do not carry a constant (it varies with the position or the input); "
          "their values at the centre of the first example are folded");
    const at::Tensor w = model_->tensor(weight).detach().to(torch::kDouble).cpu().index_select(dim, idx);
    at::Tensor delta;
    if (linear) {
      delta = w.matmul(value);
    } else if (transposed) {
      delta = (w.flatten(2).sum(2) * value.view({count, 1})).sum(0) / stride_product(n);
      why.emplace_back(
          "a transposed convolution spreads a constant unevenly; its mean over the strides is folded");
    } else {
      if (groups_of(n) != 1) {
        note(n, "a grouped convolution reads the removed channels; nothing is folded");
        continue;
      }
      delta = (w.flatten(2).sum(2) * value.view({1, count})).sum(1);
      if (pads(n))
        why.emplace_back(
            "it pads with zeros, so at the borders the folded constant is larger than what the "
            "removed channels gave");
    }
    if (const std::string bias = tensor_input(n, 2); !bias.empty()) {
      folds.push_back({bias, delta});
    } else if (const std::string mean = following_running_mean(n); !mean.empty()) {
      folds.push_back({mean, -delta});  // BN(y + d) with running mean m is BN(y) with m - d
    } else {
      note(n, "it has no bias, and no BatchNorm follows it, to fold the removed channels' constant into");
      continue;
    }
    if (!why.empty()) note(n, c10::Join("; ", why));
  }
  return folds;
}

CompressionStage FilterPruningController::compression_stage() const {
  if (level_ <= 0) return CompressionStage::Uncompressed;
  // NNCF: fully compressed at the target level. Here also frozen: the structure is final then (and,
  // with an attached optimizer, shrunk), so a checkpoint selected as fully compressed has the
  // shapes of the model that training ends with.
  return level_ >= config_.target_level() && frozen_ ? CompressionStage::FullyCompressed
                                                     : CompressionStage::PartiallyCompressed;
}

Statistics FilterPruningController::statistics() const {
  torch::NoGradGuard no_grad;
  Statistics stats;
  const int64_t flops = flops_now(), params = params_now();
  StatisticsTable summary{
      "filter_pruning: summary", {"level", "target", "frozen", "FLOPs", "parameters"}, {}};
  std::ostringstream f, p;
  f << flops << " / " << flops_before_;
  if (flops_before_ > 0)
    f << " (" << percent(static_cast<double>(flops) / static_cast<double>(flops_before_)) << ")";
  p << params << " / " << params_before_ << " ("
    << percent(static_cast<double>(params) / static_cast<double>(std::max<int64_t>(params_before_, 1)))
    << ")";
  summary.rows.push_back(
      {percent(level_), percent(config_.target_level()), frozen_ ? "yes" : "no", f.str(), p.str()});
  stats.tables.push_back(summary);

  StatisticsTable layers{"filter_pruning: filters per layer",
                         {nncf_spelling_ ? "layer" : "op", "group", "filters before", "kept", "pruned"},
                         {}};
  for (size_t g = 0; g < groups_.size(); ++g) {
    const PruningGroup& group = groups_[g];
    const int64_t kept = static_cast<int64_t>(group.kept().sum().item<double>());
    const double pruned = 1.0 - static_cast<double>(kept) / static_cast<double>(group.channels_before);
    for (const PrunedLayer& l : group.layers) {
      layers.rows.push_back({nncf_spelling_ && !l.nncf_name.empty() ? l.nncf_name : l.scope,
                             std::to_string(g), std::to_string(group.channels_before), std::to_string(kept),
                             percent(pruned)});
      stats.values["compression.weight_density." + l.weight] = 1.0 - pruned;
      stats.values["filter_pruning.kept_filters." + l.weight] = static_cast<double>(kept);
    }
  }
  stats.tables.push_back(layers);
  if (!approximations_.empty()) {
    StatisticsTable approx{"filter_pruning: shrink approximations", {"layer", "why"}, {}};
    for (const auto& [layer, why] : approximations_) approx.rows.push_back({layer, why});
    stats.tables.push_back(approx);
  }
  stats.values["filter_pruning.shrink_approximations"] = static_cast<double>(approximations_.size());
  if (!skipped_.empty()) {
    StatisticsTable skipped{"filter_pruning: groups not pruned", {"layers", "why"}, {}};
    for (const SkippedGroup& s : skipped_)
      skipped.rows.push_back({c10::Join(", ", s.layers), c10::Join("; ", s.reasons)});
    stats.tables.push_back(skipped);
  }
  stats.values["filter_pruning.pruning_level"] = level_;
  stats.values["filter_pruning.groups"] = static_cast<double>(groups_.size());
  stats.values["filter_pruning.skipped_groups"] = static_cast<double>(skipped_.size());
  stats.values["filter_pruning.params_before"] = static_cast<double>(params_before_);
  stats.values["filter_pruning.params_now"] = static_cast<double>(params);
  if (flops_before_ > 0) {
    stats.values["filter_pruning.flops_before"] = static_cast<double>(flops_before_);
    stats.values["filter_pruning.flops_now"] = static_cast<double>(flops);
    stats.values["filter_pruning.flops_ratio"] =
        static_cast<double>(flops) / static_cast<double>(flops_before_);
  }
  return stats;
}

std::map<std::string, c10::IValue> FilterPruningController::state() const {
  std::vector<std::string> layers, channels;
  for (const PruningGroup& g : groups_) {
    layers.push_back(g.layers.front().scope);
    channels.push_back(std::to_string(g.channels_now));
  }
  std::map<std::string, c10::IValue> s{{"groups", c10::Join(",", layers)},
                                       {"channels", c10::Join(",", channels)},
                                       {"level", level_},
                                       {"frozen", frozen_}};
  for (const auto& [k, v] : scheduler_.state()) s["scheduler." + k] = v;
  return s;
}

void FilterPruningController::load_state(const std::map<std::string, c10::IValue>& s) {
  for (const char* key : {"groups", "channels", "level", "frozen"})
    TORCH_CHECK(s.count(key), "nncf: filter_pruning state has no '", key, "'");
  std::vector<std::string> layers;
  for (const PruningGroup& g : groups_) layers.push_back(g.layers.front().scope);
  const std::string saved = s.at("groups").toStringRef(), ours = c10::Join(",", layers);
  TORCH_CHECK(saved == ours, "nncf: filter_pruning state was saved for the groups [", saved,
              "], this model prunes [", ours, "]");
  std::vector<int64_t> channels;
  std::stringstream in(s.at("channels").toStringRef());
  for (std::string item; std::getline(in, item, ',');) channels.push_back(std::stoll(item));
  TORCH_CHECK(channels.size() == groups_.size(), "nncf: filter_pruning state lists ", channels.size(),
              " channel counts for ", groups_.size(), " groups");
  // Shrink to the saved counts (the first channels; restore_model then loads every tensor).
  torch::NoGradGuard no_grad;
  for (size_t g = 0; g < groups_.size(); ++g) {
    TORCH_CHECK(channels[g] >= 1 && channels[g] <= groups_[g].channels_now,
                "nncf: filter_pruning state: group ", layers[g], " has ", channels[g],
                " channels, the model ", groups_[g].channels_now);
    at::Tensor keep = torch::zeros({groups_[g].channels_now});
    keep.slice(0, 0, channels[g]).fill_(1);
    groups_[g].keep = keep;
  }
  write_masks();
  shrink(nullptr, /*fold=*/false);  // every tensor is loaded next: nothing to fold
  level_ = s.at("level").toDouble();
  frozen_ = s.at("frozen").toBool();
  std::map<std::string, double> sched;
  for (const auto& [k, v] : s)
    if (k.rfind("scheduler.", 0) == 0) sched[k.substr(10)] = v.toDouble();
  scheduler_.load_state(sched);
}

}  // namespace nncf::pruning
