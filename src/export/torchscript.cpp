#include "nncf/export/torchscript.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/ir.h>

#include <map>
#include <set>
#include <sstream>

#include "nncf/runtime/affine_quantizer.h"
#include "nncf/runtime/files.h"
#include "nncf/runtime/ops.h"
#include "nncf/runtime/step_activation.h"

namespace nncf::exporting {
namespace {

using runtime::InsertionPoint;
namespace jit = torch::jit;

// An IR type string ("Tensor", "int[]", "(Tensor, Tensor)", "Tensor?") as a JIT type.
c10::TypePtr parse_type(const std::string& s) {
  if (s.size() > 2 && s.compare(s.size() - 2, 2, "[]") == 0)
    return c10::ListType::create(parse_type(s.substr(0, s.size() - 2)));
  if (!s.empty() && s.back() == '?') return c10::OptionalType::create(parse_type(s.substr(0, s.size() - 1)));
  if (s.size() >= 2 && s.front() == '(' && s.back() == ')') {
    std::vector<c10::TypePtr> elems;
    int depth = 0;
    std::string item;
    for (char c : s.substr(1, s.size() - 2)) {
      if (c == ',' && depth == 0) {
        elems.push_back(parse_type(item));
        item.clear();
        continue;
      }
      depth += c == '(' ? 1 : c == ')' ? -1 : 0;
      if (!(c == ' ' && item.empty())) item += c;
    }
    if (!item.empty()) elems.push_back(parse_type(item));
    return c10::TupleType::create(elems);
  }
  if (s == "Tensor") return c10::TensorType::get();
  if (s == "int") return c10::IntType::get();
  if (s == "float") return c10::FloatType::get();
  if (s == "bool") return c10::BoolType::get();
  if (s == "str") return c10::StringType::get();
  if (s == "Device") return c10::DeviceObjType::get();
  if (s == "NoneType") return c10::NoneType::get();
  if (s == "Scalar") return c10::NumberType::get();
  TORCH_CHECK(false, "nncf::export_torchscript: cannot express the value type '", s, "'");
}

std::string attribute_name(const std::string& dotted, std::set<std::string>& taken) {
  std::string name = dotted;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  }
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) name = "_" + name;
  std::string unique = name;
  for (int k = 2; taken.count(unique); ++k) unique = c10::str(name, "_", k);
  taken.insert(unique);
  return unique;
}

class Exporter {
 public:
  explicit Exporter(runtime::CompressedModel& model)
      : model_(model),
        module_(c10::QualifiedName("__torch__.nncf.CompressedModel"),
                std::make_shared<jit::CompilationUnit>()) {}

  void run(const std::string& path) {
    torch::NoGradGuard no_grad;
    const bool training = model_->is_training();
    model_->eval();
    struct Restore {
      runtime::CompressedModel& m;
      bool t;
      ~Restore() { m->train(t); }
    } restore{model_, training};

    index_hooks();
    graph_ = std::make_shared<jit::Graph>();
    self_ = graph_->addInput("self");
    self_->setType(module_._ivalue()->type());
    const ir::Graph& g = model_->graph();
    for (const ir::Value* v : g.inputs()) add_input(v);
    for (const ir::Node* n : g.nodes()) add_node(*n);
    std::vector<jit::Value*> outs;
    for (const ir::Value* v : g.outputs()) outs.push_back(value_of(v, "the graph output"));
    graph_->registerOutput(outs.size() == 1 ? outs[0]
                                            : graph_->insertNode(graph_->createTuple(outs))->output());

    auto fn = module_._ivalue()->compilation_unit()->create_function(
        c10::QualifiedName(*module_.type()->name(), "forward"), graph_);
    module_.type()->addMethod(fn);
    std::ostringstream bytes;
    module_.save(bytes);
    runtime::write_file_atomically(path, bytes.str(), "nncf::export_torchscript");
  }

