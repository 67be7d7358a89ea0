// Generalizes a trace over the batch size. Note [Several traces]: the LibTorch tracer records C++
// integers (a batch size read with `x.size(0)`) and mode flags (`batch_norm(..., training=true)`)
// as constants. Tracing each mode at two batch sizes tells the batch-dependent integers apart;
// anything else that differs between them means the trace is not the model's computation in
// general, and capture refuses instead of returning a graph that is silently wrong. The modes are
// merged in merge_modes.cpp.

#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "internal.h"

namespace nncf::capture::detail {
using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

namespace {

bool ivalues_equal(const c10::IValue& a, const c10::IValue& b) {
  if (a.isTensor() && b.isTensor()) {
    const at::Tensor& x = a.toTensor();
    const at::Tensor& y = b.toTensor();
    return x.scalar_type() == y.scalar_type() && x.sizes().equals(y.sizes()) && at::equal(x, y);
  }
  if (a.isTensor() != b.isTensor()) return false;
  return a == b;
}

std::string show(const c10::IValue& v) {
  std::ostringstream os;
  if (v.isTensor()) {
    os << "a tensor of shape " << v.toTensor().sizes();
  } else {
    os << v;
  }
  return os.str();
}

// Where a value sits: (position of the producing node, output index), or (-1, input index).
using Position = std::pair<int64_t, size_t>;

struct Indexed {
  std::vector<Node*> nodes;
  std::unordered_map<const Value*, Position> position;
};

Indexed index_nodes(const Graph& g, const std::unordered_set<const Node*>& skip = {}) {
  Indexed ix;
  for (size_t i = 0; i < g.inputs().size(); ++i) ix.position[g.inputs()[i]] = {-1, i};
  for (const Node* cn : g.nodes()) {
    if (skip.count(cn)) continue;
    Node* n = const_cast<Node*>(cn);  // the first graph's nodes are edited after comparing
    for (size_t k = 0; k < n->outputs().size(); ++k) {
      ix.position[n->outputs()[k]] = {static_cast<int64_t>(ix.nodes.size()), k};
    }
    ix.nodes.push_back(n);
  }
  return ix;
}

// The first user of a constant, for messages: constants themselves mean nothing to a user.
const Node* consumer(const Node* constant) {
  const Value* out = constant->output();
  return out->uses().empty() ? constant : out->uses()[0].user;
}

struct ConstantDiff {
  Node* node;  // the prim::Constant in the first graph
  c10::IValue a;
  c10::IValue b;
};

// Walks both graphs in lockstep; returns the constants whose values differ. Any structural
// difference throws, describing where the graphs part ways and why (`what` names the two runs).
std::vector<ConstantDiff> compare(const Graph& ga, const Indexed& a, const Graph& gb, const Indexed& b,
                                  const std::string& what) {
  auto fail = [&](const Node* n, const std::string& why) {
    if (n->kind() == c10::prim::Constant) n = consumer(n);
    const bool by_mode = what.find("eval") != std::string::npos;
    TORCH_CHECK(false, "capture: the model computes different things ", what, ": ", why, " at ",
                describe(n), ". Its forward has control flow or shapes that depend on ",
                by_mode ? "the train/eval mode (a branch on is_training() such as stochastic depth, or a fast "
                          "path taken only in eval mode)"
                        : "the input's values or the batch size",
                "; one traced graph cannot be right for every run of such a model.");
  };
  const size_t common = std::min(a.nodes.size(), b.nodes.size());
  std::vector<ConstantDiff> diffs;
  for (size_t i = 0; i < common; ++i) {
    Node* na = a.nodes[i];
    const Node* nb = b.nodes[i];
    if (na->kind() != nb->kind()) {
      const Node* ca = na->kind() == c10::prim::Constant ? consumer(na) : na;
      const Node* cb = nb->kind() == c10::prim::Constant ? consumer(nb) : nb;
      fail(na, std::string("one run calls ") + ca->kind().toQualString() + ", the other " +
                   cb->kind().toQualString());
    }
    if (na->inputs().size() != nb->inputs().size() || na->outputs().size() != nb->outputs().size()) {
      fail(na, "the op is called with a different number of arguments");
    }
    for (size_t k = 0; k < na->inputs().size(); ++k) {
      if (a.position.at(na->inputs()[k]) != b.position.at(nb->inputs()[k])) {
        fail(na, "argument " + std::to_string(k) + " comes from a different place");
      }
    }
    if (na->kind() == c10::prim::Constant) {
      c10::IValue va = *torch::jit::toIValue(na->output());
      c10::IValue vb = *torch::jit::toIValue(nb->output());
      if (!ivalues_equal(va, vb)) diffs.push_back({na, va, vb});
    }
  }
  if (a.nodes.size() != b.nodes.size()) {
    const Node* at_node = common < a.nodes.size() ? a.nodes[common] : b.nodes[common];
    fail(at_node, "one run records " + std::to_string(a.nodes.size()) + " ops, the other " +
                      std::to_string(b.nodes.size()) + "; they part ways");
  }
  TORCH_CHECK(ga.outputs().size() == gb.outputs().size(), "capture: the number of outputs differs ", what);
  for (size_t k = 0; k < ga.outputs().size(); ++k) {
    TORCH_CHECK(a.position.at(ga.outputs()[k]) == b.position.at(gb.outputs()[k]),
                "capture: output ", k, " comes from different ops ", what);
  }
  return diffs;
}

}  // namespace

std::string describe(const Node* node) {
  std::ostringstream os;
  os << node->kind().toQualString();
  // The nearest earlier op that uses a named parameter locates the node for a user who knows the
  // model by its module names.
  for (const Node* p = node; p->kind() != c10::prim::Param; p = p->prev()) {
    for (const Value* in : p->inputs()) {
      if (in->node()->kind() == c10::prim::Param && in->hasDebugName() && in->debugName().find('.') != std::string::npos) {
        os << (p == node ? " using " : " after the op using ") << in->debugName();
        return os.str();
      }
    }
    if (p->prev() == nullptr) break;
  }
  os << " (before any parameter is used)";
  return os.str();
}

bool same_computation(const Graph& a, const Graph& b) {
  try {
    return compare(a, index_nodes(a), b, index_nodes(b), "").empty();
  } catch (const c10::Error&) {
    return false;
  }
}

void generalize_batch(Graph& a, const Graph& b, int64_t batch_a, int64_t batch_b) {
  const std::string batch_runs =
      "at batch size " + std::to_string(batch_a) + " and at batch size " + std::to_string(batch_b);
  std::vector<ConstantDiff> batch_diffs = compare(a, index_nodes(a), b, index_nodes(b), batch_runs);

  // Batch-dependent integers -> aten::size(x, 0) (times a factor).
  Value* x = a.inputs().at(0);
  Value* batch = nullptr;
  std::unordered_map<int64_t, Value*> scaled;
  for (const ConstantDiff& d : batch_diffs) {
    // A traced TorchScript file does size arithmetic on 0-dim tensors (prim::NumToTensor).
    const bool tensors = d.a.isTensor() && d.b.isTensor() && d.a.toTensor().dim() == 0 &&
                         d.b.toTensor().dim() == 0 && !c10::isFloatingType(d.a.toTensor().scalar_type()) &&
                         d.a.toTensor().scalar_type() == d.b.toTensor().scalar_type();
    const bool ints = (d.a.isInt() && d.b.isInt()) || tensors;
    const int64_t va = !ints ? 0 : tensors ? d.a.toTensor().item<int64_t>() : d.a.toInt();
    const int64_t vb = !ints ? 0 : tensors ? d.b.toTensor().item<int64_t>() : d.b.toInt();
    const int64_t factor = va / batch_a;
    TORCH_CHECK(ints && factor != 0 && va == factor * batch_a && vb == factor * batch_b,
                "capture: ", describe(consumer(d.node)), " takes a constant that changes with the batch size in ",
                "a way that cannot be expressed through it: ", show(d.a), " at batch size ", batch_a, ", ",
                show(d.b), " at batch size ", batch_b);
    if (batch == nullptr) {
      torch::jit::WithInsertPoint guard(*a.nodes().begin());
      batch = a.insert(c10::aten::size, {x, 0});
    }
    Value*& v = scaled[factor];
    if (v == nullptr) {
      if (factor == 1) {
        v = batch;
      } else {
        torch::jit::WithInsertPoint guard(batch->node()->next());
        v = a.insert(c10::aten::mul, {batch, factor});
      }
    }
    if (tensors) {
      torch::jit::WithInsertPoint guard(d.node);
      Value* t = a.insert(c10::prim::NumToTensor, {v});
      // NumToTensor makes int64; the trace may hold another integer type.
      if (d.a.toTensor().scalar_type() != at::kLong) {
        t = a.insert(c10::aten::to, {t, static_cast<int64_t>(d.a.toTensor().scalar_type()), false, false});
      }
      d.node->output()->replaceAllUsesWith(t);
    } else {
      d.node->output()->replaceAllUsesWith(v);
    }
  }
  torch::jit::EliminateDeadCode(a.block(), true,
                                torch::jit::DCESideEffectPolicy::DONT_DELETE_NODES_WITH_SIDE_EFFECTS);
}

}  // namespace nncf::capture::detail
