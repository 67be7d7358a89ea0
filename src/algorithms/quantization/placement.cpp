#include "nncf/algorithms/quantization/placement.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>

#include <algorithm>
#include <sstream>

#include "nncf/ir/log.h"
#include "nncf/ir/metatype.h"
#include "nncf/passes/find_activations.h"
#include "nncf/passes/fused_patterns.h"
#include "nncf/passes/nncf_names.h"
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
      section_(with_top_level(config.ignored_scopes, config.top_ignored_scopes),
               with_top_level(config.target_scopes, config.top_target_scopes)),
      weights_filter_(config.weights.ignored_scopes, config.weights.target_scopes),
      activations_filter_(config.activations.ignored_scopes, config.activations.target_scopes) {
  for (const ScopeOverride& o : config.weight_overrides)
    weight_overrides_.emplace_back(ScopeMatcher({o.scope}), &o);
  for (const ScopeOverride& o : config.activation_overrides) {
    activation_overrides_.emplace_back(ScopeMatcher({o.scope}), &o);
  }
  for (const Node* n : graph.nodes()) names_[n->scope()] = names_of(*n);
}

const std::vector<std::string>& Placer::names(const std::string& scope) const {
  auto it = names_.find(scope);
  if (it != names_.end()) return it->second;
  // Not an op (`model_output:0`): remembered so that the reference stays valid.
  return names_.emplace(scope, std::vector<std::string>{scope}).first->second;
}

QuantizerSetup Placer::run() {
  warn_unmatched_scopes();
  data_ = passes::FindActivations().run(graph_);
  fuse_patterns();
  place_weight_quantizers();
  warn_unquantized_weights();
  place_activation_quantizers();
  name_quantizers();
  for (QuantizerSpec& q : setup_.quantizers) q.allowed_bits = hw_widths(q);
  apply_manual_precision();
  warn_unmatched_range_init();
  return std::move(setup_);
}

std::string Placer::device() const {
  if (!in_.target_device.empty()) return in_.target_device;
  return in_.hw != nullptr ? in_.hw->target_device() : "TRIAL";
}

std::string Placer::section_path() const {
  return config_.path.empty() ? "quantization" : config_.path;
}

void Placer::warn(const std::string& message) {
  setup_.warnings.push_back(message);
  log_warning_once(file_prefix() + message);
}

// ---- activations (values computed from a data input: passes::FindActivations) -------------------

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

void Placer::fuse_patterns() {
  // An activation op heads an ACT + BN pattern only where its inputs are quantized.
  const passes::FusedPatterns patterns(
      [this](const Node& n) { return trait(n) == Trait::InputsQuantizable; });
  for (passes::FusedPattern& p : patterns.run(graph_)) {
    const size_t id = groups_.size();
    for (const Node* g : p.nodes) group_of_[g] = id;
    groups_.push_back(std::move(p.nodes));
  }
}

// ---- configurations ------------------------------------------------------------------------------

Placer::Constraints Placer::constraints(QuantizerGroup group, const std::string& scope) const {
  const bool weights = group == QuantizerGroup::Weights;
  const QuantizerGroupConfig& g = weights ? config_.weights : config_.activations;
  const std::string group_path = section_path() + (weights ? ".weights" : ".activations");
  Constraints c;
  c.mode = weights ? config_.weights_mode(device()) : config_.activations_mode(device());
  c.mode_path = g.mode ? group_path + ".mode" : section_path() + ".preset";
  c.bits = g.bits;
  c.bits_path = group_path + ".bits";
  c.per_channel = g.per_channel;
  c.per_channel_path = group_path + ".per_channel";
  c.is_signed = g.is_signed;
  c.signed_path = group_path + ".signed";
  for (const auto& [matcher, o] : weights ? weight_overrides_ : activation_overrides_) {
    if (!matcher.matches_any(names(scope))) continue;
    const std::string path = !o->path.empty()
                                 ? o->path
                                 : c10::str(section_path(), ".scope_overrides.",
                                            weights ? "weights" : "activations", "[\"", o->scope, "\"]");
    if (o->mode) c.mode = o->mode, c.mode_path = path + ".mode";
    if (o->bits) c.bits = o->bits, c.bits_path = path + ".bits";
    if (o->per_channel) c.per_channel = o->per_channel, c.per_channel_path = path + ".per_channel";
    if (o->is_signed) c.is_signed = o->is_signed, c.signed_path = path + ".signed";
  }
  // The parser enforces this; a config built in code gets the same message.
  TORCH_CHECK(!c.bits || (*c.bits >= 2 && *c.bits <= 8), "nncf: ", file_prefix(), c.bits_path,
              ": expected in [2, 8], got ", *c.bits);
  return c;
}

