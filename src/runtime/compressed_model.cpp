#include "nncf/runtime/compressed_model.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>
#include <torch/serialize/input-archive.h>

#include <algorithm>
#include <set>

#include "program.h"

namespace nncf::runtime {

// The nested type named in the public header; all of its logic lives in detail::Program.
struct CompressedModelImpl::Program : detail::Program {
  using detail::Program::Program;
};

namespace {

// Submodule that holds the inserted modules. No tensor name may start with it.
constexpr const char* kHooks = "nncf_hooks";

std::vector<std::string> split_dotted(const std::string& name) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot; (dot = name.find('.', start)) != std::string::npos; start = dot + 1) {
    parts.push_back(name.substr(start, dot - start));
  }
  parts.push_back(name.substr(start));
  return parts;
}

bool is_state(const ir::Value* v) {
  return v->role() == ir::InputRole::Parameter || v->role() == ir::InputRole::Buffer;
}

void check_point(const ir::Graph& graph, const InsertionPoint& point) {
  const std::string where = c10::str("nncf::CompressedModel::insert: insertion point ", to_string(point));
  if (point.kind == InsertionPoint::Kind::WeightPreOp) {
    const ir::Value* v = graph.find_input(point.target);
    TORCH_CHECK(v != nullptr && is_state(v), where, " does not exist: no parameter or buffer named '",
                point.target, "'");
    return;
  }
  if (point.kind == InsertionPoint::Kind::ModelInput) {
    const ir::Value* v = graph.find_input(point.target);
    TORCH_CHECK(v != nullptr && v->role() == ir::InputRole::Data, where,
                " does not exist: no data input named '", point.target, "'");
    TORCH_CHECK(v->is_tensor(), where, ": input '", point.target, "' is of type ", v->type(), ", not Tensor");
    return;
  }
  const ir::Node* node = graph.find_node(point.target);
  TORCH_CHECK(node != nullptr, where, " does not exist: no node with scope '", point.target, "'");
  if (point.kind == InsertionPoint::Kind::PreOp) {
    TORCH_CHECK(point.port < node->inputs().size(), where, " does not exist: node '", point.target, "' (",
                node->qualified_op(), ") has ", node->inputs().size(), " arguments");
    const ir::Arg& arg = node->input(point.port);
    TORCH_CHECK(arg.is_value(), where, ": argument ", point.port, " of node '", point.target,
                "' is a constant, not a Tensor");
    TORCH_CHECK(arg.value()->is_tensor(), where, ": argument ", point.port, " of node '", point.target,
                "' is of type ", arg.value()->type(), ", not Tensor");
  } else {
    TORCH_CHECK(point.port < node->outputs().size(), where, " does not exist: node '", point.target, "' (",
                node->qualified_op(), ") has ", node->outputs().size(), " outputs");
    TORCH_CHECK(node->output(point.port)->is_tensor(), where, ": output ", point.port, " of node '",
                point.target, "' is of type ", node->output(point.port)->type(), ", not Tensor");
  }
}

std::string join_points(const std::vector<InsertionPoint>& points) {
  std::vector<std::string> names;
  for (const InsertionPoint& p : points) names.push_back(to_string(p));
  return c10::Join(", ", names);
}

}  // namespace

std::string to_string(const InsertionPoint& p) {
  switch (p.kind) {
    case InsertionPoint::Kind::PreOp:
      return c10::str("pre_op(", p.target, ", ", p.port, ")");
    case InsertionPoint::Kind::PostOp:
      return c10::str("post_op(", p.target, ", ", p.port, ")");
    case InsertionPoint::Kind::WeightPreOp:
      return c10::str("weight(", p.target, ")");
    case InsertionPoint::Kind::ModelInput:
      return c10::str("input(", p.target, ")");
  }
  TORCH_INTERNAL_ASSERT(false, "unhandled insertion point kind");
}

