#pragma once

// The compiled form of a CompressedModel: a flat list of steps over value slots (private header).
//
// Every IR value gets one slot; constants get slots of their own, filled once at compile time.
// A step reads its argument slots onto a stack, runs (a boxed dispatcher call, a JIT Operation, a
// native list/tuple step, or an inserted module) and moves its results into slots. Liveness is
// precomputed: the last read of a slot moves the value onto the stack, and a value that is never
// read again after a step is reset right after it, so activations are released as early as in
// eager mode (see Note [Why values are freed]).
//
// The compiled program is immutable once built: the values of one run live in a Frame of that
// call (see Note [Per-call frames]), so any number of threads may run one Program at once.

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/ivalue.h>
#include <ATen/core/stack.h>
#include <torch/nn/modules/container/any.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nncf/ir/graph.h"
#include "nncf/runtime/compressed_model.h"

namespace nncf::runtime::detail {

class Program {
 public:
  /// Compiles `graph` with `hooks` inserted. Throws c10::Error naming the node for any operator
  /// that cannot be resolved or whose arity does not match its schema.
  Program(const ir::Graph& graph, const std::vector<Hook>& hooks);

  /// Runs one forward. `data` are the Data inputs in graph order; `tensors` the Parameter/Buffer
  /// inputs in graph input order. `bn_adaptation` runs the batch_norms fed by the `training` input
  /// in training mode whatever `training` is. Returns the graph output (a tuple when there are
  /// several). Safe to call from several threads at once, and from within an inserted module.
  c10::IValue run(std::vector<c10::IValue> data, bool training, bool bn_adaptation,
                  const std::vector<at::Tensor>& tensors) const;

  size_t num_steps() const { return steps_.size(); }

 private:
  enum class Kind : uint8_t {
    Dispatch,       // boxed call through the c10 dispatcher
    Jit,            // JIT-only operator (aten::Int.bool, prim::NumToTensor, ...)
    ListConstruct,  // typed list from the stack (see ListKind)
    TupleConstruct,
    ListUnpack,
    TupleUnpack,
    TupleIndex,
    ModeSelect,  // prim::ModeSelect(training, train value, eval value)
    Hook,        // an inserted module: Tensor -> Tensor
  };
  enum class ListKind : uint8_t { Int, Double, Bool, Tensor, OptionalTensor, Generic };
  // Where an argument comes from: a copy of the frame's value, the value itself (its last read),
  // or a copy of a compile-time constant.
  enum class ArgFrom : uint8_t { Copy, Move, Constant };

  struct Step {
    Kind kind = Kind::Dispatch;
    ListKind list_kind = ListKind::Generic;
    std::vector<uint32_t> in;       // argument slots, in order
    std::vector<ArgFrom> from;      // per argument
    std::vector<uint32_t> out;      // result slots
    std::vector<uint32_t> release;  // slots reset after the results are stored
    std::optional<c10::OperatorHandle> op;
    std::optional<c10::OperatorHandle> inplace_op;  // the op's in-place twin, when it may run in place
    // mutable: Operation::operator() and AnyModule::forward are not const, though neither changes
    // its object (the JIT's own interpreters share one Operation between threads).
    mutable torch::jit::Operation jit_op = nullptr;
    mutable torch::nn::AnyModule hook;
    ir::RunsIn runs_in = ir::RunsIn::Always;  // skipped in the other mode
    std::string where;                        // "aten::conv2d (scope conv1)" -- for error messages
  };

  // The state of one run: a value per slot (constant slots stay empty) and the argument stack.
  struct Frame {
    std::vector<c10::IValue> values;
    torch::jit::Stack stack;
  };

  uint32_t new_slot();
  uint32_t constant_slot(c10::IValue v);
  /// Sets the step's kind and operator; returns the schema for a dispatcher/JIT operator.
  const c10::FunctionSchema* resolve(const ir::Node& node, Step& step);
  void compute_liveness();
  void choose_inplace();
  void execute(const Step& step, Frame& frame) const;
  static void skip(const Step& step, Frame& frame);
  static c10::IValue construct_list(ListKind kind, torch::jit::Stack& stack);  // from the whole stack

  std::vector<Step> steps_;
  uint32_t num_slots_ = 0;
  size_t max_args_ = 0;                        // the deepest stack a step needs
  std::vector<c10::IValue> constants_;         // per slot: the constant, or None
  std::vector<uint8_t> is_constant_;           // per slot
  std::vector<uint32_t> data_slots_;           // Data inputs, in order
  std::vector<const ir::Value*> data_values_;  // for messages
  std::vector<uint32_t> tensor_slots_;         // Parameter/Buffer inputs, in graph input order
  std::optional<uint32_t> training_slot_;
  std::optional<uint32_t> bn_training_slot_;  // the `training` argument of batch_norms
  std::vector<uint32_t> output_slots_;
};

}  // namespace nncf::runtime::detail
