#include "program.h"

#include "constants.h"

#include <ATen/core/function_schema.h>
#include <ATen/core/jit_type.h>
#include <c10/util/Exception.h>
#include <torch/csrc/jit/runtime/operator.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

// Note [Why values are freed]
// A value is dropped right after its last use, as eager code drops a temporary. Keeping every
// activation alive until the end of forward made forward 1.14x slower on ResNet-18 (batch 32):
// fresh large allocations page-fault, while freed blocks are reused warm (libtorch-recipes.md §3).

// Note [Per-call frames]
// LibTorch users serve one module from several threads, and an inserted module may itself run a
// model. So nothing a run writes lives in the Program: each run() builds a Frame (a value per
// slot and the argument stack) on its own stack frame, and constants are copied out of the
// immutable constants_ table. The frame costs two allocations per forward, sized at compile time
// so they never grow; a cache of frames kept between calls (thread_local or pooled) would save
// only those, and would have to deal with nested runs and with memory held by idle threads.

namespace nncf::runtime::detail {
namespace {

std::string describe(const ir::Node& node) {
  return c10::str(node.qualified_op(), " (scope '", node.scope(), "')");
}

// Some JIT operators build their Operation from the jit::Node they run in (variadic prim ops,
// isinstance, ...). We have no jit::Node, so those are rejected at compile time.
bool needs_jit_node(const torch::jit::Operator& op) {
  const auto& schema = op.schema();
  return schema.is_vararg() || schema.is_varret() || schema.name() == "prim::isinstance";
}

}  // namespace

uint32_t Program::new_slot() {
  constants_.emplace_back();
  is_constant_.push_back(0);
  return num_slots_++;
}

uint32_t Program::constant_slot(c10::IValue v) {
  uint32_t s = new_slot();
  constants_[s] = std::move(v);
  is_constant_[s] = 1;
  return s;
}

const c10::FunctionSchema* Program::resolve(const ir::Node& node, Step& step) {
  const std::string& op = node.op();
  step.where = describe(node);
  // Structural ops are native: the JIT's versions build their Operation from a jit::Node.
  if (op == "prim::ListConstruct") {
    step.kind = Kind::ListConstruct;
    TORCH_CHECK(node.outputs().size() == 1, "nncf::CompressedModel: ", step.where, " must have one output");
    const std::string& type = node.output()->type();
    step.list_kind = type == "int[]"       ? ListKind::Int
                     : type == "float[]"   ? ListKind::Double
                     : type == "bool[]"    ? ListKind::Bool
                     : type == "Tensor[]"  ? ListKind::Tensor
                     : type == "Tensor?[]" ? ListKind::OptionalTensor
                                           : ListKind::Generic;
    return nullptr;
  }
  if (op == "prim::ModeSelect") {
    step.kind = Kind::ModeSelect;
    TORCH_CHECK(node.inputs().size() == 3 && node.outputs().size() == 1,
                "nncf::CompressedModel: ", step.where,
                " must take (training, train value, eval value) and have one output");
    return nullptr;
  }
  if (op == "prim::TupleConstruct" || op == "prim::ListUnpack" || op == "prim::TupleUnpack" ||
      op == "prim::TupleIndex") {
    step.kind = op == "prim::TupleConstruct" ? Kind::TupleConstruct
                : op == "prim::ListUnpack"   ? Kind::ListUnpack
                : op == "prim::TupleUnpack"  ? Kind::TupleUnpack
                                             : Kind::TupleIndex;
    size_t want_in = step.kind == Kind::TupleConstruct ? node.inputs().size()
                     : step.kind == Kind::TupleIndex   ? 2
                                                       : 1;
    TORCH_CHECK(node.inputs().size() == want_in, "nncf::CompressedModel: ", step.where, " takes ", want_in,
                " arguments, got ", node.inputs().size());
    TORCH_CHECK(step.kind == Kind::ListUnpack || step.kind == Kind::TupleUnpack || node.outputs().size() == 1,
                "nncf::CompressedModel: ", step.where, " must have one output");
    return nullptr;
  }

  if (auto handle = c10::Dispatcher::singleton().findSchema({op, node.overload()})) {
    step.kind = Kind::Dispatch;
    step.op = *handle;
    return &handle->schema();
  }
  // Not in the dispatcher: operators that only the JIT registers (aten::Int.bool,
  // prim::NumToTensor.Scalar, aten::__getitem__.t, ...).
  const auto& candidates = torch::jit::getAllOperatorsFor(c10::Symbol::fromQualString(op));
  std::string overloads;
  for (const auto& candidate : candidates) {
    const auto& schema = candidate->schema();
    if (schema.overload_name() != node.overload()) {
      overloads += overloads.empty() ? "" : ", ";
      overloads += schema.overload_name().empty() ? "<default>" : schema.overload_name();
      continue;
    }
    TORCH_CHECK(!needs_jit_node(*candidate), "nncf::CompressedModel: operator ", node.qualified_op(),
                " of node scope '", node.scope(), "' needs a TorchScript node to run and is not supported");
    step.kind = Kind::Jit;
    step.jit_op = candidate->getOperation();
    return &schema;
  }
  TORCH_CHECK(false, "nncf::CompressedModel: unknown operator ", node.qualified_op(), " (op '", op,
              "', overload '", node.overload(), "') at node scope '", node.scope(),
              "': not in the c10 dispatcher or the JIT operator registry",
              overloads.empty() ? std::string() : c10::str("; known overloads: ", overloads));
}

Program::Program(const ir::Graph& graph, const std::vector<Hook>& hooks) {
  std::unordered_map<const ir::Value*, uint32_t> slot_of;
  for (const ir::Value* v : graph.inputs()) {
    uint32_t s = new_slot();
    slot_of[v] = s;
    switch (v->role()) {
      case ir::InputRole::Data:
        data_slots_.push_back(s);
        data_values_.push_back(v);
        break;
      case ir::InputRole::Training:
        training_slot_ = s;
        break;
      case ir::InputRole::Parameter:
      case ir::InputRole::Buffer:
        tensor_slots_.push_back(s);
        break;
    }
  }

  // Hooks by point, each list in ascending priority, ties in insertion order. A module inserted
  // at several points gets one step per point; it is the same module, so its parameters see the
  // sum of the gradients of every use.
  struct HookAt {
    const Hook* hook;
    const InsertionPoint* point;
  };
  std::vector<HookAt> sorted;
  for (const Hook& h : hooks) {
    for (const InsertionPoint& p : h.points) sorted.push_back({&h, &p});
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const HookAt& a, const HookAt& b) { return a.hook->priority < b.hook->priority; });
  std::unordered_map<std::string, std::vector<HookAt>> pre_hooks, post_hooks;
  // A hook on a node of one mode runs in that mode only.
  auto hook_step = [&](const HookAt& ha, uint32_t from, uint32_t to, ir::RunsIn runs_in) {
    Step step;
    step.kind = Kind::Hook;
    step.runs_in = runs_in;
    step.in = {from};
    step.out = {to};
    step.hook = ha.hook->module;
    step.where = c10::str("inserted module '", ha.hook->name, "' at ", to_string(*ha.point));
    steps_.push_back(std::move(step));
  };
  // Weight and model-input hooks run first, in place on the input's slot: every use then sees
  // the result, computed once per forward.
  for (const HookAt& ha : sorted) {
    switch (ha.point->kind) {
      case InsertionPoint::Kind::WeightPreOp:
      case InsertionPoint::Kind::ModelInput: {
        const ir::Value* v = graph.find_input(ha.point->target);
        TORCH_INTERNAL_ASSERT(v != nullptr, "hook target vanished: ", to_string(*ha.point));
        hook_step(ha, slot_of.at(v), slot_of.at(v), ir::RunsIn::Always);
        break;
      }
      case InsertionPoint::Kind::PreOp:
        pre_hooks[ha.point->target].push_back(ha);
        break;
      case InsertionPoint::Kind::PostOp:
        post_hooks[ha.point->target].push_back(ha);
        break;
    }
  }

