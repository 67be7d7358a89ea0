#include "nncf/ir/graph.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <iterator>
#include <unordered_map>

namespace nncf::ir {

// Note [Builder checks]
// Like MLIR's builders, the mutating API checks only what it needs to stay memory-safe (null
// values, indices, erasing a value that is still used). Structural invariants that a sequence of
// calls may break on the way to a valid graph (definition order, unique names and scopes, values
// of another graph) are the verifier's job: see verify() in printer.h.

namespace {

void remove_use(Value* v, Node* user, size_t index, std::vector<Use>& uses) {
  auto it = std::find_if(uses.begin(), uses.end(),
                         [&](const Use& u) { return u.user == user && u.index == index; });
  TORCH_INTERNAL_ASSERT(it != uses.end(), "use list of %", v->name(), " out of sync");
  uses.erase(it);
}

}  // namespace

std::pair<std::string, std::string> split_overload(std::string_view qualified) {
  size_t ns = qualified.find("::");
  size_t dot = qualified.find('.', ns == std::string_view::npos ? 0 : ns + 2);
  if (dot == std::string_view::npos) return {std::string(qualified), std::string()};
  return {std::string(qualified.substr(0, dot)), std::string(qualified.substr(dot + 1))};
}

// ---- Value ----------------------------------------------------------------------------------

void Value::replace_all_uses_with(Value* other) {
  TORCH_CHECK(other != nullptr, "replace_all_uses_with: null value");
  if (other == this) return;
  // set_input edits uses_, so walk a copy.
  const std::vector<Use> uses = uses_;
  for (const Use& u : uses) u.user->set_input(u.index, Arg(other));
  for (Value*& out : graph_->outputs_) {
    if (out == this) out = other;
  }
}

// ---- Node -----------------------------------------------------------------------------------

Node::Node(Graph* graph, std::string op, std::string overload)
    : graph_(graph), op_(std::move(op)), overload_(std::move(overload)), metatype_(metatype_of(op_)) {}

std::string Node::qualified_op() const {
  return overload_.empty() ? op_ : op_ + "." + overload_;
}

void Node::set_input(size_t i, Arg arg) {
  TORCH_CHECK(i < inputs_.size(), "set_input: index ", i, " out of range for ", qualified_op(), " with ",
              inputs_.size(), " inputs");
  if (inputs_[i].is_value()) remove_use(inputs_[i].value(), this, i, inputs_[i].value()->uses_);
  if (arg.is_value()) arg.value()->uses_.push_back({this, i});
  inputs_[i] = std::move(arg);
}

void Node::add_input(Arg arg) {
  if (arg.is_value()) arg.value()->uses_.push_back({this, inputs_.size()});
  inputs_.push_back(std::move(arg));
}

void Node::remove_input(size_t i) {
  TORCH_CHECK(i < inputs_.size(), "remove_input: index ", i, " out of range for ", qualified_op(), " with ",
              inputs_.size(), " inputs");
  if (inputs_[i].is_value()) remove_use(inputs_[i].value(), this, i, inputs_[i].value()->uses_);
  // Later arguments shift down by one; their uses must follow.
  for (size_t j = i + 1; j < inputs_.size(); ++j) {
    if (!inputs_[j].is_value()) continue;
    for (Use& u : inputs_[j].value()->uses_) {
      if (u.user == this && u.index == j) {
        u.index = j - 1;
        break;
      }
    }
  }
  inputs_.erase(inputs_.begin() + static_cast<std::ptrdiff_t>(i));
}

size_t Node::position() const {
  return static_cast<size_t>(
      std::distance(graph_->nodes_.cbegin(), std::list<std::unique_ptr<Node>>::const_iterator(self_)));
}

// ---- Graph ----------------------------------------------------------------------------------

Graph::Graph(Graph&& other) noexcept
    : inputs_(std::move(other.inputs_)),
      outputs_(std::move(other.outputs_)),
      nodes_(std::move(other.nodes_)),
      values_(std::move(other.values_)),
      next_id_(other.next_id_) {
  for (auto it = nodes_.begin(); it != nodes_.end(); ++it) {
    (*it)->graph_ = this;
    (*it)->self_ = it;
  }
  for (auto& v : values_) v->graph_ = this;
  other.next_id_ = 0;
}

Graph& Graph::operator=(Graph&& other) noexcept {
  if (this == &other) return *this;
  inputs_ = std::move(other.inputs_);
  outputs_ = std::move(other.outputs_);
  nodes_ = std::move(other.nodes_);
  values_ = std::move(other.values_);
  next_id_ = other.next_id_;
  for (auto it = nodes_.begin(); it != nodes_.end(); ++it) {
    (*it)->graph_ = this;
    (*it)->self_ = it;
  }
  for (auto& v : values_) v->graph_ = this;
  other.inputs_.clear();
  other.outputs_.clear();
  other.nodes_.clear();
  other.values_.clear();
  other.next_id_ = 0;
  return *this;
}

Graph::~Graph() = default;

Graph Graph::clone() const {
  Graph g;
  std::unordered_map<const Value*, Value*> map;
  for (Value* in : inputs_) {
    map[in] = g.add_input(in->name(), in->type(), in->role());
    map[in]->set_shape(in->shape());
  }
  for (const auto& n : nodes_) {
    std::vector<Arg> args;
    args.reserve(n->inputs_.size());
    for (const Arg& a : n->inputs_) {
      if (a.is_constant()) {
        args.emplace_back(a.constant());
        continue;
      }
      // A value of another graph (only possible in a graph that fails verify) stays as it is.
      auto it = map.find(a.value());
      args.emplace_back(it == map.end() ? a.value() : it->second);
    }
    std::vector<std::string> types, names;
    for (Value* out : n->outputs_) {
      types.push_back(out->type());
      names.push_back(out->name());
    }
    Node* copy = g.create_node(n->qualified_op(), std::move(args), types, n->scope_, nullptr, names);
    copy->inplace_hint_ = n->inplace_hint_;
    copy->nncf_name_ = n->nncf_name_;
    copy->module_ = n->module_;
    copy->runs_in_ = n->runs_in_;
    for (size_t i = 0; i < n->outputs_.size(); ++i) map[n->outputs_[i]] = copy->outputs_[i];
  }
  for (Value* out : outputs_) {
    auto it = map.find(out);
    g.outputs_.push_back(it == map.end() ? out : it->second);
  }
  g.next_id_ = next_id_;
  return g;
}

Value* Graph::new_value(std::string name, std::string type) {
  values_.push_back(std::unique_ptr<Value>(new Value(this, std::move(name), std::move(type))));
  return values_.back().get();
}

Value* Graph::add_input(const std::string& name, const std::string& type, InputRole role) {
  Value* v = new_value(name, type);
  v->index_ = inputs_.size();
  v->role_ = role;
  inputs_.push_back(v);
  return v;
}

Value* Graph::find_input(std::string_view name) const {
  for (Value* v : inputs_) {
    if (v->name() == name) return v;
  }
  return nullptr;
}

Value* Graph::training_input() const {
  for (Value* v : inputs_) {
    if (v->role() == InputRole::Training) return v;
  }
  return nullptr;
}

void Graph::add_output(Value* v) {
  TORCH_CHECK(v != nullptr, "add_output: null value");
  outputs_.push_back(v);
}

void Graph::set_output(size_t i, Value* v) {
  TORCH_CHECK(v != nullptr, "set_output: null value");
  TORCH_CHECK(i < outputs_.size(), "set_output: index ", i, " out of range for ", outputs_.size(),
              " outputs");
  outputs_[i] = v;
}

Node* Graph::create_node(std::string_view op, std::vector<Arg> inputs,
                         const std::vector<std::string>& output_types, std::string scope, Node* before,
                         const std::vector<std::string>& output_names) {
  TORCH_CHECK(output_names.empty() || output_names.size() == output_types.size(), "create_node(", op,
              "): ", output_names.size(), " output names for ", output_types.size(), " outputs");
  TORCH_CHECK(before == nullptr || before->graph_ == this, "create_node(", op,
              "): `before` is not a node of this graph");
  auto [name, overload] = split_overload(op);
  std::unique_ptr<Node> node(new Node(this, std::move(name), std::move(overload)));
  Node* n = node.get();
  n->scope_ = std::move(scope);
  for (const Arg& a : inputs) {
    TORCH_CHECK(!a.is_value() || a.value() != nullptr, "create_node(", op, "): null value argument");
  }
  n->inputs_ = std::move(inputs);
  for (size_t i = 0; i < n->inputs_.size(); ++i) {
    if (n->inputs_[i].is_value()) n->inputs_[i].value()->uses_.push_back({n, i});
  }
  for (size_t i = 0; i < output_types.size(); ++i) {
    std::string out_name;
    if (!output_names.empty()) {
      out_name = output_names[i];
    } else {
      do {
        out_name = std::to_string(++next_id_);
      } while (find_value(out_name) != nullptr);
    }
    Value* v = new_value(std::move(out_name), output_types[i]);
    v->producer_ = n;
    v->index_ = i;
    n->outputs_.push_back(v);
  }
  auto pos = before == nullptr ? nodes_.end() : before->self_;
  n->self_ = nodes_.insert(pos, std::move(node));
  return n;
}

void Graph::erase_node(Node* node) {
  TORCH_CHECK(node != nullptr && node->graph_ == this, "erase_node: not a node of this graph");
  for (Value* out : node->outputs_) {
    TORCH_CHECK(out->uses_.empty(), "erase_node: output %", out->name(), " of ", node->qualified_op(),
                " (scope ", node->scope_, ") still has ", out->uses_.size(), " use(s)");
    TORCH_CHECK(std::find(outputs_.begin(), outputs_.end(), out) == outputs_.end(), "erase_node: output %",
                out->name(), " of ", node->qualified_op(), " (scope ", node->scope_, ") is a graph output");
  }
  for (size_t i = 0; i < node->inputs_.size(); ++i) {
    if (node->inputs_[i].is_value())
      remove_use(node->inputs_[i].value(), node, i, node->inputs_[i].value()->uses_);
  }
  for (Value* out : node->outputs_) {
    auto it = std::find_if(values_.begin(), values_.end(), [&](const auto& p) { return p.get() == out; });
    values_.erase(it);
  }
  nodes_.erase(node->self_);
}

void Graph::move_before(Node* node, Node* before) {
  TORCH_CHECK(node != nullptr && node->graph_ == this && before != nullptr && before->graph_ == this,
              "move_before: nodes must belong to this graph");
  if (node == before) return;
  nodes_.splice(before->self_, nodes_, node->self_);
}

Node* Graph::find_node(std::string_view scope) const {
  for (const auto& n : nodes_) {
    if (n->scope_ == scope) return n.get();
  }
  return nullptr;
}

std::string Graph::unique_name(std::string_view hint) const {
  if (hint.empty()) {
    for (size_t i = 1;; ++i) {
      std::string name = std::to_string(i);
      if (find_value(name) == nullptr) return name;
    }
  }
  if (find_value(hint) == nullptr) return std::string(hint);
  for (size_t i = 1;; ++i) {
    std::string name = std::string(hint) + "." + std::to_string(i);
    if (find_value(name) == nullptr) return name;
  }
}

Value* Graph::find_value(std::string_view name) const {
  for (const auto& v : values_) {
    if (v->name() == name) return v.get();
  }
  return nullptr;
}

}  // namespace nncf::ir
