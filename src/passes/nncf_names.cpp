#include "nncf/passes/nncf_names.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace nncf::passes {

namespace {

using ir::InputRole;
using ir::Node;
using ir::Value;

// "layer1.0.conv1" -> "layer1.0"; "conv1" -> "" (the root); "" -> "".
std::string parent_path(const std::string& path) {
  const size_t dot = path.rfind('.');
  return dot == std::string::npos ? std::string() : path.substr(0, dot);
}

// Whether module `outer` strictly encloses module `inner` ("" encloses every other module).
bool encloses(const std::string& outer, const std::string& inner) {
  if (inner.size() <= outer.size()) return false;
  if (outer.empty()) return true;
  return inner.compare(0, outer.size(), outer) == 0 && inner[outer.size()] == '.';
}

// The module classes NNCF replaces by its wrappers. The normalization wrappers came later than the
// others (NNCF 2.x before them printed `BatchNorm2d[bn1]`): nncf_name_variants undoes only those.
const std::map<std::string, std::string>& wrappers() {
  static const std::map<std::string, std::string> m = {
      {"Conv1d", "NNCFConv1d"},
      {"Conv2d", "NNCFConv2d"},
      {"Conv3d", "NNCFConv3d"},
      {"ConvTranspose1d", "NNCFConvTranspose1d"},
      {"ConvTranspose2d", "NNCFConvTranspose2d"},
      {"ConvTranspose3d", "NNCFConvTranspose3d"},
      {"Linear", "NNCFLinear"},
      {"Embedding", "NNCFEmbedding"},
      {"EmbeddingBag", "NNCFEmbeddingBag"},
      {"BatchNorm1d", "NNCFBatchNorm1d"},
      {"BatchNorm2d", "NNCFBatchNorm2d"},
      {"BatchNorm3d", "NNCFBatchNorm3d"},
      {"LayerNorm", "NNCFLayerNorm"},
      {"GroupNorm", "NNCFGroupNorm"},
  };
  return m;
}
bool is_late_wrapper(const std::string& unwrapped) {
  return unwrapped.rfind("BatchNorm", 0) == 0 || unwrapped == "LayerNorm" || unwrapped == "GroupNorm";
}

// Ops NNCF does not put in its graph: structure, sizes and number conversions (its patching
// skips them, or they are not tensor functions at all).
bool untraced(const std::string& ns, const std::string& name) {
  static const std::unordered_set<std::string> skipped = {
      "size", "Int",   "Float", "Bool",   "NumToTensor", "ScalarImplicit",
      "dim",  "numel", "to",    "detach", "item"};
  return ns != "aten" || skipped.count(name) != 0;
}

// Ops that model code calls through `torch.nn.functional`, which NNCF patches by its Python name:
// the in-place flavour (`F.hardtanh(x, inplace=True)` runs `hardtanh_`) keeps that name. `relu`
// is not among them: NNCF skips `F.relu` and traces the `torch.relu` / `torch.relu_` it calls.
const std::unordered_map<std::string, std::string>& functional_names() {
  static const std::unordered_map<std::string, std::string> m = {
      {"hardtanh", "hardtanh"},
      {"relu6", "relu6"},
      {"elu", "elu"},
      {"celu", "celu"},
      {"selu", "selu"},
      {"leaky_relu", "leaky_relu"},
      {"rrelu", "rrelu"},
      {"hardswish", "hardswish"},
      {"hardsigmoid", "hardsigmoid"},
      {"silu", "silu"},
      {"mish", "mish"},
      {"threshold", "threshold"},
      {"dropout", "dropout"},
      {"alpha_dropout", "alpha_dropout"},
      {"feature_dropout", "dropout2d"},
      {"feature_alpha_dropout", "feature_alpha_dropout"},
      {"constant_pad_nd", "pad"},
      {"upsample_nearest1d", "interpolate"},
      {"upsample_nearest2d", "interpolate"},
      {"upsample_nearest3d", "interpolate"},
      {"upsample_linear1d", "interpolate"},
      {"upsample_bilinear2d", "interpolate"},
      {"upsample_bicubic2d", "interpolate"},
      {"upsample_trilinear3d", "interpolate"},
  };
  return m;
}

// Python operators: `x + y` is `__add__`, `x += y` is `__iadd__`.
const std::unordered_map<std::string, std::pair<std::string, std::string>>& operators() {
  static const std::unordered_map<std::string, std::pair<std::string, std::string>> m = {
      {"add", {"__add__", "__iadd__"}},
      {"sub", {"__sub__", "__isub__"}},
      {"mul", {"__mul__", "__imul__"}},
      {"div", {"__truediv__", "__itruediv__"}},
      {"rsub", {"__rsub__", "__rsub__"}},
      {"pow", {"__pow__", "__ipow__"}},
      {"select", {"__getitem__", "__getitem__"}},
      {"slice", {"__getitem__", "__getitem__"}},
      {"index", {"__getitem__", "__getitem__"}},
      {"eq", {"__eq__", "__eq__"}},
      {"ne", {"__ne__", "__ne__"}},
      {"lt", {"__lt__", "__lt__"}},
      {"gt", {"__gt__", "__gt__"}},
      {"le", {"__le__", "__le__"}},
      {"ge", {"__ge__", "__ge__"}},
      {"neg", {"__neg__", "__neg__"}},
      {"bitwise_and", {"__and__", "__iand__"}},
      {"bitwise_or", {"__or__", "__ior__"}},
  };
  return m;
}

// The ops a parameterless module of a class runs: the evidence that attributes a functional-looking
// op of a C++ module to such a child module.
bool runs(const std::string& cls, const std::string& op) {
  static const std::unordered_map<std::string, std::vector<std::string>> m = {
      {"ReLU", {"relu", "relu_"}},
      {"ReLU6", {"hardtanh", "relu6"}},
      {"Hardtanh", {"hardtanh"}},
      {"Sigmoid", {"sigmoid"}},
      {"Tanh", {"tanh"}},
      {"SiLU", {"silu"}},
      {"GELU", {"gelu"}},
      {"Hardswish", {"hardswish"}},
      {"Hardsigmoid", {"hardsigmoid"}},
      {"LeakyReLU", {"leaky_relu"}},
      {"ELU", {"elu"}},
      {"Softmax", {"softmax"}},
      {"LogSoftmax", {"log_softmax"}},
      {"MaxPool1d", {"max_pool1d"}},
      {"MaxPool2d", {"max_pool2d"}},
      {"MaxPool3d", {"max_pool3d"}},
      {"AvgPool1d", {"avg_pool1d"}},
      {"AvgPool2d", {"avg_pool2d"}},
      {"AvgPool3d", {"avg_pool3d"}},
      {"AdaptiveAvgPool1d", {"adaptive_avg_pool1d"}},
      {"AdaptiveAvgPool2d", {"adaptive_avg_pool2d"}},
      {"AdaptiveAvgPool3d", {"adaptive_avg_pool3d"}},
      {"AdaptiveMaxPool2d", {"adaptive_max_pool2d"}},
      {"Dropout", {"dropout"}},
      {"Dropout2d", {"dropout2d"}},
      {"Flatten", {"flatten"}},
      {"Upsample", {"interpolate"}},
      {"ZeroPad2d", {"pad"}},
      {"ConstantPad2d", {"pad"}},
  };
  auto it = m.find(cls);
  return it != m.end() && std::find(it->second.begin(), it->second.end(), op) != it->second.end();
}

// Values computed from the model's data inputs: NNCF traces only ops on those.
std::unordered_set<const Value*> activations(const ir::Graph& graph) {
  std::unordered_set<const Value*> acts;
  for (const Value* in : graph.inputs())
    if (in->role() == InputRole::Data) acts.insert(in);
  for (const Node* n : graph.nodes()) {
    const bool derived = std::any_of(n->inputs().begin(), n->inputs().end(), [&](const ir::Arg& a) {
      return a.is_value() && acts.count(a.value()) != 0;
    });
    if (!derived) continue;
    for (const Value* out : n->outputs()) acts.insert(out);
  }
  return acts;
}

// The module path of the first parameter argument, else of the first buffer argument.
std::optional<std::string> owner(const Node* n) {
  for (InputRole role : {InputRole::Parameter, InputRole::Buffer}) {
    for (const ir::Arg& a : n->inputs()) {
      if (a.is_value() && a.value()->is_graph_input() && a.value()->role() == role &&
          a.value()->name().rfind("nncf_constants.", 0) != 0) {
        return parent_path(a.value()->name());
      }
    }
  }
  return std::nullopt;
}

bool is_container(const std::string& cls) {
  return cls == "Sequential" || cls == "ModuleList" || cls == "ModuleDict";
}

size_t depth_of(const std::string& path) {
  return path.empty() ? 0 : 1 + static_cast<size_t>(std::count(path.begin(), path.end(), '.'));
}

// Note [Ops after a block's last module]: data flow cannot tell whether the ops after the last
// module of a block (BasicBlock's final relu, or the pool and flatten after ResNet's last block)
// run in that block's forward or in its caller's; the inference keeps them in the block. Where
// other instances of the same class end with fewer such ops (every other BasicBlock ends with its
// relu), the extra ones are the caller's: they move up to the parent, deepest blocks first, and
// are compared again there (the pool and flatten after the last Sequential are ResNet's). Those of
// a container (Sequential, ModuleList) always move: its forward runs nothing of its own. An op
// that reads a value from outside the block (the residual add of the block's input) is the
// block's own, and so is everything before it. A class with one instance keeps what the
// inference gave it.
void hoist_trailing_ops(const ir::Graph& graph, const std::unordered_set<const Node*>& inferred,
                        const std::unordered_map<const Node*, size_t>& order,
                        const std::map<std::string, std::string>& module_classes,
                        std::unordered_map<const Node*, std::string>& module_of) {
  auto prefix = [](const std::string& path, size_t depth) {
    size_t end = 0;
    for (size_t i = 0; i < depth && end != std::string::npos; ++i) end = path.find('.', i == 0 ? 0 : end + 1);
    return end == std::string::npos ? path : path.substr(0, end);
  };
  auto inside = [](const std::string& block, const std::string& m) {
    return m == block || encloses(block, m);
  };
  size_t deepest = 0;
  for (const auto& [path, cls] : module_classes) deepest = std::max(deepest, depth_of(path));
  for (size_t depth = deepest; depth >= 1; --depth) {
    // The last op that runs inside each block of this depth, other than the block's own inferred ops.
    std::map<std::string, size_t> last_inside;
    std::map<std::string, std::vector<const Node*>> own;  // the block's own inferred ops, in order
    for (const Node* n : graph.nodes()) {
      if (nncf_op_name(*n).empty()) continue;
      const std::string& m = module_of.at(n);
      if (depth_of(m) < depth) continue;
      if (inferred.count(n) && depth_of(m) == depth) {
        own[m].push_back(n);
        continue;
      }
      size_t& last = last_inside[prefix(m, depth)];
      last = std::max(last, order.at(n));
    }
    // The trailing ops of each block that ran here, by class; `pinned`: how many of them stay
    // whatever the other instances do.
    struct Tail {
      std::vector<const Node*> ops;
      size_t pinned = 0;
    };
    std::map<std::string, std::map<std::string, Tail>> tails;  // class -> block -> tail
    for (const auto& [block, last] : last_inside) {
      auto cls = module_classes.find(block);
      if (cls == module_classes.end()) continue;
      Tail& tail = tails[cls->second][block];
      for (const Node* n : own[block]) {
        if (order.at(n) < last) continue;
        tail.ops.push_back(n);
        for (const ir::Arg& a : n->inputs()) {
          if (!a.is_value() || a.value()->is_graph_input() || a.value()->producer() == nullptr) continue;
          auto producer = module_of.find(a.value()->producer());
          if (producer != module_of.end() && !inside(block, producer->second)) tail.pinned = tail.ops.size();
        }
      }
    }
    for (auto& [cls, blocks] : tails) {
      if (is_container(cls)) {
        // A container's forward runs its children and nothing else.
        for (auto& [block, tail] : blocks)
          for (const Node* n : tail.ops) module_of[n] = parent_path(block);
        continue;
      }
      if (blocks.size() < 2) continue;
      // The longest run of op names every instance ends with, from the block's last module on.
      const std::vector<const Node*>& first = blocks.begin()->second.ops;
      size_t common = first.size();
      for (const auto& [block, tail] : blocks) {
        size_t k = 0;
        while (k < common && k < tail.ops.size() && nncf_op_name(*tail.ops[k]) == nncf_op_name(*first[k]))
          ++k;
        common = k;
      }
      for (auto& [block, tail] : blocks)
        for (size_t k = std::max(common, tail.pinned); k < tail.ops.size(); ++k)
          module_of[tail.ops[k]] = parent_path(block);
    }
  }
}
}  // namespace

