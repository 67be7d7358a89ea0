#pragma once

// CompressedModel: an IR graph executed as a trainable torch::nn::Module.
//
// It holds the user's parameters and buffers under their original dotted names (a module tree is
// rebuilt from the names, so `named_parameters()` and state dicts look like the user's model),
// runs each node as one boxed call through the c10 dispatcher, frees every value after its last
// use, and feeds `is_training()` into the graph's `training` input. Autograd, dtypes and devices
// come from LibTorch; nothing is re-implemented.
//
// Compression modules are inserted at four kinds of points (see InsertionPoint); each inserted
// module is registered once as a submodule under `nncf_hooks.<name>` so its parameters train with
// the model and appear in state dicts, and may run at several points (a quantizer with a scale
// shared by the inputs of a concat).

#include <c10/core/TensorOptions.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/pimpl.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nncf/ir/graph.h"

namespace nncf::runtime {

/// Where an inserted module runs.
struct InsertionPoint {
  enum class Kind {
    PreOp,        ///< on argument `port` of node `target` (only that use sees the result)
    PostOp,       ///< on output `port` of node `target` (every use sees the result)
    WeightPreOp,  ///< on parameter/buffer input `target`, once per forward, before every use
    ModelInput,   ///< on Data input `target` (a Tensor), once per forward, before every use
  };
  Kind kind = Kind::PostOp;
  std::string target;  ///< node scope (PreOp/PostOp), parameter name (WeightPreOp) or input name
  size_t port = 0;

  static InsertionPoint pre_op(std::string scope, size_t port) {
    return {Kind::PreOp, std::move(scope), port};
  }
  static InsertionPoint post_op(std::string scope, size_t port = 0) {
    return {Kind::PostOp, std::move(scope), port};
  }
  static InsertionPoint weight(std::string param) { return {Kind::WeightPreOp, std::move(param), 0}; }
  static InsertionPoint model_input(std::string name) { return {Kind::ModelInput, std::move(name), 0}; }
};
/// `pre_op(conv1, 0)`, `post_op(conv1, 0)`, `weight(conv1.weight)`, `input(x)`.
std::string to_string(const InsertionPoint& p);

/// A module inserted into the graph: `module.forward(Tensor) -> Tensor`, run at each of `points`.
struct Hook {
  std::vector<InsertionPoint> points;  ///< distinct, non-empty
  std::string name;                    ///< unique; the submodule name under `nncf_hooks`
  torch::nn::AnyModule module;
  int priority = 0;  ///< hooks on one point run in ascending priority (stable)
};

class CompressedModel;

class CompressedModelImpl : public torch::nn::Module {
 public:
  /// `tensors` maps every Parameter/Buffer input of `graph` by name to its tensor; the tensors are
  /// registered as they are (shared with the caller, not copied, `requires_grad` kept) in a module
  /// tree rebuilt from the dotted names, in graph input order. Throws c10::Error naming any input
  /// without a tensor, any tensor without an input, a name under `nncf_hooks`, and any node whose
  /// operator cannot be found in the dispatcher or the JIT operator registry.
  CompressedModelImpl(ir::Graph graph, const std::map<std::string, torch::Tensor>& tensors);

  /// Runs the graph on the Data inputs, in order; the graph's `training` input is `is_training()`
  /// (see set_batchnorm_adaptation for the exception).
  /// Returns the single graph output (a tuple when the graph has several). Throws c10::Error if
  /// the inputs do not match the Data inputs; an error raised inside a node names the node.
  ///
  /// Thread safety: each call keeps its values to itself, so several threads may run forward on
  /// one model at once (and an inserted module may run a model from its own forward), as long as
  /// no thread changes the model meanwhile (insert, remove, train/eval, batch-norm adaptation,
  /// load, optimizer steps). What the graph itself writes is shared as in an eager module: in
  /// training mode (or with batch-norm adaptation) concurrent calls race on the BatchNorm running
  /// statistics. Inserted modules must be safe to run concurrently too (nncf's are in eval mode).
  c10::IValue forward(std::vector<c10::IValue> inputs);
  /// Convenience for one tensor in, one tensor out.
  torch::Tensor forward(const torch::Tensor& x);

  /// Inserts `module` at `point`. Throws c10::Error if the point does not exist (naming it) or
  /// the name is taken. The step list is recompiled.
  void insert(const InsertionPoint& point, torch::nn::AnyModule module, const std::string& name,
              int priority = 0);
  /// Inserts one `module` that runs at each of `points` (e.g. one quantizer on every input of a
  /// concat). It is registered once, so `parameters()` lists its parameters once and their
  /// gradient sums the uses. Throws c10::Error for an empty list, a point listed twice, or points
  /// that do not exist (naming each).
  void insert(const std::vector<InsertionPoint>& points, torch::nn::AnyModule module, const std::string& name,
              int priority = 0);
  /// Inserts several modules at once (a transformation layout), each with its own points, name
  /// and priority, and compiles the step list once. Atomic: every hook is checked as by the
  /// single-module insert (names must also differ within the batch) before anything changes, and
  /// on any error -- reported for all bad hooks at once -- nothing is inserted. Hooks in the
  /// batch that share a point and a priority run in batch order. An empty batch does nothing.
  void insert(std::vector<Hook> hooks);
  /// Removes an inserted module by name.
  void remove(const std::string& name);
  const std::vector<Hook>& hooks() const { return hooks_; }

