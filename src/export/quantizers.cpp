#include "nncf/export/quantizers.h"

#include <c10/util/Exception.h>
#include <torch/types.h>

#include "nncf/algorithms/quantization/fake_quantize.h"

namespace nncf::exporting {
namespace {

using quantization::FakeQuantizeImpl;

// Per-channel parameters broadcast along `axis` of a tensor of rank `rank`: shape [1, .., C, .., 1].
at::Tensor along(const at::Tensor& v, int64_t axis, int64_t rank) {
  std::vector<int64_t> shape(static_cast<size_t>(std::max<int64_t>(rank, axis + 1)), 1);
  shape[axis] = v.numel();
  return v.reshape(shape);
}

std::string write_qdq(const FakeQuantizeImpl& fq, const std::string& input, OnnxBuilder& b,
                      const std::optional<at::Tensor>& weight) {
  auto p = fq.affine_params();
  const bool per_channel = fq.options.channels() > 0;
  const bool is_signed = p.quant_min < 0;
  const auto type = is_signed ? torch::kChar : torch::kByte;
  const int64_t lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
  if (!weight) {
    TORCH_CHECK(p.quant_min == lo && p.quant_max == hi, "nncf::export_onnx: an activation quantizer on the ",
                p.quant_min, "..", p.quant_max,
                " grid cannot be written as QuantizeLinear/DequantizeLinear (8-bit grids only); "
                "export with export_to_onnx_standard_ops: false for OpenVINO's FakeQuantize");
  }
  // Weights get the same pair on their initializer, which already lies on the grid (and, for
  // overflow-fix weights, within the 7-bit range that int8 holds exactly); ONNX Runtime folds the
  // QuantizeLinear of a constant into an int8 initializer.
  at::Tensor scale =
      p.step.to(torch::kFloat)
          .reshape(per_channel ? std::vector<int64_t>{p.step.numel()} : std::vector<int64_t>{});
  at::Tensor zero = p.zero_point.to(type).reshape(scale.sizes());
  const std::string scale_name = b.add_initializer("quantizer_scale", scale);
  const std::string zero_name = b.add_initializer("quantizer_zero_point", zero);
  std::vector<OnnxAttribute> attrs;
  if (per_channel) attrs.push_back({"axis", fq.options.axis()});
  const std::string q = b.add("QuantizeLinear", {input, scale_name, zero_name}, attrs, "quantized");
  return b.add("DequantizeLinear", {q, scale_name, zero_name}, attrs, "dequantized");
}

std::string write_fake_quantize(const FakeQuantizeImpl& fq, const std::string& input, OnnxBuilder& b,
                                const std::optional<at::Tensor>& weight, bool half_range) {
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
  if (fq.options.channels() > 0) {
    const int64_t rank = weight ? weight->dim() : std::max<int64_t>(fq.options.axis() + 1, 2);
    low = along(low, fq.options.axis(), rank);
    high = along(high, fq.options.axis(), rank);
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
  return [standard_ops, half_range](const torch::nn::Module& module, const std::string& input, OnnxBuilder& b,
                                    const std::optional<at::Tensor>& weight) -> std::optional<std::string> {
    const auto* fq = dynamic_cast<const FakeQuantizeImpl*>(&module);
    if (fq == nullptr) return std::nullopt;
    if (!fq->is_enabled()) return input;
    const bool half = half_range.count(&module) != 0;
    if (standard_ops) return write_qdq(*fq, input, b, weight);
    return write_fake_quantize(*fq, input, b, weight, half);
  };
}

}  // namespace nncf::exporting
