#include "nncf/passes/channel_groups.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <numeric>
#include <optional>
#include <sstream>
#include <unordered_map>

namespace nncf::passes {

const char* to_string(ChannelConsumer::Kind kind) {
  using K = ChannelConsumer::Kind;
  switch (kind) {
    case K::Conv:
      return "conv";
    case K::ConvTranspose:
      return "conv_transpose";
    case K::Linear:
      return "linear";
    case K::BatchNorm:
      return "batch_norm";
    case K::Depthwise:
      return "depthwise";
    case K::Cat:
      return "cat";
  }
  return "?";
}

std::string to_string(const ChannelGroup& group) {
  std::ostringstream os;
  os << "[" << group.channels << "] " << (group.prunable ? "prunable" : "not_prunable") << " producers=";
  for (size_t i = 0; i < group.producers.size(); ++i)
    os << (i ? "," : "") << group.producers[i].node->scope();
  os << " consumers=";
  for (size_t i = 0; i < group.consumers.size(); ++i) {
    const ChannelConsumer& c = group.consumers[i];
    os << (i ? "," : "") << c.node->scope() << ":" << to_string(c.kind) << "@" << c.offset;
    if (c.factor != 1) os << "*" << c.factor;
  }
  if (!group.prunable) {
    os << " not prunable:";
    for (const std::string& r : group.reasons) os << " " << r << ";";
  }
  return os.str();
}

namespace {

using Kind = ChannelConsumer::Kind;
using ir::Metatype;

// Note [Channel layouts]: the channel axis of a tracked value is a run of whole producer channel
// sets side by side (several only after a channel concatenation). `flat` means the channel axis is
// also the last one (a linear output, or a flatten of a conv output whose spatial positions then
// follow each channel); conv outputs keep their channels at dim 1, ahead of spatial dims.
struct Segment {
  int set;
  int64_t size;
};
struct Layout {
  std::vector<Segment> segments;
  bool flat = false;
  int64_t total() const {
    int64_t n = 0;
    for (const Segment& s : segments) n += s.size;
    return n;
  }
};

std::string where(const ir::Node* n) {
  return n->qualified_op() + " at " + n->scope();
}

std::optional<int64_t> const_int(const ir::Node* n, size_t i) {
  if (i >= n->inputs().size() || !n->input(i).is_constant()) return std::nullopt;
  const ir::Constant& c = n->input(i).constant();
  if (c.kind() != ir::Constant::Kind::Int) return std::nullopt;
  return c.to_int();
}

bool is_cat(const ir::Node* n) {
  return n->op() == "aten::cat" || n->op() == "aten::concat";
}

class Analyzer {
 public:
  explicit Analyzer(const ChannelGroups::WeightShapes& shapes) : shapes_(shapes) {}

  void visit(const ir::Node* n);
  void finish_outputs(const ir::Graph& g);
  std::vector<ChannelGroup> groups() const;

 private:
  int find(int s) const {
    while (parent_[s] != s) s = parent_[s];
    return s;
  }
  void unite(int a, int b) {
    a = find(a), b = find(b);
    if (a != b) parent_[std::max(a, b)] = std::min(a, b);
  }
  const Layout* layout(const ir::Arg& a) const {
    if (!a.is_value()) return nullptr;
    auto it = layouts_.find(a.value());
    return it == layouts_.end() ? nullptr : &it->second;
  }
  const std::vector<int64_t>* weight_shape(const ir::Arg& a) const {
    if (!a.is_value() || !a.value()->is_graph_input() || a.value()->role() != ir::InputRole::Parameter)
      return nullptr;
    auto it = shapes_.find(a.value()->name());
    return it == shapes_.end() || it->second.size() < 2 ? nullptr : &it->second;
  }
  void block(const Layout& l, const std::string& reason) {
    for (const Segment& s : l.segments) reasons_.emplace_back(s.set, reason);
  }
  void block_inputs(const ir::Node* n, const std::string& reason) {
    for (const ir::Arg& a : n->inputs())
      if (const Layout* l = layout(a)) block(*l, reason);
  }
  void consume(const Layout& l, const ir::Node* n, Kind kind, int64_t factor = 1) {
    int64_t offset = 0;
    for (const Segment& s : l.segments) {
      consumers_.emplace_back(s.set, ChannelConsumer{n, kind, offset, factor});
      offset += s.size;
    }
  }
  void set_outputs(const ir::Node* n, const Layout& l) {
    for (const ir::Value* v : n->outputs())
      if (v->is_tensor()) layouts_[v] = l;
  }
  // A new channel set for `n`'s output (joined with earlier layers of the same weight).
  Layout produce(const ir::Node* n, const ir::Arg& weight, int64_t channels, bool flat) {
    const int s = static_cast<int>(parent_.size());
    parent_.push_back(s);
    producers_.emplace_back(s, ChannelProducer{n, channels});
    auto [it, fresh] = weight_sets_.emplace(weight.value()->name(), s);
    if (!fresh) unite(it->second, s);
    return Layout{{{s, channels}}, flat};
  }
  // Elementwise semantics: channel i of `a` meets channel i of `b`.
  bool tie(const Layout& a, const Layout& b, const ir::Node* n) {
    bool same = a.flat == b.flat && a.segments.size() == b.segments.size();
    for (size_t i = 0; same && i < a.segments.size(); ++i) same = a.segments[i].size == b.segments[i].size;
    if (!same) {
      const std::string r = where(n) + " combines " + std::to_string(a.total()) + " and " +
                            std::to_string(b.total()) + " channels laid out differently";
      block(a, r), block(b, r);
      return false;
    }
    for (size_t i = 0; i < a.segments.size(); ++i) unite(a.segments[i].set, b.segments[i].set);
    return true;
  }
  // Ties every tracked tensor among `args`; blocks them all when some are untracked.
  void tie_all(const ir::Node* n, const std::vector<const ir::Value*>& args) {
    const Layout* first = nullptr;
    bool untracked = false;
    for (const ir::Value* v : args) {
      auto it = layouts_.find(v);
      if (it == layouts_.end()) {
        untracked = true;
      } else if (first == nullptr) {
        first = &it->second;
      } else {
        tie(*first, it->second, n);
      }
    }
    if (first == nullptr) return;
    if (untracked) {
      for (const ir::Value* v : args)
        if (auto it = layouts_.find(v); it != layouts_.end())
          block(it->second, where(n) + " combines them with a tensor of unknown channels");
    }
    set_outputs(n, *first);
  }

