// Range initialization statistics against values computed by hand, and the guarantees for
// degenerate tensors (all zeros, constant, NaN/Inf): finite ranges, never a zero scale.

#include "nncf/algorithms/quantization/range_init.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace nncf::quantization {
namespace {

std::pair<torch::Tensor, torch::Tensor> collect(RangeInitType type, const std::vector<torch::Tensor>& batches,
                                                RangeCollectorOptions options = {}) {
  RangeCollector c(type, options);
  for (const auto& b : batches) c.update(b);
  return c.range();
}

void expect_range(const std::pair<torch::Tensor, torch::Tensor>& got, std::vector<float> lo, std::vector<float> hi) {
  EXPECT_TRUE(torch::allclose(got.first, torch::tensor(lo), 1e-5, 1e-6)) << got.first;
  EXPECT_TRUE(torch::allclose(got.second, torch::tensor(hi), 1e-5, 1e-6)) << got.second;
}

// Two batches of two samples, 3 values each.
const std::vector<torch::Tensor> kBatches = {torch::tensor({{-1.0f, 2.0f, 0.5f}, {-3.0f, 1.0f, 0.0f}}),
                                             torch::tensor({{4.0f, -0.5f, 1.0f}, {0.0f, 0.0f, 0.2f}})};

TEST(RangeInit, MinMaxUsesAbsoluteMaximumForSymmetric) {
  expect_range(collect(RangeInitType::MinMax, kBatches), {-3}, {4});
  expect_range(collect(RangeInitType::MinMax, {torch::tensor({-5.0f, 1.0f})}), {-5}, {5});
  RangeCollectorOptions asym;
  asym.symmetric = false;
  expect_range(collect(RangeInitType::MinMax, {torch::tensor({-5.0f, 1.0f})}, asym), {-5}, {1});
}

TEST(RangeInit, MeanMinMaxAveragesPerBatch) {
  // batch mins -3, -0.5; batch abs-maxes 3, 4
  expect_range(collect(RangeInitType::MeanMinMax, kBatches), {-1.75f}, {3.5f});
}

TEST(RangeInit, MixedMinMaxReducesPerSample) {
  // per-sample abs max: 2, 3, 4, 0.2 -> mean 2.3; symmetric min = min of mins = -3
  expect_range(collect(RangeInitType::MixedMinMax, kBatches), {-3}, {2.3f});
  RangeCollectorOptions asym;
  asym.symmetric = false;
  // per-sample mins -1, -3, -0.5, 0 -> mean -1.125; maxes 2, 1, 4, 0.2 -> mean 1.8
  expect_range(collect(RangeInitType::MixedMinMax, kBatches, asym), {-1.125f}, {1.8f});
}

TEST(RangeInit, PercentilesInterpolateLikeNumpy) {
  RangeCollectorOptions o;
  o.min_percentile = 10;
  o.max_percentile = 90;
  auto x = torch::arange(11, torch::kFloat);  // numpy.percentile(0..10, 10) == 1, (.., 90) == 9
  expect_range(collect(RangeInitType::Percentile, {x}, o), {1}, {9});
  o.min_percentile = 25;
  o.max_percentile = 75;
  auto y = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f});  // numpy: 1.75, 3.25
  expect_range(collect(RangeInitType::Percentile, {y}, o), {1.75f}, {3.25f});
  // mean_percentile averages the per-batch percentiles
  expect_range(collect(RangeInitType::MeanPercentile, {x, y}, o), {(2.5f + 1.75f) / 2}, {(7.5f + 3.25f) / 2});
}

TEST(RangeInit, ThreeSigmaIsMedianPlusMinusScaledMad) {
  auto x = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f, 100.0f});  // median 3, |x-3| = 2,1,0,1,97 -> MAD 1
  const float d = 3 * 1.4826230f;
  expect_range(collect(RangeInitType::ThreeSigma, {x}), {3 - d}, {3 + d});
}

