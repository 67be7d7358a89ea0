#pragma once

// Private interfaces between the capture stages: trace (LibTorch tracer) -> generalize (three
// traces -> one graph) -> convert (torch::jit::Graph -> ir::Graph).

#include <torch/csrc/jit/ir/ir.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "nncf/capture/capture.h"
#include "nncf/ir/graph.h"

namespace nncf::capture::detail {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

/// What capture needs of a model, whatever kind it is.
struct ModelAccess {
  NamedTensors parameters;
  NamedTensors buffers;
  bool training = true;
  std::function<void(bool)> set_training;
  /// Module path ("" = root, "layer1.0.conv1") -> class name as NNCF prints it ("ResNet",
  /// "BasicBlock", "Conv2d"), for every module of the model.
  std::map<std::string, std::string> module_classes;
  /// TorchScript only: the module objects by identity -> their paths. Calls of their methods are
  /// recorded as node scopes while tracing (Note [Module scopes] in trace.cpp).
  std::unordered_map<const c10::ivalue::Object*, std::string> module_objects;
};

/// The prefix of the JIT scope names trace_once gives the nodes run inside a module's method; the
/// rest of the name is the module's path.
inline constexpr const char* kModuleScopePrefix = "nncf_module:";

/// One run of `forward` under the tracer. Graph inputs: the data inputs (named `input_names`),
/// then every parameter, then every buffer. `warnings` holds what the tracer warned about
/// (reading a tensor's value into a C++ number, for instance).
struct Trace {
  std::shared_ptr<torch::jit::Graph> graph;
  std::vector<std::string> warnings;
};
Trace trace_once(const Forward& forward, const std::vector<at::Tensor>& inputs,
                 const std::vector<std::string>& input_names, const ModelAccess& model);

/// Generalizes trace `a` (at `batch_a`) over the batch size with the same-mode trace `b` (at
/// `batch_b`): batch-size integers become `aten::size(x, 0)` (times a constant factor). Throws
/// c10::Error naming the op when the traces differ in any other way.
void generalize_batch(torch::jit::Graph& a, const torch::jit::Graph& b, int64_t batch_a, int64_t batch_b);

/// The nodes that run in one mode only (Note [Mode-specific ops] in merge_modes.cpp).
using ModeMarks = std::unordered_map<const torch::jit::Node*, ir::RunsIn>;

/// Merges the eval-mode trace `eval` into the train-mode trace `train` (both generalized over the
/// batch): adds the bool input `training` after the data inputs of both, turns training flags into
/// it, and marks and joins the ops that only one mode runs. Returns the marks. The in-place hints
/// of eval-only ops (`eval_inplace`) are added to `train_inplace` for their copies.
ModeMarks merge_modes(torch::jit::Graph& train, torch::jit::Graph& eval, size_t num_data_inputs,
                      const std::unordered_set<const torch::jit::Node*>& eval_inplace,
                      std::unordered_set<const torch::jit::Node*>& train_inplace);


/// Rewrites in-place ops to their out-of-place twins where no reader can tell (Note [In-place
/// execution] in inplace.cpp); returns the rewritten nodes.
std::unordered_set<const torch::jit::Node*> remove_inplace_ops(const std::shared_ptr<torch::jit::Graph>& graph);

/// Whether two traces record the same ops on the same arguments with the same constants.
bool same_computation(const torch::jit::Graph& a, const torch::jit::Graph& b);

/// Throws when a trace's warnings show behaviour the trace cannot follow: a tensor's value read
/// into a C++ number (Note [Reading tensor values] in trace.cpp), or a tracer warning.
void reject_data_dependence(const std::vector<std::string>& warnings);

/// Converts a generalized trace to the IR. Graph inputs keep their names; the roles come from
/// the counts. Tensor constants become Buffer inputs named `nncf_constants.<k>` and are added to
/// `constants`. Nodes in `inplace` get the IR's in-place hint, nodes in `modes` their mode.
ir::Graph convert(const torch::jit::Graph& graph, size_t num_data_inputs, size_t num_parameters,
                  NamedTensors& constants, const std::unordered_set<const torch::jit::Node*>& inplace,
                  const ModeMarks& modes);

/// A readable description of a JIT node for error messages: "aten::view (node 12, after conv1)".
std::string describe(const torch::jit::Node* node);

}  // namespace nncf::capture::detail