  for (const ir::Node* node : graph.nodes()) {
    Step step;
    const c10::FunctionSchema* schema = resolve(*node, step);
    for (size_t i = 0; i < node->inputs().size(); ++i) {
      const ir::Arg& arg = node->input(i);
      step.in.push_back(arg.is_value() ? slot_of.at(arg.value())
                                       : constant_slot(to_ivalue(arg.constant(), argument_type(schema, i))));
    }
    if (schema != nullptr) {
      const auto& args = schema->arguments();
      if (!schema->is_vararg()) {
        TORCH_CHECK(step.in.size() <= args.size(), "nncf::CompressedModel: ", step.where, " has ",
                    step.in.size(), " arguments, but its schema takes ", args.size(), ": ", *schema);
        // Trailing arguments left out take their schema defaults: a boxed call needs them all.
        for (size_t i = step.in.size(); i < args.size(); ++i) {
          TORCH_CHECK(args[i].default_value().has_value(), "nncf::CompressedModel: ", step.where,
                      " is missing argument '", args[i].name(), "' of ", *schema);
          step.in.push_back(constant_slot(*args[i].default_value()));
        }
      }
      TORCH_CHECK(schema->is_varret() || schema->returns().size() == node->outputs().size(),
                  "nncf::CompressedModel: ", step.where, " has ", node->outputs().size(),
                  " outputs, but its schema returns ", schema->returns().size(), ": ", *schema);
    }
    for (const ir::Value* v : node->outputs()) step.out.push_back(slot_of[v] = new_slot());
    // BatchNorm adaptation: a batch_norm's `training` flag gets a slot of its own, so that run()
    // can put it in training mode while every other node stays in eval mode.
    if (node->metatype() == ir::Metatype::BatchNorm && schema != nullptr && training_slot_) {
      const auto& args = schema->arguments();
      for (size_t i = 0; i < node->inputs().size() && i < args.size(); ++i) {
        if (args[i].name() == "training" && step.in[i] == *training_slot_) {
          if (!bn_training_slot_) bn_training_slot_ = new_slot();
          step.in[i] = *bn_training_slot_;
        }
      }
    }

    // Pre-op hooks write a fresh slot that only this node reads; other consumers of the value
    // keep the original.
    if (auto it = pre_hooks.find(node->scope()); it != pre_hooks.end()) {
      std::unordered_map<size_t, uint32_t> replaced;  // port -> hooked slot
      for (const HookAt& ha : it->second) {
        size_t port = ha.point->port;
        TORCH_INTERNAL_ASSERT(port < node->inputs().size(), "pre-op hook port out of range");
        auto [r, fresh] = replaced.try_emplace(port, 0);
        if (fresh) r->second = new_slot();
        hook_step(ha, fresh ? step.in[port] : r->second, r->second, node->runs_in());
      }
      for (auto [port, s] : replaced) step.in[port] = s;
    }
    // Note [In-place execution] (capture/inplace.cpp): the original model ran this op in place.
    // So may we, unless argument 0 is the model's own tensor or an inserted module produced it
    // (its backward may need it); choose_inplace() also skips values any module read.
    const bool not_ours = node->inputs().empty() || !node->input(0).is_value() ||
                          node->input(0).value()->is_graph_input() ||
                          step.in[0] != slot_of.at(node->input(0).value()) ||
                          post_hooks.count(node->input(0).value()->producer()->scope());
    if (node->inplace_hint() && step.kind == Kind::Dispatch && !not_ours) {
      if (auto twin = c10::Dispatcher::singleton().findSchema({node->op() + "_", node->overload()})) {
        step.inplace_op = *twin;
      }
    }
    step.runs_in = node->runs_in();
    steps_.push_back(std::move(step));
    // Post-op hooks replace the output in place, so every consumer and graph output sees them.
    if (auto it = post_hooks.find(node->scope()); it != post_hooks.end()) {
      for (const HookAt& ha : it->second) {
        TORCH_INTERNAL_ASSERT(ha.point->port < node->outputs().size(), "post-op hook port out of range");
        uint32_t s = slot_of.at(node->output(ha.point->port));
        hook_step(ha, s, s, node->runs_in());
      }
    }
  }
  for (const ir::Value* v : graph.outputs()) output_slots_.push_back(slot_of.at(v));
  for (const Step& step : steps_) max_args_ = std::max({max_args_, step.in.size(), step.out.size()});
  compute_liveness();
  choose_inplace();
}