// The allowed configurations, in preference order, of a quantizer of `group` at `scope` whose
// target accepts `hw` (empty = anything: TRIAL or an op without HW entry).
std::vector<QConfig> Placer::allowed(QuantizerGroup group, const std::string& scope,
                                     const std::vector<QConfig>& hw, const std::string& where, bool from_hw) {
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
    // NNCF raises here ("constraints ... are incompatible with HW capabilities"); ANY is meant to
    // run anywhere, so there the user's choice stands, with a warning.
    if (!hw.empty() && from_hw && device() != "ANY") reject(group, c, hw, where);
    QConfig q;
    q.mode = c.mode.value_or(QuantizationMode::Symmetric);
    q.bits = c.bits.value_or(8);
    q.per_channel = c.per_channel.value_or(group == QuantizerGroup::Weights && in_.hw != nullptr);
    q.is_signed = c.is_signed;
    if (!hw.empty() && from_hw) {
      const char* what = group == QuantizerGroup::Weights ? "weights" : "activations";
      setup_.warnings.push_back(c10::str(where, ": the ", in_.hw->target_device(),
                                         " HW config allows none of the configured choices; using ",
                                         to_string(q), " as configured"));
      // One line per configuration, not per quantizer: the same choice usually repeats.
      log_warning_once(c10::str(file_prefix(), section_path(), ": target_device ", device(), " follows the ",
                                in_.hw->target_device(), " HW config, which does not allow ", to_string(q),
                                " ", what, " at some ops; quantizing them as configured"));
    }
    out.push_back(q);
  }
  return out;
}

// The error for a quantizer the HW config allows none of the user's choices for: names the first
// key (bits, then mode, granularity, signedness) that rules out every choice left.
void Placer::reject(QuantizerGroup group, const Constraints& c, const std::vector<QConfig>& hw,
                    const std::string& where) const {
  const char* what = group == QuantizerGroup::Weights ? "weights" : "activations";
  std::vector<QConfig> left = hw;
  std::string path, asked;
  auto narrow = [&](bool constrained, auto keeps, const std::string& key_path,
                    const std::string& description) {
    if (!path.empty() || !constrained) return;
    std::vector<QConfig> kept;
    std::copy_if(left.begin(), left.end(), std::back_inserter(kept), keeps);
    if (kept.empty()) {
      path = key_path;
      asked = description;
    }
    left = std::move(kept);
  };
  narrow(
      c.bits.has_value(), [&](const QConfig& q) { return q.bits == *c.bits; }, c.bits_path,
      c10::str(c.bits.value_or(0), "-bit ", what));
  narrow(
      c.mode.has_value(), [&](const QConfig& q) { return q.mode == *c.mode; }, c.mode_path,
      c10::str(c.mode ? quantization::to_string(*c.mode) : "", " ", what));
  narrow(
      c.per_channel.has_value(), [&](const QConfig& q) { return q.per_channel == *c.per_channel; },
      c.per_channel_path, c10::str(c.per_channel.value_or(false) ? "per-channel " : "per-tensor ", what));
  narrow(
      c.is_signed.has_value(), [&](const QConfig& q) { return !q.is_signed || *q.is_signed == *c.is_signed; },
      c.signed_path, c10::str(c.is_signed.value_or(false) ? "signed " : "unsigned ", what));
  TORCH_INTERNAL_ASSERT(!path.empty(), "quantizer placement: no constraint rules out the HW choices at ",
                        where);
  std::vector<std::string> choices;
  for (const QConfig& q : hw) {
    const std::string text = to_string(q);
    if (std::find(choices.begin(), choices.end(), text) == choices.end()) choices.push_back(text);
  }
  TORCH_CHECK(false, "nncf: ", file_prefix(), path, ": target_device ", device(), " does not allow ", asked,
              " at ", where, " (the ", in_.hw->target_device(), " HW config allows ",
              c10::Join(", ", choices),
              " there); set \"target_device\": \"TRIAL\" to quantize without hardware constraints");
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
    const bool from_hw = !hw.empty();
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
    q.config = allowed(QuantizerGroup::Weights, n->scope(), hw, id, from_hw).front();
    q.weight = w->name();
    q.consumer_scopes = {n->scope()};
    const std::vector<int64_t>& shape = in_.tensor_shapes.at(w->name());
    q.axis = output_channel_axis(*n, static_cast<int64_t>(shape.size()));
    if (q.config.per_channel) {
      TORCH_CHECK(q.axis < static_cast<int64_t>(shape.size()), "nncf: weight '", w->name(), "' of shape ",
                  c10::Join(",", shape), " has no axis ", q.axis, " for a per-channel quantizer");
      q.channels = shape[q.axis];
    }
    const bool overflow_eligible =
        in_.overflow_fix_target && (config_.overflow_fix == OverflowFix::Enable ||
                                    (config_.overflow_fix == OverflowFix::FirstLayerOnly && first.count(n)));
    if (overflow_eligible) overflow_eligible_.insert(id);
    q.half_range = overflow_eligible && q.config.bits == 8;
    quantized[w] = setup_.quantizers.size();
    setup_.quantizers.push_back(std::move(q));
  }
}

