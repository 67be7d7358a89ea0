// Converters for pooling, shapes, data movement and the size/list plumbing (see onnx_ops.h).

#include <ATen/ATen.h>
#include <c10/util/StringUtil.h>

#include <algorithm>
#include <limits>

#include "onnx_ops.h"

namespace nncf::exporting::detail {
namespace {

using Kind = Sym::Kind;
using Attrs = std::vector<OnnxAttribute>;

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

// PyTorch's adaptive average pooling window for output cell i of `out` over `in` elements:
// [floor(i * in / out), ceil((i + 1) * in / out)). As a matrix [in, out]: column i holds 1 / size
// over the window, so that x @ A pools the last dim.
at::Tensor averaging_matrix(int64_t in, int64_t out) {
  at::Tensor a = at::zeros({in, out}, at::kFloat);
  for (int64_t i = 0; i < out; ++i) {
    const int64_t from = i * in / out, to = ((i + 1) * in + out - 1) / out;
    a.narrow(1, i, 1).narrow(0, from, to - from).fill_(1.0 / static_cast<double>(to - from));
  }
  return a;
}

void adaptive_avg_pool(Context& c) {
  std::string x = c.tensor(0);
  auto out = expand_to(c, c.ints(1), spatial_dims(c), "output_size");
  if (std::all_of(out.begin(), out.end(), [](int64_t v) { return v == 1; }))
    return c.emit("GlobalAveragePool", {x});
  auto s = c.b.shape(x);
  if (!s || s->size() < out.size())
    c.fail("adaptive pooling to a size other than 1 needs the input's spatial size");
  std::vector<int64_t> in(s->end() - static_cast<std::ptrdiff_t>(out.size()), s->end()), kernel;
  bool even = true;
  for (size_t d = 0; d < out.size(); ++d) {
    if (in[d] < 0)
      c.fail(c10::str("adaptive pooling from an unknown size to ", out[d],
                      " (give OnnxOptions::input_shapes with the spatial sizes)"));
    even = even && in[d] % out[d] == 0;
    kernel.push_back(in[d] / out[d]);
  }
  if (even) return c.emit("AveragePool", {x}, {{"kernel_shape", kernel}, {"strides", kernel}});
  // Not an even split (or an output larger than the input): the windows overlap or differ in size.
  // Each spatial dim is pooled by a MatMul with its averaging matrix: A_h^T @ x @ A_w for 2-d.
  if (out.size() == 1)
    return c.emit("MatMul", {x, c.b.add_initializer(c.tmp("pool_w"), averaging_matrix(in[0], out[0]))});
  if (out.size() != 2) c.fail("3-d adaptive pooling that is not an even split");
  std::string ah = c.b.add_initializer(c.tmp("pool_h"), averaging_matrix(in[0], out[0]).t().contiguous());
  std::string rows = c.b.add("MatMul", {ah, x}, {}, c.tmp("pooled_h"));
  c.emit("MatMul", {rows, c.b.add_initializer(c.tmp("pool_w"), averaging_matrix(in[1], out[1]))});
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
  // ONNX Flatten always gives a 2-D result: it is torch's flatten only for start 1.
  if (end == -1 && start == 0) return c.emit("Reshape", {x, c.b.add_ints(c.tmp("shape"), {-1})});
  if (end == -1 && start == 1) return c.emit("Flatten", {x}, {{"axis", start}});
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
  // Shape inference cannot see through the computed shape; the rank and the kept sizes are known.
  std::vector<int64_t> in = *c.b.shape(x), out(in.begin(), in.begin() + s);
  out.push_back(-1);
  out.insert(out.end(), in.begin() + e + 1, in.end());
  c.b.set_shape(c.output_name(0), out);
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
  if (!start.is_const || !end.is_const) {
    // ONNX (1.12) infers no shape for computed bounds; only `dim` changes.
    if (auto in = c.b.shape(x)) {
      const int64_t d = dim < 0 ? dim + static_cast<int64_t>(in->size()) : dim;
      if (d >= 0 && d < static_cast<int64_t>(in->size())) (*in)[d] = -1;
      c.b.set_shape(c.output_name(0), *in);
    }
  }
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
  // Tensor?[]: the indices of aten::index, None entries included.
  if (type != "int[]" && type != "Tensor[]" && type != "Tensor?[]")
    c.fail(c10::str("lists of ", type, " are not supported"));
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

}  // namespace

void add_shape_converters(std::unordered_map<std::string, Converter>& m) {
  m.insert({
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
  });
}

}  // namespace nncf::exporting::detail