TEST(RangeInit, PerChannelAlongAnAxis) {
  RangeCollectorOptions o;
  o.channel_axis = 1;
  o.symmetric = false;
  auto x = torch::tensor({{{1.0f, -2.0f}, {5.0f, 6.0f}}, {{0.0f, 3.0f}, {-1.0f, 7.0f}}});  // [2, 2, 2]
  expect_range(collect(RangeInitType::MinMax, {x}, o), {-2, -1}, {3, 7});
  EXPECT_THROW(collect(RangeInitType::MinMax, {x, torch::zeros({2, 3, 2})}, o), c10::Error);
}

TEST(RangeInit, DegenerateTensorsGiveFiniteNonZeroRanges) {
  const float nan = std::nanf(""), inf = INFINITY;
  for (RangeInitType type : {RangeInitType::MinMax, RangeInitType::MeanMinMax, RangeInitType::ThreeSigma,
                             RangeInitType::Percentile, RangeInitType::MeanPercentile, RangeInitType::MixedMinMax}) {
    for (const auto& x : {torch::zeros({4, 3}), torch::full({4, 3}, 2.5f), torch::tensor({{nan, inf}, {-inf, 1.0f}}),
                          torch::full({2, 2}, nan)}) {
      for (bool symmetric : {true, false}) {
        RangeCollectorOptions o;
        o.symmetric = symmetric;
        auto [mn, mx] = collect(type, {x}, o);
        ASSERT_TRUE(torch::isfinite(mn).all().item<bool>() && torch::isfinite(mx).all().item<bool>())
            << to_string(type) << " on " << x;
        EXPECT_GT(symmetric_scale(mn, mx).min().item<float>(), 0.0f) << to_string(type);
        auto [low, range] = asymmetric_range(mn, mx);
        EXPECT_GT(range.min().item<float>(), 0.0f) << to_string(type);
        EXPECT_TRUE(torch::isfinite(low).all().item<bool>()) << to_string(type);
      }
    }
  }
  // NaN and Inf are ignored, not turned into the range.
  expect_range(collect(RangeInitType::MinMax, {torch::tensor({nan, -2.0f, inf, 1.0f})}), {-2}, {2});
}

TEST(RangeInit, QuantizerRangesFollowNncf) {
  // symmetric: max(|min|, |max|) floored at 0.1
  EXPECT_TRUE(torch::allclose(symmetric_scale(torch::tensor({-3.0f, 0.01f}), torch::tensor({2.0f, 0.05f})),
                              torch::tensor({3.0f, 0.1f})));
  // asymmetric: ranges [0, 10] and [1, 1.02] -> the narrow one widened to 1% of 10 around 1.01
  auto [low, range] = asymmetric_range(torch::tensor({0.0f, 1.0f}), torch::tensor({10.0f, 1.02f}));
  EXPECT_TRUE(torch::allclose(low, torch::tensor({0.0f, 0.96f}), 1e-5, 1e-6)) << low;
  EXPECT_TRUE(torch::allclose(range, torch::tensor({10.0f, 0.1f}), 1e-5, 1e-6)) << range;
}

TEST(RangeInit, BoundedMemoryForKeptValues) {
  RangeCollectorOptions o;
  o.max_kept_values = 1000;
  RangeCollector c(RangeInitType::Percentile, o);
  for (int i = 0; i < 10; ++i) c.update(torch::rand({5000}));
  auto [mn, mx] = c.range();
  EXPECT_NEAR(mn.item<float>(), 0.001f, 0.01f);
  EXPECT_NEAR(mx.item<float>(), 0.999f, 0.01f);
  EXPECT_EQ(range_init_type_from_string("mixed_min_max"), RangeInitType::MixedMinMax);
  EXPECT_FALSE(range_init_type_from_string("minmax").has_value());
}

}  // namespace
}  // namespace nncf::quantization
