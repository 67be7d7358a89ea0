// Capture entry points: prepare the trace inputs, run the three traces (Note [Three traces] in
// generalize.cpp) while keeping the model's state untouched, and hand the result to the IR.

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
// C++ (`x.size(2)` passed to an interpolation, say) is frozen into the graph, and running the
// graph at another size would be silently wrong. One more eval-mode trace, with every dimension
// from the third on doubled, tells: if it records the same computation, the graph is right at
// any size; if it differs or fails, the captured graph requires the example's non-batch sizes,
// which the runtime then checks.
bool traces_the_same_at_other_sizes(const Forward& forward, const std::vector<at::Tensor>& inputs,
                                    const std::vector<std::string>& names, const ModelAccess& model,
                                    const torch::jit::Graph& eval) {
  std::vector<at::Tensor> larger;
  bool any = false;
  for (const at::Tensor& x : inputs) {
    std::vector<int64_t> repeats(x.dim(), 1);
    for (int64_t d = 2; d < x.dim(); ++d) repeats[d] = 2;
    any = any || x.dim() > 2;
    larger.push_back(x.repeat(repeats));
  }
  if (!any) return false;
  try {
    return detail::same_computation(eval, *detail::trace_once(forward, larger, names, model).graph);
  } catch (const std::exception&) {
    return false;  // the model cannot run at those sizes at all
  }
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

  detail::Trace a, b, eval;
  bool shapes_are_free = false;
  {
    StateGuard guard(model);
    model.set_training(true);
    a = detail::trace_once(forward, batch_of(options.batch_a), names, model);
    guard.restore_buffers();
    b = detail::trace_once(forward, batch_of(options.batch_b), names, model);
    guard.restore_buffers();
    model.set_training(false);
    eval = detail::trace_once(forward, batch_of(options.batch_a), names, model);
    shapes_are_free = traces_the_same_at_other_sizes(forward, batch_of(options.batch_a), names, model, *eval.graph);
  }
  for (const detail::Trace* t : {&a, &b, &eval}) detail::reject_data_dependence(t->warnings);
  detail::generalize(*a.graph, *b.graph, *eval.graph, options.batch_a, options.batch_b, examples.size());
  // Out-of-place forms where nothing can tell the difference; what is left in place (the
  // num_batches_tracked update) writes a buffer, as in the original model.
  const auto inplace = detail::remove_inplace_ops(a.graph);
  torch::jit::EliminateDeadCode(a.graph);

  detail::NamedTensors constants;
  Captured result{detail::convert(*a.graph, examples.size(), model.parameters.size(), constants, inplace), {}};
  if (!shapes_are_free) {
    for (size_t i = 0; i < examples.size(); ++i) {
      std::vector<int64_t> shape = examples[i].sizes().vec();
      shape[0] = -1;
      result.graph.inputs()[i]->set_shape(std::move(shape));
    }
  }
  passes::canonicalize_captured(result.graph);
  ir::verify(result.graph);
  for (const auto& group : {model.parameters, model.buffers, constants}) {
    for (const auto& [name, t] : group) result.tensors.emplace(name, t);
  }
  return result;
}

}  // namespace


Captured capture(torch::nn::Module& module, const Forward& forward, const std::vector<torch::Tensor>& example_inputs,
                 const CaptureOptions& options) {
  ModelAccess model;
  for (const auto& p : module.named_parameters()) model.parameters.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers()) model.buffers.emplace_back(b.key(), b.value());
  model.training = module.is_training();
  model.set_training = [&module](bool t) { module.train(t); };
  return capture_impl(model, forward, example_inputs, options);
}

Captured capture_torchscript(torch::jit::Module& module, const std::vector<torch::Tensor>& example_inputs,
                             const CaptureOptions& options) {
  ModelAccess model;
  for (const auto& p : module.named_parameters()) model.parameters.emplace_back(p.name, p.value);
  for (const auto& b : module.named_buffers()) model.buffers.emplace_back(b.name, b.value);
  model.training = module.is_training();
  model.set_training = [&module](bool t) { module.train(t); };
  Forward forward = [&module](const std::vector<c10::IValue>& in) { return module.forward(in); };
  // The graph executor's optimizations (constant pooling compares tensors with aten::equal) would
  // run inside the trace and read as the model's own ops; the plain interpreter runs the graph as
  // it is, which is all a trace needs.
  torch::jit::GraphOptimizerEnabledGuard plain_interpreter(false);
  return capture_impl(model, forward, example_inputs, options);
}

Captured capture_torchscript_file(const std::string& path, const std::vector<torch::Tensor>& example_inputs,
                                  const CaptureOptions& options) {
  TORCH_CHECK(std::ifstream(path).good(), "capture: cannot open TorchScript file '", path, "'");
  torch::jit::Module module;
  try {
    module = torch::jit::load(path);
  } catch (const c10::Error& e) {
    TORCH_CHECK(false, "capture: '", path, "' is not a TorchScript file LibTorch can load: ", e.what_without_backtrace());
  }
  return capture_torchscript(module, example_inputs, options);
}

}  // namespace nncf::capture
