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

// ---- weights ----

void conv(Context& c) {
  std::string x = c.tensor(0), w = c.tensor(1);
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
  if (const ir::Node* bn = c.folded_bn()) {
    // Note [BatchNorm folding]: w' = w * g / sqrt(var + eps), b' = (b - mean) * g / sqrt(var + eps) + beta,
    // computed in double.
    auto get = [&](size_t i) -> std::optional<at::Tensor> {
      const ir::Arg& a = bn->input(i);
      if (!a.is_value()) return std::nullopt;
      auto t = c.tensor_value(a.value());
      TORCH_INTERNAL_ASSERT(t, "folded batch_norm argument without a tensor");
      return t->to(at::kDouble);
    };
    at::Tensor mean = *get(3), var = *get(4);
    const double eps = bn->input(7).constant().to_double();
    at::Tensor gamma = get(1).value_or(at::ones_like(mean));
    at::Tensor beta = get(2).value_or(at::zeros_like(mean));
    at::Tensor scale = gamma / at::sqrt(var + eps);
    at::Tensor bias = inputs.size() == 3 ? *c.tensor_value(c.node.input(2).value()) : at::zeros_like(mean);
    std::vector<int64_t> bshape(wshape.size(), 1);
    bshape[0] = -1;
    const auto dtype = wt->scalar_type();
    at::Tensor new_w = (wt->to(at::kDouble) * scale.reshape(bshape)).to(dtype);
    at::Tensor new_b = ((bias.to(at::kDouble) - mean) * scale + beta).to(dtype);
    inputs = {x, c.b.add_initializer(c10::str(c.node.scope(), ".weight_folded"), new_w),
              c.b.add_initializer(c10::str(c.node.scope(), ".bias_folded"), new_b)};
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
  if (c.folded_bn() == &c.node) {  // folded into the conv before it
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

// ---- pooling ----

// Spatial dims of a pooling op, from its name: max_pool2d -> 2.
size_t spatial_dims(Context& c) {
  const std::string& op = c.node.op();
  const size_t at = op.find_last_of("123");
  if (at == std::string::npos || at + 1 >= op.size() || op[at + 1] != 'd') c.fail("unknown pooling rank");
  return static_cast<size_t>(op[at] - '0');
}

void max_pool(Context& c) {
  const size_t k = spatial_dims(c);
  auto kernel = expand_to(c, c.ints(1), k, "kernel_size");
  auto stride = c.ints(2);
  if (stride.empty()) stride = kernel;
  c.emit("MaxPool", {c.tensor(0)},
         {{"ceil_mode", int64_t{c.num_args() > 5 && c.to_bool(5)}},
          {"dilations", expand_to(c, c.num_args() > 4 ? c.ints(4) : std::vector<int64_t>{1}, k, "dilation")},
          {"kernel_shape", kernel},
          {"pads", symmetric_pads(expand_to(c, c.ints(3), k, "padding"))},
          {"strides", expand_to(c, stride, k, "stride")}});
}

void avg_pool(Context& c) {
  const size_t k = spatial_dims(c);
  auto kernel = expand_to(c, c.ints(1), k, "kernel_size");
  auto stride = c.ints(2);
  if (stride.empty()) stride = kernel;
  if (c.num_args() > 6 && !c.is_none(6)) c.fail("avg_pool with divisor_override");
  c.emit("AveragePool", {c.tensor(0)},
         {{"ceil_mode", int64_t{c.num_args() > 4 && c.to_bool(4)}},
          {"count_include_pad", int64_t{c.num_args() <= 5 || c.to_bool(5)}},
          {"kernel_shape", kernel},
          {"pads", symmetric_pads(expand_to(c, c.ints(3), k, "padding"))},
          {"strides", expand_to(c, stride, k, "stride")}});
}

void adaptive_avg_pool(Context& c) {
  std::string x = c.tensor(0);
  auto out = expand_to(c, c.ints(1), spatial_dims(c), "output_size");
  if (std::all_of(out.begin(), out.end(), [](int64_t v) { return v == 1; }))
    return c.emit("GlobalAveragePool", {x});
  auto s = c.b.shape(x);
  if (!s || s->size() < out.size())
    c.fail("adaptive pooling to a size other than 1 needs the input's spatial size");
  std::vector<int64_t> kernel;
  for (size_t d = 0; d < out.size(); ++d) {
    int64_t in = (*s)[s->size() - out.size() + d];
    if (in < 0 || in % out[d] != 0) {
      c.fail(c10::str("adaptive pooling from ", in < 0 ? std::string("an unknown size") : std::to_string(in),
                      " to ", out[d], " is not an even split, which ONNX AveragePool cannot express"));
    }
    kernel.push_back(in / out[d]);
  }
  c.emit("AveragePool", {x}, {{"kernel_shape", kernel}, {"strides", kernel}});
}

// ---- shapes and data movement ----

void identity(Context& c) {
  c.set_output(0, c.arg(0));
}

void reshape(Context& c) {
  Sym shape = c.arg(1);
  if (shape.kind != Kind::IntList) c.fail("the shape must be an int list");
  c.emit("Reshape", {c.tensor(0), c.int_list_tensor(shape.items, c.tmp("shape"))});
  // ONNX (1.12) infers nothing from a computed shape; what the constants say is known.
  std::vector<int64_t> dims;
  for (const Sym& e : shape.items) dims.push_back(e.is_const ? e.i : -1);
  // view(x, [x.size(0), a, -1, b]): the -1 follows from x's non-batch sizes.
  auto in = c.b.shape(c.tensor(0));
  const auto unknown = std::count(dims.begin(), dims.end(), -1);
  if (in && !in->empty() && !shape.items.empty() && shape.items[0].is_batch && unknown == 2 &&
      std::all_of(in->begin() + 1, in->end(), [](int64_t d) { return d >= 0; })) {
    int64_t total = 1, known = 1;
    for (size_t d = 1; d < in->size(); ++d) total *= (*in)[d];
    for (size_t d = 1; d < dims.size(); ++d) known *= dims[d] == -1 ? 1 : dims[d];
    for (size_t d = 1; d < dims.size(); ++d) {
      if (dims[d] == -1 && known > 0 && total % known == 0) dims[d] = total / known;
    }
  }
  c.b.set_shape(c.output_name(0), dims);
}

void flatten(Context& c) {
  std::string x = c.tensor(0);
  const int64_t start = c.to_int(1), end = c.to_int(2);
  if (end == -1 && start >= 0)
    return c.emit(start == 0 ? "Reshape" : "Flatten",
                  start == 0 ? std::vector<std::string>{x, c.b.add_ints(c.tmp("shape"), {-1})}
                             : std::vector<std::string>{x},
                  start == 0 ? Attrs{} : Attrs{{"axis", start}});
  // General case: shape[:start] + [-1] + shape[end+1:].
  const int64_t r = c.rank(x);
  const int64_t s = start < 0 ? start + r : start, e = end < 0 ? end + r : end;
  std::string shape = c.b.add("Shape", {x}, {}, c.tmp("shape_of"));
  std::vector<std::string> parts;
  auto slice = [&](int64_t from, int64_t to) {
    return c.b.add("Slice", {shape, c.b.add_ints(c.tmp("from"), {from}), c.b.add_ints(c.tmp("to"), {to})}, {},
                   c.tmp("dims"));
  };
  if (s > 0) parts.push_back(slice(0, s));
  parts.push_back(c.b.add_ints(c.tmp("flat"), {-1}));
  if (e + 1 < r) parts.push_back(slice(e + 1, r));
  c.emit("Reshape", {x, c.b.add("Concat", parts, {{"axis", int64_t{0}}}, c.tmp("shape"))});
}

void permute(Context& c) {
  std::string x = c.tensor(0);
  auto dims = c.ints(1);
  const bool negative = std::any_of(dims.begin(), dims.end(), [](int64_t d) { return d < 0; });
  const int64_t r = negative ? c.rank(x) : static_cast<int64_t>(dims.size());
  for (int64_t& d : dims) d = d < 0 ? d + r : d;
  c.emit("Transpose", {x}, {{"perm", dims}});
}

void transpose(Context& c) {
  std::string x = c.tensor(0);
  const int64_t r = c.rank(x);
  int64_t a = c.to_int(1), b = c.to_int(2);
  a = a < 0 ? a + r : a;
  b = b < 0 ? b + r : b;
  std::vector<int64_t> perm(r);
  for (int64_t i = 0; i < r; ++i) perm[i] = i;
  std::swap(perm[a], perm[b]);
  c.emit("Transpose", {x}, {{"perm", perm}});
}

void matrix_transpose(Context& c) {
  c.emit("Transpose", {c.tensor(0)}, {{"perm", std::vector<int64_t>{1, 0}}});
}

void mean(Context& c) {
  Attrs attrs = {{"keepdims", int64_t{c.num_args() > 2 && c.to_bool(2)}}};
  if (c.num_args() > 3 && !c.is_none(3)) c.fail("mean with a dtype");
  if (!c.is_none(1)) attrs.push_back({"axes", c.ints(1)});
  c.emit("ReduceMean", {c.tensor(0)}, attrs);
}

Converter softmax(const char* op) {
  return [op](Context& c) {
    if (c.num_args() > 2 && !c.is_none(2)) c.fail("softmax with a dtype");
    c.emit(op, {c.tensor(0)}, {{"axis", c.to_int(1)}});
  };
}

void cat(Context& c) {
  Sym list = c.arg(0);
  if (list.kind != Kind::TensorList) c.fail("expected a list of tensors");
  std::vector<std::string> in;
  for (const Sym& e : list.items) in.push_back(e.name);
  c.emit("Concat", in, {{"axis", c.num_args() > 1 ? c.to_int(1) : int64_t{0}}});
}

// Splits along `dim` into pieces of the given sizes; output 0 is the list.
void split_into(Context& c, const std::string& x, const std::vector<int64_t>& sizes, int64_t dim) {
  Sym list{Kind::TensorList};
  std::vector<std::string> outs;
  for (size_t i = 0; i < sizes.size(); ++i) {
    outs.push_back(c.b.unique_name(c10::str(c.node.scope(), ".", i)));
    list.items.push_back(Sym::tensor(outs.back()));
  }
  c.b.add_node("Split", {x, c.b.add_ints(c.tmp("split"), sizes)}, outs, {{"axis", dim}});
  c.set_output(0, list);
}

int64_t dim_size(Context& c, const std::string& x, int64_t dim) {
  auto s = c.b.shape(x);
  if (!s) c.fail("the input's shape is unknown (give OnnxOptions::input_shapes)");
  const int64_t d = dim < 0 ? dim + static_cast<int64_t>(s->size()) : dim;
  if (d < 0 || d >= static_cast<int64_t>(s->size()) || (*s)[d] < 0)
    c.fail(c10::str("the size of dim ", dim, " is unknown"));
  return (*s)[d];
}

void chunk(Context& c) {
  std::string x = c.tensor(0);
  const int64_t chunks = c.to_int(1), dim = c.num_args() > 2 ? c.to_int(2) : 0;
  auto s = c.b.shape(x);
  const int64_t d = s ? (dim < 0 ? dim + static_cast<int64_t>(s->size()) : dim) : -1;
  if (!s || d < 0 || d >= static_cast<int64_t>(s->size()) || (*s)[d] < 0) {
    // Size unknown here: an even split, which ONNX Runtime checks when it runs.
    Sym list{Kind::TensorList};
    std::vector<std::string> outs;
    for (int64_t i = 0; i < chunks; ++i) {
      outs.push_back(c.b.unique_name(c10::str(c.node.scope(), ".", i)));
      list.items.push_back(Sym::tensor(outs.back()));
    }
    c.b.add_node("Split", {x}, outs, {{"axis", dim}});
    return c.set_output(0, list);
  }
  const int64_t n = (*s)[d], step = (n + chunks - 1) / chunks;
  std::vector<int64_t> sizes;
  for (int64_t at = 0; at < n; at += step) sizes.push_back(std::min(step, n - at));
  split_into(c, x, sizes, dim);
}

void split(Context& c) {
  std::string x = c.tensor(0);
  const int64_t dim = c.num_args() > 2 ? c.to_int(2) : 0;
  auto given = c.ints(1);
  if (c.node.overload() == "Tensor" || c.node.overload().empty()) {
    const int64_t n = dim_size(c, x, dim), step = given.at(0);
    given.clear();
    for (int64_t at = 0; at < n; at += step) given.push_back(std::min(step, n - at));
  }
  split_into(c, x, given, dim);
}

void expand(Context& c) {
  Sym size = c.arg(1);
  if (size.kind != Kind::IntList) c.fail("the size must be an int list");
  // ONNX Expand broadcasts both ways, so 1 keeps a dimension as torch's -1 does.
  for (Sym& e : size.items) {
    if (e.is_const && e.i == -1) e.i = 1;
  }
  c.emit("Expand", {c.tensor(0), c.int_list_tensor(size.items, c.tmp("shape"))});
  c.b.set_shape(c.output_name(0), std::vector<int64_t>(size.items.size(), -1));
}

void slice(Context& c) {
  std::string x = c.tensor(0);
  const int64_t dim = c.to_int(1);
  Sym start = c.is_none(2) ? Sym::int_const(0) : c.arg(2);
  Sym end = c.is_none(3) ? Sym::int_const(std::numeric_limits<int64_t>::max()) : c.arg(3);
  const int64_t step = c.num_args() > 4 ? c.to_int(4) : 1;
  if (start.is_const && end.is_const && start.i == 0 && end.i == std::numeric_limits<int64_t>::max() &&
      step == 1) {
    return c.set_output(0, Sym::tensor(x));
  }
  c.emit("Slice", {x, c.int_tensor(start, c.tmp("start")), c.int_tensor(end, c.tmp("end")),
                   c.b.add_ints(c.tmp("axes"), {dim}), c.b.add_ints(c.tmp("steps"), {step})});
}

void select(Context& c) {
  std::string index = c.b.add_initializer(c.tmp("index"), at::scalar_tensor(c.to_int(2), at::kLong));
  c.emit("Gather", {c.tensor(0), index}, {{"axis", c.to_int(1)}});
}

void unsqueeze(Context& c) {
  c.emit("Unsqueeze", {c.tensor(0), c.b.add_ints(c.tmp("axes"), {c.to_int(1)})});
}

void squeeze(Context& c) {
  if (c.num_args() < 2) return c.emit("Squeeze", {c.tensor(0)});
  c.emit("Squeeze", {c.tensor(0), c.b.add_ints(c.tmp("axes"), c.ints(1))});
}

// ---- sizes and lists ----

void size(Context& c) {
  std::string x = c.tensor(0);
  if (c.num_args() < 2) c.fail("aten::size without a dim");
  Sym out{Kind::Int};
  std::string shape = c.b.add("Shape", {x}, {}, c.tmp("shape"));
  out.name =
      c.b.add("Gather", {shape, c.b.add_ints(c.tmp("dim"), {c.to_int(1)})}, {{"axis", int64_t{0}}}, c.hint());
  out.is_batch = c.to_int(1) == 0;
  c.set_output(0, out);
}

void list_construct(Context& c) {
  const std::string& type = c.node.output()->type();
  Sym list{type == "int[]" ? Kind::IntList : Kind::TensorList};
  if (type != "int[]" && type != "Tensor[]") c.fail(c10::str("lists of ", type, " are not supported"));
  for (size_t i = 0; i < c.num_args(); ++i) list.items.push_back(c.arg(i));
  c.set_output(0, list);
}

void list_unpack(Context& c) {
  Sym list = c.arg(0);
  if (list.items.size() != c.node.outputs().size()) {
    c.fail(c10::str("unpacks ", c.node.outputs().size(), " values from a list of ", list.items.size()));
  }
  for (size_t k = 0; k < list.items.size(); ++k) c.set_output(k, list.items[k]);
}

void tuple_construct(Context& c) {
  Sym list{Kind::TensorList};
  for (size_t i = 0; i < c.num_args(); ++i) list.items.push_back(c.arg(i));
  c.set_output(0, list);
}

const std::unordered_map<std::string, Converter>& table() {
  static const std::unordered_map<std::string, Converter> t = {
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
      {"aten::cat", cat},
      {"aten::max_pool1d", max_pool},
      {"aten::max_pool2d", max_pool},
      {"aten::max_pool3d", max_pool},
      {"aten::avg_pool1d", avg_pool},
      {"aten::avg_pool2d", avg_pool},
      {"aten::avg_pool3d", avg_pool},
      {"aten::adaptive_avg_pool1d", adaptive_avg_pool},
      {"aten::adaptive_avg_pool2d", adaptive_avg_pool},
      {"aten::adaptive_avg_pool3d", adaptive_avg_pool},
      {"aten::flatten", flatten},
      {"aten::view", reshape},
      {"aten::reshape", reshape},
      {"aten::permute", permute},
      {"aten::transpose", transpose},
      {"aten::t", matrix_transpose},
      {"aten::mean", mean},
      {"aten::softmax", softmax("Softmax")},
      {"aten::log_softmax", softmax("LogSoftmax")},
      {"aten::dropout", identity},
      {"aten::feature_dropout", identity},
      {"aten::alpha_dropout", identity},
      {"aten::feature_alpha_dropout", identity},
      {"aten::contiguous", identity},
      {"aten::detach", identity},
      {"aten::clone", identity},
      {"aten::Int", identity},
      {"aten::ScalarImplicit", identity},
      {"prim::NumToTensor", identity},
      {"aten::chunk", chunk},
      {"aten::split", split},
      {"aten::split_with_sizes", split},
      {"aten::expand", expand},
      {"aten::slice", slice},
      {"aten::select", select},
      {"aten::unsqueeze", unsqueeze},
      {"aten::squeeze", squeeze},
      {"aten::size", size},
      {"prim::ListConstruct", list_construct},
      {"prim::ListUnpack", list_unpack},
      {"prim::TupleConstruct", tuple_construct},
      {"prim::TupleUnpack", list_unpack},
  };
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

}  // namespace nncf::exporting::detail