CompressedModelImpl::CompressedModelImpl(ir::Graph graph, const std::map<std::string, torch::Tensor>& tensors)
    : torch::nn::Module("nncf::CompressedModel"), graph_(std::move(graph)) {
  std::vector<std::string> missing, extra;
  for (const ir::Value* v : graph_.inputs()) {
    if (!is_state(v)) continue;
    (tensors.count(v->name()) ? tensor_names_ : missing).push_back(v->name());
  }
  for (const auto& entry : tensors) {
    const ir::Value* v = graph_.find_input(entry.first);
    if (v == nullptr || !is_state(v)) extra.push_back(entry.first);
  }
  TORCH_CHECK(missing.empty(),
              "nncf::CompressedModel: graph inputs without a tensor: ", c10::Join(", ", missing));
  TORCH_CHECK(extra.empty(), "nncf::CompressedModel: tensors without a parameter/buffer graph input: ",
              c10::Join(", ", extra));

  // Rebuild the user's module tree from the dotted names, so that named_parameters(), state
  // dicts and checkpoints carry the user's names. Names must come in pre-order (as the user's
  // named_parameters() lists them) for the order to be preserved too.
  const std::set<std::string> names(tensor_names_.begin(), tensor_names_.end());
  std::map<std::string, std::shared_ptr<torch::nn::Module>> modules;  // dotted path -> module
  for (const std::string& name : tensor_names_) {
    const auto parts = split_dotted(name);
    TORCH_CHECK(std::none_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); }),
                "nncf::CompressedModel: tensor name '", name, "' has an empty component");
    TORCH_CHECK(parts[0] != kHooks, "nncf::CompressedModel: tensor '", name, "' clashes with '", kHooks,
                "', the container of inserted modules");
    torch::nn::Module* owner = this;
    std::string path;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      path += (i == 0 ? "" : ".") + parts[i];
      TORCH_CHECK(names.count(path) == 0, "nncf::CompressedModel: tensor '", path,
                  "' is also the module that holds '", name, "'");
      auto& module = modules[path];
      if (!module) module = owner->register_module(parts[i], std::make_shared<torch::nn::Module>());
      owner = module.get();
    }
    const torch::Tensor& t = tensors.at(name);
    TORCH_CHECK(t.defined(), "nncf::CompressedModel: tensor '", name, "' is undefined");
    // The same tensor object is registered: the user's model and this one share their weights.
    if (graph_.find_input(name)->role() == ir::InputRole::Parameter) {
      owner->register_parameter(parts.back(), t, t.requires_grad());
    } else {
      owner->register_buffer(parts.back(), t);
    }
    tensors_.push_back(t);
  }
  compile();
}

void CompressedModelImpl::set_constant(const std::string& scope, size_t input, ir::Constant value) {
  ir::Node* n = graph_.find_node(scope);
  TORCH_CHECK(n != nullptr, "nncf::CompressedModel::set_constant: no node '", scope, "'");
  TORCH_CHECK(input < n->inputs().size() && n->input(input).is_constant(),
              "nncf::CompressedModel::set_constant: ", n->qualified_op(), " at ", scope,
              " has no constant argument ", input);
  n->set_input(input, std::move(value));
  compile();
}

void CompressedModelImpl::compile() {
  program_ = std::make_shared<Program>(graph_, hooks_);
}

c10::IValue CompressedModelImpl::forward(std::vector<c10::IValue> inputs) {
  return program_->run(std::move(inputs), is_training(), bn_adaptation_, tensors_);
}

torch::Tensor CompressedModelImpl::forward(const torch::Tensor& x) {
  c10::IValue out = forward(std::vector<c10::IValue>{x});
  TORCH_CHECK(out.isTensor(),
              "nncf::CompressedModel: forward(Tensor) needs a graph with one Tensor output, got ",
              out.tagKind(), "; use forward(std::vector<IValue>)");
  return std::move(out).toTensor();
}

void CompressedModelImpl::insert(const InsertionPoint& point, torch::nn::AnyModule module,
                                 const std::string& name, int priority) {
  insert(std::vector<InsertionPoint>{point}, std::move(module), name, priority);
}

void CompressedModelImpl::insert(const std::vector<InsertionPoint>& points, torch::nn::AnyModule module,
                                 const std::string& name, int priority) {
  std::vector<Hook> hooks;
  hooks.push_back(Hook{points, name, std::move(module), priority});
  insert(std::move(hooks));
}