std::string nncf_input_name(size_t index) {
  return "/nncf_model_input_" + std::to_string(index);
}

std::string nncf_op_name(const Node& node) {
  const std::string& op = node.op();
  const size_t colon = op.find("::");
  const std::string ns = colon == std::string::npos ? std::string() : op.substr(0, colon);
  std::string name = colon == std::string::npos ? op : op.substr(colon + 2);
  if (untraced(ns, name)) return {};
  bool inplace = node.inplace_hint();
  if (name.size() > 1 && name.back() == '_' && name[name.size() - 2] != '_') {
    name.pop_back();
    inplace = true;
  }
  if (auto it = operators().find(name); it != operators().end())
    return inplace ? it->second.second : it->second.first;
  if (auto it = functional_names().find(name); it != functional_names().end()) return it->second;
  return inplace ? name + "_" : name;
}

std::string nncf_wrapped_class(const std::string& cls) {
  auto it = wrappers().find(cls);
  return it == wrappers().end() ? cls : it->second;
}

std::vector<std::string> nncf_name_variants(const std::string& name) {
  // Rewrites the class of every `Class[` scope component for which `rename` gives another name.
  auto rewrite = [](const std::string& n, const std::function<std::string(const std::string&)>& rename) {
    std::string out;
    size_t start = 0;
    while (start < n.size()) {
      size_t slash = n.find('/', start);
      if (slash == std::string::npos) slash = n.size();
      const std::string component = n.substr(start, slash - start);
      const size_t bracket = component.find('[');
      out += bracket == std::string::npos ? component
                                          : rename(component.substr(0, bracket)) + component.substr(bracket);
      if (slash < n.size()) out += '/';
      start = slash + 1;
    }
    return out;
  };
  auto unwrapped = [](const std::string& cls, bool late_only) {
    if (cls.rfind("NNCF", 0) != 0 || wrappers().count(cls.substr(4)) == 0) return cls;
    return !late_only || is_late_wrapper(cls.substr(4)) ? cls.substr(4) : cls;
  };
  // NNCF 2.0 and older: normalization layers unwrapped; 2.1: one `NNCFBatchNorm`; 1.x configs also
  // match with every wrapper unwrapped; torchvision before 0.13 called MobileNet's blocks
  // `ConvBNActivation`, which NNCF's checkpoint loader maps to `Conv2dNormActivation`.
  const std::vector<std::function<std::string(const std::string&)>> rules = {
      [&](const std::string& c) { return unwrapped(c, true); },
      [&](const std::string& c) {
        return c.rfind("NNCFBatchNorm", 0) == 0 ? std::string("NNCFBatchNorm") : c;
      },
      [&](const std::string& c) { return unwrapped(c, false); },
      [](const std::string& c) { return c == "Conv2dNormActivation" ? std::string("ConvBNActivation") : c; },
  };
  std::vector<std::string> all{name};
  for (const auto& rule : rules) {
    const size_t known = all.size();
    for (size_t i = 0; i < known; ++i) {
      std::string v = rewrite(all[i], rule);
      if (std::find(all.begin(), all.end(), v) == all.end()) all.push_back(std::move(v));
    }
  }
  all.erase(all.begin());
  return all;
}

