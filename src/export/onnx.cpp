#include "nncf/export/onnx.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>
#include <torch/autograd.h>

#include <algorithm>
#include <map>
#include <unordered_map>

#include "nncf/runtime/files.h"
#include "onnx_ops.h"

namespace nncf::exporting {
namespace {

using detail::Sym;
using runtime::Hook;
using runtime::InsertionPoint;

constexpr const char* kWho = "nncf::export_onnx";

Sym from_constant(const ir::Constant& c) {
  using K = ir::Constant::Kind;
  Sym s;
  switch (c.kind()) {
    case K::None:
      return s;
    case K::Bool:
      return Sym::int_const(c.to_bool());
    case K::Int:
      return Sym::int_const(c.to_int());
    case K::Double:
      s.kind = Sym::Kind::Double;
      s.d = c.to_double();
      return s;
    case K::IntList:
      s.kind = Sym::Kind::IntList;
      for (int64_t v : c.to_int_list()) s.items.push_back(Sym::int_const(v));
      return s;
    default:
      s.kind = Sym::Kind::Other;
      return s;
  }
}

struct HookAt {
  const Hook* hook;
  const InsertionPoint* point;
};

class Exporter {
 public:
  Exporter(runtime::CompressedModelImpl& model, const OnnxOptions& options,
           const std::vector<HookExporter>& exporters)
      : model_(model), graph_(model.graph()), options_(options), exporters_(exporters), b_(options.opset) {
    std::vector<HookAt> sorted;
    for (const Hook& h : model.hooks()) {
      for (const InsertionPoint& p : h.points) sorted.push_back({&h, &p});
    }
    // The runtime's order: ascending priority, ties in insertion order.
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const HookAt& a, const HookAt& b) { return a.hook->priority < b.hook->priority; });
    for (const HookAt& ha : sorted) {
      switch (ha.point->kind) {
        case InsertionPoint::Kind::WeightPreOp:
        case InsertionPoint::Kind::ModelInput:
          input_hooks_[ha.point->target].push_back(ha);
          break;
        case InsertionPoint::Kind::PreOp:
          pre_hooks_[ha.point->target].push_back(ha);
          break;
        case InsertionPoint::Kind::PostOp:
          post_hooks_[ha.point->target].push_back(ha);
          break;
      }
    }
  }

  onnx::ModelProto run();

  // ---- what converters ask for ----
  Sym value(const ir::Value* v);
  std::optional<at::Tensor> tensor_value(const ir::Value* v);
  std::string apply_hooks(const std::vector<HookAt>& hooks, std::string name, const WeightInput* weight);
  void find_foldable_batch_norms();
  std::optional<detail::BatchNormFold> fold_of(const ir::Node* conv, const ir::Node* bn);
  std::string folded_weight(const ir::Value* v, const detail::BatchNormFold& fold, const std::string& hint);

  const detail::BatchNormFold* fold_at(const ir::Node* n) const {
    auto it = folds_.find(n);
    return it == folds_.end() ? nullptr : &it->second;
  }

  std::map<const ir::Value*, Sym> syms_;
  runtime::CompressedModelImpl& model_;
  const ir::Graph& graph_;
  const OnnxOptions& options_;
  const std::vector<HookExporter>& exporters_;
  OnnxBuilder b_;
  std::unordered_map<std::string, std::vector<HookAt>> input_hooks_, pre_hooks_, post_hooks_;
  std::map<const ir::Value*, at::Tensor> evaluated_;
  std::unordered_map<const ir::Node*, detail::BatchNormFold> folds_;  // by conv and by batch_norm
  detail::ConstantFolder folder_;
};

class NodeContext : public detail::Context {
 public:
  NodeContext(Exporter& e, const ir::Node& n) : Context(e.b_, n), e_(e) {}

  Sym arg(size_t i) override {
    auto it = args_.find(i);
    if (it != args_.end()) return it->second;
    const ir::Arg& a = node.input(i);
    Sym s = a.is_constant() ? from_constant(a.constant()) : e_.value(a.value());
    // Pre-op hooks see this use of the value only.
    if (auto h = e_.pre_hooks_.find(node.scope()); h != e_.pre_hooks_.end()) {
      std::vector<HookAt> here;
      for (const HookAt& ha : h->second) {
        if (ha.point->port == i) here.push_back(ha);
      }
      if (!here.empty()) {
        if (s.kind != Sym::Kind::Tensor) fail(c10::str("an inserted module sits on non-tensor argument ", i));
        s.name = e_.apply_hooks(here, s.name, nullptr);
      }
    }
    return args_[i] = s;
  }
  std::optional<at::Tensor> tensor_value(const ir::Value* v) override { return e_.tensor_value(v); }
  const detail::BatchNormFold* fold() override { return e_.fold_at(&node); }
  std::string folded_weight(size_t i) override {
    const detail::BatchNormFold* f = fold();
    TORCH_INTERNAL_ASSERT(f && node.input(i).is_value(), "folded_weight without a fold");
    return e_.folded_weight(node.input(i).value(), *f, c10::str(node.scope(), ".weight_folded"));
  }
  void set_output(size_t k, Sym s) override { e_.syms_[node.output(k)] = std::move(s); }
  std::string output_name(size_t k) override { return e_.syms_.at(node.output(k)).name; }

