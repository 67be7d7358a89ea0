#include "nncf/algorithms/quantization/placement.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>

#include <algorithm>
#include <numeric>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "nncf/algorithms/scopes.h"
#include "nncf/algorithms/weights.h"
#include "nncf/ir/metatype.h"
#include "traits.h"

namespace nncf::quantization {
namespace {

using ir::Metatype;
using ir::Node;
using ir::Value;
using runtime::InsertionPoint;
using namespace detail;  // NOLINT(google-build-using-namespace): the traits are this file's vocabulary

// ---- analysis of one graph ------------------------------------------------------------------------

// The consumer edge a request sits on: argument `port` of `node`, or graph output `port` when
// `node` is null.
struct Edge {
  const Node* node = nullptr;
  size_t port = 0;
  bool operator==(const Edge& o) const { return node == o.node && port == o.port; }
};

// A quantizer on its way upstream.
struct Request {
  Edge edge;
  std::vector<QConfig> configs;  // allowed, in preference order; never empty
  std::vector<std::string> consumer_scopes;
  std::vector<std::string> ids;
  size_t link = 0;  // union-find element: requests in one set share one quantizer module
};

class Placer {
 public:
  Placer(const ir::Graph& graph, const QuantizationConfig& config, const PlacementInputs& inputs)
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

  QuantizerSetup run() {
    find_activations();
    fuse_patterns();
    place_weight_quantizers();
    place_activation_quantizers();
    return std::move(setup_);
  }

 private:
  Trait trait(const Node& n, const HwOperation** hw_op = nullptr) const {
    return trait_of(n, in_.hw, in_.tensor_shapes, hw_op);
  }

  bool considers_activations(const Node& n) const {
    return section_.considers(n.scope()) && activations_filter_.considers(n.scope());
  }
  bool considers_weights(const Node& n) const {
    return section_.considers(n.scope()) && weights_filter_.considers(n.scope());
  }

  // -- which values are activations (computed from a data input) ---------------------------------------