// ---- manual precision ----------------------------------------------------------------------------

void Placer::hw_entries(const QuantizerSpec& q, const HwEntryVisitor& visit) const {
  if (in_.hw == nullptr) return;
  for (const std::string& scope : q.consumer_scopes) {
    const ir::Node* n = graph_.find_node(scope);
    const HwOperation* op = nullptr;
    if (n != nullptr) trait(*n, &op);
    if (op == nullptr) continue;
    const std::vector<QConfig>& hw = q.group == QuantizerGroup::Weights ? op->weights : op->activations;
    if (!hw.empty()) visit(scope, *op, hw);
  }
}

namespace {
// Whether `hw` lists `bits` with `q`'s mode and granularity.
bool lists_width(const std::vector<QConfig>& hw, int64_t bits, const QConfig& q) {
  return std::any_of(hw.begin(), hw.end(), [&](const QConfig& c) {
    return c.bits == bits && c.mode == q.mode && c.per_channel == q.per_channel;
  });
}
}  // namespace

std::vector<int64_t> Placer::hw_widths(const QuantizerSpec& q) const {
  std::vector<int64_t> out = {2, 3, 4, 5, 6, 7, 8};
  hw_entries(q, [&](const std::string&, const HwOperation&, const std::vector<QConfig>& hw) {
    out.erase(
        std::remove_if(out.begin(), out.end(), [&](int64_t b) { return !lists_width(hw, b, q.config); }),
        out.end());
  });
  return out;
}