 private:
  Exporter& e_;
  std::map<size_t, Sym> args_;
};

std::optional<at::Tensor> Exporter::tensor_value(const ir::Value* v) {
  if (v == nullptr || !v->is_graph_input() ||
      (v->role() != ir::InputRole::Parameter && v->role() != ir::InputRole::Buffer)) {
    return std::nullopt;
  }
  if (auto it = evaluated_.find(v); it != evaluated_.end()) return it->second;
  at::Tensor t = model_.tensor(v->name());
  TORCH_CHECK(t.defined(), kWho, ": no tensor for graph input '", v->name(), "'");
  // Weight hooks run in the runtime's order; the initializer holds the result.
  if (auto it = input_hooks_.find(v->name()); it != input_hooks_.end()) {
    for (const HookAt& ha : it->second) {
      torch::nn::AnyModule module = ha.hook->module;  // shares the module
      t = module.forward<at::Tensor>(t);
    }
  }
  return evaluated_[v] = t.detach();
}

std::string Exporter::apply_hooks(const std::vector<HookAt>& hooks, std::string name,
                                  const WeightInput* weight) {
  for (const HookAt& ha : hooks) {
    std::optional<std::string> out;
    for (const HookExporter& ex : exporters_) {
      if (ex.write && (out = ex.write(*ha.hook->module.ptr(), name, b_, weight))) break;
    }
    if (out) {
      name = *out;
    } else if (!weight) {
      TORCH_CHECK(false, kWho, ": no exporter handles inserted module '", ha.hook->name, "' (",
                  ha.hook->module.ptr()->name(), ") at ", runtime::to_string(*ha.point),
                  "; pass a HookExporter that writes it");
    }
  }
  return name;
}

Sym Exporter::value(const ir::Value* v) {
  if (folder_.is_folded(v)) return folder_.sym(v, b_);
  if (auto it = syms_.find(v); it != syms_.end()) return it->second;
  TORCH_CHECK(v->is_graph_input(), kWho, ": value %", v->name(),
              " is used before it is computed (is its producer ", "train-only?)");
  switch (v->role()) {
    case ir::InputRole::Training:
      return syms_[v] = Sym::int_const(0);
    case ir::InputRole::Parameter:
    case ir::InputRole::Buffer: {
      at::Tensor t = *tensor_value(v);
      // A 0-dim double constant (a Python float the capture kept as a tensor) takes part in float
      // arithmetic without promoting it; ONNX wants one type.
      if (t.dim() == 0 && t.scalar_type() == at::kDouble) t = t.to(at::kFloat);
      std::string name = b_.add_initializer(v->name(), t);
      if (auto it = input_hooks_.find(v->name()); it != input_hooks_.end()) {
        const WeightInput w{t, {}};
        name = apply_hooks(it->second, name, &w);
      }
      return syms_[v] = Sym::tensor(name);
    }
    case ir::InputRole::Data:
      break;
  }
  TORCH_INTERNAL_ASSERT(false, "data input %", v->name(), " was not declared");
}

// Note [BatchNorm folding]: a batch_norm folds into the conv before it (passes::BatchNormFolding
// finds where the graph allows it) when no inserted module can see the difference: no hook on the
// conv's bias, on the batch_norm's tensors, on the conv's output or on the batch_norm's input. Hooks
// on the conv's weight are evaluated into it as usual (a mask, a quantizer's grid); a hook an
// exporter writes (QuantizeLinear/DequantizeLinear) must then be written for the scaled weight,
// which the exporter's can_fold decides. Folding a quantized weight is what lets a runtime see
// DequantizeLinear -> Conv -> QuantizeLinear and run an integer conv.
void Exporter::find_foldable_batch_norms() {
  auto hooked = [&](const ir::Arg& a) { return a.is_value() && input_hooks_.count(a.value()->name()); };
  for (const passes::FoldableBatchNorm& site : passes::BatchNormFolding().run(graph_)) {
    const ir::Node* conv = site.layer;
    const ir::Node* bn = site.batch_norm;
    bool hooks = hooked(conv->input(2)) || post_hooks_.count(conv->scope());
    for (size_t i = 1; i <= 4; ++i) hooks = hooks || hooked(bn->input(i));
    if (auto h = pre_hooks_.find(bn->scope()); h != pre_hooks_.end()) {
      hooks = hooks || std::any_of(h->second.begin(), h->second.end(),
                                   [](const HookAt& ha) { return ha.point->port == 0; });
    }
    if (hooks) continue;
    if (auto f = fold_of(conv, bn)) {
      folds_[conv] = *f;
      folds_[bn] = *f;
    }
  }
}