  void visit_conv(const ir::Node* n, bool transposed);
  void visit_linear(const ir::Node* n);
  void visit_reshape(const ir::Node* n);
  void visit_reduce(const ir::Node* n);
  void visit_cat(const ir::Node* n);
  void visit_construct(const ir::Node* n);
  // Input 0's layout, if tracked, becomes the layout of `n`'s outputs.
  void pass_through(const ir::Node* n) {
    if (const Layout* x = layout(n->input(0))) set_outputs(n, *x);
  }
  void not_followed(const ir::Node* n) {
    block_inputs(n, "read by " + where(n) + ", which the analysis does not follow");
  }

  const ChannelGroups::WeightShapes& shapes_;
  std::unordered_map<const ir::Value*, Layout> layouts_;
  std::unordered_map<const ir::Value*, std::vector<const ir::Value*>> lists_;  // ListConstruct elements
  std::unordered_map<std::string, int> weight_sets_;
  std::vector<int> parent_;
  std::vector<std::pair<int, ChannelProducer>> producers_;
  std::vector<std::pair<int, ChannelConsumer>> consumers_;
  std::vector<std::pair<int, std::string>> reasons_;
};

void Analyzer::visit_conv(const ir::Node* n, bool transposed) {
  const std::vector<int64_t>* w = weight_shape(n->input(1));
  const std::optional<int64_t> groups =
      const_int(n, 6);  // conv2d(x, w, b, stride, padding, dilation, groups)
  if (w == nullptr || !groups || *groups < 1) {
    block_inputs(n, "read by " + where(n) + ", whose weight shape or groups are unknown");
    return;
  }
  // conv: weight [out, in / groups, k...]; conv_transpose: [in, out / groups, k...]
  const int64_t in = transposed ? (*w)[0] : (*w)[1] * *groups;
  const int64_t out = transposed ? (*w)[1] * *groups : (*w)[0];
  const Layout* x = layout(n->input(0));
  if (x != nullptr && x->flat) {
    block(*x, "read by " + where(n) + " from a flattened tensor");
    x = nullptr;
  }
  if (x != nullptr && x->total() != in) {
    block(*x, where(n) + " expects " + std::to_string(in) + " channels, got " + std::to_string(x->total()));
    x = nullptr;
  }
  if (*groups == 1) {
    if (x != nullptr) consume(*x, n, transposed ? Kind::ConvTranspose : Kind::Conv);
    set_outputs(n, produce(n, n->input(1), out, false));
    return;
  }
  if (!transposed && *groups == in && out == in) {
    // Depthwise: output channel c is input channel c filtered; it follows its input's group.
    if (x != nullptr) {
      consume(*x, n, Kind::Depthwise);
      set_outputs(n, *x);
    }
    return;
  }
  const std::string r = "grouped convolution " + n->scope() + " (groups=" + std::to_string(*groups) + ")";
  if (x != nullptr) block(*x, "read by " + r);
  Layout y = produce(n, n->input(1), out, false);
  block(y, r);
  set_outputs(n, y);
}

void Analyzer::visit_linear(const ir::Node* n) {
  const std::vector<int64_t>* w = weight_shape(n->input(1));
  const Layout* x = layout(n->input(0));
  if (w == nullptr) {
    block_inputs(n, "read by " + where(n) + ", whose weight shape is unknown");
    return;
  }
  const int64_t in = (*w)[1];
  if (x != nullptr) {
    const int64_t c = x->total();
    if (!x->flat)
      block(*x, "read by " + where(n) + " along an axis that is not the channel axis");
    else if (in % c != 0)
      block(*x,
            where(n) + " reads " + std::to_string(in) + " features from " + std::to_string(c) + " channels");
    else
      consume(*x, n, Kind::Linear, in / c);
  }
  set_outputs(n, produce(n, n->input(1), (*w)[0], true));
}

// flatten(x, 1) and view/reshape to [n, -1] make the channels flat (Note [Channel layouts]).
void Analyzer::visit_reshape(const ir::Node* n) {
  const Layout* x = layout(n->input(0));
  if (x == nullptr) return;
  if (n->op() == "aten::contiguous") return set_outputs(n, *x);
  bool to_rows = false;
  if (n->op() == "aten::flatten") {
    to_rows = const_int(n, 1) == 1 && const_int(n, 2) == -1;
  } else if ((n->op() == "aten::view" || n->op() == "aten::reshape") && n->inputs().size() == 2) {
    const ir::Arg& shape = n->input(1);
    if (shape.is_constant() && shape.constant().kind() == ir::Constant::Kind::IntList) {
      const std::vector<int64_t>& s = shape.constant().to_int_list();
      to_rows = s.size() == 2 && s[1] == -1;
    } else if (shape.is_value() && shape.value()->producer() != nullptr) {
      const ir::Node* list = shape.value()->producer();
      to_rows = list->op() == "prim::ListConstruct" && list->inputs().size() == 2 && const_int(list, 1) == -1;
    }
  }
  if (!to_rows) return not_followed(n);
  Layout y = *x;
  y.flat = true;
  set_outputs(n, y);
}

// mean/sum over spatial dims keeps the channels; without keepdim they become flat.
void Analyzer::visit_reduce(const ir::Node* n) {
  const Layout* x = layout(n->input(0));
  if (x == nullptr) return;
  bool spatial = !x->flat && n->inputs().size() >= 3 && n->input(1).is_constant() &&
                 n->input(1).constant().kind() == ir::Constant::Kind::IntList && n->input(2).is_constant() &&
                 n->input(2).constant().kind() == ir::Constant::Kind::Bool;
  if (spatial) {
    const std::vector<int64_t>& dims = n->input(1).constant().to_int_list();
    spatial = !dims.empty() && std::all_of(dims.begin(), dims.end(), [](int64_t d) { return d >= 2; });
  }
  if (!spatial) return not_followed(n);
  Layout y = *x;
  y.flat = !n->input(2).constant().to_bool();
  set_outputs(n, y);
}

void Analyzer::visit_cat(const ir::Node* n) {
  const ir::Arg& list = n->input(0);
  auto elements = list.is_value() ? lists_.find(list.value()) : lists_.end();
  const std::optional<int64_t> dim = const_int(n, 1);
  if (elements == lists_.end()) return;  // no tracked tensors (visit_construct records only those)
  std::vector<const Layout*> parts;
  for (const ir::Value* v : elements->second) {
    auto it = layouts_.find(v);
    parts.push_back(it == layouts_.end() ? nullptr : &it->second);
  }
  const bool flat = parts.front() != nullptr && parts.front()->flat;
  const bool channel_dim = dim && (flat ? *dim == -1 : *dim == 1);
  const bool other_dim = dim && (*dim == 0 || (!flat && *dim >= 2));
  if (other_dim) return tie_all(n, elements->second);
  bool ok = channel_dim;
  for (const Layout* p : parts) ok = ok && p != nullptr && p->flat == flat;
  if (!ok) {
    const std::string r = dim && !channel_dim
                              ? "concatenated by " + where(n) + " along an unknown axis"
                              : "concatenated by " + where(n) + " with tensors of unknown channels";
    for (const Layout* p : parts)
      if (p != nullptr) block(*p, r);
    return;
  }
  Layout y{{}, flat};
  for (const Layout* p : parts) y.segments.insert(y.segments.end(), p->segments.begin(), p->segments.end());
  consume(y, n, Kind::Cat);
  set_outputs(n, y);
}

// Lists of tracked tensors are followed into aten::cat only.
void Analyzer::visit_construct(const ir::Node* n) {
  std::vector<const ir::Value*> elements;
  bool tracked = false;
  for (const ir::Arg& a : n->inputs()) {
    if (!a.is_value()) {
      elements.push_back(nullptr);
      continue;
    }
    elements.push_back(a.value());
    tracked = tracked || layout(a) != nullptr;
  }
  if (!tracked) return;
  bool into_cat = n->op() == "prim::ListConstruct";
  for (const ir::Use& u : n->output()->uses()) into_cat = into_cat && u.index == 0 && is_cat(u.user);
  if (!into_cat) return block_inputs(n, "packed by " + where(n));
  lists_[n->output()] = std::move(elements);
}

void Analyzer::visit(const ir::Node* n) {
  if (n->op() == "aten::conv1d" || n->op() == "aten::conv2d" || n->op() == "aten::conv3d")
    return visit_conv(n, false);
  if (n->op().rfind("aten::conv_transpose", 0) == 0) return visit_conv(n, true);
  if (n->op() == "aten::linear") return visit_linear(n);
  if (n->op() == "aten::batch_norm") {
    if (const Layout* x = layout(n->input(0))) {
      consume(*x, n, Kind::BatchNorm);
      set_outputs(n, *x);
    }
    return;
  }
  if (is_cat(n)) return visit_cat(n);
  // Not PReLU (its per-channel slope would have to be pruned with the channels) nor Softmax
  // (it mixes channels): both fall to the default, not followed.
  if (ir::is_elementwise_activation(n->metatype())) return pass_through(n);
  switch (n->metatype()) {
    case Metatype::MaxPool:
    case Metatype::AvgPool:
    case Metatype::AdaptiveAvgPool:
    case Metatype::AdaptiveMaxPool:
    case Metatype::Dropout:
    case Metatype::Interpolate:
      return pass_through(n);
    case Metatype::Pad: {
      const Layout* x = layout(n->input(0));
      const bool spatial = x != nullptr && !x->flat && n->inputs().size() >= 2 && n->input(1).is_constant() &&
                           n->input(1).constant().kind() == ir::Constant::Kind::IntList &&
                           n->input(1).constant().to_int_list().size() <= 4;
      if (spatial) return set_outputs(n, *x);
      return not_followed(n);
    }
    case Metatype::Add:
    case Metatype::Sub:
    case Metatype::Mul:
    case Metatype::Div: {
      std::vector<const ir::Value*> tensors;
      for (size_t i = 0; i < std::min<size_t>(2, n->inputs().size()); ++i)
        if (n->input(i).is_value() && n->input(i).value()->is_tensor())
          tensors.push_back(n->input(i).value());
      return tie_all(n, tensors);
    }
    case Metatype::ModeSelect:
      return tie_all(n, {n->input(1).value(), n->input(2).value()});
    case Metatype::Construct:
      return visit_construct(n);
    case Metatype::Reshape:
      return visit_reshape(n);
    case Metatype::Mean:
    case Metatype::Sum:
      return visit_reduce(n);
    case Metatype::Size:
      return;  // reads sizes only
    default:
      return not_followed(n);
  }
}

void Analyzer::finish_outputs(const ir::Graph& g) {
  for (const ir::Value* v : g.outputs()) {
    if (auto it = layouts_.find(v); it != layouts_.end()) block(it->second, "reaches the model output");
  }
}

std::vector<ChannelGroup> Analyzer::groups() const {
  std::vector<ChannelGroup> out;
  std::unordered_map<int, size_t> index;  // root set -> group
  for (const auto& [s, p] : producers_) {
    auto [it, fresh] = index.emplace(find(s), out.size());
    if (fresh) {
      out.emplace_back();
      out.back().channels = p.channels;
    }
    ChannelGroup& g = out[it->second];
    g.producers.push_back(p);
    if (p.channels != g.channels) {
      g.reasons.push_back("ties producers with " + std::to_string(g.channels) + " and " +
                          std::to_string(p.channels) + " channels");
    }
  }
  for (const auto& [s, c] : consumers_) out.at(index.at(find(s))).consumers.push_back(c);
  for (const auto& [s, r] : reasons_) {
    std::vector<std::string>& rs = out.at(index.at(find(s))).reasons;
    if (std::find(rs.begin(), rs.end(), r) == rs.end()) rs.push_back(r);
  }
  for (ChannelGroup& g : out) g.prunable = g.reasons.empty();
  return out;
}

}  // namespace

ChannelGroups::ChannelGroups(const ir::Graph& graph, const WeightShapes& weight_shapes) {
  Analyzer a(weight_shapes);
  for (const ir::Node* n : graph.nodes()) a.visit(n);
  a.finish_outputs(graph);
  groups_ = a.groups();
}

const ChannelGroup* ChannelGroups::group_of(std::string_view producer_scope) const {
  for (const ChannelGroup& g : groups_)
    for (const ChannelProducer& p : g.producers)
      if (p.node->scope() == producer_scope) return &g;
  return nullptr;
}

}  // namespace nncf::passes
