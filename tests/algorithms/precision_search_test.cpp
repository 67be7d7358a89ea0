// The mixed-precision search: NNCF's candidate order and count, its compression ratio on NNCF's
// own reference values, NNCF's choice on a hand-checked example, and the exact optimum against
// brute force on random instances (never worse than NNCF's choice).

#include "nncf/algorithms/quantization/precision_search.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "support/errors.h"

namespace nncf::quantization::precision {
namespace {

using testing::error_of;

SearchLayer layer(const std::string& id, double trace, double flops, std::vector<int> bits = {4, 8},
                  std::vector<double> perturbation = {}) {
  SearchLayer l;
  l.id = id;
  l.trace = trace;
  l.flops = flops;
  l.bits = std::move(bits);
  if (perturbation.empty())
    for (int b : l.bits) perturbation.push_back(std::ldexp(1.0, -2 * b));  // ~ step^2
  l.perturbation = std::move(perturbation);
  return l;
}

// NNCF's test_compression_ratio model: a conv of 72 FLOPs and a linear of 108.
TEST(PrecisionSearch, CompressionRatioMatchesNncfReferenceValues) {
  SearchProblem p;
  p.layers = {layer("conv", 1, 72), layer("linear", 1, 108)};
  EXPECT_DOUBLE_EQ(evaluate(p, {8, 8}).ratio, 1.0);
  EXPECT_DOUBLE_EQ(evaluate(p, {4, 4}).ratio, 2.0);
  EXPECT_DOUBLE_EQ(evaluate(p, {4, 8}).ratio, 1440.0 / (288 + 864));
  EXPECT_DOUBLE_EQ(evaluate(p, {8, 4}).ratio, 1440.0 / (576 + 432));
  // An 8-bit activation quantizer feeding the linear keeps its complexity at 8 bits.
  p.activations = {{"act", {8}}};
  p.layers[1].activation = 0;
  EXPECT_DOUBLE_EQ(evaluate(p, {4, 4}).ratio, 1440.0 / (288 + 864));
}

TEST(PrecisionSearch, CandidateCountFollowsNncfFormula) {
  // sum_j C(m, j) C(L-1, j-1): NNCF's test_get_non_decreasing_bit_sequences.
  EXPECT_EQ(count_non_decreasing_sequences(2, 3), 4);
  EXPECT_EQ(count_non_decreasing_sequences(3, 5), 3 + 3 * 4 + 1 * 6);
  EXPECT_EQ(count_non_decreasing_sequences(3, 1), 3);
  EXPECT_EQ(count_non_decreasing_sequences(7, 100),
            1 * 7 + 21 * 99 + 35 * 4851 + 35 * 156849 + 21 * 3764376 + 7 * 71523144 + 1 * 1120529256);
  EXPECT_EQ(count_non_decreasing_sequences(60, 400), INT64_MAX);
  SearchProblem p;
  for (int i = 0; i < 5; ++i) p.layers.push_back(layer("l" + std::to_string(i), i, 10, {2, 4, 8}));
  EXPECT_EQ(static_cast<int64_t>(nncf_candidates(p).size()), count_non_decreasing_sequences(3, 5));
  // Seven widths over 50 layers: NNCF would enumerate 32468436 sequences; the exact search solves it.
  SearchProblem big;
  for (int i = 0; i < 50; ++i)
    big.layers.push_back(layer("l" + std::to_string(i), 1 + i % 7, 10 + i, {2, 3, 4, 5, 6, 7, 8}));
  EXPECT_THAT(error_of([&] { nncf_candidates(big); }),
              ::testing::HasSubstr("more than 10000000 width sequences"));
  EXPECT_GE(exact_choice(big).ratio, 1.5);
}

// Three layers, traces 3, 1, 2: ordered by trace (l1, l2, l0), the candidates give the low-trace
// layers no more bits than the high-trace ones.
TEST(PrecisionSearch, NncfCandidatesFollowTheTraceOrder) {
  SearchProblem p;
  p.layers = {layer("l0", 3, 10), layer("l1", 1, 10), layer("l2", 2, 10)};
  const std::vector<std::vector<int>> expected = {{4, 4, 4}, {8, 4, 4}, {8, 4, 8}, {8, 8, 8}};
  EXPECT_EQ(nncf_candidates(p), expected);
  // A layer without width 4 takes its closest allowed width: duplicates are dropped.
  p.layers[1] = layer("l1", 1, 10, {8});
  const std::vector<std::vector<int>> restricted = {{4, 8, 4}, {8, 8, 4}, {8, 8, 8}};
  EXPECT_EQ(nncf_candidates(p), restricted);
}

// Hand-checked: FLOPs 100, 100, 200 (reference complexity 8 * 400 = 3200), metric = the trace at
// 4 bits and 0 at 8. In trace order (l1, l2, l0) the candidates are, as (l0, l1, l2):
// {4,4,4} ratio 2 metric 16; {8,4,4} 3200/2000 = 1.6, metric 6; {8,4,8} 1.14; {8,8,8} 1.
TEST(PrecisionSearch, NncfChoiceIsTheBestCandidateMeetingTheRatio) {
  SearchProblem p;
  p.layers = {layer("l0", 10, 100, {4, 8}, {1, 0}), layer("l1", 1, 100, {4, 8}, {1, 0}),
              layer("l2", 5, 200, {4, 8}, {1, 0})};
  p.compression_ratio = 1.5;
  const SearchChoice c = nncf_choice(p);
  EXPECT_EQ(c.weight_bits, (std::vector<int>{8, 4, 4}));
  EXPECT_DOUBLE_EQ(c.ratio, 1.6);
  EXPECT_DOUBLE_EQ(c.metric, 6);
  // The exact optimum agrees here (l0 is the only layer worth 8 bits within the budget).
  EXPECT_EQ(exact_choice(p).weight_bits, c.weight_bits);
}

// Where NNCF's monotone candidates miss the optimum: a high-trace layer with a tiny perturbation
// gains little from 8 bits, a low-trace layer with a large one gains much.
TEST(PrecisionSearch, ExactChoiceBeatsTheMonotoneCandidates) {
  SearchProblem p;
  p.layers = {layer("big_trace", 10, 100, {4, 8}, {0.01, 0}), layer("small_trace", 1, 100, {4, 8}, {50, 0}),
              layer("other", 5, 100, {4, 8}, {0.5, 0})};
  p.compression_ratio = 1.5;  // complexity <= 2133: one layer at 8 bits
  const SearchChoice nncf = nncf_choice(p), exact = exact_choice(p);
  EXPECT_EQ(nncf.weight_bits, (std::vector<int>{8, 4, 4}));
  EXPECT_EQ(exact.weight_bits, (std::vector<int>{4, 8, 4}));
  EXPECT_LT(exact.metric, nncf.metric);
  EXPECT_GE(exact.ratio, 1.5);
}

SearchChoice brute_force(const SearchProblem& p) {
  SearchChoice best;
  best.metric = std::numeric_limits<double>::infinity();
  std::vector<size_t> digit(p.layers.size(), 0);
  while (true) {
    std::vector<int> bits;
    for (size_t i = 0; i < p.layers.size(); ++i) bits.push_back(p.layers[i].bits[digit[i]]);
    const SearchChoice c = evaluate(p, bits);
    if (c.ratio >= p.compression_ratio * (1 - 1e-12) && c.metric < best.metric) best = c;
    size_t k = 0;
    for (; k < digit.size(); ++k) {
      if (++digit[k] < p.layers[k].bits.size()) break;
      digit[k] = 0;
    }
    if (k == digit.size()) break;
  }
  return best;
}

TEST(PrecisionSearch, ExactChoiceMatchesBruteForceOnRandomInstances) {
  std::mt19937 rng(7);
  const std::vector<std::vector<int>> width_sets = {{4, 8}, {2, 4, 8}, {8}, {4, 6, 8}, {2, 8}};
  int compared_with_nncf = 0;
  for (int trial = 0; trial < 300; ++trial) {
    SearchProblem p;
    const int n = 1 + static_cast<int>(rng() % 7);
    const int acts = static_cast<int>(rng() % 3);
    for (int a = 0; a < acts; ++a)
      p.activations.push_back({"a" + std::to_string(a), width_sets[rng() % width_sets.size()]});
    std::uniform_real_distribution<double> u(0, 1);
    for (int i = 0; i < n; ++i) {
      const std::vector<int>& bits = width_sets[rng() % width_sets.size()];
      std::vector<double> perturbation;
      double prev = 10 * u(rng) + 1;
      for (size_t k = 0; k < bits.size(); ++k) {  // decreasing with the width
        perturbation.push_back(prev);
        prev *= u(rng);
      }
      SearchLayer l = layer("l" + std::to_string(i), trial % 5 == 0 ? u(rng) - 0.3 : u(rng) * 10,
                            std::floor(1 + 100 * u(rng)), bits, perturbation);
      l.activation = acts > 0 && rng() % 2 ? static_cast<int>(rng() % static_cast<unsigned>(acts)) : -1;
      p.layers.push_back(l);
    }
    // A target between the extremes (sometimes exactly the all-lowest one).
    std::vector<int> lowest, highest;
    for (const auto& l : p.layers) {
      lowest.push_back(l.bits.front());
      highest.push_back(l.bits.back());
    }
    const double lo = evaluate(p, highest).ratio, hi = evaluate(p, lowest).ratio;
    p.compression_ratio = trial % 7 == 0 ? hi : lo + (hi - lo) * u(rng);
    const SearchChoice expected = brute_force(p);
    ASSERT_TRUE(std::isfinite(expected.metric)) << trial;
    const SearchChoice exact = exact_choice(p);
    EXPECT_NEAR(exact.metric, expected.metric, 1e-9 * (1 + std::abs(expected.metric))) << trial;
    EXPECT_GE(exact.ratio, p.compression_ratio * (1 - 1e-12)) << trial;
    EXPECT_EQ(evaluate(p, exact.weight_bits).metric, exact.metric);
    bool nncf_found = true;
    SearchChoice nncf;
    try {
      nncf = nncf_choice(p);
    } catch (const c10::Error&) {
      nncf_found = false;  // its candidates may all miss a target assignments reach
    }
    if (nncf_found) {
      ++compared_with_nncf;
      EXPECT_LE(exact.metric, nncf.metric + 1e-9 * (1 + std::abs(nncf.metric))) << trial;
    }
  }
  EXPECT_GT(compared_with_nncf, 200);
}

TEST(PrecisionSearch, BadProblemsAndUnreachableTargetsAreNamed) {
  SearchProblem p;
  p.layers = {layer("conv", 1, 72), layer("linear", 1, 108)};
  p.compression_ratio = 2.5;
  EXPECT_THAT(error_of([&] { exact_choice(p); }),
              ::testing::HasSubstr(
                  "compression_ratio 2.5 cannot be reached: the allowed widths give ratios from 1 to 2"));
  EXPECT_THAT(error_of([&] { nncf_choice(p); }),
              ::testing::HasSubstr("compression_ratio 2.5 cannot be reached"));
  p.compression_ratio = 1.5;
  p.layers[1].bits = {8, 4};
  EXPECT_THAT(error_of([&] { exact_choice(p); }),
              ::testing::HasSubstr("weight quantizer linear has widths [8, 4]: they must be ascending"));
  p.layers[1] = layer("linear", 1, 108);
  p.layers[1].perturbation.pop_back();
  EXPECT_THAT(error_of([&] { exact_choice(p); }),
              ::testing::HasSubstr("weight quantizer linear has 1 perturbations for 2 widths"));
  p.layers[1] = layer("linear", 1, 0);
  EXPECT_THAT(error_of([&] { exact_choice(p); }),
              ::testing::HasSubstr("weight quantizer linear has no FLOPs"));
  p.layers[1] = layer("linear", 1, 108);
  p.layers[1].activation = 3;
  EXPECT_THAT(error_of([&] { exact_choice(p); }),
              ::testing::HasSubstr("weight quantizer linear names activation quantizer 3 of 0"));
  p.layers[1].activation = -1;
  EXPECT_THAT(error_of([&] {
                evaluate(p, {4, 2});
              }),
              ::testing::HasSubstr("weight quantizer linear does not allow width 2"));
}

}  // namespace
}  // namespace nncf::quantization::precision