std::optional<detail::BatchNormFold> Exporter::fold_of(const ir::Node* conv, const ir::Node* bn) {
  auto get = [&](size_t i) -> std::optional<at::Tensor> {
    const ir::Arg& a = bn->input(i);
    if (!a.is_value()) return std::nullopt;
    auto t = tensor_value(a.value());
    TORCH_INTERNAL_ASSERT(t, "batch_norm argument without a tensor");
    return t;
  };
  const detail::BatchNormFold f{
      passes::BatchNormFolding::affine(*get(3), *get(4), get(1), get(2), bn->input(7).constant().to_double()), bn};
  const ir::Value* w = conv->input(1).value();
  auto hooks = input_hooks_.find(w->name());
  if (hooks == input_hooks_.end()) return f;
  const at::Tensor weight = *tensor_value(w);
  if (weight.dim() < 1 || weight.size(0) != f.scale.numel()) return std::nullopt;
  for (const HookAt& ha : hooks->second) {
    for (const HookExporter& ex : exporters_) {
      if (!ex.write) continue;
      if (!ex.can_fold || !ex.can_fold(*ha.hook->module.ptr(), weight, f.scale)) return std::nullopt;
    }
  }
  return f;
}

std::string Exporter::folded_weight(const ir::Value* v, const detail::BatchNormFold& fold, const std::string& hint) {
  const at::Tensor value = fold.fold_weight(*tensor_value(v));
  std::string name = b_.add_initializer(hint, value);
  if (auto it = input_hooks_.find(v->name()); it != input_hooks_.end()) {
    const WeightInput w{value, fold.scale};
    name = apply_hooks(it->second, name, &w);
  }
  return name;
}

void set_tensor_type(onnx::ValueInfoProto* vi, const std::string& name, int32_t elem,
                     const std::optional<std::vector<int64_t>>& shape, bool dynamic_batch) {
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem);
  if (!shape) return;
  auto* s = tt->mutable_shape();
  for (size_t d = 0; d < shape->size(); ++d) {
    auto* dim = s->add_dim();
    if (d == 0 && dynamic_batch) {
      dim->set_dim_param("batch");
    } else if ((*shape)[d] >= 0) {
      dim->set_dim_value((*shape)[d]);
    }
  }
}