void Program::choose_inplace() {
  // Only where this step is the last reader of argument 0 -- the value dies here anyway -- and no
  // inserted module has seen the value: it may have kept it, or saved it for its backward.
  std::unordered_set<uint32_t> seen_by_modules;
  for (const Step& step : steps_) {
    if (step.kind == Kind::Hook) seen_by_modules.insert(step.in.begin(), step.in.end());
  }
  for (Step& step : steps_) {
    if (step.inplace_op && step.from[0] == ArgFrom::Move && !seen_by_modules.count(step.in[0])) {
      step.op = step.inplace_op;
    }
  }
}

void Program::compute_liveness() {
  // The last step that reads or writes each slot; graph outputs and constants live on.
  std::vector<int64_t> last(num_slots_, -1);
  for (size_t i = 0; i < steps_.size(); ++i) {
    for (uint32_t s : steps_[i].in) last[s] = static_cast<int64_t>(i);
    for (uint32_t s : steps_[i].out) last[s] = static_cast<int64_t>(i);
  }
  std::vector<uint8_t> keep = is_constant_;
  for (uint32_t s : output_slots_) keep[s] = 1;
  for (Step& step : steps_) {
    step.from.assign(step.in.size(), ArgFrom::Copy);
    for (size_t k = 0; k < step.in.size(); ++k) {
      if (is_constant_[step.in[k]]) step.from[k] = ArgFrom::Constant;
    }
  }
  for (uint32_t s = 0; s < num_slots_; ++s) {
    if (keep[s] || last[s] < 0) continue;
    Step& step = steps_[last[s]];
    bool written = std::find(step.out.begin(), step.out.end(), s) != step.out.end();
    auto reads = std::count(step.in.begin(), step.in.end(), s);
    if (!written && reads == 1) {
      step.from[std::find(step.in.begin(), step.in.end(), s) - step.in.begin()] = ArgFrom::Move;
    } else {
      step.release.push_back(s);
    }
  }
}