// Each `bitwidth_per_scope` entry names one quantizer by an id (the whole id or one point's, in
// either spelling; not by the ops it feeds, which would also select the other group's quantizer)
// and sets its width. Where the target's HW config is binding (every target but ANY and TRIAL),
// the width must be one it lists for every op the quantizer serves, with the quantizer's mode and
// granularity; on ANY such a width is used with a warning, as for the other constraints.
void Placer::apply_manual_precision() {
  if (!config_.precision || config_.precision->bitwidth_per_scope.empty()) return;
  auto ids_of = [](const QuantizerSpec& q) {
    std::vector<std::string> ids = {q.id, q.nncf_id};
    for (const std::string& joined : {q.id, q.nncf_id}) {
      for (size_t start = 0;;) {
        const size_t semicolon = joined.find(';', start);
        ids.push_back(
            joined.substr(start, semicolon == std::string::npos ? std::string::npos : semicolon - start));
        if (semicolon == std::string::npos) break;
        start = semicolon + 1;
      }
    }
    return ids;
  };
  std::unordered_map<size_t, const PrecisionInitConfig::Entry*> chosen;
  for (const PrecisionInitConfig::Entry& e : config_.precision->bitwidth_per_scope) {
    bool found = false;
    for (size_t i = 0; i < setup_.quantizers.size(); ++i) {
      const std::vector<std::string> ids = ids_of(setup_.quantizers[i]);
      if (std::find(ids.begin(), ids.end(), e.id) == ids.end()) continue;
      found = true;
      auto [it, inserted] = chosen.emplace(i, &e);
      TORCH_CHECK(inserted || it->second->bits == e.bits, "nncf: ", file_prefix(), e.path, ": quantizer ",
                  setup_.quantizers[i].id, " already gets ", it->second->bits, " bits from ",
                  it->second->path);
    }
    TORCH_CHECK(found, "nncf: ", file_prefix(), e.path, ": no quantizer \"", e.id,
                "\" in this model (ids look like \"",
                setup_.quantizers.empty() ? std::string("conv1|WEIGHT") : setup_.quantizers.front().nncf_id,
                "\" or \"", setup_.quantizers.empty() ? std::string() : setup_.quantizers.front().id, "\")");
  }
  const bool binding = in_.hw != nullptr && device() != "ANY" && device() != "TRIAL";
  for (const auto& [i, e] : chosen) {
    QuantizerSpec& q = setup_.quantizers[i];
    const bool weights = q.group == QuantizerGroup::Weights;
    hw_entries(q, [&](const std::string& scope, const HwOperation& op, const std::vector<QConfig>& hw) {
      if (lists_width(hw, e->bits, q.config)) return;
      std::vector<std::string> listed;
      for (const QConfig& c : hw) listed.push_back(quantization::to_string(c));
      QConfig wanted = q.config;
      wanted.bits = e->bits;
      const std::string message =
          c10::str(e->path, ": ", quantization::to_string(wanted), " is not what ", device(),
                   "'s HW config allows for ", op.type, " ", scope, " (", c10::Join(", ", listed), ")");
      TORCH_CHECK(!binding, "nncf: ", file_prefix(), message);
      warn(message);
    });
    q.config.bits = e->bits;
    if (std::find(q.allowed_bits.begin(), q.allowed_bits.end(), e->bits) == q.allowed_bits.end()) {
      q.allowed_bits.push_back(e->bits);  // ANY: the user's width stands (warned above)
      std::sort(q.allowed_bits.begin(), q.allowed_bits.end());
    }
    q.half_range = weights && e->bits == 8 && overflow_eligible_.count(q.id) != 0;
  }
}

// ---- warnings -------------------------------------------------------------------------------------

// NNCF's validate_scopes: a section's or group's ignored/target entry that matches no op is most
// often a typo or a name in another spelling, and the model would silently differ from the one
// meant; with `validate_scopes: false` (a config written for a family of models) it is a warning.
// The other entries that name ops (unified scales, overrides) only warn, as NNCF checks none.
void Placer::warn_unmatched_scopes() {
  const std::string s = section_path();
  const std::vector<ScopeList> checked = {
      {s + ".ignored_scopes", &config_.ignored_scopes},
      {s + ".target_scopes", &config_.target_scopes},
      {s + ".weights.ignored_scopes", &config_.weights.ignored_scopes},
      {s + ".weights.target_scopes", &config_.weights.target_scopes},
      {s + ".activations.ignored_scopes", &config_.activations.ignored_scopes},
      {s + ".activations.target_scopes", &config_.activations.target_scopes},
      {"ignored_scopes", &config_.top_ignored_scopes},
      {"target_scopes", &config_.top_target_scopes},
  };
  for (const std::string& m : check_scopes(graph_, checked, config_.validate_scopes, file_prefix())) warn(m);
  std::vector<ScopeList> others;
  for (size_t i = 0; i < config_.activations.unified_scale_ops.size(); ++i)
    others.push_back(
        {c10::str(s, ".activations.unified_scale_ops[", i, "]"), &config_.activations.unified_scale_ops[i]});
  std::vector<std::vector<std::string>> singles;
  singles.reserve(config_.weight_overrides.size() + config_.activation_overrides.size());
  for (const auto* overrides : {&config_.weight_overrides, &config_.activation_overrides}) {
    const char* group = overrides == &config_.weight_overrides ? "weights" : "activations";
    for (const ScopeOverride& o : *overrides) {
      singles.push_back({o.scope});
      others.push_back({o.path.empty() ? c10::str(s, ".scope_overrides.", group) : o.path, &singles.back()});
    }
  }
  for (const std::string& m : check_scopes(graph_, others, false)) warn(m + ", so it changes nothing");
}