void assign_nncf_names(ir::Graph& graph, const std::map<std::string, std::string>& module_classes) {
  auto class_of = [&](const std::string& path) {
    auto it = module_classes.find(path);
    return it == module_classes.end() ? std::string("Module") : it->second;
  };
  // Direct children of each module, in path order.
  std::map<std::string, std::vector<std::string>> children;
  for (const auto& [path, cls] : module_classes)
    if (!path.empty()) children[parent_path(path)].push_back(path);
  auto children_of = [&](const std::string& path) -> const std::vector<std::string>& {
    static const std::vector<std::string> none;
    auto it = children.find(path);
    return it == children.end() ? none : it->second;
  };

  std::map<std::string, std::string> scope_of;  // module path -> NNCF scope
  auto scope = [&](const std::string& path) -> const std::string& {
    if (auto it = scope_of.find(path); it != scope_of.end()) return it->second;
    std::string s = class_of("");
    for (size_t start = 0; !path.empty();) {
      const size_t dot = path.find('.', start);
      const std::string attr = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      s += "/" + nncf_wrapped_class(class_of(path.substr(0, dot))) + "[" + attr + "]";
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    return scope_of.emplace(path, std::move(s)).first->second;
  };

  const std::unordered_set<const Value*> acts = activations(graph);
  std::unordered_map<const Node*, std::string> module_of;  // the module each op is called in
  std::unordered_map<const Node*, std::string> block_of;
  std::unordered_map<const Node*, size_t> order;
  std::unordered_set<const Node*> inferred;  // ops placed in a block by data flow alone
  std::set<std::string> used;  // parameterless modules an op was attributed to
  std::set<std::string> entered;  // modules an op ran in so far, with their ancestors
  for (Node* n : graph.nodes()) {
    std::string module;
    if (n->module()) {
      module = *n->module();
    } else if (std::optional<std::string> o = owner(n)) {
      module = *o;
    } else {
      // The block of the arguments, as AssignScopes infers it (Note [Block of an op without
      // parameters] in assign_scopes.cpp).
      std::string block;
      size_t latest = 0;
      std::vector<const std::string*> blocks;
      for (const ir::Arg& a : n->inputs()) {
        if (!a.is_value() || a.value()->is_graph_input()) continue;
        auto it = order.find(a.value()->producer());
        if (it == order.end()) continue;
        blocks.push_back(&block_of[it->first]);
        if (it->second >= latest) {
          latest = it->second;
          block = *blocks.back();
        }
      }
      for (const std::string* b : blocks)
        if (!b->empty() && encloses(*b, block)) block = *b;
      module = block;
      const std::string op = nncf_op_name(*n);
      bool found = false;
      for (const std::string& child : children_of(block)) {
        if (runs(class_of(child), op)) {
          module = child;
          found = true;
          break;
        }
      }
      // Else a module the caller of the block runs next: a sibling of an enclosing block, or the
      // first module of such a Sequential (a classifier's Dropout).
      for (std::string up = block; !found && !up.empty();) {
        up = parent_path(up);
        for (const std::string& child : children_of(up)) {
          std::string candidate = child;
          if (is_container(class_of(child)) && !children_of(child).empty())
            candidate = children_of(child).front();
          if (candidate != child && entered.count(child) != 0) continue;
          for (const std::string& c : {child, candidate}) {
            if (runs(class_of(c), op) && used.count(c) == 0) {
              module = c;
              found = true;
              break;
            }
          }
          if (found) break;
        }
      }
      if (found) used.insert(module);
      if (!found) inferred.insert(n);
    }
    order[n] = order.size() + 1;
    block_of[n] = children_of(module).empty() ? parent_path(module) : module;
    module_of[n] = module;
    for (std::string m = module; !m.empty(); m = parent_path(m))
      if (!entered.insert(m).second) break;
  }
  hoist_trailing_ops(graph, inferred, order, module_classes, module_of);

  std::map<std::pair<std::string, std::string>, size_t> calls;  // (scope, op) -> calls so far
  for (Node* n : graph.nodes()) {
    const std::string& module = module_of[n];
    std::string op = nncf_op_name(*n);
    // nn.ReLU6 is a Hardtanh: its forward is `F.hardtanh(x, 0, 6, inplace)`, whatever the C++
    // module calls.
    if (!op.empty() && op.rfind("relu6", 0) == 0 && class_of(module) == "ReLU6") op = "hardtanh";
    // `x[:, 0]` is one `__getitem__` call, traced as slice + select: the chain takes one name, the
    // last op's.
    const bool inner_index = op == "__getitem__" && n->outputs().size() == 1 &&
                             n->output()->uses().size() == 1 && n->output()->uses()[0].user != nullptr &&
                             nncf_op_name(*n->output()->uses()[0].user) == "__getitem__";
    const bool traced = !op.empty() && !inner_index &&
                        std::any_of(n->inputs().begin(), n->inputs().end(), [&](const ir::Arg& a) {
                          return a.is_value() && acts.count(a.value()) != 0;
                        });
    if (!traced) {
      n->set_nncf_name({});
      continue;
    }
    const std::string& s = scope(module);
    const size_t k = calls[{s, op}]++;
    n->set_nncf_name(s + "/" + op + "_" + std::to_string(k));
  }
}

}  // namespace nncf::passes
