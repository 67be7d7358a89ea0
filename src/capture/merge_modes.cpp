// Merges the train-mode and the eval-mode trace of a model into one graph.
//
// Note [Mode-specific ops]: most models run the same ops in both modes, and only the `training`
// argument of batch_norm / dropout differs; that argument becomes the graph's `training` input.
// BatchNorm's `num_batches_tracked += 1` is an op of the train trace only, like any other.
// Some run different ops: stochastic depth multiplies by a random mask in training only, a
// transformer takes a fused attention kernel in eval only. The two traces are aligned (longest
// common subsequence of ops); an op of one trace only runs in that mode (`train_only` /
// `eval_only`), and where a common op reads different values in the two traces, a
// `prim::ModeSelect(%training, %train_value, %eval_value)` picks the right one. Each mode then runs
// exactly the ops its own trace recorded, whatever the alignment.

#include <unordered_map>

#include "internal.h"

namespace nncf::capture::detail {
using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

namespace {

// The argument position of the `training` flag in ops whose behaviour follows the mode.
int training_arg(c10::Symbol kind) {
  static const std::unordered_map<std::string, int> positions = {
      {"aten::batch_norm", 5},         {"aten::native_batch_norm", 5}, {"aten::dropout", 2},
      {"aten::dropout_", 2},           {"aten::feature_dropout", 2},   {"aten::feature_dropout_", 2},
      {"aten::alpha_dropout", 2},      {"aten::alpha_dropout_", 2},    {"aten::feature_alpha_dropout", 2},
      {"aten::feature_alpha_dropout_", 2}, {"aten::rrelu", 3}, {"aten::rrelu_", 3},
      {"aten::instance_norm", 5},  // use_input_stats: training unless running stats are not tracked
  };
  auto it = positions.find(kind.toQualString());
  return it == positions.end() ? -1 : it->second;
}

bool is_constant(const Value* v) { return v->node()->kind() == c10::prim::Constant; }

bool same_op(const Node* a, const Node* b) {
  if (a->kind() != b->kind() || a->inputs().size() != b->inputs().size() ||
      a->outputs().size() != b->outputs().size()) {
    return false;
  }
  const c10::FunctionSchema* sa = a->maybeSchema();
  const c10::FunctionSchema* sb = b->maybeSchema();
  return (sa == nullptr) == (sb == nullptr) && (sa == nullptr || sa->overload_name() == sb->overload_name());
}

// For each node of `e`, the index of the node of `t` it is paired with, or -1: a longest common
// subsequence of same ops, after the common prefix and suffix.
std::vector<int64_t> align(const std::vector<Node*>& t, const std::vector<Node*>& e) {
  std::vector<int64_t> t_of_e(e.size(), -1);
  size_t lo = 0;
  while (lo < t.size() && lo < e.size() && same_op(t[lo], e[lo])) t_of_e[lo] = static_cast<int64_t>(lo), ++lo;
  size_t ht = t.size(), he = e.size();
  while (ht > lo && he > lo && same_op(t[ht - 1], e[he - 1])) t_of_e[--he] = static_cast<int64_t>(--ht);
  const size_t n = ht - lo, m = he - lo;
  TORCH_CHECK(n * m <= 50'000'000, "capture: the train-mode and eval-mode traces differ in ", n, " and ", m,
              " ops; too many to align");
  // lcs[i][j]: longest common subsequence of t[lo+i..] and e[lo+j..].
  std::vector<std::vector<uint32_t>> lcs(n + 1, std::vector<uint32_t>(m + 1, 0));
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      lcs[i][j] = same_op(t[lo + i], e[lo + j]) ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  for (size_t i = 0, j = 0; i < n && j < m;) {
    if (same_op(t[lo + i], e[lo + j]) && lcs[i][j] == lcs[i + 1][j + 1] + 1) {
      t_of_e[lo + j] = static_cast<int64_t>(lo + i), ++i, ++j;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
      ++i;
    } else {
      ++j;
    }
  }
  return t_of_e;
}

std::vector<Node*> ops_of(const Graph& g) {
  std::vector<Node*> ops;
  for (const Node* n : g.nodes()) {
    if (n->kind() != c10::prim::Constant) ops.push_back(const_cast<Node*>(n));
  }
  return ops;
}

bool constant_equal(const Value* a, const Value* b) {
  c10::IValue x = *torch::jit::toIValue(a), y = *torch::jit::toIValue(b);
  if (x.isTensor() || y.isTensor()) {
    return x.isTensor() && y.isTensor() && x.toTensor().sizes().equals(y.toTensor().sizes()) &&
           x.toTensor().scalar_type() == y.toTensor().scalar_type() && at::equal(x.toTensor(), y.toTensor());
  }
  return x == y;
}

}  // namespace

ModeMarks merge_modes(Graph& t, Graph& e, size_t num_data_inputs,
                      const std::unordered_set<const Node*>& eval_inplace,
                      std::unordered_set<const Node*>& train_inplace) {
  Value* training = t.insertInput(num_data_inputs, "training");
  training->setType(c10::BoolType::get());
  e.insertInput(num_data_inputs, "training")->setType(c10::BoolType::get());
  TORCH_CHECK(t.outputs().size() == e.outputs().size(), "capture: the model returns ", t.outputs().size(),
              " values in train mode and ", e.outputs().size(), " in eval mode");

  const std::vector<Node*> tn = ops_of(t), en = ops_of(e);
  const std::vector<int64_t> t_of_e = align(tn, en);

  ModeMarks marks;
  std::unordered_map<const Value*, Value*> e2t;
  for (size_t i = 0; i < e.inputs().size(); ++i) e2t[e.inputs()[i]] = t.inputs()[i];
  // The eval value of `ve` in `t`; constants are copied in before `before`.
  auto eval_value = [&](const Value* ve, Node* before) -> Value* {
    if (!is_constant(ve)) return e2t.at(ve);
    torch::jit::WithInsertPoint guard(before);
    return t.insertConstant(*torch::jit::toIValue(ve));
  };
  auto select = [&](Value* train_value, Value* eval_value, Node* before) {
    Node* s = t.create(c10::Symbol::fromQualString("prim::ModeSelect"), {training, train_value, eval_value}, 1);
    s->insertBefore(before);
    s->output()->setType(train_value->type());
    return s->output();
  };

  std::unordered_set<const Node*> paired;
  Node* cursor = nullptr;  // eval-only ops go after the last op placed
  for (size_t j = 0; j < en.size(); ++j) {
    Node* ne = en[j];
    if (t_of_e[j] >= 0) {
      Node* nt = tn[t_of_e[j]];
      paired.insert(nt);
      for (size_t k = 0; k < nt->inputs().size(); ++k) {
        Value* vt = nt->input(k);
        const Value* ve = ne->input(k);
        if (is_constant(vt) && is_constant(ve)) {
          if (constant_equal(vt, ve)) continue;
          c10::IValue a = *torch::jit::toIValue(vt), b = *torch::jit::toIValue(ve);
          if (a.isBool() && b.isBool() && a.toBool() && !b.toBool() && training_arg(nt->kind()) == int(k)) {
            nt->replaceInput(k, training);
            continue;
          }
        }
        Value* ev = eval_value(ve, nt);
        if (ev != vt) nt->replaceInput(k, select(vt, ev, nt));
      }
      for (size_t k = 0; k < ne->outputs().size(); ++k) e2t[ne->output(k)] = nt->output(k);
      cursor = nt;
    } else {
      Node* next = cursor != nullptr ? cursor->next() : *t.nodes().begin();
      std::unordered_map<const Value*, Value*> args;
      for (const Value* ve : ne->inputs()) args[ve] = eval_value(ve, next);
      Node* c = t.createClone(ne, [&](Value* v) { return args.at(v); });
      c->insertBefore(next);
      marks[c] = ir::RunsIn::Eval;
      if (eval_inplace.count(ne)) train_inplace.insert(c);
      for (size_t k = 0; k < ne->outputs().size(); ++k) e2t[ne->output(k)] = c->output(k);
      cursor = c;
    }
  }
  for (Node* n : tn) {
    if (!paired.count(n)) marks[n] = ir::RunsIn::Training;
  }
  for (size_t k = 0; k < t.outputs().size(); ++k) {
    Value* ev = eval_value(e.outputs()[k], t.return_node());
    if (ev != t.outputs()[k]) t.return_node()->replaceInput(k, select(t.outputs()[k], ev, t.return_node()));
  }
  return marks;
}

}  // namespace nncf::capture::detail
