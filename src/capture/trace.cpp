// Runs a forward function under the LibTorch tracer with every parameter and buffer registered as
// a named graph input (recipe B of notes/libtorch-recipes.md), so the trace holds no tensor
// constants for the model's own state.

#include <ATen/record_function.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/csrc/jit/passes/normalize_ops.h>

#include <sstream>
#include <unordered_set>

#include "internal.h"

namespace nncf::capture::detail {
namespace tracer = torch::jit::tracer;

namespace {

constexpr const char* kReadsValue = "reads a tensor's value into a C++ number: ";

// The tracer reports through a plain function pointer; the active trace collects here.
thread_local std::vector<std::string>* active_warnings = nullptr;

void collect_warning(const std::string& message) {
  if (active_warnings != nullptr) active_warnings->push_back(message);
}

// Note [Reading tensor values]: a C++ model that reads a tensor into a number (`t.item<float>()`,
// `if (t.any().item<bool>())`) leaves no trace in the graph: the number becomes a constant. The
// LibTorch tracer warns about this only from Python, so an op observer watches for the ops that
// make such numbers. Only calls made while tracing is active count: the tracer pauses itself
// while an op runs, so reads inside an op's own implementation are not user code. And only reads
// of tensors computed from the graph's inputs count: a traced TorchScript file turns sizes into
// tensors and back (`aten::Int(prim::NumToTensor(aten::size(x, 1)))`), which reads nothing the
// inputs decide beyond the shapes the traces already compare.
bool reads_tensor_value(const char* op) {
  static const std::unordered_set<std::string> readers = {
      "aten::item", "aten::_local_scalar_dense", "aten::is_nonzero", "aten::equal", "aten::allclose"};
  return readers.count(op) != 0;
}

// Whether the traced value of `t` is computed from a graph input (data, parameter or buffer).
bool depends_on_inputs(tracer::TracingState& state, const c10::IValue& t) {
  if (!t.isTensor() || !state.hasValue(t)) return false;
  std::vector<const torch::jit::Node*> todo{state.getValue(t)->node()};
  std::unordered_set<const torch::jit::Node*> seen;
  while (!todo.empty()) {
    const torch::jit::Node* n = todo.back();
    todo.pop_back();
    if (n->kind() == c10::prim::Param) return true;
    if (!seen.insert(n).second) continue;
    for (const torch::jit::Value* in : n->inputs()) todo.push_back(in->node());
  }
  return false;
}

std::unique_ptr<at::ObserverContext> observe_op(const at::RecordFunction& fn) {
  if (active_warnings == nullptr || !tracer::isTracing() || !reads_tensor_value(fn.name())) return nullptr;
  tracer::TracingState& state = *tracer::getTracingState();
  bool reads_inputs = false;
  for (const c10::IValue& in : fn.inputs()) reads_inputs = reads_inputs || depends_on_inputs(state, in);
  if (reads_inputs) {
    const torch::jit::Graph& g = *tracer::getTracingState()->graph;
    std::string where = "before the first op";
    if (g.nodes().rbegin() != g.nodes().rend()) where = "after " + describe(*g.nodes().rbegin());
    active_warnings->push_back(std::string(kReadsValue) + fn.name() + " " + where);
  }
  return nullptr;
}

// Note [Module scopes]: NNCF names an op after the modules whose forward ran it
// (passes/nncf_names.h). The LibTorch tracer records no module hierarchy, but the TorchScript
// interpreter reports each function frame it enters -- with the graph optimizer off, every method
// call of a submodule is a frame -- to RecordFunction observers of scope TORCHSCRIPT_FUNCTION,
// with the frame's inputs; a method's first input is the module object. While such a frame runs,
// the trace graph's current scope is `nncf_module:<path>`, so every node the tracer creates
// inside it carries the innermost module's path. Frames of free functions (a scripted
// `F.relu`) and of objects that are not modules of the model change nothing. C++ modules report
// nothing: their ops get no recorded module, and the naming pass infers it.
struct ModuleScopes {
  const std::unordered_map<const c10::ivalue::Object*, std::string>* objects = nullptr;
  std::vector<bool> pushed;  // per open frame: whether it pushed a scope
};
thread_local ModuleScopes* active_modules = nullptr;

std::unique_ptr<at::ObserverContext> enter_frame(const at::RecordFunction& fn) {
  if (active_modules == nullptr) return nullptr;
  bool pushed = false;
  const c10::ArrayRef<const c10::IValue> in = fn.inputs();
  if (tracer::isTracing() && !in.empty() && in[0].isObject()) {
    auto it = active_modules->objects->find(&in[0].toObjectRef());
    if (it != active_modules->objects->end()) {
      // Not Graph::push_scope, which also opens a prim::TracedModuleForward block for the nodes.
      torch::jit::Graph& g = *tracer::getTracingState()->graph;
      g.set_current_scope(g.current_scope()->push(c10::Symbol::scope(kModuleScopePrefix + it->second)));
      pushed = true;
    }
  }
  active_modules->pushed.push_back(pushed);
  return nullptr;
}

void leave_frame(const at::RecordFunction& /*fn*/, at::ObserverContext* /*ctx*/) {
  if (active_modules == nullptr || active_modules->pushed.empty()) return;
  const bool pushed = active_modules->pushed.back();
  active_modules->pushed.pop_back();
  if (pushed && tracer::isTracing()) {
    torch::jit::Graph& g = *tracer::getTracingState()->graph;
    if (!g.current_scope()->isRoot()) g.set_current_scope(g.current_scope()->parent());
  }
}

// The graph value of what the forward returned: tensors, and tuples and lists of them, with None
// allowed inside a tuple (a scripted GoogLeNet returns (logits, None, None) in eval mode). The
// tracer's own TracingState::getOutput refuses None.
torch::jit::Value* record_output(tracer::TracingState& state, const c10::IValue& out) {
  torch::jit::Graph& g = *state.graph;
  if (out.isTensor()) return state.getValue(out);
  if (out.isNone()) return g.insertConstant(c10::IValue());
  if (out.isTuple()) {
    std::vector<torch::jit::Value*> items;
    for (const c10::IValue& item : out.toTupleRef().elements()) items.push_back(record_output(state, item));
    return g.insertNode(g.createTuple(items))->output();
  }
  if (out.isTensorList() || (out.isList() && out.toListRef().size() > 0 && out.toListRef()[0].isTensor())) {
    std::vector<torch::jit::Value*> items;
    for (const c10::IValue& item : out.toListRef()) {
      TORCH_CHECK(item.isTensor(), "capture: the model's forward returns a list that mixes tensors and ", item.tagKind());
      items.push_back(state.getValue(item));
    }
    return g.insertNode(g.createList(c10::TensorType::get(), items))->output();
  }
  TORCH_CHECK(false, "capture: the model's forward must return tensors, or tuples and lists of tensors; it returns ",
              out.tagKind());
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
  TracingScope(std::vector<std::string>* warnings, const ModelAccess& model)
      : observer_(at::addThreadLocalCallback(
            at::RecordFunctionCallback(&observe_op).needsInputs(true).scopes({at::RecordScope::FUNCTION}))) {
    active_warnings = warnings;
    tracer::setWarn(&collect_warning);
    if (!model.module_objects.empty()) {
      modules_.objects = &model.module_objects;
      active_modules = &modules_;
      frames_ = at::addThreadLocalCallback(at::RecordFunctionCallback(&enter_frame, &leave_frame)
                                               .needsInputs(true)
                                               .scopes({at::RecordScope::TORCHSCRIPT_FUNCTION}));
    }
  }
  ~TracingScope() {
    if (tracer::isTracing()) tracer::abandon();
    at::removeCallback(observer_);
    if (active_modules != nullptr) at::removeCallback(frames_);
    active_warnings = nullptr;
    active_modules = nullptr;
  }
  at::CallbackHandle observer_;
  at::CallbackHandle frames_ = 0;
  ModuleScopes modules_;
};

}  // namespace

Trace trace_once(const Forward& forward, const std::vector<at::Tensor>& inputs,
                 const std::vector<std::string>& input_names, const ModelAccess& model) {
  Trace result;
  TracingScope scope(&result.warnings, model);
  // Gradient mode stays as the user runs the model for training: some models pick other ops when
  // it is off (PyTorch's attention takes a fused kernel without a backward).

  auto state = std::make_shared<tracer::TracingState>();
  state->strict = false;
  tracer::setTracingState(state);
  torch::jit::Graph& g = *state->graph;
  for (size_t i = 0; i < inputs.size(); ++i) add_tensor_input(g, input_names[i], inputs[i]);
  for (const auto& [name, t] : model.parameters) add_tensor_input(g, name, t);
  for (const auto& [name, t] : model.buffers) add_tensor_input(g, name, t);

  std::vector<c10::IValue> args(inputs.begin(), inputs.end());
  c10::IValue out;
  auto where = [&] {
    std::ostringstream shapes;
    for (const at::Tensor& x : inputs) shapes << (shapes.tellp() > 0 ? ", " : "") << x.sizes();
    return c10::str("capture: the model's forward failed while tracing it at input shapes ", shapes.str());
  };
  try {
    out = forward(args);
  } catch (c10::Error& e) {
    e.add_context(where());
    throw;
  } catch (const std::exception& e) {  // the TorchScript interpreter throws its own type
    TORCH_CHECK(false, where(), ": ", e.what());
  }
  g.registerOutput(record_output(*state, out));
  tracer::setTracingState(nullptr);

  result.graph = state->graph;
  torch::jit::NormalizeOps(result.graph);
  return result;
}

void reject_data_dependence(const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) {
    if (w.rfind(kReadsValue, 0) == 0) {
      TORCH_CHECK(false, "capture: the model ", w, ". Control flow or constants computed from it would be ",
                  "frozen into the graph: data-dependent control flow cannot be captured by tracing");
    }
    TORCH_CHECK(w.find("might cause the trace to be incorrect") == std::string::npos,
                "capture: the tracer cannot follow the model: ", w);
  }
}

}  // namespace nncf::capture::detail