void Placer::warn_unmatched_range_init() {
  if (!config_.range_init_per_layer) return;
  for (size_t i = 0; i < config_.range_init.size(); ++i) {
    const RangeInitConfig& r = config_.range_init[i];
    for (const auto& [list, key] :
         {std::pair{&r.target_scopes, "target_scopes"}, {&r.ignored_scopes, "ignored_scopes"}}) {
      for (const std::string& entry : *list) {
        const ScopeMatcher m({entry});
        if (std::any_of(setup_.quantizers.begin(), setup_.quantizers.end(),
                        [&](const QuantizerSpec& q) { return m.matches_any(q.names); }))
          continue;
        warn(c10::str(
            section_path(), ".initializer.range[", i, "].", key, ": \"", entry,
            "\" matches no quantizer (neither its id, `<op>|WEIGHT`, `<op>|OUTPUT`, `<op>|INPUT<port>`, ",
            "nor an op it feeds), so it changes nothing"));
      }
    }
  }
}

void Placer::name_quantizers() {
  std::unordered_map<std::string, std::string> nncf;  // scope -> NNCF name
  for (const Node* n : graph_.nodes())
    nncf[n->scope()] = n->nncf_name().empty() ? n->scope() : n->nncf_name();
  std::unordered_map<std::string, size_t> input_index;
  for (const Value* in : graph_.inputs())
    if (in->role() == ir::InputRole::Data) input_index.emplace(in->name(), input_index.size());
  auto nncf_of = [&](const std::string& scope) {
    auto it = nncf.find(scope);
    return it == nncf.end() ? scope : it->second;
  };
  for (QuantizerSpec& q : setup_.quantizers) {
    std::vector<std::string> ids;
    for (const InsertionPoint& p : q.points) {
      switch (p.kind) {
        case InsertionPoint::Kind::WeightPreOp:
          ids.push_back(nncf_of(q.consumer_scopes.front()) + "|WEIGHT");
          break;
        case InsertionPoint::Kind::PostOp:
          ids.push_back(
              c10::str(nncf_of(p.target), "|OUTPUT", p.port == 0 ? std::string() : std::to_string(p.port)));
          break;
        case InsertionPoint::Kind::PreOp:
          ids.push_back(c10::str(nncf_of(p.target), "|INPUT", p.port));
          break;
        case InsertionPoint::Kind::ModelInput:
          ids.push_back(passes::nncf_input_name(input_index.at(p.target)) + "|OUTPUT");
          break;
      }
    }
    q.nncf_id = c10::Join(";", ids);
    q.names.clear();
    auto add = [&](std::string n) {
      if (std::find(q.names.begin(), q.names.end(), n) == q.names.end()) q.names.push_back(std::move(n));
    };
    add(q.id);
    add(q.nncf_id);
    for (size_t start = 0;;) {
      const size_t semicolon = q.id.find(';', start);
      add(q.id.substr(start, semicolon == std::string::npos ? std::string::npos : semicolon - start));
      if (semicolon == std::string::npos) break;
      start = semicolon + 1;
    }
    for (const std::string& id : ids) {
      add(id);
      for (std::string& v : passes::nncf_name_variants(id)) add(std::move(v));
    }
    for (const std::string& s : q.consumer_scopes)
      for (const std::string& n : names(s)) add(n);
  }
}

// A conv or linear whose weight is computed in forward from parameters (not a parameter, not an
// activation) gets no quantizer at all: say so, since the op then runs in floating point.
void Placer::warn_unquantized_weights() {
  for (const Node* n : graph_.nodes()) {
    const Metatype m = n->metatype();
    if (m != Metatype::Conv && m != Metatype::ConvTranspose && m != Metatype::Linear) continue;
    if (n->inputs().size() < 2 || !n->input(1).is_value() || weight_of(*n) != nullptr) continue;
    if (is_activation(n->input(1).value()) || !considers_weights(*n)) continue;
    warn(c10::str(
        section_path(), ": ", n->scope(),
        ": its weight is computed in forward, not a parameter of the model, so it is not quantized"));
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