 private:
  void index_hooks() {
    std::vector<const runtime::Hook*> sorted;
    for (const runtime::Hook& h : model_->hooks()) sorted.push_back(&h);
    std::stable_sort(sorted.begin(), sorted.end(), [](const runtime::Hook* a, const runtime::Hook* b) {
      return a->priority < b->priority;
    });
    for (const runtime::Hook* h : sorted) {
      for (const InsertionPoint& p : h->points) {
        switch (p.kind) {
          case InsertionPoint::Kind::WeightPreOp:
            weight_hooks_[p.target].push_back(h);
            break;
          case InsertionPoint::Kind::ModelInput:
            input_hooks_[p.target].push_back(h);
            break;
          case InsertionPoint::Kind::PreOp:
            pre_hooks_[{p.target, p.port}].push_back(h);
            break;
          case InsertionPoint::Kind::PostOp:
            post_hooks_[{p.target, p.port}].push_back(h);
            break;
        }
      }
    }
  }

  jit::Value* add_tensor_attribute(const std::string& dotted, const at::Tensor& t, bool parameter) {
    const std::string name = attribute_name(dotted, taken_);
    module_.register_parameter(name, t, /*is_buffer=*/!parameter);
    return graph_->insertGetAttr(self_, name);
  }

  void add_input(const ir::Value* v) {
    switch (v->role()) {
      case ir::InputRole::Data: {
        jit::Value* in = graph_->addInput(attribute_name(v->name(), taken_inputs_));
        in->setType(parse_type(v->type()));
        values_[v] = apply_activation_hooks(in, input_hooks_, v->name(), c10::str("input '", v->name(), "'"));
        break;
      }
      case ir::InputRole::Training:
        values_[v] = graph_->insertConstant(false);
        break;
      case ir::InputRole::Parameter:
      case ir::InputRole::Buffer: {
        // The weight as every forward sees it: weight pre-ops (masks, quantizers) applied.
        at::Tensor t = model_->tensor(v->name()).detach();
        if (auto it = weight_hooks_.find(v->name()); it != weight_hooks_.end()) {
          for (const runtime::Hook* h : it->second) {
            torch::nn::AnyModule module = h->module;  // a copy shares the module
            t = module.forward<at::Tensor>(t).detach();
          }
        }
        values_[v] = add_tensor_attribute(v->name(), t.clone(), v->role() == ir::InputRole::Parameter);
        break;
      }
    }
  }

  jit::Value* value_of(const ir::Value* v, const std::string& where) const {
    auto it = values_.find(v);
    TORCH_CHECK(it != values_.end(), "nncf::export_torchscript: ", where, " reads %", v->name(),
                ", which only training computes");
    return it->second;
  }

  template <typename Key>
  jit::Value* apply_activation_hooks(jit::Value* x,
                                     const std::map<Key, std::vector<const runtime::Hook*>>& hooks,
                                     const Key& key, const std::string& where) {
    auto it = hooks.find(key);
    if (it == hooks.end()) return x;
    for (const runtime::Hook* h : it->second) x = emit_hook(*h, x, where);
    return x;
  }

  jit::Value* emit_hook(const runtime::Hook& h, jit::Value* x, const std::string& where) {
    if (const auto* step = dynamic_cast<const runtime::StepActivation*>(h.module.ptr().get())) {
      if (!step->binarizes()) return x;
      // level * [x > t_c]: gt against the points along dim 1, then where(.., level, 0).
      torch::NoGradGuard no_grad;
      const at::Tensor t = step->switch_points().detach().reshape({1, -1, 1, 1}).contiguous();
      jit::Value* points = add_tensor_attribute("nncf_" + h.name + "_switch_points", t, false);
      jit::Value* level = add_tensor_attribute("nncf_" + h.name + "_level",
                                               step->level().detach().reshape({}).clone(), false);
      jit::Value* above = graph_->insert(c10::Symbol::fromQualString("aten::gt"), {x, points});
      return graph_->insert(c10::Symbol::fromQualString("aten::where"),
                            {above, level, graph_->insertConstant(0.0)});
    }
    const auto* fq = dynamic_cast<const runtime::AffineQuantizer*>(h.module.ptr().get());
    TORCH_CHECK(
        fq != nullptr, "nncf::export_torchscript: the module '", h.name, "' inserted at ", where,
        " is neither a quantizer nor a binarizer; only those activations can be expressed with built-in ops");
    if (!fq->quantizes()) return x;
    const runtime::AffineGrid p = fq->affine_grid();
    jit::Value* scale = add_tensor_attribute("nncf_" + h.name + "_step", p.step, false);
    jit::Value* zero = add_tensor_attribute("nncf_" + h.name + "_zero_point", p.zero_point, false);
    jit::Value* qmin = graph_->insertConstant(p.quant_min);
    jit::Value* qmax = graph_->insertConstant(p.quant_max);
    if (p.per_channel) {
      return graph_->insert(c10::Symbol::fromQualString("aten::fake_quantize_per_channel_affine"),
                            {x, scale, zero, graph_->insertConstant(p.axis), qmin, qmax});
    }
    return graph_->insert(c10::Symbol::fromQualString("aten::fake_quantize_per_tensor_affine"),
                          {x, scale, zero, qmin, qmax});
  }