  void find_activations() {
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
  bool is_activation(const Value* v) const { return v->is_tensor() && data_.count(v); }

  // Tensor uses of `v` by nodes that read its data (sizes do not), through lists into concats.
  // `blocked` is set when some reader can never take a quantizer (a graph output, a list that is
  // not a concat's input).
  std::vector<Edge> consumer_edges(const Value* v, bool& blocked) const {
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

  // -- fused patterns ----------------------------------------------------------------------------------

  // The single data consumer of `n`'s only output, if it has exactly one.
  const Node* sole_consumer(const Node* n) const {
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
  bool is_affine_arithmetic(const Node* n, const Node* from) const {
    if (!is_arithmetic(n->metatype())) return false;
    for (const ir::Arg& a : n->inputs()) {
      if (a.is_value() && a.value()->producer() != from && is_activation(a.value())) return false;
    }
    return true;
  }
  bool two_activation_operands(const Node* n) const {
    int count = 0;
    for (const ir::Arg& a : n->inputs()) count += a.is_value() && is_activation(a.value());
    return count >= 2;
  }

  // Extends a pattern from `last` with an optional BN then an optional activation, or an
  // activation then an optional BN.
  void extend_bn_act(std::vector<const Node*>& group) const {
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

  void fuse_patterns() {
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
  bool in_group(const Node* n) const { return group_of_.count(n) != 0; }
  bool is_group_interior(const Node* n) const {
    auto it = group_of_.find(n);
    return it != group_of_.end() && groups_[it->second].front() != n;
  }

  // -- configurations ------------------------------------------------------------------------------------

  struct Constraints {
    std::optional<QuantizationMode> mode;
    std::optional<int64_t> bits;
    std::optional<bool> per_channel;
    std::optional<bool> is_signed;
  };

  Constraints constraints(QuantizerGroup group, const std::string& scope) const {
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
  std::vector<QConfig> allowed(QuantizerGroup group, const std::string& scope, const std::vector<QConfig>& hw,
                               const std::string& where) {
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
  static std::vector<QConfig> intersect(const std::vector<QConfig>& a, const std::vector<QConfig>& b) {
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

  // -- weights ---------------------------------------------------------------------------------------------

  const Value* weight_of(const Node& n) const { return nncf::weight_of(n, in_.tensor_shapes); }

  // Weighted ops with no weighted op upstream: the "first layer" of `overflow_fix: first_layer_only`.
  std::unordered_set<const Node*> first_layers() const {
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

  void place_weight_quantizers() {
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

  // -- activations
  // -------------------------------------------------------------------------------------------

  size_t new_link() {
    parent_.push_back(parent_.size());
    return parent_.size() - 1;
  }
  size_t find(size_t x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  void unite(size_t a, size_t b) { parent_[find(a)] = find(b); }

  std::vector<QConfig> activation_configs(const Node& n, const HwOperation* op, const std::string& where) {
    return allowed(QuantizerGroup::Activations, n.scope(),
                   op != nullptr ? op->activations : std::vector<QConfig>{}, where);
  }

  void request(const Value* v, Request r) { pending_[v].push_back(std::move(r)); }

  void create_requests() {
    std::vector<std::pair<ScopeMatcher, std::vector<size_t>>> unified;  // user `unified_scale_ops`
    for (const auto& scopes : config_.activations.unified_scale_ops)
      unified.emplace_back(ScopeMatcher(scopes), std::vector<size_t>{});

    for (const Node* n : graph_.nodes()) {
      if (is_group_interior(n)) continue;
      const HwOperation* op = nullptr;
      if (trait(*n, &op) != Trait::InputsQuantizable || !considers_activations(*n)) continue;
      std::vector<size_t> links;
      for (size_t port = 0; port < n->inputs().size(); ++port) {
        const ir::Arg& a = n->input(port);
        if (!a.is_value() || !is_activation(a.value())) continue;
        const std::string id = c10::str(n->scope(), "|INPUT", port);
        Request r;
        r.edge = {n, port};
        r.configs = activation_configs(*n, op, id);
        r.consumer_scopes = {n->scope()};
        r.ids = {id};
        r.link = new_link();
        links.push_back(r.link);
        request(a.value(), std::move(r));
      }
      if (op != nullptr && op->unified_scales) {
        for (size_t i = 1; i < links.size(); ++i) unite(links[i], links[0]);
      }
      for (auto& [matcher, group] : unified) {
        if (matcher.matches(n->scope())) group.insert(group.end(), links.begin(), links.end());
      }
    }
    for (auto& [matcher, group] : unified) {
      for (size_t i = 1; i < group.size(); ++i) unite(group[i], group[0]);
    }
    if (config_.quantize_outputs) {
      const auto& outs = graph_.outputs();
      for (size_t i = 0; i < outs.size(); ++i) {
        if (!is_activation(outs[i])) continue;
        const std::string scope = outs[i]->is_graph_input() ? outs[i]->name() : outs[i]->producer()->scope();
        Request r;
        r.edge = {nullptr, i};
        r.configs = allowed(QuantizerGroup::Activations, scope, {}, scope);
        r.consumer_scopes = {c10::str("model_output:", i)};
        r.ids = {c10::str("model_output:", i, "|INPUT")};
        r.link = new_link();
        request(outs[i], std::move(r));
      }
    }
  }

  // A request that stops at `point`.
  void finish(Request r, InsertionPoint point) { finals_.push_back({std::move(r), std::move(point)}); }

  // Requests on `v` that cover all of its consumers merged into one, or nullopt.
  std::optional<Request> merge(const Value* v, const std::vector<Request>& rs) const {
    bool blocked = false;
    const std::vector<Edge> edges = consumer_edges(v, blocked);
    if (blocked) return std::nullopt;
    for (const Edge& e : edges) {
      const bool covered = std::any_of(rs.begin(), rs.end(), [&](const Request& r) { return r.edge == e; });
      if (!covered) return std::nullopt;
    }
    Request m;
    m.configs = rs.front().configs;
    for (const Request& r : rs) {
      m.configs = intersect(m.configs, r.configs);
      if (m.configs.empty()) return std::nullopt;  // incompatible: each keeps its own
      m.consumer_scopes.insert(m.consumer_scopes.end(), r.consumer_scopes.begin(), r.consumer_scopes.end());
      m.ids.insert(m.ids.end(), r.ids.begin(), r.ids.end());
    }
    return m;
  }

  // Moves a merged request on `v` upstream by one op, or finishes it on `v`.
  void move_up(const Value* v, Request m) {
    if (v->is_graph_input()) {
      if (!config_.quantize_inputs) return;  // NNCF drops quantizers that end on a model input
      m.ids = {c10::str("model_input:", v->name(), "|OUTPUT")};
      finish(std::move(m), InsertionPoint::model_input(v->name()));
      return;
    }
    const Node* p = v->producer();
    const Trait t = in_group(p) ? Trait::InputsQuantizable : trait(*p);
    const bool passes =
        considers_activations(*p) && p->runs_in() == ir::RunsIn::Always && p->outputs().size() == 1;
    if (passes && t == Trait::Agnostic) {
      std::vector<size_t> ports;
      for (size_t i = 0; i < p->inputs().size(); ++i) {
        if (p->input(i).is_value() && is_activation(p->input(i).value())) ports.push_back(i);
      }
      if (ports.size() == 1) {
        m.edge = {p, ports[0]};
        request(p->input(ports[0]).value(), std::move(m));
        return;
      }
    }
    if (passes && t == Trait::Concat && p->input(0).is_value()) {
      const Node* list = p->input(0).value()->producer();
      if (list != nullptr && list->op() == "prim::ListConstruct" && list->output()->uses().size() == 1) {
        const HwOperation* op = nullptr;
        trait(*p, &op);
        const bool unified = op != nullptr && op->unified_scales;
        for (size_t i = 0; i < list->inputs().size(); ++i) {
          const ir::Arg& a = list->input(i);
          if (!a.is_value() || !is_activation(a.value())) continue;
          Request clone = m;
          clone.edge = {list, i};
          clone.ids = {c10::str(p->scope(), "|INPUT", i)};
          clone.link = new_link();
          if (unified) unite(clone.link, m.link);
          request(a.value(), std::move(clone));
        }
        return;
      }
    }
    m.ids = {c10::str(p->scope(), "|OUTPUT", v->index() == 0 ? std::string() : std::to_string(v->index()))};
    finish(std::move(m), InsertionPoint::post_op(p->scope(), v->index()));
  }

  void settle(const Value* v) {
    auto it = pending_.find(v);
    if (it == pending_.end()) return;
    std::vector<Request> rs = std::move(it->second);
    pending_.erase(it);
    if (std::optional<Request> m = merge(v, rs)) {
      m->link = new_link();
      for (const Request& r : rs) unite(r.link, m->link);
      move_up(v, std::move(*m));
      return;
    }
    for (Request& r : rs) {
      if (r.edge.node == nullptr) {
        setup_.warnings.push_back(c10::str("model output ", r.edge.port,
                                           ": not quantized, its tensor is also read unquantized elsewhere"));
        continue;
      }
      const InsertionPoint point = InsertionPoint::pre_op(r.edge.node->scope(), r.edge.port);
      finish(std::move(r), point);
    }
  }

  void place_activation_quantizers() {
    create_requests();
    // Requests only move upstream, so visiting values in reverse topological order sees every
    // request that can reach a value before settling it.
    std::vector<const Node*> nodes;
    for (const Node* n : graph_.nodes()) nodes.push_back(n);
    for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
      for (size_t k = (*it)->outputs().size(); k-- > 0;) settle((*it)->output(k));
    }
    for (const Value* v : graph_.inputs()) settle(v);
    TORCH_INTERNAL_ASSERT(pending_.empty(), "quantizer placement left requests unsettled");

    // One quantizer per set of linked finals.
    std::map<size_t, std::vector<size_t>> sets;  // root -> finals, in order of first appearance
    std::vector<size_t> order;
    for (size_t i = 0; i < finals_.size(); ++i) {
      const size_t root = find(finals_[i].first.link);
      if (!sets.count(root)) order.push_back(root);
      sets[root].push_back(i);
    }
    for (size_t root : order) {
      QuantizerSpec q;
      q.group = QuantizerGroup::Activations;
      q.axis = 1;
      std::vector<QConfig> configs = finals_[sets[root].front()].first.configs;
      std::vector<std::string> ids;
      for (size_t i : sets[root]) {
        Request& r = finals_[i].first;
        std::vector<QConfig> both = intersect(configs, r.configs);
        if (both.empty()) {
          setup_.warnings.push_back(
              c10::str(c10::Join(";", r.ids),
                       ": shares a range with quantizers of an incompatible configuration; "
                       "using ",
                       to_string(configs.front())));
        } else {
          configs = both;
        }
        q.points.push_back(finals_[i].second);
        ids.insert(ids.end(), r.ids.begin(), r.ids.end());
        for (const std::string& s : r.consumer_scopes) {
          if (std::find(q.consumer_scopes.begin(), q.consumer_scopes.end(), s) == q.consumer_scopes.end()) {
            q.consumer_scopes.push_back(s);
          }
        }
      }
      q.id = c10::Join(";", ids);
      q.config = configs.front();
      setup_.quantizers.push_back(std::move(q));
    }
  }

  const ir::Graph& graph_;
  const QuantizationConfig& config_;
  const PlacementInputs& in_;
  ScopeFilter section_, weights_filter_, activations_filter_;
  std::vector<std::pair<ScopeMatcher, const ScopeOverride*>> weight_overrides_, activation_overrides_;

  std::unordered_set<const Value*> data_;
  std::unordered_map<const Node*, size_t> group_of_;
  std::vector<std::vector<const Node*>> groups_;
  std::unordered_map<const Value*, std::vector<Request>> pending_;
  std::vector<std::pair<Request, InsertionPoint>> finals_;
  std::vector<size_t> parent_;  // union-find over request links
  QuantizerSetup setup_;
};

}  // namespace

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
  return Placer(graph, config, inputs).run();
}

}  // namespace nncf::quantization
