#include "nncf/algorithms/quantization/fake_quantize.h"

#include <torch/nn/init.h>

namespace nncf::quantization {
namespace {

// NNCF keeps the learned range away from zero this way (|scale| + eps); the kernels reject
// non-positive ranges.
constexpr double kRangeEps = 1e-16;

thread_local bool use_builtin_ops = false;

int64_t read_int(const torch::Tensor& buffer) {
  // A plain read of a CPU scalar: no dispatcher call on the hot path.
  TORCH_INTERNAL_ASSERT(buffer.defined() && buffer.numel() == 1 && buffer.scalar_type() == torch::kLong);
  return buffer.to(torch::kCPU).data_ptr<int64_t>()[0];
}

}  // namespace

const char* to_string(QuantizationMode mode) {
  return mode == QuantizationMode::Symmetric ? "symmetric" : "asymmetric";
}

FakeQuantizeImpl::FakeQuantizeImpl(const FakeQuantizeOptions& options_) : options(options_) {
  reset();
}

void FakeQuantizeImpl::reset() {
  TORCH_CHECK(options.bits() >= 2 && options.bits() <= 8, "FakeQuantize: bits must be in [2, 8], got ",
              options.bits());
  TORCH_CHECK(options.channels() >= 0, "FakeQuantize: channels must be >= 0, got ", options.channels());
  const int64_t n = options.channels() > 0 ? options.channels() : 1;
  // Initial range 1 (NNCF's default before range initialization): log(1) = 0 in log mode.
  const bool log = options.logarithm_scale();
  if (options.mode() == QuantizationMode::Symmetric) {
    scale = register_parameter(log ? "log_scale" : "scale", log ? torch::zeros({n}) : torch::ones({n}));
    signedness = register_buffer("signed", torch::tensor(int64_t{options.is_signed() ? 1 : 0}));
  } else {
    input_low = register_parameter("input_low", torch::zeros({n}));
    input_range = register_parameter(log ? "log_input_range" : "input_range",
                                     log ? torch::zeros({n}) : torch::ones({n}));
  }
  num_bits = register_buffer("num_bits", torch::tensor(options.bits()));
  enabled = register_buffer("enabled", torch::tensor(int64_t{1}));
}

kernels::LevelRange FakeQuantizeImpl::levels() const {
  if (options.mode() == QuantizationMode::Asymmetric) return {0, (int64_t{1} << bits()) - 1};
  return kernels::level_range(bits(), is_signed(), options.narrow_range());
}

BuiltinFakeQuantizeGuard::BuiltinFakeQuantizeGuard() : previous_(use_builtin_ops) {
  use_builtin_ops = true;
}
BuiltinFakeQuantizeGuard::~BuiltinFakeQuantizeGuard() {
  use_builtin_ops = previous_;
}

runtime::AffineGrid FakeQuantizeImpl::affine_grid() const {
  const AffineParams p = affine_params();
  return {p.step, p.zero_point, p.quant_min, p.quant_max, options.axis(), options.channels() > 0};
}

FakeQuantizeImpl::AffineParams FakeQuantizeImpl::affine_params() const {
  torch::NoGradGuard no_grad;
  AffineParams p;
  if (options.mode() == QuantizationMode::Symmetric) {
    const kernels::LevelRange l = levels();
    p.step = (scale_value() / static_cast<double>(l.high)).to(torch::kFloat);
    p.zero_point = torch::zeros(p.step.sizes(), torch::kInt);
    p.quant_min = l.low;
    p.quant_max = l.high;
  } else {
    const int64_t n = levels().levels();
    auto [low, range] = kernels::tune_range(input_low.detach(), input_range_value().detach(), n);
    p.step = (range / static_cast<double>(n - 1)).to(torch::kFloat);
    p.zero_point = (-low / p.step).round().to(torch::kInt);
    p.quant_min = 0;
    p.quant_max = n - 1;
  }
  return p;
}

torch::Tensor FakeQuantizeImpl::forward(const torch::Tensor& x) {
  if (!is_enabled()) return x;
  if (use_builtin_ops) {
    const AffineParams p = affine_params();
    if (options.channels() > 0) {
      return torch::fake_quantize_per_channel_affine(x, p.step, p.zero_point, options.axis(), p.quant_min,
                                                     p.quant_max);
    }
    return torch::fake_quantize_per_tensor_affine(x, p.step, p.zero_point, p.quant_min, p.quant_max);
  }
  const int64_t axis = options.channels() > 0 ? options.axis() : 1;
  if (options.mode() == QuantizationMode::Symmetric) {
    const kernels::LevelRange l = levels();
    return kernels::fake_quantize_symmetric(x, scale_value(), l.low, l.high, axis);
  }
  return kernels::fake_quantize_asymmetric(x, input_low, input_range_value(), levels().levels(), axis);
}

torch::Tensor FakeQuantizeImpl::scale_value() const {
  return options.logarithm_scale() ? scale.exp() : scale.abs() + kRangeEps;
}

torch::Tensor FakeQuantizeImpl::input_range_value() const {
  return options.logarithm_scale() ? input_range.exp() : input_range.abs() + kRangeEps;
}

void FakeQuantizeImpl::set_enabled(bool on) {
  torch::NoGradGuard no_grad;
  enabled.fill_(on ? 1 : 0);
}

bool FakeQuantizeImpl::is_enabled() const {
  return read_int(enabled) != 0;
}

void FakeQuantizeImpl::set_bits(int64_t bits) {
  TORCH_CHECK(bits >= 2 && bits <= 8, "FakeQuantize: bits must be in [2, 8], got ", bits);
  torch::NoGradGuard no_grad;
  num_bits.fill_(bits);
  options.bits(bits);
}

int64_t FakeQuantizeImpl::bits() const {
  return read_int(num_bits);
}

void FakeQuantizeImpl::set_signed(bool is_signed) {
  TORCH_CHECK(options.mode() == QuantizationMode::Symmetric,
              "FakeQuantize: only symmetric quantizers are signed");
  torch::NoGradGuard no_grad;
  signedness.fill_(is_signed ? 1 : 0);
  options.is_signed(is_signed);
}

bool FakeQuantizeImpl::is_signed() const {
  return options.mode() == QuantizationMode::Symmetric && read_int(signedness) != 0;
}

void FakeQuantizeImpl::set_range(const torch::Tensor& min, const torch::Tensor& max) {
  torch::NoGradGuard no_grad;
  if (options.mode() == QuantizationMode::Symmetric) {
    const torch::Tensor s = torch::maximum(min.abs(), max.abs()).to(scale.dtype());
    TORCH_CHECK(s.numel() == scale.numel(), "FakeQuantize: ", s.numel(), " range values for ", scale.numel(),
                " scales");
    scale.copy_((options.logarithm_scale() ? s.clamp_min(kRangeEps).log() : s).reshape(scale.sizes()));
  } else {
    TORCH_CHECK(min.numel() == input_low.numel() && max.numel() == input_low.numel(),
                "FakeQuantize: ", min.numel(), " range values for ", input_low.numel(), " channels");
    input_low.copy_(min.reshape(input_low.sizes()));
    const torch::Tensor r = (max - min).to(input_range.dtype());
    input_range.copy_(
        (options.logarithm_scale() ? r.clamp_min(kRangeEps).log() : r).reshape(input_range.sizes()));
  }
}

void FakeQuantizeImpl::pretty_print(std::ostream& stream) const {
  stream << "nncf::FakeQuantize(bits=" << bits() << ", mode=" << to_string(options.mode());
  if (options.mode() == QuantizationMode::Symmetric)
    stream << ", signed=" << (is_signed() ? "true" : "false");
  stream << ", "
         << (options.channels() > 0 ? "per_channel(axis=" + std::to_string(options.axis()) + ")"
                                    : "per_tensor");
  if (options.narrow_range()) stream << ", narrow_range";
  if (options.logarithm_scale()) stream << ", logarithm_scale";
  if (!is_enabled()) stream << ", disabled";
  stream << ")";
}

void FakeQuantizeImpl::keep_channels(int64_t dim, const at::Tensor& kept) {
  if (options.channels() == 0 || dim != options.axis()) return;
  for (torch::Tensor* t : {&scale, &input_low, &input_range}) runtime::keep_channels_of(*t, 0, kept);
  options.channels(kept.numel());
}

}  // namespace nncf::quantization
