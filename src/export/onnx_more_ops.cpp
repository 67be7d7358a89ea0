// Converters for transposed convolutions, embeddings, group/instance norm, resizing, padding and
// adaptive max pooling (see onnx_ops.h).

#include <ATen/ATen.h>
#include <c10/util/StringUtil.h>

#include <algorithm>
#include <optional>

#include "onnx_ops.h"

namespace nncf::exporting::detail {
namespace {

using Attrs = std::vector<OnnxAttribute>;

constexpr int64_t kOnnxInt64 = 7;  // onnx::TensorProto::INT64

// Spatial dims from the op's name: upsample_bilinear2d -> 2, conv_transpose1d -> 1.
size_t spatial_dims(Context& c) {
  const std::string& op = c.node.op();
  const size_t at = op.find_last_of("123");
  if (at == std::string::npos || at + 1 >= op.size() || op[at + 1] != 'd') c.fail("unknown spatial rank");
  return static_cast<size_t>(op[at] - '0');
}

// Argument `i` as an int list, or `fallback` when the node has no such argument.
std::vector<int64_t> ints_or(Context& c, size_t i, std::vector<int64_t> fallback) {
  return i < c.num_args() ? c.ints(i) : fallback;
}

// The shape of `x` with the leading `n` dims taken from the graph and `tail` appended (an int64
// tensor), so that the batch stays symbolic.
std::string leading_dims_then(Context& c, const std::string& x, int64_t n, const std::vector<int64_t>& tail) {
  std::string shape = c.b.add("Shape", {x}, {}, c.tmp("shape_of"));
  std::string lead = c.b.add(
      "Slice", {shape, c.b.add_ints(c.tmp("from"), {0}), c.b.add_ints(c.tmp("to"), {n})}, {}, c.tmp("lead"));
  return c.b.add("Concat", {lead, c.b.add_ints(c.tmp("tail"), tail)}, {{"axis", int64_t{0}}}, c.tmp("sizes"));
}

// ---- transposed convolution ----

// Argument positions of a transposed convolution.
struct TransposedArgs {
  size_t stride, padding, output_padding, groups, dilation;
};

void conv_transpose_at(Context& c, const TransposedArgs& a) {
  std::string x = c.tensor(0), w = c.tensor(1);
  std::vector<int64_t> wshape;
  if (auto wt = c.tensor_value(c.node.input(1).value())) {
    wshape = wt->sizes().vec();
  } else if (auto s = c.b.shape(w)) {
    wshape = *s;
  } else {
    c.fail("the weight's shape is unknown");
  }
  if (wshape.size() < 3) c.fail("the weight has fewer than 3 dims");
  const size_t k = wshape.size() - 2;
  std::vector<int64_t> kernel(wshape.begin() + 2, wshape.end());
  if (std::any_of(kernel.begin(), kernel.end(), [](int64_t d) { return d < 0; }))
    c.fail("the weight's shape is unknown");
  std::vector<std::string> inputs = {x, w};
  if (!c.is_none(2)) inputs.push_back(c.tensor(2));
  // PyTorch's padding removes `padding` from both ends of the full transposed output, as ONNX pads do.
  c.emit("ConvTranspose", inputs,
         {{"dilations", expand_to(c, ints_or(c, a.dilation, {1}), k, "dilation")},
          {"group", a.groups < c.num_args() ? c.to_int(a.groups) : int64_t{1}},
          {"kernel_shape", kernel},
          {"output_padding", expand_to(c, ints_or(c, a.output_padding, {0}), k, "output_padding")},
          {"pads", symmetric_pads(expand_to(c, ints_or(c, a.padding, {0}), k, "padding"))},
          {"strides", expand_to(c, ints_or(c, a.stride, {1}), k, "stride")}});
}

// conv_transpose{1,2,3}d(x, w, b, stride, padding, output_padding, groups, dilation)
void conv_transpose(Context& c) {
  conv_transpose_at(c, {3, 4, 5, 6, 7});
}

// _convolution / convolution(x, w, b, stride, padding, dilation, transposed, output_padding, groups, ...)
void generic_convolution(Context& c) {
  if (!c.to_bool(6)) {
    c.fail(
        "a convolution that is not transposed with non-constant arguments (capture rewrites the "
        "constant form to conv1d/2d/3d)");
  }
  conv_transpose_at(c, {3, 4, 7, 8, 5});
}

// ---- embedding ----

// embedding(weight, indices, padding_idx, scale_grad_by_freq, sparse): padding_idx only affects
// gradients. The indices are cast to int64 because the ONNX graph's data inputs are float.
void embedding(Context& c) {
  std::string idx = c.b.add("Cast", {c.tensor(1)}, {{"to", kOnnxInt64}}, c.tmp("indices"));
  c.emit("Gather", {c.tensor(0), idx}, {{"axis", int64_t{0}}});
}

// ---- normalization ----

// (x - mean) / sqrt(var + eps) over `axes` (biased variance, as PyTorch's norms use).
std::string normalize(Context& c, const std::string& x, const std::vector<int64_t>& axes, double eps) {
  Attrs red = {{"axes", axes}, {"keepdims", int64_t{1}}};
  std::string mean = c.b.add("ReduceMean", {x}, red, c.tmp("mean"));
  std::string d = c.b.add("Sub", {x, mean}, {}, c.tmp("centered"));
  std::string var = c.b.add("ReduceMean", {c.b.add("Mul", {d, d}, {}, c.tmp("sq"))}, red, c.tmp("var"));
  std::string e = c.b.add_float_scalar(c.tmp("eps"), static_cast<float>(eps));
  std::string den = c.b.add("Sqrt", {c.b.add("Add", {var, e}, {}, c.tmp("var_eps"))}, {}, c.tmp("std"));
  return c.b.add("Div", {d, den}, {}, c.tmp("normalized"));
}

// A per-channel vector reshaped to broadcast over [N, C, spatial...] of rank `rank`.
std::string per_channel(Context& c, const std::string& v, int64_t rank, std::string_view what) {
  std::vector<int64_t> shape(static_cast<size_t>(rank - 1), 1);
  shape[0] = -1;
  return c.b.add("Reshape", {v, c.b.add_ints(c.tmp(c10::str(what, "_shape")), shape)}, {}, c.tmp(what));
}

// group_norm(x, num_groups, weight, bias, eps, cudnn_enabled). Opset 13 has no GroupNormalization:
// statistics over [N, G, C/G * spatial], then the per-channel affine.
void group_norm(Context& c) {
  std::string x = c.tensor(0);
  const int64_t groups = c.to_int(1), rank = c.rank(x);
  if (rank < 2) c.fail("group_norm needs an input of rank >= 2");
  std::string grouped =
      c.b.add("Reshape", {x, c.b.add_ints(c.tmp("grouped_shape"), {0, groups, -1})}, {}, c.tmp("grouped"));
  std::string y = normalize(c, grouped, {2}, c.to_double(4));
  const bool affine = !c.is_none(2) || !c.is_none(3);
  y = c.b.add("Reshape", {y, c.b.add("Shape", {x}, {}, c.tmp("shape_of"))}, {},
              affine ? c.tmp("ungrouped") : c.hint());
  // ONNX (1.12) infers no shape through a Reshape to a computed shape.
  if (auto s = c.b.shape(x)) c.b.set_shape(y, *s);
  if (!c.is_none(2)) {
    y = c.b.add("Mul", {y, per_channel(c, c.tensor(2), rank, "weight")}, {},
                c.is_none(3) ? c.hint() : c.tmp("scaled"));
  }
  if (!c.is_none(3)) y = c.b.add("Add", {y, per_channel(c, c.tensor(3), rank, "bias")}, {}, c.hint());
  c.set_output(0, Sym::tensor(y));
}

// instance_norm(x, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn):
// per-instance statistics are InstanceNormalization; running statistics (track_running_stats in
// eval mode) are a BatchNormalization.
void instance_norm(Context& c) {
  std::string x = c.tensor(0);
  const float eps = static_cast<float>(c.to_double(7));
  auto channels = [&] {
    auto s = c.b.shape(x);
    if (!s || s->size() < 2 || (*s)[1] < 0) c.fail("instance_norm without weight needs the channel count");
    return (*s)[1];
  };
  auto param = [&](size_t i, float fill) {
    if (!c.is_none(i)) return c.tensor(i);
    return c.b.add_initializer(c.tmp(fill == 1 ? "weight" : "bias"), at::full({channels()}, fill));
  };
  if (c.to_bool(5)) {
    c.emit("InstanceNormalization", {x, param(1, 1), param(2, 0)}, {{"epsilon", eps}});
    return;
  }
  if (c.is_none(3) || c.is_none(4)) c.fail("instance_norm without input statistics needs running statistics");
  c.emit("BatchNormalization", {x, param(1, 1), param(2, 0), c.tensor(3), c.tensor(4)}, {{"epsilon", eps}});
}

// ---- resizing ----

// Note [Resize coordinates]: PyTorch maps an output index to a source coordinate with the scale the
// caller gave (1 / scale_factor) or else input / output size; ONNX Resize does the same with its
// `scales` input or, given `sizes`, with output / input. So the scales go to ONNX when the node
// has them, the sizes otherwise. The mappings:
//   nearest         floor(dst * s)                 asymmetric + floor
//   nearest-exact   floor((dst + 0.5) * s)         half_pixel + round_prefer_ceil
//   linear          max(0, (dst + 0.5) * s - 0.5)  half_pixel (ORT clamps to the input)
//   linear, align_corners=true                     align_corners
void resize(Context& c) {
  const std::string& op = c.node.op();
  const bool nearest = op.find("nearest") != std::string::npos;
  const bool exact = op.find("nearest_exact") != std::string::npos;
  const size_t k = spatial_dims(c);
  const size_t scales_at = nearest ? 2 : 3;  // linear modes take align_corners at 2
  const bool align_corners = !nearest && c.to_bool(2);

  std::optional<std::vector<int64_t>> sizes;
  if (!c.is_none(1)) sizes = expand_to(c, c.ints(1), k, "output_size");
  std::optional<std::vector<float>> scales;
  if (c.node.overload() == "vec") {
    if (!c.is_none(scales_at)) {
      const ir::Arg& a = c.node.input(scales_at);
      if (!a.is_constant() || a.constant().kind() != ir::Constant::Kind::DoubleList)
        c.fail("scale_factors must be a constant float list");
      std::vector<double> v = a.constant().to_double_list();
      if (v.size() == 1) v.assign(k, v[0]);
      if (v.size() != k) c.fail(c10::str("scale_factors has ", v.size(), " elements, expected ", k));
      scales = std::vector<float>(v.begin(), v.end());
    }
  } else {
    bool all = true;
    std::vector<float> v;
    for (size_t d = 0; d < k; ++d) {
      all = all && !c.is_none(scales_at + d);
      if (all) v.push_back(static_cast<float>(c.to_double(scales_at + d)));
    }
    if (all) scales = v;
  }
  if (!scales && !sizes) c.fail("neither output_size nor scale factors are given");

  std::string x = c.tensor(0);
  Attrs attrs;
  if (nearest) {
    attrs = {{"mode", std::string("nearest")},
             {"coordinate_transformation_mode", std::string(exact ? "half_pixel" : "asymmetric")},
             {"nearest_mode", std::string(exact ? "round_prefer_ceil" : "floor")}};
  } else {
    attrs = {{"mode", std::string("linear")},
             {"coordinate_transformation_mode", std::string(align_corners ? "align_corners" : "half_pixel")}};
  }
  if (scales) {
    std::vector<float> all(2, 1.f);
    all.insert(all.end(), scales->begin(), scales->end());
    std::string s = c.b.add_initializer(c.tmp("scales"), at::tensor(all));
    c.emit("Resize", {x, "", s}, attrs);
    return;
  }
  c.emit("Resize", {x, "", "", leading_dims_then(c, x, 2, *sizes)}, attrs);
  // ONNX (1.12) infers no sizes from a computed `sizes`; the spatial ones are known.
  if (auto in = c.b.shape(x); in && in->size() == k + 2) {
    std::copy(sizes->begin(), sizes->end(), in->begin() + 2);
    c.b.set_shape(c.output_name(0), *in);
  }
}

// ---- padding ----

// ONNX Pad with PyTorch's pad list (pairs for the last dim first) spread over all dims of `x`.
void pad_as(Context& c, const std::string& mode, std::optional<double> value) {
  std::string x = c.tensor(0);
  const std::vector<int64_t> p = c.ints(1);
  const int64_t rank = c.rank(x);
  if (p.size() % 2 != 0 || static_cast<int64_t>(p.size()) > 2 * rank)
    c.fail(c10::str("a pad list of ", p.size(), " elements for an input of rank ", rank));
  std::vector<int64_t> pads(static_cast<size_t>(2 * rank), 0);
  for (size_t j = 0; j < p.size() / 2; ++j) {
    const size_t d = static_cast<size_t>(rank) - 1 - j;
    pads[d] = p[2 * j];
    pads[d + static_cast<size_t>(rank)] = p[2 * j + 1];
  }
  std::vector<std::string> inputs = {x, c.b.add_ints(c.tmp("pads"), pads)};
  if (mode == "constant" && value.value_or(0) != 0)
    inputs.push_back(c.b.add_float_scalar(c.tmp("value"), static_cast<float>(*value)));
  c.emit("Pad", inputs, {{"mode", mode}});
}

// PyTorch's mode names (and at::padding_mode's order, which _pad_enum passes) to ONNX's.
std::string onnx_pad_mode(Context& c, const std::string& torch_mode) {
  if (torch_mode == "constant") return "constant";
  if (torch_mode == "reflect") return "reflect";
  if (torch_mode == "replicate") return "edge";
  c.fail(c10::str("padding mode '", torch_mode, "' (opset 13 Pad has constant, reflect and edge)"));
}

std::optional<double> optional_value(Context& c, size_t i) {
  if (c.is_none(i)) return std::nullopt;
  return c.to_double(i);
}

void constant_pad_nd(Context& c) {
  pad_as(c, "constant", c.num_args() > 2 ? optional_value(c, 2) : std::nullopt);
}

// pad(x, pad, mode = "constant", value = None)
void pad(Context& c) {
  pad_as(c, onnx_pad_mode(c, c.num_args() > 2 ? c.to_str(2) : "constant"),
         c.num_args() > 3 ? optional_value(c, 3) : std::nullopt);
}

// _pad_enum(x, pad, mode, value): mode is at::padding_mode {reflect, replicate, circular, constant}.
void pad_enum(Context& c) {
  static const char* const kModes[] = {"reflect", "replicate", "circular", "constant"};
  const int64_t m = c.to_int(2);
  if (m < 0 || m > 3) c.fail(c10::str("unknown padding mode ", m));
  pad_as(c, onnx_pad_mode(c, kModes[m]), c.num_args() > 3 ? optional_value(c, 3) : std::nullopt);
}

Converter fixed_pad(const char* mode) {
  return [mode](Context& c) { pad_as(c, mode, std::nullopt); };
}

// ---- adaptive max pooling ----

// adaptive_max_pool{1,2,3}d(x, output_size) -> (values, indices). ONNX MaxPool's indices index the
// whole tensor, PyTorch's each plane: only the values are written.
void adaptive_max_pool(Context& c) {
  const ir::Value* indices = c.node.output(1);
  const auto& outs = c.node.graph()->outputs();
  const bool used = std::find(outs.begin(), outs.end(), indices) != outs.end() ||
                    std::any_of(indices->uses().begin(), indices->uses().end(),
                                [](const ir::Use& u) { return u.user->runs_in() != ir::RunsIn::Training; });
  if (used) c.fail("its indices output is used; only the values of adaptive max pooling can be exported");
  c.set_output(1, Sym{});

  std::string x = c.tensor(0);
  auto out = expand_to(c, c.ints(1), spatial_dims(c), "output_size");
  if (std::all_of(out.begin(), out.end(), [](int64_t v) { return v == 1; }))
    return c.emit("GlobalMaxPool", {x});
  auto s = c.b.shape(x);
  if (!s || s->size() < out.size())
    c.fail("adaptive pooling to a size other than 1 needs the input's spatial size");
  std::vector<int64_t> kernel;
  for (size_t d = 0; d < out.size(); ++d) {
    const int64_t in = (*s)[s->size() - out.size() + d];
    if (in < 0 || in % out[d] != 0) {
      c.fail(c10::str("adaptive pooling from ", in < 0 ? std::string("an unknown size") : std::to_string(in),
                      " to ", out[d], " is not an even split, which ONNX MaxPool cannot express"));
    }
    kernel.push_back(in / out[d]);
  }
  c.emit("MaxPool", {x}, {{"kernel_shape", kernel}, {"strides", kernel}});
}

}  // namespace

void add_more_converters(std::unordered_map<std::string, Converter>& m) {
  m.insert({
      {"aten::conv_transpose1d", conv_transpose},
      {"aten::conv_transpose2d", conv_transpose},
      {"aten::conv_transpose3d", conv_transpose},
      {"aten::_convolution", generic_convolution},
      {"aten::convolution", generic_convolution},
      {"aten::embedding", embedding},
      {"aten::group_norm", group_norm},
      {"aten::instance_norm", instance_norm},
      {"aten::upsample_nearest1d", resize},
      {"aten::upsample_nearest2d", resize},
      {"aten::upsample_nearest3d", resize},
      {"aten::_upsample_nearest_exact1d", resize},
      {"aten::_upsample_nearest_exact2d", resize},
      {"aten::_upsample_nearest_exact3d", resize},
      {"aten::upsample_linear1d", resize},
      {"aten::upsample_bilinear2d", resize},
      {"aten::upsample_trilinear3d", resize},
      {"aten::constant_pad_nd", constant_pad_nd},
      {"aten::pad", pad},
      {"aten::_pad_enum", pad_enum},
      {"aten::reflection_pad1d", fixed_pad("reflect")},
      {"aten::reflection_pad2d", fixed_pad("reflect")},
      {"aten::reflection_pad3d", fixed_pad("reflect")},
      {"aten::replication_pad1d", fixed_pad("edge")},
      {"aten::replication_pad2d", fixed_pad("edge")},
      {"aten::replication_pad3d", fixed_pad("edge")},
      {"aten::adaptive_max_pool1d", adaptive_max_pool},
      {"aten::adaptive_max_pool2d", adaptive_max_pool},
      {"aten::adaptive_max_pool3d", adaptive_max_pool},
  });
}

}  // namespace nncf::exporting::detail
