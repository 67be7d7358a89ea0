#include "onnx_ops.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>

#include <cmath>
#include <limits>
#include <unordered_map>

namespace nncf::exporting::detail {

using Kind = Sym::Kind;
using Attrs = std::vector<OnnxAttribute>;

// ---- Context helpers ---------------------------------------------------------------------------

void Context::fail(const std::string& why) const {
  TORCH_CHECK(false, "nncf::export_onnx: cannot export node '", node.scope(), "' (", node.qualified_op(),
              "): ", why);
}

std::string Context::hint(size_t k) const {
  return k == 0 ? node.scope() : c10::str(node.scope(), ":", k);
}
std::string Context::tmp(std::string_view what) const {
  return c10::str(node.scope(), "/", what);
}

bool Context::is_none(size_t i) {
  return i >= num_args() || arg(i).kind == Kind::None;
}

std::string Context::tensor(size_t i) {
  Sym s = arg(i);
  if (s.kind != Kind::Tensor) fail(c10::str("argument ", i, " is not a tensor"));
  return s.name;
}

int64_t Context::to_int(size_t i) {
  Sym s = arg(i);
  if (s.kind == Kind::Int && s.is_const) return s.i;
  if (s.kind == Kind::Double && std::floor(s.d) == s.d) return static_cast<int64_t>(s.d);
  fail(c10::str("argument ", i, " must be a constant integer"));
}

double Context::to_double(size_t i) {
  Sym s = arg(i);
  if (s.kind == Kind::Double) return s.d;
  if (s.kind == Kind::Int && s.is_const) return static_cast<double>(s.i);
  fail(c10::str("argument ", i, " must be a constant number"));
}

bool Context::to_bool(size_t i) {
  return to_int(i) != 0;
}

std::string Context::to_str(size_t i) {
  const ir::Arg& a = node.input(i);
  if (a.is_constant() && a.constant().kind() == ir::Constant::Kind::String) return a.constant().to_string();
  fail(c10::str("argument ", i, " must be a constant string"));
}

std::vector<int64_t> Context::ints(size_t i) {
  Sym s = arg(i);
  if (s.kind == Kind::Int && s.is_const) return {s.i};
  if (s.kind != Kind::IntList) fail(c10::str("argument ", i, " must be an int list"));
  std::vector<int64_t> out;
  for (const Sym& e : s.items) {
    if (!(e.kind == Kind::Int && e.is_const)) fail(c10::str("argument ", i, " must be a constant int list"));
    out.push_back(e.i);
  }
  return out;
}

std::string Context::int_tensor(const Sym& s, std::string_view hint) {
  if (s.kind != Kind::Int) fail("expected an integer");
  return s.is_const ? b.add_ints(hint, {s.i}) : s.name;
}

std::string Context::int_list_tensor(const std::vector<Sym>& items, std::string_view hint) {
  bool all_const = true;
  std::vector<int64_t> values;
  for (const Sym& e : items) {
    if (e.kind != Kind::Int) fail("expected a list of integers");
    all_const = all_const && e.is_const;
    values.push_back(e.i);
  }
  if (all_const) return b.add_ints(hint, values);
  // Runs of constants become one initializer each, dynamic elements are 1-element tensors.
  std::vector<std::string> parts;
  std::vector<int64_t> run;
  for (const Sym& e : items) {
    if (e.is_const) {
      run.push_back(e.i);
      continue;
    }
    if (!run.empty()) parts.push_back(b.add_ints(c10::str(hint, "/c"), run));
    run.clear();
    parts.push_back(e.name);
  }
  if (!run.empty()) parts.push_back(b.add_ints(c10::str(hint, "/c"), run));
  return parts.size() == 1 ? b.add("Identity", parts, {}, hint)
                           : b.add("Concat", parts, {{"axis", int64_t{0}}}, hint);
}

std::string Context::operand(size_t i) {
  Sym s = arg(i);
  if (s.kind == Kind::Tensor) return s.name;
  if (s.kind == Kind::Double || (s.kind == Kind::Int && s.is_const)) {
    return b.add_float_scalar(tmp("const"), static_cast<float>(s.kind == Kind::Double ? s.d : s.i));
  }
  fail(c10::str("argument ", i, " must be a tensor or a constant number"));
}

int64_t Context::rank(const std::string& name) {
  auto s = b.shape(name);
  if (!s) fail(c10::str("the rank of '", name, "' is unknown (give OnnxOptions::input_shapes)"));
  return static_cast<int64_t>(s->size());
}

void Context::emit(const std::string& op_type, const std::vector<std::string>& inputs,
                   const Attrs& attributes) {
  set_output(0, Sym::tensor(b.add(op_type, inputs, attributes, hint())));
}

namespace {

// ---- weights ----

void conv(Context& c) {
  const BatchNormFold* fold = c.fold();
  std::string x = c.tensor(0), w = fold ? c.folded_weight(1) : c.tensor(1);
  std::optional<at::Tensor> wt = c.tensor_value(c.node.input(1).value());
  std::vector<int64_t> wshape;
  if (wt) {
    wshape = wt->sizes().vec();
  } else if (auto s = c.b.shape(w)) {
    wshape = *s;
  } else {
    c.fail("the weight's shape is unknown");
  }
  const size_t k = wshape.size() - 2;
  std::vector<int64_t> kernel(wshape.begin() + 2, wshape.end());
  for (int64_t d : kernel) {
    if (d < 0) c.fail("the weight's shape is unknown");
  }
  auto stride = expand_to(c, c.ints(3), k, "stride");
  auto dilation = expand_to(c, c.ints(5), k, "dilation");
  std::vector<int64_t> pads;
  const ir::Arg& pad = c.node.input(4);
  if (pad.is_constant() && pad.constant().kind() == ir::Constant::Kind::String) {
    const std::string& mode = pad.constant().to_string();
    if (mode == "valid") {
      pads.assign(2 * k, 0);
    } else if (mode == "same") {
      // PyTorch pads the odd element at the end.
      pads.assign(2 * k, 0);
      for (size_t d = 0; d < k; ++d) {
        int64_t total = dilation[d] * (kernel[d] - 1);
        pads[d] = total / 2;
        pads[d + k] = total - total / 2;
      }
    } else {
      c.fail(c10::str("unknown padding mode '", mode, "'"));
    }
  } else {
    pads = symmetric_pads(expand_to(c, c.ints(4), k, "padding"));
  }
  std::vector<std::string> inputs = {x, w};
  if (!c.is_none(2)) inputs.push_back(c.tensor(2));
  if (fold) {
    // Note [BatchNorm folding]: w' = w * scale, b' = b * scale + shift (computed in double).
    const at::Tensor bias = inputs.size() == 3 ? c.tensor_value(c.node.input(2).value())->to(at::kDouble)
                                               : at::zeros_like(fold->scale);
    const at::Tensor new_b = (bias * fold->scale + fold->shift).to(wt ? wt->scalar_type() : at::kFloat);
    inputs = {x, w, c.b.add_initializer(c10::str(c.node.scope(), ".bias_folded"), new_b)};
  }
  Attrs attrs = {{"dilations", dilation},
                 {"group", c.to_int(6)},
                 {"kernel_shape", kernel},
                 {"pads", pads},
                 {"strides", stride}};
  c.emit("Conv", inputs, attrs);
}

void linear(Context& c) {
  std::string x = c.tensor(0), w = c.tensor(1);
  auto s = c.b.shape(x);
  if (s && s->size() == 2) {
    std::vector<std::string> in = {x, w};
    if (!c.is_none(2)) in.push_back(c.tensor(2));
    c.emit("Gemm", in, {{"transB", int64_t{1}}});
    return;
  }
  std::string wt = c.b.add("Transpose", {w}, {{"perm", std::vector<int64_t>{1, 0}}}, c.tmp("weight_t"));
  if (c.is_none(2)) {
    c.emit("MatMul", {x, wt});
    return;
  }
  std::string mm = c.b.add("MatMul", {x, wt}, {}, c.tmp("matmul"));
  c.emit("Add", {mm, c.tensor(2)});
}

void addmm(Context& c) {
  const float beta = c.num_args() > 3 ? static_cast<float>(c.to_double(3)) : 1.f;
  const float alpha = c.num_args() > 4 ? static_cast<float>(c.to_double(4)) : 1.f;
  c.emit("Gemm", {c.tensor(1), c.tensor(2), c.tensor(0)}, {{"alpha", alpha}, {"beta", beta}});
}

void batch_norm(Context& c) {
  if (c.fold() != nullptr) {  // folded into the conv before it
    c.set_output(0, c.arg(0));
    return;
  }
  if (c.to_bool(5)) c.fail("batch_norm runs with batch statistics in eval mode");
  std::string mean = c.tensor(3);
  auto param = [&](size_t i, double fill) {
    if (!c.is_none(i)) return c.tensor(i);
    auto m = c.tensor_value(c.node.input(3).value());
    if (!m) c.fail("batch_norm without weight needs running statistics that are parameters or buffers");
    return c.b.add_initializer(c.tmp(fill == 1 ? "weight" : "bias"), at::full_like(*m, fill));
  };
  c.emit("BatchNormalization", {c.tensor(0), param(1, 1), param(2, 0), mean, c.tensor(4)},
         {{"epsilon", static_cast<float>(c.to_double(7))}});
}

void layer_norm(Context& c) {
  std::string x = c.tensor(0);
  const int64_t n = static_cast<int64_t>(c.ints(1).size());
  std::vector<int64_t> axes;
  for (int64_t i = -n; i < 0; ++i) axes.push_back(i);
  Attrs red = {{"axes", axes}, {"keepdims", int64_t{1}}};
  std::string mean = c.b.add("ReduceMean", {x}, red, c.tmp("mean"));
  std::string d = c.b.add("Sub", {x, mean}, {}, c.tmp("centered"));
  std::string var = c.b.add("ReduceMean", {c.b.add("Mul", {d, d}, {}, c.tmp("sq"))}, red, c.tmp("var"));
  std::string eps = c.b.add_float_scalar(c.tmp("eps"), static_cast<float>(c.to_double(4)));
  std::string den = c.b.add("Sqrt", {c.b.add("Add", {var, eps}, {}, c.tmp("var_eps"))}, {}, c.tmp("std"));
  std::string y = c.is_none(2) && c.is_none(3) ? c.hint() : c.tmp("normalized");
  y = c.b.add("Div", {d, den}, {}, y);
  if (!c.is_none(2)) y = c.b.add("Mul", {y, c.tensor(2)}, {}, c.is_none(3) ? c.hint() : c.tmp("scaled"));
  if (!c.is_none(3)) y = c.b.add("Add", {y, c.tensor(3)}, {}, c.hint());
  c.set_output(0, Sym::tensor(y));
}

// ---- activations ----

Converter unary(const char* op, Attrs attrs = {}) {
  return [op, attrs](Context& c) { c.emit(op, {c.tensor(0)}, attrs); };
}

void clip(Context& c, double lo, double hi) {
  c.emit("Clip", {c.tensor(0), c.b.add_float_scalar(c.tmp("min"), static_cast<float>(lo)),
                  c.b.add_float_scalar(c.tmp("max"), static_cast<float>(hi))});
}

void hardswish(Context& c) {
  std::string x = c.tensor(0);
  std::string hs = c.b.add("HardSigmoid", {x}, {{"alpha", 1.f / 6}, {"beta", 0.5f}}, c.tmp("hardsigmoid"));
  c.emit("Mul", {x, hs});
}

void silu(Context& c) {
  std::string x = c.tensor(0);
  c.emit("Mul", {x, c.b.add("Sigmoid", {x}, {}, c.tmp("sigmoid"))});
}

void gelu(Context& c) {
  std::string x = c.tensor(0);
  const std::string approx = c.num_args() > 1 ? c.to_str(1) : "none";
  std::string inner;
  if (approx == "none") {  // 0.5 x (1 + erf(x / sqrt 2))
    inner = c.b.add(
        "Erf", {c.b.add("Div", {x, c.b.add_float_scalar(c.tmp("sqrt2"), std::sqrt(2.f))}, {}, c.tmp("div"))},
        {}, c.tmp("erf"));
  } else if (approx == "tanh") {  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    std::string x3 = c.b.add("Mul", {x, c.b.add("Mul", {x, x}, {}, c.tmp("x2"))}, {}, c.tmp("x3"));
    std::string p = c.b.add(
        "Add", {x, c.b.add("Mul", {x3, c.b.add_float_scalar(c.tmp("k"), 0.044715f)}, {}, c.tmp("kx3"))}, {},
        c.tmp("poly"));
    inner = c.b.add(
        "Tanh",
        {c.b.add("Mul", {p, c.b.add_float_scalar(c.tmp("s"), std::sqrt(2.f / static_cast<float>(M_PI)))}, {},
                 c.tmp("scaled"))},
        {}, c.tmp("tanh"));
  } else {
    c.fail(c10::str("unknown gelu approximation '", approx, "'"));
  }
  std::string one_plus =
      c.b.add("Add", {inner, c.b.add_float_scalar(c.tmp("one"), 1.f)}, {}, c.tmp("one_plus"));
  std::string half_x = c.b.add("Mul", {x, c.b.add_float_scalar(c.tmp("half"), 0.5f)}, {}, c.tmp("half_x"));
  c.emit("Mul", {half_x, one_plus});
}

// ---- arithmetic ----

bool is_int(const Sym& s) {
  return s.kind == Kind::Int;
}

// Integer arithmetic on sizes: constants fold, dynamic values become int64 ops.
void int_binary(Context& c, const char* onnx_op, int64_t (*f)(int64_t, int64_t)) {
  Sym a = c.arg(0), b = c.arg(1);
  if (!is_int(a) || !is_int(b)) c.fail("expected integers");
  if (a.is_const && b.is_const) {
    c.set_output(0, Sym::int_const(f(a.i, b.i)));
    return;
  }
  Sym out{Kind::Int};
  out.name = c.b.add(onnx_op, {c.int_tensor(a, c.tmp("a")), c.int_tensor(b, c.tmp("b"))}, {}, c.hint());
  c.set_output(0, out);
}

Converter binary(const char* onnx_op, int64_t (*f)(int64_t, int64_t)) {
  return [onnx_op, f](Context& c) {
    if (is_int(c.arg(0))) return int_binary(c, onnx_op, f);
    std::string a = c.operand(0), b = c.operand(1);
    // add/sub take `alpha`: a + alpha * b.
    if (c.num_args() > 2 && (std::string(onnx_op) == "Add" || std::string(onnx_op) == "Sub")) {
      const double alpha = c.to_double(2);
      if (alpha != 1)
        b = c.b.add("Mul", {b, c.b.add_float_scalar(c.tmp("alpha"), static_cast<float>(alpha))}, {},
                    c.tmp("alpha_b"));
    }
    if (std::string(onnx_op) == "Div" && c.num_args() > 2 && !c.is_none(2))
      c.fail("div with a rounding mode");
    c.emit(onnx_op, {a, b});
  };
}

void rsub(Context& c) {
  std::string a = c.operand(0), b = c.operand(1);
  const double alpha = c.num_args() > 2 ? c.to_double(2) : 1.0;
  if (alpha != 1)
    a = c.b.add("Mul", {a, c.b.add_float_scalar(c.tmp("alpha"), static_cast<float>(alpha))}, {},
                c.tmp("alpha_a"));
  c.emit("Sub", {b, a});
}

const std::unordered_map<std::string, Converter>& table() {
  static const std::unordered_map<std::string, Converter> t = [] {
    std::unordered_map<std::string, Converter> m = {
        {"aten::conv1d", conv},
        {"aten::conv2d", conv},
        {"aten::conv3d", conv},
        {"aten::linear", linear},
        {"aten::addmm", addmm},
        {"aten::matmul",
         [](Context& c) {
           c.emit("MatMul", {c.tensor(0), c.tensor(1)});
         }},
        {"aten::mm",
         [](Context& c) {
           c.emit("MatMul", {c.tensor(0), c.tensor(1)});
         }},
        {"aten::bmm",
         [](Context& c) {
           c.emit("MatMul", {c.tensor(0), c.tensor(1)});
         }},
        {"aten::batch_norm", batch_norm},
        {"aten::layer_norm", layer_norm},
        {"aten::relu", unary("Relu")},
        {"aten::relu6", [](Context& c) { clip(c, 0, 6); }},
        {"aten::hardtanh",
         [](Context& c) {
           clip(c, c.num_args() > 1 ? c.to_double(1) : -1, c.num_args() > 2 ? c.to_double(2) : 1);
         }},
        {"aten::hardswish", hardswish},
        {"aten::hardsigmoid", unary("HardSigmoid", {{"alpha", 1.f / 6}, {"beta", 0.5f}})},
        {"aten::sigmoid", unary("Sigmoid")},
        {"aten::tanh", unary("Tanh")},
        {"aten::silu", silu},
        {"aten::gelu", gelu},
        {"aten::leaky_relu",
         [](Context& c) {
           c.emit("LeakyRelu", {c.tensor(0)},
                  {{"alpha", static_cast<float>(c.num_args() > 1 ? c.to_double(1) : 0.01)}});
         }},
        {"aten::add", binary("Add", [](int64_t a, int64_t b) { return a + b; })},
        {"aten::sub", binary("Sub", [](int64_t a, int64_t b) { return a - b; })},
        {"aten::mul", binary("Mul", [](int64_t a, int64_t b) { return a * b; })},
        {"aten::div", binary("Div", [](int64_t a, int64_t b) { return a / b; })},
        {"aten::floordiv", binary("Div", [](int64_t a, int64_t b) { return a / b; })},
        {"aten::rsub", rsub},
    };
    add_shape_converters(m);
    add_more_converters(m);
    add_index_converters(m);
    return m;
  }();
  return t;
}

}  // namespace

const Converter* find_converter(const ir::Node& node) {
  const auto& t = table();
  if (auto it = t.find(node.qualified_op()); it != t.end()) return &it->second;
  std::string op = node.op();
  if (auto it = t.find(op); it != t.end()) return &it->second;
  if (!op.empty() && op.back() == '_') {
    op.pop_back();
    if (auto it = t.find(op); it != t.end()) return &it->second;
  }
  return nullptr;
}

// Normalizes a per-dimension list (stride {2} of a 2-D conv means {2, 2}).
std::vector<int64_t> expand_to(Context& c, std::vector<int64_t> v, size_t n, const char* what) {
  if (v.size() == 1 && n > 1) v.assign(n, v[0]);
  if (v.size() != n) c.fail(c10::str(what, " has ", v.size(), " elements, expected ", n));
  return v;
}

std::vector<int64_t> symmetric_pads(const std::vector<int64_t>& p) {
  std::vector<int64_t> pads = p;
  pads.insert(pads.end(), p.begin(), p.end());
  return pads;
}

}  // namespace nncf::exporting::detail
