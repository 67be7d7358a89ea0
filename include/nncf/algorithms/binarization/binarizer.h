#pragma once

// The modules binarization inserts (nncf-reference.md §3.4), on each binarized convolution:
//
//  * WeightBinarizer (weight pre-op): sign+(w) * s with s = mean |w| per output channel (XNOR) or
//    over the whole tensor (DoReFa); the gradient passes straight through (NNCF's identity STE).
//  * ActivationBinarizer (pre-op on the convolution's input): S * [x > T_c * S] with
//    S = exp(scale_raw) (one value) and T = sigmoid(threshold_raw) (one per input channel, 0.5 at
//    start), NNCF's gradients for x, S and T (nncf/kernels/binarize.h), autograd through exp and
//    sigmoid -- the hidden parametrization that normalizes the steps of S and T.
//
// Both start disabled (the identity) and are switched on by the staged schedule. The activation
// scale is set once: from initialize()'s data, or (as in NNCF) from the first batch it sees in
// training: S = the 99.9th percentile of the batch (min of its top max(1, round(0.001 n)) values).
// Where that is not positive (an all-negative input) the largest |x| is taken, and 1 if that is 0:
// NNCF would take the log of it and train NaNs.

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include "nncf/algorithms/binarization/config.h"
#include "nncf/runtime/step_activation.h"

namespace nncf::binarization {

class WeightBinarizerImpl : public torch::nn::Cloneable<WeightBinarizerImpl> {
 public:
  explicit WeightBinarizerImpl(BinarizationMode mode = BinarizationMode::Xnor);
  void reset() override {}
  torch::Tensor forward(const torch::Tensor& w);
  void pretty_print(std::ostream& stream) const override;

  BinarizationMode mode;
  /// Set by the schedule; a buffer (uint8 [1]) so that checkpoints carry it.
  torch::Tensor enabled;
  bool is_enabled() const { return enabled.item<uint8_t>() != 0; }
  void set_enabled(bool on) { enabled.fill_(on ? 1 : 0); }
};
TORCH_MODULE(WeightBinarizer);

class ActivationBinarizerImpl : public torch::nn::Cloneable<ActivationBinarizerImpl>,
                                public runtime::StepActivation {
 public:
  explicit ActivationBinarizerImpl(int64_t channels = 1);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  /// Sets the scale from one batch (the percentile rule above, or the error-minimizing S when
  /// `mse_scale_init`).
  void init_scale(const torch::Tensor& x);
  bool mse_scale_init = false;
  /// S and T (per channel, [C]) as the forward uses them.
  torch::Tensor scale() const;
  torch::Tensor threshold() const;
  bool binarizes() const override { return is_enabled(); }
  /// T_c * S, as the forward computes it.
  at::Tensor switch_points() const override;
  at::Tensor level() const override { return scale(); }

  int64_t channels = 1;
  torch::Tensor scale_raw;      ///< parameter [1]: S = exp(scale_raw)
  torch::Tensor threshold_raw;  ///< parameter [C]: T = sigmoid(threshold_raw)
  torch::Tensor initialized;    ///< buffer uint8 [1]: the scale has been set
  torch::Tensor enabled;        ///< buffer uint8 [1]: set by the schedule
  bool is_enabled() const { return enabled.item<uint8_t>() != 0; }
  void set_enabled(bool on) { enabled.fill_(on ? 1 : 0); }
  bool is_initialized() const { return initialized.item<uint8_t>() != 0; }
  /// While set, forward only records the first batch it sees into `observed` (for initialize()).
  bool observing = false;
  torch::Tensor observed;
};
TORCH_MODULE(ActivationBinarizer);

}  // namespace nncf::binarization