  /// Structural rewrite: a new model that runs `graph` (this graph changed, e.g. a pruned conv
  /// with fewer output channels and the ops that read it with fewer inputs) and carries this
  /// model's state and inserted modules across by their stable names.
  ///
  /// Tensors: each Parameter/Buffer input of `graph` gets `replaced_tensors[name]` if given, else
  /// this model's tensor of that name, shared (the same tensor object, not a copy). A replaced
  /// tensor is registered detached from its autograd history (sharing its storage), so a slice
  /// may be taken with grad enabled; a replaced parameter requires grad iff the one it replaces
  /// did (a new name: iff the given tensor does). Inputs this graph had and `graph` lacks are
  /// left out. The role (parameter or buffer) is the one `graph` gives.
  ///
  /// Inserted modules: every hook keeps its name, points, priority and order, and its module
  /// (shared) unless `replaced_hooks[name]` gives another; hooks named in `dropped_hooks` are
  /// left out. A module whose state has the shape of a rewritten tensor (a per-channel quantizer
  /// or a mask on a pruned weight) must be replaced by the caller: nothing here can tell.
  ///
  /// The training mode and the BatchNorm adaptation flag are carried. This model is unchanged,
  /// but since the two share tensors and modules, it should be discarded: build optimizers on the
  /// new model's parameters().
  ///
  /// Throws c10::Error, listing every problem at once, for: a new Parameter/Buffer input with no
  /// tensor here nor in `replaced_tensors`; a replaced tensor that is not such an input of
  /// `graph`; a replaced or dropped name that is not an inserted module, or a name both replaced
  /// and dropped; a kept hook whose point does not exist in `graph` (naming the hook and the
  /// point); and whatever the constructor and insert reject.
  CompressedModel rewritten(ir::Graph graph, const std::map<std::string, torch::Tensor>& replaced_tensors,
                            const std::map<std::string, torch::nn::AnyModule>& replaced_hooks = {},
                            const std::vector<std::string>& dropped_hooks = {}) const;

  /// Structural edit in place: sets constant argument `input` of node `scope` (a depthwise
  /// convolution's `groups` once filter pruning removed some of its channels) and recompiles the
  /// step list. Tensors and inserted modules are untouched. Throws c10::Error naming the node when
  /// there is no such node or that argument is not a constant.
  void set_constant(const std::string& scope, size_t input, ir::Constant value);

  /// BatchNorm adaptation (NNCF's `batchnorm_adaptation` initializer): while on and the model is
  /// in eval mode, every `aten::batch_norm` whose `training` argument is the graph's `training`
  /// input runs as in training -- it normalizes with batch statistics and updates running_mean and
  /// running_var -- while everything else runs in eval mode (dropout off, eval-only nodes run,
  /// train-only nodes such as the `num_batches_tracked` update are skipped). No effect in train
  /// mode. Off by default.
  void set_batchnorm_adaptation(bool on) { bn_adaptation_ = on; }
  bool batchnorm_adaptation() const { return bn_adaptation_; }

  const ir::Graph& graph() const { return graph_; }
  /// A parameter or buffer by its dotted name (undefined tensor if absent).
  torch::Tensor tensor(const std::string& name) const;

  void pretty_print(std::ostream& stream) const override;

  /// Like `Module::load`, except that an archive without `nncf_hooks` (a checkpoint of the user's
  /// own model) also loads: the inserted modules then keep their state.
  void load(torch::serialize::InputArchive& archive) override;

 private:
  struct Program;  // compiled step list (src/runtime/program.h)
  void compile();
  // Throws the errors of inserting batch[index] after the current hooks and batch[0, index).
  void check_hook(const std::vector<Hook>& batch, size_t index) const;

  ir::Graph graph_;
  std::vector<Hook> hooks_;
  std::shared_ptr<torch::nn::Module> hook_root_;
  std::vector<std::string> tensor_names_;  // graph Parameter/Buffer inputs, in graph input order
  std::vector<torch::Tensor> tensors_;     // the registered tensors (shared), same order
  std::shared_ptr<Program> program_;
  bool bn_adaptation_ = false;
};

TORCH_MODULE(CompressedModel);

}  // namespace nncf::runtime
