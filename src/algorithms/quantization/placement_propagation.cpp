// Activation quantizers: each quantizable op requests a quantizer on each activation input; the
// requests move upstream, merge where all consumers of a tensor agree, and every linked set of the
// requests that stop becomes one quantizer of the QuantizerSetup (see placement.h for the rules).

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>

#include <algorithm>
#include <map>

#include "nncf/ir/metatype.h"
#include "placer.h"

namespace nncf::quantization::detail {

using ir::Metatype;
using ir::Node;
using ir::Value;
using runtime::InsertionPoint;

std::vector<QConfig> Placer::activation_configs(const Node& n, const HwOperation* op,
                                                const std::string& where) {
  return allowed(QuantizerGroup::Activations, n.scope(),
                 op != nullptr ? op->activations : std::vector<QConfig>{}, where);
}

void Placer::create_requests() {
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
      if (matcher.matches_any(names(n->scope()))) group.insert(group.end(), links.begin(), links.end());
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

// Requests on `v` that cover all of its consumers merged into one, or nullopt.
std::optional<Request> Placer::merge(const Value* v, const std::vector<Request>& rs) const {
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
void Placer::move_up(const Value* v, Request m) {
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

void Placer::settle(const Value* v) {
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
      warn(c10::str(section_path(), ": model output ", r.edge.port,
                    " is not quantized (quantize_outputs): its tensor is also read unquantized elsewhere"));
      continue;
    }
    const InsertionPoint point = InsertionPoint::pre_op(r.edge.node->scope(), r.edge.port);
    finish(std::move(r), point);
  }
}

void Placer::place_activation_quantizers() {
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
        warn(c10::str(section_path(), ": ", c10::Join(";", r.ids),
                      " shares a range with quantizers of an incompatible configuration; using ",
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

}  // namespace nncf::quantization::detail
