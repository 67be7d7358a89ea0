// Capture entry points: prepare the trace inputs, run the traces (Note [Several traces] in
// generalize.cpp, Note [Mode-specific ops] in merge_modes.cpp, Note [Input shapes] below) while
// keeping the model's state untouched, and hand the result to the IR.

#include <ATen/core/Generator.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/csrc/jit/serialization/import.h>

#include <fstream>

#include "internal.h"
#include "nncf/ir/printer.h"
#include "nncf/passes/nncf_names.h"
#include "nncf/passes/pipeline.h"

namespace nncf::capture {
namespace {
using detail::ModelAccess;

// Restores what tracing changes: buffers (train-mode BatchNorm moves its running statistics),
// the train/eval mode, and the CPU random generator (dropout draws from it).
class StateGuard {
 public:
  explicit StateGuard(const ModelAccess& model) : model_(model) {
    torch::NoGradGuard no_grad;
    for (const auto& [name, t] : model.buffers) saved_.push_back(t.clone());
    rng_ = at::detail::getDefaultCPUGenerator().get_state();
  }
  void restore_buffers() {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < saved_.size(); ++i) model_.buffers[i].second.copy_(saved_[i]);
  }
  ~StateGuard() {
    restore_buffers();
    model_.set_training(model_.training);
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    gen.set_state(rng_);
  }

 private:
  const ModelAccess& model_;
  std::vector<at::Tensor> saved_;
  at::Tensor rng_;
};

// `x` with its rows repeated (or cut) to `batch` rows.
at::Tensor with_batch(const at::Tensor& x, int64_t batch) {
  torch::NoGradGuard no_grad;
  at::Tensor rows = at::arange(batch, at::kLong).remainder(x.size(0));
  return x.index_select(0, rows);
}

std::vector<std::string> input_names(const std::vector<at::Tensor>& examples, const CaptureOptions& options) {
  if (!options.input_names.empty()) {
    TORCH_CHECK(options.input_names.size() == examples.size(), "capture: ", options.input_names.size(),
                " input names given for ", examples.size(), " example inputs");
    return options.input_names;
  }
  if (examples.size() == 1) return {"x"};
  std::vector<std::string> names;
  for (size_t i = 0; i < examples.size(); ++i) names.push_back("x" + std::to_string(i));
  return names;
}

// Note [Input shapes]: only the batch size is generalized; any other size the forward reads in
// C++ (`x.size(2)` passed to an interpolation, padding to a multiple of 8) is frozen into the
// graph, and running the graph at another size would be silently wrong. So each non-batch
// dimension of each input is probed with one more eval-mode trace at that size plus one (an odd
// change breaks divisibility, squareness and ratios), or, if the model cannot run there, at twice
// that size. A trace that records the same computation leaves the dimension free; one that differs
// makes the example's size a requirement, which the runtime checks. A dimension at which the model
// cannot run at all stays free: the captured ops fail there just as the model's do.
std::vector<std::vector<int64_t>> required_shapes(const Forward& forward, const std::vector<at::Tensor>& inputs,
                                                  const std::vector<std::string>& names, const ModelAccess& model,
                                                  const torch::jit::Graph& eval) {
  auto same_at = [&](size_t i, int64_t d, bool doubled) -> c10::optional<bool> {
    std::vector<at::Tensor> probe = inputs;
    const at::Tensor& x = inputs[i];
    probe[i] = doubled ? at::cat({x, x}, d) : at::cat({x, x.narrow(d, 0, 1)}, d);
    try {
      return detail::same_computation(eval, *detail::trace_once(forward, probe, names, model).graph);
    } catch (const std::exception&) {
      return c10::nullopt;  // the model cannot run at that size
    }
  };
  std::vector<std::vector<int64_t>> shapes(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    for (int64_t d = 1; d < inputs[i].dim(); ++d) {
      c10::optional<bool> same = same_at(i, d, /*doubled=*/false);
      if (!same) same = same_at(i, d, /*doubled=*/true);
      if (same.value_or(true)) continue;
      if (shapes[i].empty()) shapes[i].assign(inputs[i].dim(), -1);
      shapes[i][d] = inputs[i].size(d);
    }
  }
  return shapes;
}

Captured capture_impl(const ModelAccess& model, const Forward& forward, const std::vector<at::Tensor>& examples,
                      const CaptureOptions& options) {
  TORCH_CHECK(!examples.empty(), "capture: at least one example input is needed");
  for (size_t i = 0; i < examples.size(); ++i) {
    TORCH_CHECK(examples[i].defined() && examples[i].dim() >= 1, "capture: example input ", i,
                " must be a tensor whose dim 0 is the batch");
    TORCH_CHECK(examples[i].size(0) >= 1, "capture: example input ", i, " has an empty batch");
  }
  TORCH_CHECK(options.batch_a > 1 && options.batch_b > 1 && options.batch_a != options.batch_b,
              "capture: the trace batch sizes must be different and greater than 1, got ", options.batch_a,
              " and ", options.batch_b);
  const std::vector<std::string> names = input_names(examples, options);
  auto batch_of = [&](int64_t b) {
    std::vector<at::Tensor> xs;
    for (const auto& x : examples) xs.push_back(with_batch(x, b));
    return xs;
  };

  detail::Trace a, b, eval, eval_b;
  std::vector<std::vector<int64_t>> shapes;
  {
    StateGuard guard(model);
    model.set_training(true);
    a = detail::trace_once(forward, batch_of(options.batch_a), names, model);
    guard.restore_buffers();
    b = detail::trace_once(forward, batch_of(options.batch_b), names, model);
    guard.restore_buffers();
    model.set_training(false);
    eval = detail::trace_once(forward, batch_of(options.batch_a), names, model);
    eval_b = detail::trace_once(forward, batch_of(options.batch_b), names, model);
    shapes = required_shapes(forward, batch_of(options.batch_a), names, model, *eval.graph);
  }
  for (const detail::Trace* t : {&a, &b, &eval, &eval_b}) detail::reject_data_dependence(t->warnings);
  detail::generalize_batch(*a.graph, *b.graph, options.batch_a, options.batch_b);
  detail::generalize_batch(*eval.graph, *eval_b.graph, options.batch_a, options.batch_b);
  // Out-of-place forms where nothing can tell the difference; what is left in place (the
  // num_batches_tracked update) writes a buffer, as in the original model. Each mode's trace is
  // rewritten on its own: alias analysis knows nothing of prim::ModeSelect.
  auto inplace = detail::remove_inplace_ops(a.graph);
  const auto eval_inplace = detail::remove_inplace_ops(eval.graph);
  detail::ModeMarks modes = detail::merge_modes(*a.graph, *eval.graph, examples.size(), eval_inplace, inplace);
  torch::jit::EliminateDeadCode(a.graph->block(), true,
                                torch::jit::DCESideEffectPolicy::DONT_DELETE_NODES_WITH_SIDE_EFFECTS);

  detail::NamedTensors constants;
  Captured result{detail::convert(*a.graph, examples.size(), model.parameters.size(), constants, inplace, modes), {}};
  for (size_t i = 0; i < examples.size(); ++i) result.graph.inputs()[i]->set_shape(shapes[i]);
  passes::canonicalize_captured(result.graph);
  passes::assign_nncf_names(result.graph, model.module_classes);
  ir::verify(result.graph);
  for (const auto& group : {model.parameters, model.buffers, constants}) {
    for (const auto& [name, t] : group) result.tensors.emplace(name, t);
  }
  return result;
}

// The class name NNCF would print for a C++-frontend module: the type's name without namespaces
// and without the `Impl` of a module holder's implementation (`torch::nn::Conv2dImpl` ->
// `Conv2d`, `nncf_sample::models::BasicBlockImpl` -> `BasicBlock`).
std::string cpp_class_name(std::string name) {
  if (const size_t lt = name.find('<'); lt != std::string::npos) name.erase(lt);  // templates
  if (const size_t colon = name.rfind("::"); colon != std::string::npos) name.erase(0, colon + 2);
  constexpr std::string_view kImpl = "Impl";
  if (name.size() > kImpl.size() && name.compare(name.size() - kImpl.size(), kImpl.size(), kImpl) == 0)
    name.erase(name.size() - kImpl.size());
  return name;
}

}  // namespace