void Program::skip(const Step& step, Frame& frame) {
  // What this step would have consumed or released dies here all the same.
  for (size_t k = 0; k < step.in.size(); ++k) {
    if (step.from[k] == ArgFrom::Move) frame.values[step.in[k]] = c10::IValue();
  }
  for (uint32_t s : step.release) frame.values[s] = c10::IValue();
}

void Program::execute(const Step& step, Frame& frame) const {
  torch::jit::Stack& stack = frame.stack;
  std::vector<c10::IValue>& values = frame.values;
  for (size_t k = 0; k < step.in.size(); ++k) {
    const uint32_t s = step.in[k];
    switch (step.from[k]) {
      case ArgFrom::Move:
        stack.push_back(std::move(values[s]));
        break;
      case ArgFrom::Copy:
        stack.push_back(values[s]);
        break;
      case ArgFrom::Constant:
        stack.push_back(constants_[s]);
        break;
    }
  }
  switch (step.kind) {
    case Kind::Dispatch:
      step.op->callBoxed(&stack);
      break;
    case Kind::Jit:
      step.jit_op(stack);
      break;
    case Kind::Hook: {
      at::Tensor result = step.hook.forward<at::Tensor>(std::move(stack[0]).toTensor());
      stack[0] = std::move(result);
      break;
    }
    case Kind::ListConstruct: {
      c10::IValue list = construct_list(step.list_kind, stack);
      stack.clear();
      stack.push_back(std::move(list));
      break;
    }
    case Kind::TupleConstruct: {
      auto tuple = c10::ivalue::Tuple::create(std::vector<c10::IValue>(std::make_move_iterator(stack.begin()),
                                                                       std::make_move_iterator(stack.end())));
      stack.clear();
      stack.emplace_back(std::move(tuple));
      break;
    }
    case Kind::ListUnpack:
    case Kind::TupleUnpack: {
      c10::IValue packed = std::move(stack[0]);
      stack.clear();
      c10::ArrayRef<c10::IValue> elements =
          step.kind == Kind::ListUnpack ? packed.toListRef() : packed.toTupleRef().elements();
      TORCH_CHECK(elements.size() == step.out.size(), "expected ", step.out.size(),
                  " elements to unpack, got ", elements.size());
      stack.insert(stack.end(), elements.begin(), elements.end());
      break;
    }
    case Kind::ModeSelect: {
      c10::IValue picked = std::move(stack[stack[0].toBool() ? 1 : 2]);
      stack.clear();
      stack.push_back(std::move(picked));
      break;
    }
    case Kind::TupleIndex: {
      c10::IValue tuple = std::move(stack[0]);
      int64_t index = stack[1].toInt();
      stack.clear();
      const auto& elements = tuple.toTupleRef().elements();
      int64_t n = static_cast<int64_t>(elements.size());
      TORCH_CHECK(index >= -n && index < n, "tuple index ", index, " out of range for a tuple of ", n);
      stack.push_back(elements[index < 0 ? index + n : index]);
      break;
    }
  }
  TORCH_INTERNAL_ASSERT(stack.size() == step.out.size(), step.where, " left ", stack.size(),
                        " values on the stack, expected ", step.out.size());
  for (size_t k = 0; k < step.out.size(); ++k) values[step.out[k]] = std::move(stack[k]);
  stack.clear();
  for (uint32_t s : step.release) values[s] = c10::IValue();
}

namespace {
template <typename T, typename F>
c10::IValue typed_list(torch::jit::Stack& stack, F&& element) {
  c10::List<T> list;
  list.reserve(stack.size());
  for (c10::IValue& v : stack) list.push_back(element(v));
  return list;
}
}  // namespace

