#include "nncf/algorithms/quantization/placement.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>

#include <algorithm>
#include <sstream>

#include "nncf/ir/metatype.h"
#include "placer.h"

namespace nncf::quantization {
namespace detail {

using ir::Metatype;
using ir::Node;
using ir::Value;
using runtime::InsertionPoint;

Placer::Placer(const ir::Graph& graph, const QuantizationConfig& config, const PlacementInputs& inputs)
    : graph_(graph),
      config_(config),
      in_(inputs),
      section_(config.ignored_scopes, config.target_scopes),
      weights_filter_(config.weights.ignored_scopes, config.weights.target_scopes),
      activations_filter_(config.activations.ignored_scopes, config.activations.target_scopes) {
  for (const ScopeOverride& o : config.weight_overrides)
    weight_overrides_.emplace_back(ScopeMatcher({o.scope}), &o);
  for (const ScopeOverride& o : config.activation_overrides) {
    activation_overrides_.emplace_back(ScopeMatcher({o.scope}), &o);
  }
}

QuantizerSetup Placer::run() {
  find_activations();
  fuse_patterns();
  place_weight_quantizers();
  place_activation_quantizers();
  return std::move(setup_);
}

// ---- which values are activations (computed from a data input) -----------------------------------

void Placer::find_activations() {
  for (const Value* v : graph_.inputs()) {
    if (v->role() == ir::InputRole::Data && v->is_tensor()) data_.insert(v);
  }
  for (const Node* n : graph_.nodes()) {
    if (n->metatype() == Metatype::Size) continue;
    const bool from_data = std::any_of(n->inputs().begin(), n->inputs().end(), [&](const ir::Arg& a) {
      return a.is_value() && data_.count(a.value());
    });
    if (!from_data) continue;
    for (const Value* out : n->outputs()) {
      if (out->is_tensor() || out->type() == "Tensor[]") data_.insert(out);
    }
  }
}

// Tensor uses of `v` by nodes that read its data (sizes do not), through lists into concats.
// `blocked` is set when some reader can never take a quantizer (a graph output, a list that is
// not a concat's input).
std::vector<Edge> Placer::consumer_edges(const Value* v, bool& blocked) const {
  std::vector<Edge> edges;
  blocked = false;
  for (const ir::Use& u : v->uses()) {
    const Node* user = u.user;
    if (user->metatype() == Metatype::Size) continue;
    if (user->op() == "prim::ListConstruct") {
      const Value* list = user->output();
      const bool into_concat = !list->uses().empty() &&
                               std::all_of(list->uses().begin(), list->uses().end(), [](const ir::Use& lu) {
                                 return lu.user->metatype() == Metatype::Cat;
                               });
      if (!into_concat) blocked = true;
    }
    edges.push_back({user, u.index});
  }
  const auto& outs = graph_.outputs();
  for (size_t i = 0; i < outs.size(); ++i) {
    if (outs[i] == v) edges.push_back({nullptr, i});
  }
  return edges;
}

// ---- fused patterns ------------------------------------------------------------------------------

// The single data consumer of `n`'s only output, if it has exactly one.
const Node* Placer::sole_consumer(const Node* n) const {
  if (n->outputs().size() != 1) return nullptr;
  const Value* v = n->output();
  if (std::find(graph_.outputs().begin(), graph_.outputs().end(), v) != graph_.outputs().end())
    return nullptr;
  const Node* only = nullptr;
  for (const ir::Use& u : v->uses()) {
    if (u.user->metatype() == Metatype::Size) continue;
    if (only != nullptr && only != u.user) return nullptr;
    only = u.user;
  }
  // The value must be the consumer's activation operand and the consumer must run when n runs.
  if (only != nullptr && only->runs_in() != n->runs_in()) return nullptr;
  return only;
}

// An arithmetic op whose operands other than `from` are not activations (a bias or a scale).
bool Placer::is_affine_arithmetic(const Node* n, const Node* from) const {
  if (!is_arithmetic(n->metatype())) return false;
  for (const ir::Arg& a : n->inputs()) {
    if (a.is_value() && a.value()->producer() != from && is_activation(a.value())) return false;
  }
  return true;
}

bool Placer::two_activation_operands(const Node* n) const {
  int count = 0;
  for (const ir::Arg& a : n->inputs()) count += a.is_value() && is_activation(a.value());
  return count >= 2;
}

// Extends a pattern from `last` with an optional BN then an optional activation, or an
// activation then an optional BN.
void Placer::extend_bn_act(std::vector<const Node*>& group) const {
  const Node* next = sole_consumer(group.back());
  if (next == nullptr) return;
  if (next->metatype() == Metatype::BatchNorm) {
    group.push_back(next);
    const Node* act = sole_consumer(next);
    if (act != nullptr && is_activation_op(act->metatype())) group.push_back(act);
  } else if (is_activation_op(next->metatype())) {
    group.push_back(next);
    const Node* bn = sole_consumer(next);
    if (bn != nullptr && bn->metatype() == Metatype::BatchNorm) group.push_back(bn);
  }
}

void Placer::fuse_patterns() {
  for (const Node* n : graph_.nodes()) {
    if (group_of_.count(n) || n->outputs().size() != 1 || !is_activation(n->output())) continue;
    std::vector<const Node*> group{n};
    const Metatype m = n->metatype();
    if (is_linear(m)) {
      // LINEAR [+ affine arithmetic] [+ BN/ACT combination]
      const Node* next = sole_consumer(n);
      if (next != nullptr && is_affine_arithmetic(next, n)) group.push_back(next);
      extend_bn_act(group);
    } else if (m == Metatype::BatchNorm || (is_arithmetic(m) && two_activation_operands(n)) ||
               (is_activation_op(m) && trait(*n) == Trait::InputsQuantizable)) {
      // BN + ACT, ARITHMETIC + BN/ACT, quantizable ACT + BN
      extend_bn_act(group);
    }
    if (group.size() < 2) continue;
    const size_t id = groups_.size();
    for (const Node* g : group) group_of_[g] = id;
    groups_.push_back(std::move(group));
  }
}

// ---- configurations ------------------------------------------------------------------------------

Placer::Constraints Placer::constraints(QuantizerGroup group, const std::string& scope) const {
  const bool weights = group == QuantizerGroup::Weights;
  const QuantizerGroupConfig& g = weights ? config_.weights : config_.activations;
  Constraints c;
  c.mode = weights ? config_.weights_mode() : config_.activations_mode();
  c.bits = g.bits;
  c.per_channel = g.per_channel;
  c.is_signed = g.is_signed;
  for (const auto& [matcher, o] : weights ? weight_overrides_ : activation_overrides_) {
    if (!matcher.matches(scope)) continue;
    if (o->mode) c.mode = o->mode;
    if (o->bits) c.bits = o->bits;
    if (o->per_channel) c.per_channel = o->per_channel;
    if (o->is_signed) c.is_signed = o->is_signed;
  }
  return c;
}

// The allowed configurations, in preference order, of a quantizer of `group` at `scope` whose
// target accepts `hw` (empty = anything: TRIAL or an op without HW entry).
std::vector<QConfig> Placer::allowed(QuantizerGroup group, const std::string& scope,
                                     const std::vector<QConfig>& hw, const std::string& where) {
  const Constraints c = constraints(group, scope);
  std::vector<QConfig> out;
  for (const QConfig& q : hw) {
    if (c.mode && q.mode != *c.mode) continue;
    if (c.bits && q.bits != *c.bits) continue;
    if (c.per_channel && q.per_channel != *c.per_channel) continue;
    if (c.is_signed && q.is_signed && *q.is_signed != *c.is_signed) continue;
    QConfig chosen = q;
    if (c.is_signed) chosen.is_signed = c.is_signed;
    out.push_back(chosen);
  }
  // Activations are per-tensor unless asked otherwise (see the header).
  if (group == QuantizerGroup::Activations && !c.per_channel) {
    std::stable_partition(out.begin(), out.end(), [](const QConfig& q) { return !q.per_channel; });
  }
  if (out.empty()) {
    QConfig q;
    q.mode = c.mode.value_or(QuantizationMode::Symmetric);
    q.bits = c.bits.value_or(8);
    q.per_channel = c.per_channel.value_or(group == QuantizerGroup::Weights && in_.hw != nullptr);
    q.is_signed = c.is_signed;
    if (!hw.empty()) {
      setup_.warnings.push_back(c10::str(where, ": the ", in_.hw->target_device(),
                                         " HW config allows none of the configured choices; using ",
                                         to_string(q), " as configured"));
    }
    out.push_back(q);
  }
  return out;
}

// Configurations both lists allow, in `a`'s order.
std::vector<QConfig> Placer::intersect(const std::vector<QConfig>& a, const std::vector<QConfig>& b) {
  std::vector<QConfig> out;
  for (const QConfig& x : a) {
    for (const QConfig& y : b) {
      if (x.bits != y.bits || x.mode != y.mode || x.per_channel != y.per_channel) continue;
      if (x.is_signed && y.is_signed && *x.is_signed != *y.is_signed) continue;
      QConfig z = x;
      if (!z.is_signed) z.is_signed = y.is_signed;
      z.narrow_range = x.narrow_range || y.narrow_range;
      out.push_back(z);
      break;
    }
  }
  return out;
}

// ---- weights -------------------------------------------------------------------------------------

// Weighted ops with no weighted op upstream: the "first layer" of `overflow_fix: first_layer_only`.
std::unordered_set<const Node*> Placer::first_layers() const {
  std::unordered_set<const Value*> after_weights;
  std::unordered_set<const Node*> first;
  for (const Node* n : graph_.nodes()) {
    bool upstream = false;
    for (const ir::Arg& a : n->inputs()) upstream |= a.is_value() && after_weights.count(a.value());
    const bool weighted = weight_of(*n) != nullptr;
    if (weighted && !upstream) first.insert(n);
    if (upstream || weighted) {
      for (const Value* out : n->outputs()) after_weights.insert(out);
    }
  }
  return first;
}

void Placer::place_weight_quantizers() {
  const auto first = first_layers();
  std::unordered_map<const Value*, size_t> quantized;  // weight -> index in setup
  for (const Node* n : graph_.nodes()) {
    const Value* w = weight_of(*n);
    if (w == nullptr || !considers_weights(*n)) continue;
    if (auto it = quantized.find(w); it != quantized.end()) {
      setup_.quantizers[it->second].consumer_scopes.push_back(n->scope());
      continue;
    }
    const HwOperation* op = nullptr;
    trait(*n, &op);
    std::vector<QConfig> hw = op != nullptr ? op->weights : std::vector<QConfig>{};
    if (in_.hw != nullptr && hw.empty()) {
      // No HW entry for this op's weights: NNCF's default, 8-bit symmetric.
      hw = {QConfig{8, QuantizationMode::Symmetric, true, true, false},
            QConfig{8, QuantizationMode::Symmetric, false, true, false}};
    }
    const std::string id = n->scope() + "|WEIGHT";
    QuantizerSpec q;
    q.id = id;
    q.group = QuantizerGroup::Weights;
    q.points = {InsertionPoint::weight(w->name())};
    q.config = allowed(QuantizerGroup::Weights, n->scope(), hw, id).front();
    q.weight = w->name();
    q.consumer_scopes = {n->scope()};
    const std::vector<int64_t>& shape = in_.tensor_shapes.at(w->name());
    q.axis = output_channel_axis(*n, static_cast<int64_t>(shape.size()));
    if (q.config.per_channel) {
      TORCH_CHECK(q.axis < static_cast<int64_t>(shape.size()), "nncf: weight '", w->name(), "' of shape ",
                  c10::Join(",", shape), " has no axis ", q.axis, " for a per-channel quantizer");
      q.channels = shape[q.axis];
    }
    q.half_range = in_.overflow_fix_target && q.config.bits == 8 &&
                   (config_.overflow_fix == OverflowFix::Enable ||
                    (config_.overflow_fix == OverflowFix::FirstLayerOnly && first.count(n)));
    quantized[w] = setup_.quantizers.size();
    setup_.quantizers.push_back(std::move(q));
  }
}

}  // namespace detail

size_t QuantizerSetup::count(QuantizerGroup group) const {
  return std::count_if(quantizers.begin(), quantizers.end(),
                       [&](const QuantizerSpec& q) { return q.group == group; });
}

std::string QuantizerSetup::to_string() const {
  std::ostringstream out;
  for (const QuantizerSpec& q : quantizers) {
    out << q.id << ": " << quantization::to_string(q.config) << (q.half_range ? " (7-bit, overflow fix)" : "")
        << " at ";
    for (size_t i = 0; i < q.points.size(); ++i) out << (i ? ", " : "") << runtime::to_string(q.points[i]);
    out << "\n";
  }
  for (const std::string& w : warnings) out << "warning: " << w << "\n";
  return out.str();
}

QuantizerSetup place_quantizers(const ir::Graph& graph, const QuantizationConfig& config,
                                const PlacementInputs& inputs) {
  return detail::Placer(graph, config, inputs).run();
}

}  // namespace nncf::quantization
