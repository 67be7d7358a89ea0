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
//
// In training (grad mode on), the binarizers write their outputs -- and the ActivationBinarizer,
// in the backward, its dx -- into tensors they keep from step to step (KeptBuffers) rather than
// into fresh ones: a fresh large tensor is a fresh mmap whose every page faults on first touch, a
// large part of a binarized step on small machines. A kept tensor is reused only when nothing else
// holds it or its memory (a caller keeping an output, a view, a graph not yet run backward, a
// .grad that took dx over): then a fresh one replaces it. release_buffers() drops them.

#include <ATen/core/ivalue.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <mutex>

#include "nncf/algorithms/binarization/config.h"
#include "nncf/runtime/step_activation.h"

namespace nncf::binarization {

/// The per-layer output (and dx) tensors a binarizer reuses across training steps.
struct KeptBuffers : torch::CustomClassHolder {
  /// A tensor of `like`'s shape and dtype (contiguous) sharing `slot`'s memory, `slot` replaced by
  /// a fresh tensor first unless nothing but `slot` holds it and it has that shape and dtype.
  at::Tensor take(at::Tensor& slot, const at::Tensor& like);
  std::mutex mutex;
  at::Tensor out, dx;
};

class WeightBinarizerImpl : public torch::nn::Cloneable<WeightBinarizerImpl> {
 public:
  explicit WeightBinarizerImpl(BinarizationMode mode = BinarizationMode::Xnor);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& w);
  void pretty_print(std::ostream& stream) const override;

  BinarizationMode mode;
  /// Set by the schedule; a buffer (uint8 [1]) so that checkpoints carry it.
  torch::Tensor enabled;
  bool is_enabled() const { return enabled.item<uint8_t>() != 0; }
  void set_enabled(bool on) { enabled.fill_(on ? 1 : 0); }
  /// Drops the kept output (the note at the top); training takes a new one.
  void release_buffers();
  const c10::intrusive_ptr<KeptBuffers>& kept_buffers() const { return kept_; }

 private:
  c10::intrusive_ptr<KeptBuffers> kept_;
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
  /// Drops the kept output and dx tensors (the note at the top); training takes new ones.
  void release_buffers();
  const c10::intrusive_ptr<KeptBuffers>& kept_buffers() const { return kept_; }

 private:
  c10::intrusive_ptr<KeptBuffers> kept_;
};
TORCH_MODULE(ActivationBinarizer);

}  // namespace nncf::binarization
