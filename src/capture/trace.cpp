// Runs a forward function under the LibTorch tracer with every parameter and buffer registered as
// a named graph input (recipe B of notes/libtorch-recipes.md), so the trace holds no tensor
// constants for the model's own state.

#include <torch/csrc/autograd/grad_mode.h>
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/csrc/jit/passes/normalize_ops.h>

#include "internal.h"

namespace nncf::capture::detail {
namespace tracer = torch::jit::tracer;

namespace {

// The tracer reports through a plain function pointer; the active trace collects here.
thread_local std::vector<std::string>* active_warnings = nullptr;

void collect_warning(const std::string& message) {
  if (active_warnings != nullptr) active_warnings->push_back(message);
}

torch::jit::Value* add_tensor_input(torch::jit::Graph& g, const std::string& name, const at::Tensor& t) {
  torch::jit::Value* v = g.addInput(name);
  v->setType(c10::TensorType::get());
  tracer::setValueTrace(t, v);
  return v;
}

// Ends the tracing state however the forward leaves (an exception must not leave the thread in
// tracing mode), and restores the warning hook.
struct TracingScope {
  explicit TracingScope(std::vector<std::string>* warnings) {
    active_warnings = warnings;
    tracer::setWarn(&collect_warning);
  }
  ~TracingScope() {
    if (tracer::isTracing()) tracer::abandon();
    active_warnings = nullptr;
  }
};

}  // namespace

Trace trace_once(const Forward& forward, const std::vector<at::Tensor>& inputs,
                 const std::vector<std::string>& input_names, const ModelAccess& model) {
  Trace result;
  TracingScope scope(&result.warnings);
  // Gradients are not needed to record the ops, and skipping them saves the memory of an
  // autograd graph per trace.
  torch::NoGradGuard no_grad;

  auto state = std::make_shared<tracer::TracingState>();
  state->strict = false;
  tracer::setTracingState(state);
  torch::jit::Graph& g = *state->graph;
  for (size_t i = 0; i < inputs.size(); ++i) add_tensor_input(g, input_names[i], inputs[i]);
  for (const auto& [name, t] : model.parameters) add_tensor_input(g, name, t);
  for (const auto& [name, t] : model.buffers) add_tensor_input(g, name, t);

  std::vector<c10::IValue> args(inputs.begin(), inputs.end());
  c10::IValue out = forward(args);
  TORCH_CHECK(out.isTensor() || out.isTuple() || out.isTensorList() || out.isList(),
              "capture: the model's forward must return a tensor, a tuple or a list of tensors; got ",
              out.tagKind());
  g.registerOutput(state->getOutput(out, 0));
  tracer::setTracingState(nullptr);

  result.graph = state->graph;
  torch::jit::NormalizeOps(result.graph);
  return result;
}

}  // namespace nncf::capture::detail
