#include "nncf/algorithms/quantization/range_init.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

namespace nncf::quantization {
namespace {

constexpr double kScaleFloor = 0.1;         // NNCF's SCALE_LOWER_THRESHOLD
constexpr double kMinRangeShare = 0.01;     // asymmetric: each range >= 1% of the widest
constexpr double kSigmaPerMad = 1.4826230;  // MAD -> standard deviation of a normal distribution

struct Spelling {
  RangeInitType type;
  const char* name;
};
constexpr Spelling kSpellings[] = {
    {RangeInitType::MinMax, "min_max"},
    {RangeInitType::MeanMinMax, "mean_min_max"},
    {RangeInitType::ThreeSigma, "threesigma"},
    {RangeInitType::Percentile, "percentile"},
    {RangeInitType::MeanPercentile, "mean_percentile"},
    {RangeInitType::MixedMinMax, "mixed_min_max"},
};

// Row-wise minimum / maximum of the finite values; 0 for a row without any.
at::Tensor finite_min(const at::Tensor& rows) {
  const double big = std::numeric_limits<float>::max();
  at::Tensor m = std::get<0>(at::where(at::isfinite(rows), rows, big).min(1));
  return at::where(m == big, at::zeros_like(m), m);
}
at::Tensor finite_max(const at::Tensor& rows) {
  const double big = std::numeric_limits<float>::max();
  at::Tensor m = std::get<0>(at::where(at::isfinite(rows), rows, -big).max(1));
  return at::where(m == -big, at::zeros_like(m), m);
}

// Row-wise percentile `p` (percent) of the finite values, interpolating linearly between the two
// nearest ranks like numpy's default; 0 for a row without finite values.
at::Tensor finite_percentile(const at::Tensor& rows, double p) {
  at::Tensor v = at::where(at::isfinite(rows), rows, std::numeric_limits<float>::quiet_NaN());
  at::Tensor sorted = std::get<0>(v.sort(1));  // NaN sorts last
  at::Tensor count = at::isfinite(sorted).sum(1, /*keepdim=*/true).to(at::kDouble);
  at::Tensor pos = (count - 1).clamp_min(0) * (p / 100.0);
  at::Tensor lo = pos.floor();
  at::Tensor hi = at::minimum(lo + 1, (count - 1).clamp_min(0));
  at::Tensor frac = (pos - lo).to(rows.scalar_type());
  at::Tensor a = sorted.gather(1, lo.to(at::kLong)), b = sorted.gather(1, hi.to(at::kLong));
  at::Tensor result = (a + (b - a) * frac).squeeze(1);
  return at::where(count.squeeze(1) > 0, result, at::zeros_like(result));
}

at::Tensor mean_of(const std::vector<at::Tensor>& v) {
  return at::stack(v).mean(0);
}

}  // namespace

const char* to_string(RangeInitType type) {
  for (const Spelling& s : kSpellings) {
    if (s.type == type) return s.name;
  }
  return "?";
}

std::optional<RangeInitType> range_init_type_from_string(const std::string& name) {
  for (const Spelling& s : kSpellings) {
    if (name == s.name) return s.type;
  }
  return std::nullopt;
}

RangeCollector::RangeCollector(RangeInitType type, RangeCollectorOptions options)
    : type_(type), options_(options) {
  TORCH_CHECK(options_.min_percentile >= 0 && options_.min_percentile <= options_.max_percentile &&
                  options_.max_percentile <= 100,
              "range init: expected 0 <= min_percentile <= max_percentile <= 100, got ",
              options_.min_percentile, " and ", options_.max_percentile);
  TORCH_CHECK(options_.max_kept_values > 0, "range init: max_kept_values must be positive");
}

at::Tensor RangeCollector::rows(const at::Tensor& x) const {
  at::Tensor t = x.detach().to(at::kCPU, at::kFloat);
  if (!options_.channel_axis) return t.reshape({1, -1});
  const int64_t axis = at::maybe_wrap_dim(*options_.channel_axis, t.dim());
  return t.movedim(axis, 0).reshape({t.size(axis), -1});
}

void RangeCollector::update(const at::Tensor& x) {
  TORCH_CHECK(x.defined() && x.numel() > 0, "range init: an empty tensor has no range");
  at::NoGradGuard no_grad;
  const bool abs_max = options_.symmetric;
  at::Tensor r = rows(x);
  TORCH_CHECK(channels_ < 0 || r.size(0) == channels_, "range init: ", r.size(0), " channels after ",
              channels_, " in earlier batches");
  channels_ = r.size(0);
  ++batches_;
  switch (type_) {
    case RangeInitType::MinMax:
    case RangeInitType::MixedMinMax: {
      if (type_ == RangeInitType::MixedMinMax && !options_.channel_axis && !options_.weights && x.dim() > 1) {
        // A per-tensor activation: per sample, then the mean of the samples' maxima (and minima,
        // for asymmetric). Not for a weight, whose dim 0 is its output channels: the mean of the
        // filters' maxima would clip the largest weights (NNCF uses plain min/max there).
        at::Tensor samples = x.detach().to(at::kCPU, at::kFloat).reshape({x.size(0), -1});
        at::Tensor mins = finite_min(samples), maxs = finite_max(abs_max ? samples.abs() : samples);
        batch_maxs_.push_back(maxs);
        batch_mins_.push_back(options_.symmetric ? mins.min().reshape({1}) : mins);
        return;
      }
      at::Tensor mn = finite_min(r), mx = finite_max(abs_max ? r.abs() : r);
      min_ = min_.defined() ? at::minimum(min_, mn) : mn;
      max_ = max_.defined() ? at::maximum(max_, mx) : mx;
      return;
    }
    case RangeInitType::MeanMinMax:
      batch_mins_.push_back(finite_min(r));
      batch_maxs_.push_back(finite_max(abs_max ? r.abs() : r));
      return;
    case RangeInitType::MeanPercentile:
      batch_mins_.push_back(finite_percentile(r, options_.min_percentile));
      batch_maxs_.push_back(finite_percentile(r, options_.max_percentile));
      return;
    case RangeInitType::ThreeSigma:
    case RangeInitType::Percentile: {
      // Keep a bounded, deterministic sample: every k-th value, k doubling when the store fills.
      const int64_t stride =
          std::max<int64_t>(1, (r.size(1) + options_.max_kept_values - 1) / options_.max_kept_values);
      kept_.push_back(r.slice(1, 0, r.size(1), stride).clone());
      int64_t total = 0;
      for (const auto& k : kept_) total += k.size(1);
      if (total > options_.max_kept_values) {
        at::Tensor all = at::cat(kept_, 1);
        kept_ = {all.slice(1, 0, all.size(1), 2).clone()};
      }
      return;
    }
  }
}

std::pair<at::Tensor, at::Tensor> RangeCollector::range() const {
  TORCH_CHECK(batches_ > 0, "range init: no statistics were collected (", to_string(type_), ")");
  switch (type_) {
    case RangeInitType::MinMax:
      return {min_, max_};
    case RangeInitType::MixedMinMax:
      if (min_.defined()) return {min_, max_};
      // Per-sample statistics: symmetric takes the minimum of minima, asymmetric their mean.
      return {options_.symmetric ? at::stack(batch_mins_).min().reshape({1})
                                 : at::cat(batch_mins_).mean().reshape({1}),
              at::cat(batch_maxs_).mean().reshape({1})};
    case RangeInitType::MeanMinMax:
    case RangeInitType::MeanPercentile:
      return {mean_of(batch_mins_), mean_of(batch_maxs_)};
    case RangeInitType::Percentile: {
      at::Tensor all = at::cat(kept_, 1);
      return {finite_percentile(all, options_.min_percentile),
              finite_percentile(all, options_.max_percentile)};
    }
    case RangeInitType::ThreeSigma: {
      at::Tensor all = at::cat(kept_, 1);
      at::Tensor median = finite_percentile(all, 50.0);
      at::Tensor mad = finite_percentile((all - median.unsqueeze(1)).abs(), 50.0);
      return {median - 3 * kSigmaPerMad * mad, median + 3 * kSigmaPerMad * mad};
    }
  }
  TORCH_INTERNAL_ASSERT(false, "unhandled range init type");
}

at::Tensor symmetric_scale(const at::Tensor& min, const at::Tensor& max) {
  return at::maximum(min.abs(), max.abs()).nan_to_num(0.0).clamp_min(kScaleFloor);
}

std::pair<at::Tensor, at::Tensor> asymmetric_range(const at::Tensor& min, const at::Tensor& max) {
  at::Tensor lo = min.nan_to_num(0.0), hi = at::maximum(max.nan_to_num(0.0), lo);
  at::Tensor r = hi - lo;
  // NNCF widens each channel to at least 1% of the widest around its middle; the widest is taken
  // as at least kScaleFloor here, so that an all-constant tensor still gets a non-zero range.
  const double widest = std::max(r.max().item<double>(), kScaleFloor);
  at::Tensor corr = (r.clamp(kMinRangeShare * widest, widest) - r) / 2;
  return {lo - corr, r + 2 * corr};
}

}  // namespace nncf::quantization