void CompressedModelImpl::check_hook(const std::vector<Hook>& batch, size_t index) const {
  const Hook& hook = batch[index];
  const std::string& name = hook.name;
  TORCH_CHECK(!hook.module.is_empty(), "nncf::CompressedModel::insert: module '", name, "' is empty");
  TORCH_CHECK(!name.empty() && name.find('.') == std::string::npos,
              "nncf::CompressedModel::insert: a module name must be non-empty and without '.', got '", name,
              "'");
  auto check_name = [&](const Hook& h) {
    TORCH_CHECK(h.name != name, "nncf::CompressedModel::insert: a module named '", name,
                "' is already inserted at ", join_points(h.points));
  };
  std::for_each(hooks_.begin(), hooks_.end(), check_name);
  std::for_each(batch.begin(), batch.begin() + index, check_name);
  TORCH_CHECK(!hook.points.empty(), "nncf::CompressedModel::insert: module '", name,
              "' has no insertion point");
  // Every bad point is reported at once: a builder inserting a shared quantizer fixes them together.
  std::set<std::string> seen;
  std::vector<std::string> errors;
  for (const InsertionPoint& point : hook.points) {
    if (!seen.insert(to_string(point)).second) {
      errors.push_back(c10::str("nncf::CompressedModel::insert: insertion point ", to_string(point),
                                " is listed twice for module '", name, "'"));
      continue;
    }
    try {
      check_point(graph_, point);
    } catch (const c10::Error& e) {
      errors.push_back(e.msg());
    }
  }
  TORCH_CHECK(errors.empty(), c10::Join("\n", errors));
}

void CompressedModelImpl::insert(std::vector<Hook> hooks) {
  // Validate everything before changing anything, so that a failed batch leaves the model as it was.
  std::vector<std::string> errors;
  for (size_t i = 0; i < hooks.size(); ++i) {
    try {
      check_hook(hooks, i);
    } catch (const c10::Error& e) {
      errors.push_back(e.msg());
    }
  }
  TORCH_CHECK(errors.empty(), c10::Join("\n", errors));
  if (hooks.empty()) return;
  if (!hook_root_) hook_root_ = register_module(kHooks, std::make_shared<torch::nn::Module>("nncf::Hooks"));
  const size_t before = hooks_.size();
  for (Hook& hook : hooks) {
    // An inserted module follows the model's train/eval mode from now on; start it in the same one.
    hook.module.ptr()->train(is_training());
    hook_root_->register_module(hook.name, hook.module.ptr());
    hooks_.push_back(std::move(hook));
  }
  try {
    compile();
  } catch (...) {
    for (size_t i = before; i < hooks_.size(); ++i) hook_root_->unregister_module(hooks_[i].name);
    hooks_.resize(before);
    throw;
  }
}

void CompressedModelImpl::remove(const std::string& name) {
  auto it = std::find_if(hooks_.begin(), hooks_.end(), [&](const Hook& h) { return h.name == name; });
  TORCH_CHECK(it != hooks_.end(), "nncf::CompressedModel::remove: no inserted module named '", name, "'");
  hook_root_->unregister_module(name);
  hooks_.erase(it);
  compile();
}

