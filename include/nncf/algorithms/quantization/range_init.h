#pragma once

// Range initialization: statistics of the tensors a quantizer sees, collected batch by batch, and
// the quantizer range they give (nncf-reference.md §3.1 "Range initialization").
//
//   RangeCollector c(RangeInitType::MixedMinMax, {.symmetric = true});
//   for (batch) c.update(activation);
//   auto [min, max] = c.range();           // per tensor: shape [1]; per channel: [C]
//   quantizer->set_range(min, max);        // after symmetric_range / asymmetric_range below
//
// Non-finite values (NaN, +-Inf) are ignored; a tensor with none left counts as all zeros. The
// ranges that come out are always finite, and the quantizer ranges made from them never zero.

#include <ATen/core/Tensor.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nncf::quantization {

/// NNCF's `initializer.range.type`.
enum class RangeInitType { MinMax, MeanMinMax, ThreeSigma, Percentile, MeanPercentile, MixedMinMax };
const char* to_string(RangeInitType type);
/// Parses the JSON spelling ("mixed_min_max"); nullopt for an unknown one.
std::optional<RangeInitType> range_init_type_from_string(const std::string& name);

struct RangeCollectorOptions {
  /// Symmetric quantizers reduce |x| for the maximum (min keeps the sign, which decides signedness).
  bool symmetric = true;
  /// Per channel along this axis (0 for weights, 1 for activations); nullopt = per tensor.
  std::optional<int64_t> channel_axis;
  /// The tensor is a weight: its statistics are over the whole tensor (or each channel), never
  /// per sample. NNCF collects weights "per batch" for every type, so `min_max`, `mean_min_max`
  /// and `mixed_min_max` all give the weight's plain minimum and maximum.
  bool weights = false;
  /// Percentile types: in percent. NNCF's defaults.
  double min_percentile = 0.1;
  double max_percentile = 99.9;
  /// Types that keep the values (three sigma, percentile) keep at most this many per channel,
  /// taking every k-th value of each batch beyond it, so memory stays bounded.
  int64_t max_kept_values = int64_t{1} << 22;
};

/// Collects one quantizer's statistics over batches.
class RangeCollector {
 public:
  RangeCollector(RangeInitType type, RangeCollectorOptions options);

  /// Adds one batch (dim 0 is the batch for activations; a weight is one "batch", with
  /// `options.weights` set).
  void update(const at::Tensor& x);
  /// (min, max), each of shape [channels] or [1], float, finite. Throws if no batch was added.
  std::pair<at::Tensor, at::Tensor> range() const;
  int64_t batches() const { return batches_; }

 private:
  at::Tensor rows(const at::Tensor& x) const;  // [channels, values] of the finite values (NaN -> 0)

  RangeInitType type_;
  RangeCollectorOptions options_;
  int64_t batches_ = 0;
  int64_t channels_ = -1;
  at::Tensor min_, max_;                             // running reductions (min/max types)
  std::vector<at::Tensor> batch_mins_, batch_maxs_;  // per batch (mean types)
  std::vector<at::Tensor> kept_;                     // kept values (three sigma, percentile)
};

/// The symmetric quantizer's scale for a range: max(|min|, |max|) per channel, floored at 0.1 as
/// NNCF does (SCALE_LOWER_THRESHOLD), so that it is never zero.
at::Tensor symmetric_scale(const at::Tensor& min, const at::Tensor& max);

/// The asymmetric quantizer's (input_low, input_range): every channel's range widened around its
/// middle to at least 1% of the widest one (NNCF), the widest counting as at least 0.1, so that no
/// range is zero.
std::pair<at::Tensor, at::Tensor> asymmetric_range(const at::Tensor& min, const at::Tensor& max);

}  // namespace nncf::quantization