  void add_node(const ir::Node& n) {
    if (n.runs_in() == ir::RunsIn::Training) return;  // eval mode only
    const std::string where = c10::str(n.qualified_op(), " (scope '", n.scope(), "')");
    if (n.op() == "prim::ModeSelect") {
      values_[n.output()] = value_of(n.input(2).value(), where);
      return;
    }
    const c10::FunctionSchema* schema = runtime::schema_of(n);
    std::vector<jit::Value*> inputs;
    for (size_t i = 0; i < n.inputs().size(); ++i) {
      const ir::Arg& a = n.input(i);
      jit::Value* in;
      if (a.is_value()) {
        in = value_of(a.value(), where);
      } else {
        const c10::TypePtr* type =
            schema != nullptr && i < schema->arguments().size() ? &schema->arguments()[i].type() : nullptr;
        in = graph_->insertConstant(runtime::constant_to_ivalue(a.constant(), type));
      }
      inputs.push_back(apply_activation_hooks(in, pre_hooks_, std::make_pair(n.scope(), i),
                                              c10::str("argument ", i, " of ", where)));
    }
    jit::Node* j = nullptr;
    const std::string& op = n.op();
    if (op == "prim::ListConstruct") {
      const auto list = parse_type(n.output()->type())->expect<c10::ListType>();
      j = graph_->createList(list->getElementType(), inputs);
    } else if (op == "prim::TupleConstruct") {
      j = graph_->createTuple(inputs);
    } else if (op == "prim::ListUnpack") {
      j = graph_->createListUnpack(inputs.at(0), n.outputs().size());
    } else if (op == "prim::TupleUnpack") {
      j = graph_->createTupleUnpack(inputs.at(0));
    } else if (op == "prim::TupleIndex") {
      j = graph_->createTupleIndex(inputs.at(0), inputs.at(1), parse_type(n.output()->type()));
    } else {
      TORCH_CHECK(op.rfind("nncf::", 0) != 0, "nncf::export_torchscript: ", where,
                  " is an nncf-cpp operator, which a program without nncf-cpp cannot run");
      j = graph_->create(c10::Symbol::fromQualString(op), inputs, n.outputs().size());
    }
    graph_->insertNode(j);
    TORCH_CHECK(j->outputs().size() == n.outputs().size(), "nncf::export_torchscript: ", where, " has ",
                n.outputs().size(), " outputs, its TorchScript form ", j->outputs().size());
    for (size_t k = 0; k < n.outputs().size(); ++k) {
      jit::Value* out = j->output(k);
      out->setType(parse_type(n.output(k)->type()));
      values_[n.output(k)] = apply_activation_hooks(out, post_hooks_, std::make_pair(n.scope(), k),
                                                    c10::str("output ", k, " of ", where));
    }
    if (schema != nullptr) {
      TORCH_CHECK(j->maybeSchema() != nullptr, "nncf::export_torchscript: ", where,
                  " matches no TorchScript operator with these argument types");
    }
  }

  runtime::CompressedModel& model_;
  jit::Module module_;
  std::shared_ptr<jit::Graph> graph_;
  jit::Value* self_ = nullptr;
  std::map<const ir::Value*, jit::Value*> values_;
  std::set<std::string> taken_, taken_inputs_;
  std::map<std::string, std::vector<const runtime::Hook*>> weight_hooks_, input_hooks_;
  std::map<std::pair<std::string, size_t>, std::vector<const runtime::Hook*>> pre_hooks_, post_hooks_;
};

}  // namespace

void export_torchscript(runtime::CompressedModel& model, const std::string& path) {
  Exporter(model).run(path);
}

}  // namespace nncf::exporting
