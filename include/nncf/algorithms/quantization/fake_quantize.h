#pragma once

// FakeQuantize: the quantizer module that quantization inserts into a CompressedModel, in the shape
// of LibTorch's own modules (FakeQuantizeOptions + FakeQuantizeImpl + TORCH_MODULE). Its math is
// the fused `nncf::fake_quantize_*` operators of nncf/kernels/fake_quantize.h.
//
// Trainable parameters: `scale` (symmetric) or `input_low` and `input_range` (asymmetric), one
// element per tensor or one per channel. State buffers, saved with the model: `num_bits`,
// `signed` (symmetric only) and `enabled`, so that a restored model quantizes exactly as the saved
// one did.

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <ostream>

#include "nncf/algorithms/quantization/mode.h"
#include "nncf/kernels/fake_quantize.h"
#include "nncf/runtime/affine_quantizer.h"
#include "nncf/runtime/channel_slicing.h"

namespace nncf::quantization {

struct FakeQuantizeOptions {
  /// Bit width, 2..8 (changeable later with set_bits).
  TORCH_ARG(int64_t, bits) = 8;
  TORCH_ARG(QuantizationMode, mode) = QuantizationMode::Symmetric;
  /// Symmetric only: signed grid (-2^(b-1)..2^(b-1)-1) or unsigned (0..2^b-1). Range
  /// initialization decides it from statistics; NNCF's default before that is unsigned.
  TORCH_ARG(bool, is_signed) = false;
  /// One parameter per channel along `axis` (0 for weights, 1 for activations); `channels` is
  /// that dimension's size. 0 channels = per tensor.
  TORCH_ARG(int64_t, channels) = 0;
  TORCH_ARG(int64_t, axis) = 1;
  /// Drop the lowest level (signed 8-bit weights: -127..127).
  TORCH_ARG(bool, narrow_range) = false;
  /// Train log(scale) (log(input_range)) instead: parameters `log_scale` / `log_input_range`,
  /// the range is exp() of them (NNCF's `logarithm_scale`).
  TORCH_ARG(bool, logarithm_scale) = false;
};

class FakeQuantizeImpl : public torch::nn::Cloneable<FakeQuantizeImpl>,
                         public runtime::AffineQuantizer,
                         public runtime::ChannelSliceable {
 public:
  explicit FakeQuantizeImpl(const FakeQuantizeOptions& options = {});

  void reset() override;

  /// Fake-quantizes `x` (identity while disabled).
  torch::Tensor forward(const torch::Tensor& x);
  /// Filter pruning removed channels of the tensor: a per-channel quantizer along `dim` keeps the
  /// parameters of `kept`; otherwise nothing changes.
  void keep_channels(int64_t dim, const at::Tensor& kept) override;
  /// The quantizer as LibTorch's built-in ops see it: the step per level (float, one per channel
  /// or one), the zero point (int32, same shape) and the integer bounds. Asymmetric ranges are
  /// TuneRange'd first. No autograd history.
  struct AffineParams {
    torch::Tensor step, zero_point;
    int64_t quant_min = 0, quant_max = 0;
  };
  AffineParams affine_params() const;

  void set_enabled(bool enabled);
  bool is_enabled() const;
  /// runtime::AffineQuantizer, for exporters that do not know this module.
  bool quantizes() const override { return is_enabled(); }
  runtime::AffineGrid affine_grid() const override;
  /// Changes the bit width at run time (mixed precision); the learned range is kept.
  void set_bits(int64_t bits);
  int64_t bits() const;
  void set_signed(bool is_signed);
  bool is_signed() const;
  /// The integer grid in use.
  kernels::LevelRange levels() const;

  /// The positive scale / input range the kernels use: |p| + 1e-16, or exp(p) in log mode.
  torch::Tensor scale_value() const;
  torch::Tensor input_range_value() const;

  /// Sets the range from statistics: symmetric `scale = max(|min|, |max|)`; asymmetric
  /// `input_low = min`, `input_range = max - min`. Shapes follow the parameters'.
  void set_range(const torch::Tensor& min, const torch::Tensor& max);

  void pretty_print(std::ostream& stream) const override;

  FakeQuantizeOptions options;
  torch::Tensor scale;        ///< symmetric; parameter `scale`, or `log_scale` in log mode
  torch::Tensor input_low;    ///< asymmetric
  torch::Tensor input_range;  ///< asymmetric; parameter `input_range`, or `log_input_range` in log mode
  torch::Tensor num_bits;     ///< buffer, int64 scalar
  torch::Tensor signedness;   ///< buffer "signed", int64 scalar (symmetric)
  torch::Tensor enabled;      ///< buffer, int64 scalar (1 = quantizing)
};

TORCH_MODULE(FakeQuantize);

/// While alive, FakeQuantize modules on this thread compute with LibTorch's built-in
/// `fake_quantize_per_tensor_affine` / `fake_quantize_per_channel_affine` (step = range / levels,
/// zero point from TuneRange) instead of the nncf:: operators, so that a traced model holds only
/// built-in ops (TorchScript export). The grid is the same; an element exactly halfway between two
/// levels may round to the other one.
class BuiltinFakeQuantizeGuard {
 public:
  BuiltinFakeQuantizeGuard();
  ~BuiltinFakeQuantizeGuard();
  BuiltinFakeQuantizeGuard(const BuiltinFakeQuantizeGuard&) = delete;
  BuiltinFakeQuantizeGuard& operator=(const BuiltinFakeQuantizeGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace nncf::quantization