// Boxed kernels read `int[]` with toIntVector(), which accepts only an int-typed list, so a list
// gets the element type its IR value declares; anything else is a list of Any.
c10::IValue Program::construct_list(ListKind kind, torch::jit::Stack& stack) {
  switch (kind) {
    case ListKind::Int:
      return typed_list<int64_t>(stack, [](c10::IValue& v) { return v.toInt(); });
    case ListKind::Double:
      return typed_list<double>(stack, [](c10::IValue& v) { return v.toDouble(); });
    case ListKind::Bool:
      return typed_list<bool>(stack, [](c10::IValue& v) { return v.toBool(); });
    case ListKind::Tensor:
      return typed_list<at::Tensor>(stack, [](c10::IValue& v) { return std::move(v).toTensor(); });
    case ListKind::OptionalTensor:
      return typed_list<c10::optional<at::Tensor>>(stack, [](c10::IValue& v) {
        return v.isNone() ? c10::optional<at::Tensor>() : c10::optional<at::Tensor>(std::move(v).toTensor());
      });
    case ListKind::Generic: {
      c10::impl::GenericList list(c10::AnyType::get());
      list.reserve(stack.size());
      for (c10::IValue& v : stack) list.push_back(std::move(v));
      return list;
    }
  }
  TORCH_INTERNAL_ASSERT(false, "unhandled list kind");
}

namespace {
// A graph captured at fixed non-batch sizes (Note [Input shapes] in capture.cpp) is only right
// at those sizes.
void check_shape(size_t i, const ir::Value& v, const at::Tensor& t) {
  const std::vector<int64_t>& want = v.shape();
  bool ok = t.dim() == static_cast<int64_t>(want.size());
  for (size_t d = 0; ok && d < want.size(); ++d) ok = want[d] == -1 || want[d] == t.size(d);
  TORCH_CHECK(ok, "nncf::CompressedModel: input ", i, " ('", v.name(), "') has shape ", t.sizes(),
              ", but the model was captured for shape ", c10::IntArrayRef(want),
              " (-1: any size): its traced computation depends on these sizes. Capture it with an example ",
              "input of the size you need.");
}
}  // namespace

c10::IValue Program::run(std::vector<c10::IValue> data, bool training, bool bn_adaptation,
                         const std::vector<at::Tensor>& tensors) const {
  TORCH_CHECK(data.size() == data_slots_.size(), "nncf::CompressedModel: forward expects ",
              data_slots_.size(), " inputs, got ", data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    const ir::Value* v = data_values_[i];
    TORCH_CHECK(!v->is_tensor() || data[i].isTensor(), "nncf::CompressedModel: input ", i, " ('", v->name(),
                "') must be a Tensor, got ", data[i].tagKind());
    if (!v->shape().empty()) check_shape(i, *v, data[i].toTensor());
  }
  // Note [Per-call frames]: everything this call writes lives here, and dies with it (an
  // exception included).
  Frame frame;
  frame.values.resize(num_slots_);
  frame.stack.reserve(max_args_);
  std::vector<c10::IValue>& values = frame.values;
  for (size_t i = 0; i < data.size(); ++i) values[data_slots_[i]] = std::move(data[i]);
  if (training_slot_) values[*training_slot_] = c10::IValue(training);
  if (bn_training_slot_) values[*bn_training_slot_] = c10::IValue(training || bn_adaptation);
  TORCH_INTERNAL_ASSERT(tensors.size() == tensor_slots_.size());
  for (size_t i = 0; i < tensors.size(); ++i) values[tensor_slots_[i]] = tensors[i];

  size_t i = 0;
  try {
    // Note [Mode-specific ops] (capture/merge_modes.cpp): steps of the other mode are skipped.
    const ir::RunsIn other = training ? ir::RunsIn::Eval : ir::RunsIn::Training;
    for (; i < steps_.size(); ++i) {
      if (steps_[i].runs_in == other) {
        skip(steps_[i], frame);
      } else {
        execute(steps_[i], frame);
      }
    }
  } catch (c10::Error& e) {
    e.add_context(c10::str("nncf::CompressedModel: while running ", steps_[i].where));
    throw;
  }

  if (output_slots_.size() == 1) return std::move(values[output_slots_[0]]);
  if (output_slots_.empty()) return c10::IValue();
  // Copies: one value may be returned twice.
  std::vector<c10::IValue> outs;
  outs.reserve(output_slots_.size());
  for (uint32_t s : output_slots_) outs.push_back(values[s]);
  return c10::ivalue::Tuple::create(std::move(outs));
}

}  // namespace nncf::runtime::detail
