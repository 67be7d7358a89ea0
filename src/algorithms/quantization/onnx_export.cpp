#include "nncf/algorithms/quantization/onnx_export.h"

#include <c10/util/Exception.h>
#include <torch/types.h>

#include "nncf/algorithms/quantization/fake_quantize.h"

namespace nncf::quantization {
namespace {

using exporting::HookExporter;
using exporting::OnnxAttribute;
using exporting::OnnxBuilder;
using exporting::WeightInput;

// Per-channel parameters broadcast along `axis` of a tensor of rank `rank`: shape [1, .., C, .., 1].
at::Tensor along(const at::Tensor& v, int64_t axis, int64_t rank) {
  std::vector<int64_t> shape(static_cast<size_t>(std::max<int64_t>(rank, axis + 1)), 1);
  shape[axis] = v.numel();
  return v.reshape(shape);
}

// The quantizer's step and zero point, one per channel of dim 0 when a BatchNorm is folded into the
// weight: a channel's grid is scaled by its factor f (steps by |f|; for f < 0 the levels are
// mirrored around the zero point, which write_qdq and can_fold check). A channel with f = 0 holds
// zeros, on any grid: its step stays.
struct Grid {
  at::Tensor step, zero_point;
  int64_t axis = -1;  // -1: per tensor
};

Grid grid_of(const FakeQuantizeImpl& fq, const FakeQuantizeImpl::AffineParams& p, const WeightInput* weight) {
  Grid g{p.step, p.zero_point, fq.options.channels() > 0 ? fq.options.axis() : -1};
  if (weight == nullptr || !weight->channel_scale.defined()) return g;
  const at::Tensor f = weight->channel_scale;
  const int64_t n = f.numel();
  TORCH_INTERNAL_ASSERT(g.axis <= 0, "a folded weight quantized along axis ", g.axis);
  const at::Tensor step = g.step.to(at::kDouble).reshape({-1}).expand({n});
  g.step = at::where(f == 0, step, step * f.abs()).to(at::kFloat);
  g.zero_point = g.zero_point.reshape({-1}).expand({n}).contiguous();
  g.axis = 0;
  return g;
}

std::string write_qdq(const FakeQuantizeImpl& fq, const std::string& input, OnnxBuilder& b,
                      const WeightInput* weight) {
  auto p = fq.affine_params();
  const bool is_signed = p.quant_min < 0;
  const auto type = is_signed ? torch::kChar : torch::kByte;
  const int64_t lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
  if (weight == nullptr) {
    TORCH_CHECK(p.quant_min == lo && p.quant_max == hi, "nncf::export_onnx: an activation quantizer on the ",
                p.quant_min, "..", p.quant_max,
                " grid cannot be written as QuantizeLinear/DequantizeLinear (8-bit grids only); "
                "export with export_to_onnx_standard_ops: false for OpenVINO's FakeQuantize");
  }
  // Weights get the same pair on their initializer, which already lies on the grid (and, for
  // overflow-fix weights, within the 7-bit range that int8 holds exactly); ONNX Runtime folds the
  // QuantizeLinear of a constant into an int8 initializer.
  const Grid g = grid_of(fq, p, weight);
  at::Tensor scale =
      g.step.to(torch::kFloat)
          .reshape(g.axis >= 0 ? std::vector<int64_t>{g.step.numel()} : std::vector<int64_t>{});
  at::Tensor zero = g.zero_point.to(type).reshape(scale.sizes());
  const std::string scale_name = b.add_initializer("quantizer_scale", scale);
  const std::string zero_name = b.add_initializer("quantizer_zero_point", zero);
  std::vector<OnnxAttribute> attrs;
  if (g.axis >= 0) attrs.push_back({"axis", g.axis});
  const std::string q = b.add("QuantizeLinear", {input, scale_name, zero_name}, attrs, "quantized");
  return b.add("DequantizeLinear", {q, scale_name, zero_name}, attrs, "dequantized");
}

// Whether the levels of `weight` scaled by `f` (dim 0) still fit the ONNX integer type: a mirrored
// channel's level zp - (q - zp) may leave it (-(-128) on a full signed grid).
bool qdq_can_fold(const FakeQuantizeImpl& fq, const at::Tensor& weight, const at::Tensor& f) {
  const auto p = fq.affine_params();
  const int64_t lo = p.quant_min < 0 ? -128 : 0, hi = p.quant_min < 0 ? 127 : 255;
  std::vector<int64_t> shape(static_cast<size_t>(weight.dim()), 1);
  shape[0] = -1;
  const int64_t axis = fq.options.channels() > 0 ? fq.options.axis() : -1;
  auto along = [&](const at::Tensor& v) { return axis >= 0 ? v.reshape(shape) : v.reshape({}); };
  const at::Tensor step = along(p.step.to(at::kDouble)), zp = along(p.zero_point.to(at::kDouble));
  const at::Tensor q = at::round(weight.to(at::kDouble) / step) + zp;
  const at::Tensor mirrored = at::where(f.reshape(shape) < 0, 2 * zp - q, q);
  return mirrored.min().item<double>() >= lo && mirrored.max().item<double>() <= hi;
}

std::string write_fake_quantize(const FakeQuantizeImpl& fq, const std::string& input, OnnxBuilder& b,
                                const WeightInput* weight, bool half_range) {
  auto p = fq.affine_params();
  int64_t levels = p.quant_max - p.quant_min + 1;
  const at::Tensor zp = p.zero_point.to(torch::kFloat);
  at::Tensor low = p.step * (static_cast<double>(p.quant_min) - zp);
  at::Tensor high = p.step * (static_cast<double>(p.quant_max) - zp);
  if (half_range) {
    // NNCF's widening of overflow-fix weights: 2*ll .. 2*lh + 1 with the same step.
    low = p.step * static_cast<double>(2 * p.quant_min);
    high = p.step * static_cast<double>(2 * p.quant_max + 1);
    levels = 2 * p.quant_max + 1 - 2 * p.quant_min + 1;
  }
  int64_t axis = fq.options.channels() > 0 ? fq.options.axis() : -1;
  if (weight != nullptr && weight->channel_scale.defined()) {
    // A folded BatchNorm scales each output channel's range; a negative factor swaps its ends.
    const at::Tensor f = weight->channel_scale;
    const at::Tensor l = low.to(at::kDouble).reshape({-1}).expand({f.numel()});
    const at::Tensor h = high.to(at::kDouble).reshape({-1}).expand({f.numel()});
    const at::Tensor keep = f == 0;
    low = at::where(keep, l, at::minimum(l * f, h * f));
    high = at::where(keep, h, at::maximum(l * f, h * f));
    axis = 0;
  }
  if (axis >= 0) {
    const int64_t rank = weight ? weight->value.dim() : std::max<int64_t>(axis + 1, 2);
    low = along(low, axis, rank);
    high = along(high, axis, rank);
  } else {
    low = low.reshape({});
    high = high.reshape({});
  }
  const std::string lo = b.add_initializer("fq_input_low", low.to(torch::kFloat));
  const std::string hi = b.add_initializer("fq_input_high", high.to(torch::kFloat));
  const std::string out = b.unique_name("fake_quantized");
  b.add_node("FakeQuantize", {input, lo, hi, lo, hi}, {out}, {{"levels", levels}}, "org.openvinotoolkit", 1);
  // ONNX shape inference does not know OpenVINO's op: the output is shaped like the input.
  if (auto shape = b.shape(input)) b.set_shape(out, *shape);
  return out;
}

}  // namespace

HookExporter fake_quantize_exporter(bool standard_ops, std::set<const torch::nn::Module*> half_range) {
  HookExporter ex;
  ex.write = [standard_ops, half_range](const torch::nn::Module& module, const std::string& input,
                                        OnnxBuilder& b,
                                        const WeightInput* weight) -> std::optional<std::string> {
    const auto* fq = dynamic_cast<const FakeQuantizeImpl*>(&module);
    if (fq == nullptr) return std::nullopt;
    if (!fq->is_enabled()) return input;
    const bool half = half_range.count(&module) != 0;
    if (standard_ops) return write_qdq(*fq, input, b, weight);
    return write_fake_quantize(*fq, input, b, weight, half);
  };
  ex.can_fold = [standard_ops](const torch::nn::Module& module, const at::Tensor& weight,
                               const at::Tensor& f) {
    const auto* fq = dynamic_cast<const FakeQuantizeImpl*>(&module);
    if (fq == nullptr || !fq->is_enabled()) return true;
    if (fq->options.channels() > 0 && fq->options.axis() != 0) return false;  // e.g. conv_transpose
    return !standard_ops || qdq_can_fold(*fq, weight, f);
  };
  return ex;
}

}  // namespace nncf::quantization