Captured capture(torch::nn::Module& module, const Forward& forward, const std::vector<torch::Tensor>& example_inputs,
                 const CaptureOptions& options) {
  ModelAccess model;
  for (const auto& p : module.named_parameters()) model.parameters.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers()) model.buffers.emplace_back(b.key(), b.value());
  model.training = module.is_training();
  model.set_training = [&module](bool t) { module.train(t); };
  for (const auto& m : module.named_modules())
    model.module_classes[m.key()] = cpp_class_name(m.value()->name());
  return capture_impl(model, forward, example_inputs, options);
}

Captured capture_torchscript(torch::jit::Module& module, const std::vector<torch::Tensor>& example_inputs,
                             const CaptureOptions& options) {
  ModelAccess model;
  for (const auto& p : module.named_parameters()) model.parameters.emplace_back(p.name, p.value);
  for (const auto& b : module.named_buffers()) model.buffers.emplace_back(b.name, b.value);
  model.training = module.is_training();
  model.set_training = [&module](bool t) { module.train(t); };
  for (const auto& m : module.named_modules()) {
    // `__torch__.torchvision.models.resnet.___torch_mangle_3.BasicBlock` -> `BasicBlock`.
    model.module_classes[m.name] = m.value.type()->name() ? m.value.type()->name()->name() : "Module";
    model.module_objects[m.value._ivalue().get()] = m.name;
  }
  Forward forward = [&module](const std::vector<c10::IValue>& in) { return module.forward(in); };
  // The graph executor's optimizations (constant pooling compares tensors with aten::equal) would
  // run inside the trace and read as the model's own ops; the plain interpreter runs the graph as
  // it is, which is all a trace needs.
  torch::jit::GraphOptimizerEnabledGuard plain_interpreter(false);
  return capture_impl(model, forward, example_inputs, options);
}

torch::jit::Module load_torchscript(const std::string& path) {
  TORCH_CHECK(std::ifstream(path).good(), "capture: cannot open TorchScript file '", path, "'");
  try {
    return torch::jit::load(path);
  } catch (const c10::Error& e) {
    TORCH_CHECK(false, "capture: '", path, "' is not a TorchScript file LibTorch can load: ", e.what_without_backtrace());
  }
}

Captured capture_torchscript_file(const std::string& path, const std::vector<torch::Tensor>& example_inputs,
                                  const CaptureOptions& options) {
  torch::jit::Module module = load_torchscript(path);
  return capture_torchscript(module, example_inputs, options);
}

}  // namespace nncf::capture