onnx::ModelProto Exporter::run() {
  onnx::ModelProto& m = b_.model();
  onnx::GraphProto* g = m.mutable_graph();
  // Inputs.
  std::vector<const ir::Value*> data;
  for (const ir::Value* v : graph_.inputs()) {
    if (v->role() == ir::InputRole::Data) data.push_back(v);
  }
  TORCH_CHECK(options_.input_names.empty() || options_.input_names.size() == data.size(), kWho, ": ",
              options_.input_names.size(), " input names for ", data.size(), " data inputs");
  TORCH_CHECK(options_.input_shapes.empty() || options_.input_shapes.size() == data.size(), kWho, ": ",
              options_.input_shapes.size(), " input shapes for ", data.size(), " data inputs");
  for (size_t i = 0; i < data.size(); ++i) {
    TORCH_CHECK(data[i]->is_tensor(), kWho, ": data input '", data[i]->name(), "' is a ", data[i]->type(),
                ", not a tensor");
    const std::string want = options_.input_names.empty() ? data[i]->name() : options_.input_names[i];
    const std::string name = b_.unique_name(want);
    TORCH_CHECK(name == want, kWho, ": input name '", want, "' is given twice");
    std::optional<std::vector<int64_t>> shape;
    if (!options_.input_shapes.empty()) {
      shape = options_.input_shapes[i];
    } else if (!data[i]->shape().empty()) {
      shape = data[i]->shape();
    }
    TORCH_CHECK(shape, kWho, ": the shape of data input '", data[i]->name(),
                "' is unknown; give OnnxOptions::input_shapes (e.g. the config's input_info.sample_size)");
    set_tensor_type(g->add_input(), name, onnx::TensorProto::FLOAT, shape, options_.dynamic_batch);
    std::string hooked = name;
    if (auto it = input_hooks_.find(data[i]->name()); it != input_hooks_.end())
      hooked = apply_hooks(it->second, name, nullptr);
    syms_[data[i]] = Sym::tensor(hooked);
  }

  find_foldable_batch_norms();
  // What constant folding may read (Note [Constant folding]): parameters and buffers that no
  // inserted module changes, and the mode.
  const detail::ConstantFolder::KnownInput known = [this](const ir::Value* v) -> std::optional<c10::IValue> {
    if (v->role() == ir::InputRole::Training) return c10::IValue(false);
    if (input_hooks_.count(v->name())) return std::nullopt;
    if (auto t = tensor_value(v)) return c10::IValue(*t);
    return std::nullopt;
  };
  for (const ir::Node* node : graph_.nodes()) {
    if (node->runs_in() == ir::RunsIn::Training) continue;
    NodeContext ctx(*this, *node);
    if (node->metatype() == ir::Metatype::ModeSelect) {
      const ir::Arg& eval = node->input(2);  // the eval value
      if (eval.is_value() && folder_.is_folded(eval.value())) {
        folder_.alias(node->output(), eval.value());
      } else {
        ctx.set_output(0, ctx.arg(2));
      }
      continue;
    }
    const detail::Converter* convert = detail::find_converter(*node);
    if (!pre_hooks_.count(node->scope()) && !post_hooks_.count(node->scope()) &&
        folder_.fold(*node, convert != nullptr, known)) {
      continue;
    }
    if (convert == nullptr) ctx.fail("no ONNX conversion for this op");
    (*convert)(ctx);
    for (size_t k = 0; k < node->outputs().size(); ++k) {
      TORCH_INTERNAL_ASSERT(syms_.count(node->output(k)), "converter of ", node->qualified_op(),
                            " set no output ", k);
    }
    if (auto it = post_hooks_.find(node->scope()); it != post_hooks_.end()) {
      for (const HookAt& ha : it->second) {
        Sym& s = syms_[node->output(ha.point->port)];
        if (s.kind != Sym::Kind::Tensor) ctx.fail("an inserted module sits on a non-tensor output");
        s.name = apply_hooks({ha}, s.name, nullptr);
      }
    }
  }

  // Outputs: tensors, or tuples/lists of tensors flattened.
  std::vector<std::string> outs;
  for (const ir::Value* v : graph_.outputs()) {
    Sym s = value(v);
    if (s.kind == Sym::Kind::Tensor) {
      outs.push_back(s.name);
      continue;
    }
    TORCH_CHECK(s.kind == Sym::Kind::TensorList, kWho, ": graph output %", v->name(), " (", v->type(),
                ") is not a tensor or a tuple of tensors");
    for (const Sym& e : s.items) {
      if (e.kind == Sym::Kind::Tensor) outs.push_back(e.name);
    }
  }
  TORCH_CHECK(options_.output_names.empty() || options_.output_names.size() == outs.size(), kWho, ": ",
              options_.output_names.size(), " output names for ", outs.size(), " outputs");
  std::vector<std::string> final_names;
  for (size_t i = 0; i < outs.size(); ++i) {
    const std::string want =
        options_.output_names.empty() ? c10::str("output.", i) : options_.output_names[i];
    const std::string name = b_.unique_name(want);
    TORCH_CHECK(name == want, kWho, ": output name '", want, "' is taken");
    b_.add_node("Identity", {outs[i]}, {name});
    final_names.push_back(name);
  }
  // Output types from shape inference (the checker wants them), batch symbolic.
  for (const std::string& name : final_names) {
    auto shape = b_.shape(name);
    TORCH_CHECK(shape, kWho, ": ONNX shape inference cannot tell the rank of output '", name, "'");
    int32_t elem = onnx::TensorProto::FLOAT;
    set_tensor_type(g->add_output(), name, elem, shape, options_.dynamic_batch && shape && !shape->empty());
  }
  return m;
}

}  // namespace

void export_onnx(runtime::CompressedModel& model, const std::string& path, const OnnxOptions& options,
                 const std::vector<HookExporter>& exporters) {
  TORCH_CHECK(!model.is_empty(), kWho, ": empty model");
  const bool was_training = model->is_training();
  model->eval();
  std::string bytes;
  try {
    torch::NoGradGuard no_grad;
    Exporter exporter(*model, options, exporters);
    onnx::ModelProto proto = exporter.run();
    try {
      onnx::checker::check_model(proto);
    } catch (const std::exception& e) {
      TORCH_CHECK(false, kWho, ": the ONNX checker rejects the exported model: ", e.what());
    }
    TORCH_CHECK(proto.SerializeToString(&bytes), kWho, ": cannot serialize the model");
  } catch (...) {
    model->train(was_training);
    throw;
  }
  model->train(was_training);
  runtime::write_file_atomically(path, bytes, kWho);
}

}  // namespace nncf::exporting