CompressedModel CompressedModelImpl::rewritten(
    ir::Graph graph, const std::map<std::string, torch::Tensor>& replaced_tensors,
    const std::map<std::string, torch::nn::AnyModule>& replaced_hooks,
    const std::vector<std::string>& dropped_hooks) const {
  const std::string where = "nncf::CompressedModel::rewritten";
  std::vector<std::string> errors;
  std::map<std::string, torch::Tensor> tensors;
  for (const ir::Value* v : graph.inputs()) {
    if (!is_state(v)) continue;
    auto replaced = replaced_tensors.find(v->name());
    if (replaced == replaced_tensors.end()) {
      torch::Tensor old = tensor(v->name());
      if (old.defined()) {
        tensors[v->name()] = old;  // shared, not copied
      } else {
        errors.push_back(c10::str(where, ": '", v->name(), "' is a new ", ir::to_string(v->role()),
                                  " input and has no tensor in replaced_tensors"));
      }
      continue;
    }
    TORCH_CHECK(replaced->second.defined(), where, ": replaced tensor '", v->name(), "' is undefined");
    // A slice taken with grad enabled is not a leaf and cannot be a parameter: register it
    // detached (sharing its storage), and keep the old parameter's trainability.
    torch::Tensor t = replaced->second.detach();
    const torch::Tensor old = tensor(v->name());
    const bool requires_grad = old.defined() ? old.requires_grad() : replaced->second.requires_grad();
    if (v->role() == ir::InputRole::Parameter) t.set_requires_grad(requires_grad);
    tensors[v->name()] = t;
  }
  for (const auto& entry : replaced_tensors) {
    const ir::Value* v = graph.find_input(entry.first);
    if (v == nullptr || !is_state(v))
      errors.push_back(c10::str(where, ": replaced tensor '", entry.first,
                                "' is not a parameter/buffer input of the new graph"));
  }
  const std::set<std::string> dropped(dropped_hooks.begin(), dropped_hooks.end());
  auto is_hook = [&](const std::string& name) {
    return std::any_of(hooks_.begin(), hooks_.end(), [&](const Hook& h) { return h.name == name; });
  };
  for (const std::string& name : dropped) {
    if (!is_hook(name)) errors.push_back(c10::str(where, ": dropped hook '", name, "' is not inserted"));
    if (replaced_hooks.count(name))
      errors.push_back(c10::str(where, ": hook '", name, "' is both replaced and dropped"));
  }
  for (const auto& entry : replaced_hooks) {
    if (!is_hook(entry.first))
      errors.push_back(c10::str(where, ": replaced hook '", entry.first, "' is not inserted"));
  }
  std::vector<Hook> hooks;
  for (const Hook& h : hooks_) {
    if (dropped.count(h.name)) continue;
    for (const InsertionPoint& point : h.points) {
      try {
        check_point(graph, point);
      } catch (const c10::Error& e) {
        errors.push_back(c10::str(where, ": hook '", h.name, "' cannot be carried over (", e.msg(),
                                  "); replace it or drop it"));
      }
    }
    auto replaced = replaced_hooks.find(h.name);
    hooks.push_back(
        Hook{h.points, h.name, replaced == replaced_hooks.end() ? h.module : replaced->second, h.priority});
  }
  TORCH_CHECK(errors.empty(), c10::Join("\n", errors));

  CompressedModel out(std::move(graph), tensors);
  // The mode first: inserted modules start in the model's mode.
  out->train(is_training());
  out->set_batchnorm_adaptation(bn_adaptation_);
  out->insert(std::move(hooks));
  return out;
}

torch::Tensor CompressedModelImpl::tensor(const std::string& name) const {
  auto it = std::find(tensor_names_.begin(), tensor_names_.end(), name);
  return it == tensor_names_.end() ? torch::Tensor() : tensors_[it - tensor_names_.begin()];
}

void CompressedModelImpl::pretty_print(std::ostream& stream) const {
  size_t params = 0;
  for (const ir::Value* v : graph_.inputs()) params += v->role() == ir::InputRole::Parameter;
  stream << "nncf::CompressedModel(nodes=" << graph_.num_nodes() << ", params=" << params
         << ", buffers=" << tensor_names_.size() - params << ", hooks=" << hooks_.size() << ")";
}

void CompressedModelImpl::load(torch::serialize::InputArchive& archive) {
  for (auto& p : named_parameters(/*recurse=*/false)) archive.read(p.key(), p.value());
  for (auto& b : named_buffers(/*recurse=*/false)) archive.read(b.key(), b.value(), /*is_buffer=*/true);
  for (const auto& child : named_children()) {
    torch::serialize::InputArchive child_archive;
    // Inserted modules and the tensor constants of a traced forward (capture names them
    // `nncf_constants.<k>`) are not in a checkpoint of the user's own model.
    if (child.key() == kHooks || child.key() == "nncf_constants") {
      if (archive.try_read(child.key(), child_archive)) child.value()->load(child_archive);
      continue;
    }
    archive.read(child.key(), child_archive);
    child.value()->load(child_archive);
  }
}

}  // namespace nncf::runtime
