// The fused fake-quantize ops against their plain-ATen references (forward bit-exact, backward
// against autograd of the straight-through reference), over odd sizes, strides, axes, bit widths,
// signedness, narrow range and both dtypes; plus the dispatcher, the tracer and hand-checked values.

#include "nncf/kernels/fake_quantize.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <gtest/gtest.h>
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace nncf::kernels {
namespace {

struct Shape {
  std::vector<int64_t> sizes;
  bool transposed = false;  ///< make x non-contiguous (first and last dims swapped in memory)
};

std::vector<Shape> shapes() {
  return {{{1}}, {{7}}, {{31}}, {{1001}}, {{3, 5, 7, 9}}, {{3, 5, 7, 9}, true}, {{6, 33}, true}};
}

// Per-tensor (nullopt) and per-channel axes worth testing for a shape.
std::vector<c10::optional<int64_t>> axes(const Shape& s) {
  std::vector<c10::optional<int64_t>> out{c10::nullopt, 0};
  if (s.sizes.size() > 1) out.push_back(1);
  if (s.sizes.size() > 2) out.push_back(-1);
  return out;
}

torch::Tensor make_input(const Shape& s, torch::ScalarType dtype) {
  if (!s.transposed) return torch::randn(s.sizes, dtype) * 1.3;
  std::vector<int64_t> swapped = s.sizes;
  std::swap(swapped.front(), swapped.back());
  torch::Tensor x =
      (torch::randn(swapped, dtype) * 1.3).transpose(0, static_cast<int64_t>(swapped.size()) - 1);
  EXPECT_FALSE(x.is_contiguous());
  return x;
}

// A parameter with one value per channel of `axis`, in the broadcastable [1,..,C,..,1] shape
// modules use; or shape [1] per tensor.
torch::Tensor make_param(const torch::Tensor& x, c10::optional<int64_t> axis, double lo, double hi) {
  if (!axis) return torch::rand({1}, x.scalar_type()) * (hi - lo) + lo;
  const int64_t ax = *axis < 0 ? *axis + x.dim() : *axis;
  std::vector<int64_t> shape(x.dim(), 1);
  shape[ax] = x.size(ax);
  return torch::rand(shape, x.scalar_type()) * (hi - lo) + lo;
}

std::string describe(const Shape& s, c10::optional<int64_t> axis, torch::ScalarType dtype,
                     const std::string& q) {
  std::string out = "shape " + c10::str(c10::IntArrayRef(s.sizes)) + (s.transposed ? " transposed" : "") +
                    " axis " + (axis ? std::to_string(*axis) : std::string("per-tensor")) + " " +
                    c10::toString(dtype) + " " + q;
  return out;
}

// Gradient sums are compared with a tolerance: summation order differs, and each term carries
// rounding error of the order of eps.
void expect_sum_close(const torch::Tensor& got, const torch::Tensor& want, int64_t terms,
                      const std::string& what) {
  const double eps = got.scalar_type() == torch::kFloat ? 1e-6 : 1e-13;
  const double atol = eps * static_cast<double>(terms) * 4 + eps * 10;
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  EXPECT_TRUE(torch::allclose(got, want, /*rtol=*/eps * 10, atol))
      << what << "\ngot  " << got.flatten() << "\nwant " << want.flatten();
}

// dx is g or 0; the reference's chain rule gives g * step * inv, which may be one rounding off g.
void expect_dx_equal(const torch::Tensor& got, const torch::Tensor& want, const std::string& what) {
  const double eps = got.scalar_type() == torch::kFloat ? 1.2e-7 : 2.3e-16;
  EXPECT_TRUE(torch::allclose(got, want, /*rtol=*/2 * eps, /*atol=*/0)) << what << " dx";
}

TEST(FakeQuantizeKernel, LevelRanges) {
  EXPECT_EQ(level_range(8, true).low, -128);
  EXPECT_EQ(level_range(8, true).high, 127);
  EXPECT_EQ(level_range(8, true, true).low, -127);
  EXPECT_EQ(level_range(8, true, true).levels(), 255);
  EXPECT_EQ(level_range(8, false).high, 255);
  EXPECT_EQ(level_range(4, false).levels(), 16);
  EXPECT_EQ(level_range(2, true).low, -2);
  EXPECT_EQ(level_range(2, true).high, 1);
}

// Runs the body once with the AVX2 loops (where the CPU has them) and once with the baseline ones.
class BothIsas {
 public:
  explicit BothIsas(bool baseline) : previous_(detail::force_baseline_isa(baseline)) {}
  ~BothIsas() { detail::force_baseline_isa(previous_); }

 private:
  bool previous_;
};

TEST(FakeQuantizeKernel, SymmetricMatchesReference) {
  torch::manual_seed(0);
  int cases = 0;
  for (bool baseline : {false, true}) {
    BothIsas isa(baseline);
    for (torch::ScalarType dtype : {torch::kFloat, torch::kDouble}) {
      for (const Shape& s : shapes()) {
        for (c10::optional<int64_t> axis : axes(s)) {
          for (int64_t bits : {2, 4, 8}) {
            for (int kind = 0; kind < 3; ++kind) {  // signed, unsigned, signed narrow
              const LevelRange lr = level_range(bits, kind != 1, kind == 2);
              const std::string what = describe(s, axis, dtype,
                                                "bits " + std::to_string(bits) + " kind " +
                                                    std::to_string(kind) + (baseline ? " baseline" : ""));
              torch::Tensor x = make_input(s, dtype);
              torch::Tensor scale = make_param(x, axis, 0.5, 2.0);
              const int64_t ax = axis.value_or(0);
              torch::Tensor g = torch::randn(x.sizes(), dtype);

              torch::Tensor xf = x.detach().requires_grad_(true), sf = scale.clone().requires_grad_(true);
              torch::Tensor y = fake_quantize_symmetric(xf, sf, lr.low, lr.high, ax);
              y.backward(g);
              torch::Tensor xr = x.detach().requires_grad_(true), sr = scale.clone().requires_grad_(true);
              torch::Tensor yr = reference::fake_quantize_symmetric(xr, sr, lr.low, lr.high, ax);
              yr.backward(g);

              ASSERT_TRUE(torch::equal(y, yr)) << what << "\n" << (y - yr).abs().max();
              expect_dx_equal(xf.grad(), xr.grad(), what);
              expect_sum_close(sf.grad(), sr.grad(), x.numel() / scale.numel(), what);
              ++cases;
            }
          }
        }
      }
    }
  }
  EXPECT_GT(cases, 600);
}

TEST(FakeQuantizeKernel, AsymmetricMatchesReference) {
  torch::manual_seed(1);
  for (bool baseline : {false, true}) {
    BothIsas isa(baseline);
    for (torch::ScalarType dtype : {torch::kFloat, torch::kDouble}) {
      for (const Shape& s : shapes()) {
        for (c10::optional<int64_t> axis : axes(s)) {
          for (int64_t bits : {2, 4, 8}) {
            const int64_t levels = int64_t{1} << bits;
            const std::string what =
                describe(s, axis, dtype, "levels " + std::to_string(levels) + (baseline ? " baseline" : ""));
            torch::Tensor x = make_input(s, dtype);
            // Lows on both sides of zero (positive ones are tuned down to 0), ranges of various sizes.
            torch::Tensor low = make_param(x, axis, -2.0, 0.5);
            torch::Tensor range = make_param(x, axis, 0.3, 3.0);
            const int64_t ax = axis.value_or(0);
            torch::Tensor g = torch::randn(x.sizes(), dtype);

            torch::Tensor xf = x.detach().requires_grad_(true);
            torch::Tensor lf = low.clone().requires_grad_(true), rf = range.clone().requires_grad_(true);
            torch::Tensor y = fake_quantize_asymmetric(xf, lf, rf, levels, ax);
            y.backward(g);
            torch::Tensor xr = x.detach().requires_grad_(true);
            torch::Tensor lr = low.clone().requires_grad_(true), rr = range.clone().requires_grad_(true);
            torch::Tensor yr = reference::fake_quantize_asymmetric(xr, lr, rr, levels, ax);
            yr.backward(g);

            ASSERT_TRUE(torch::equal(y, yr)) << what << "\n" << (y - yr).abs().max();
            expect_dx_equal(xf.grad(), xr.grad(), what);
            expect_sum_close(lf.grad(), lr.grad(), x.numel() / low.numel(), what + " dinput_low");
            expect_sum_close(rf.grad(), rr.grad(), x.numel() / low.numel(), what + " dinput_range");
          }
        }
      }
    }
  }
}

// Inputs longer than one row and one parallel task (Note [Rows] in src/kernels/fake_quantize_cpu.h),
// with a short last row: the same results on one thread and two, and the reference's.
TEST(FakeQuantizeKernel, LargeInputsSpanManyRowsAndThreads) {
  torch::manual_seed(6);
  const int threads = at::get_num_threads();
  torch::Tensor x = torch::randn({3, 7, 10007});
  torch::Tensor g = torch::randn(x.sizes());
  for (c10::optional<int64_t> axis : {c10::optional<int64_t>(), c10::optional<int64_t>(1)}) {
    torch::Tensor scale = make_param(x, axis, 0.5, 2.0);
    std::vector<torch::Tensor> results;
    for (int t : {1, 2}) {
      at::set_num_threads(t);
      torch::Tensor xf = x.clone().requires_grad_(true), sf = scale.clone().requires_grad_(true);
      fake_quantize_symmetric(xf, sf, -128, 127, axis.value_or(0)).backward(g);
      torch::Tensor lf = (-scale).clone().requires_grad_(true), rf = (scale * 1.7).requires_grad_(true);
      torch::Tensor ya = fake_quantize_asymmetric(x, lf, rf, 16, axis.value_or(0));
      ya.backward(g);
      results.insert(results.end(), {xf.grad(), sf.grad(), ya, lf.grad(), rf.grad()});
    }
    at::set_num_threads(threads);
    for (size_t i = 0; i < 5; ++i) EXPECT_TRUE(torch::equal(results[i], results[i + 5])) << i;
    torch::Tensor sr = scale.clone().requires_grad_(true);
    reference::fake_quantize_symmetric(x, sr, -128, 127, axis.value_or(0)).backward(g);
    expect_sum_close(results[1], sr.grad(), x.numel() / scale.numel(), "large symmetric dscale");
    torch::Tensor lr = (-scale).clone().requires_grad_(true), rr = (scale * 1.7).requires_grad_(true);
    EXPECT_TRUE(
        torch::equal(results[2], reference::fake_quantize_asymmetric(x, lr, rr, 16, axis.value_or(0))));
  }
}

TEST(FakeQuantizeKernel, ZeroMapsToZero) {
  torch::manual_seed(2);
  for (torch::ScalarType dtype : {torch::kFloat, torch::kDouble}) {
    for (int64_t bits : {2, 4, 8}) {
      torch::Tensor x = torch::zeros({3, 64, 5}, dtype);
      torch::Tensor scale = torch::rand({1, 64, 1}, dtype) * 10 + 1e-3;
      const LevelRange lr = level_range(bits, true);
      EXPECT_TRUE(torch::equal(fake_quantize_symmetric(x, scale, lr.low, lr.high, 1), x));
      torch::Tensor low = torch::randn({1, 64, 1}, dtype) * 5;  // some lows above zero
      torch::Tensor range = torch::rand({1, 64, 1}, dtype) * 10 + 1e-3;
      torch::Tensor y = fake_quantize_asymmetric(x, low, range, int64_t{1} << bits, 1);
      EXPECT_TRUE(torch::equal(y, x)) << "bits " << bits << " " << y.abs().max();
    }
  }
}

TEST(FakeQuantizeKernel, TuneRangeWidensToAGridThroughZero) {
  torch::manual_seed(3);
  torch::Tensor low = torch::randn({1000}, torch::kDouble) * 3;
  torch::Tensor range = torch::rand({1000}, torch::kDouble) * 5 + 0.01;
  for (int64_t levels : {4, 16, 256}) {
    auto [tl, tr] = tune_range(low, range, levels);
    EXPECT_TRUE((tl <= 0).all().item<bool>());
    EXPECT_TRUE((tl + tr >= 0).all().item<bool>());
    // Contains the original range (clipped to include 0) ...
    EXPECT_TRUE((tl <= torch::clamp_max(low, 0) + 1e-12).all().item<bool>());
    EXPECT_TRUE((tl + tr >= torch::clamp_min(low + range, 0) - 1e-9).all().item<bool>());
    // ... and zero is a grid point (-low / step is an integer) unless the zero point rounds to an
    // end of the grid, where NNCF's TuneRange leaves the range alone (the forward's zero-point
    // alignment still maps 0 to 0 then, see ZeroMapsToZero).
    const int64_t n = levels - 1;
    torch::Tensor l0 = torch::clamp_max(low, 0), h0 = torch::clamp_min(low + range, 0);
    torch::Tensor zp = torch::round(-l0 * n / (h0 - l0));
    torch::Tensor interior = (zp > 0) & (zp < n);
    torch::Tensor k = -tl / (tr / n);
    EXPECT_GT(interior.sum().item<int64_t>(), 100);  // many random ranges lie on one side of 0
    EXPECT_LT((k - k.round()).abs().masked_select(interior).max().item<double>(), 1e-6) << levels;
  }
  // Hand-checked: [-0.3, 0.7] with 256 levels: zp = round(0.3 * 255) = 76 -> high moves to
  // (76 - 255) / 76 * -0.3 = 0.70658 (wider than moving low to 76/(76-255)*0.7 = -0.29721).
  auto [tl, tr] =
      tune_range(torch::tensor({-0.3}, torch::kDouble), torch::tensor({1.0}, torch::kDouble), 256);
  EXPECT_NEAR(tl.item<double>(), -0.3, 1e-12);
  EXPECT_NEAR((tl + tr).item<double>(), 179.0 / 76.0 * 0.3, 1e-12);
}

// Note [Symmetric scale gradient differs from NNCF] in the header: inside the range the scale
// gradient is (q - x) / scale, not NNCF's (q - x) / input_range (about half of it when signed).
TEST(FakeQuantizeKernel, SymmetricScaleGradientIsTheTrueDerivative) {
  const double x0 = 0.3, s0 = 1.0;
  torch::Tensor x = torch::tensor({x0, 5.0, -5.0}, torch::kDouble);
  torch::Tensor scale = torch::tensor({s0}, torch::kDouble).requires_grad_(true);
  const LevelRange lr = level_range(8, true);  // -128..127
  fake_quantize_symmetric(x, scale, lr.low, lr.high, 0).select(0, 0).backward();
  const double q = std::nearbyint(x0 * 127) / 127;  // 38 / 127
  EXPECT_NEAR(scale.grad().item<double>(), (q - x0) / s0, 1e-15);
  const double nncf = (q - x0) / (s0 * (1 + 128.0 / 127));
  EXPECT_GT(std::abs(scale.grad().item<double>() - nncf), 1e-4);

  // Above the range: d out / d scale = 1; below: level_low / level_high.
  scale.mutable_grad() = torch::Tensor();
  fake_quantize_symmetric(x, scale, lr.low, lr.high, 0).select(0, 1).backward();
  EXPECT_DOUBLE_EQ(scale.grad().item<double>(), 1.0);
  scale.mutable_grad() = torch::Tensor();
  fake_quantize_symmetric(x, scale, lr.low, lr.high, 0).select(0, 2).backward();
  EXPECT_DOUBLE_EQ(scale.grad().item<double>(), -128.0 / 127.0);
}

// Finite differences in double where the function is smooth in the parameters: every element
// outside the range (the output is then linear in scale / input_low / input_range, and TuneRange
// leaves a range that already has zero on its grid alone).
TEST(FakeQuantizeKernel, OutsideRangeGradientsMatchFiniteDifferences) {
  torch::manual_seed(4);
  torch::Tensor sign = torch::randint(0, 2, {2, 3, 50}, torch::kDouble) * 2 - 1;
  torch::Tensor x = sign * (torch::rand({2, 3, 50}, torch::kDouble) + 3);  // |x| in [3, 4]
  torch::Tensor w = torch::randn({2, 3, 50}, torch::kDouble);
  const double h = 1e-6;
  for (int kind = 0; kind < 2; ++kind) {
    const LevelRange lr = level_range(4, kind == 0);
    torch::Tensor scale = torch::tensor({1.0, 1.5, 2.0}, torch::kDouble).view({1, 3, 1});
    auto f = [&](const torch::Tensor& s) {
      return (fake_quantize_symmetric(x, s, lr.low, lr.high, 1) * w).sum();
    };
    torch::Tensor sg = scale.clone().requires_grad_(true);
    f(sg).backward();
    for (int64_t c = 0; c < 3; ++c) {
      torch::Tensor e = torch::zeros_like(scale);
      e.view(-1)[c] = h;
      const double fd = (f(scale + e) - f(scale - e)).item<double>() / (2 * h);
      EXPECT_NEAR(sg.grad().view(-1)[c].item<double>(), fd, 1e-6) << "channel " << c << " kind " << kind;
    }
  }
  // Asymmetric with 16 levels and low = -8/15 * range: zero is on the grid, so small moves of
  // input_range keep it (nearly) there; input_low moves are checked against identity-tuned values.
  torch::Tensor range = torch::tensor({1.5}, torch::kDouble);
  torch::Tensor low = -range * 8 / 15;
  auto f = [&](const torch::Tensor& l, const torch::Tensor& r) {
    return (fake_quantize_asymmetric(x, l, r, 16, 0) * w).sum();
  };
  torch::Tensor lg = low.clone().requires_grad_(true), rg = range.clone().requires_grad_(true);
  f(lg, rg).backward();
  // Moving low and range together by the same factor keeps the grid through zero: directional FD.
  const double fd =
      (f(low * (1 + h), range * (1 + h)) - f(low * (1 - h), range * (1 - h))).item<double>() / (2 * h);
  const double analytic = (lg.grad() * low + rg.grad() * range).item<double>();
  EXPECT_NEAR(analytic, fd, 1e-6);
}

TEST(FakeQuantizeKernel, WorksThroughTheBoxedDispatcher) {
  torch::manual_seed(5);
  torch::Tensor x = torch::randn({4, 3, 5});
  torch::Tensor scale = torch::rand({3}) + 0.5;
  auto op = c10::Dispatcher::singleton().findSchemaOrThrow("nncf::fake_quantize_symmetric", "");
  torch::jit::Stack stack{x, scale, int64_t{-128}, int64_t{127}, int64_t{1}};
  op.callBoxed(&stack);
  ASSERT_EQ(stack.size(), 1u);
  EXPECT_TRUE(torch::equal(stack[0].toTensor(), reference::fake_quantize_symmetric(x, scale, -128, 127, 1)));

  auto asym = c10::Dispatcher::singleton().findSchemaOrThrow("nncf::fake_quantize_asymmetric", "");
  torch::Tensor low = torch::full({1}, -0.7), range = torch::full({1}, 2.0);
  torch::jit::Stack s2{x, low, range, int64_t{256}, int64_t{0}};
  asym.callBoxed(&s2);
  EXPECT_TRUE(torch::equal(s2[0].toTensor(), reference::fake_quantize_asymmetric(x, low, range, 256, 0)));
}

TEST(FakeQuantizeKernel, TracerRecordsOneNode) {
  torch::Tensor x = torch::randn({2, 3, 4});
  torch::Tensor scale = (torch::rand({1, 3, 1}) + 0.5).requires_grad_(true);
  torch::Tensor low = torch::full({1}, -1.0).requires_grad_(true);
  torch::Tensor range = torch::full({1}, 2.0).requires_grad_(true);
  auto traced = torch::jit::tracer::trace(
      {x, scale, low, range},
      [&](torch::jit::Stack in) -> torch::jit::Stack {
        torch::Tensor y = fake_quantize_symmetric(in[0].toTensor(), in[1].toTensor(), -128, 127, 1);
        return {fake_quantize_asymmetric(y, in[2].toTensor(), in[3].toTensor(), 256, 0)};
      },
      [](const torch::autograd::Variable&) { return std::string(); });
  int nncf_nodes = 0;
  std::vector<std::string> kinds;
  for (torch::jit::Node* n : traced.first->graph->nodes()) {
    const std::string kind = n->kind().toQualString();
    kinds.push_back(kind);
    if (kind.rfind("nncf::", 0) == 0) ++nncf_nodes;
  }
  EXPECT_EQ(nncf_nodes, 2) << c10::Join(", ", kinds);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "nncf::fake_quantize_symmetric"), 1);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "nncf::fake_quantize_asymmetric"), 1);
}

TEST(FakeQuantizeKernel, RejectsBadArguments) {
  torch::Tensor x = torch::randn({4, 3});
  EXPECT_THROW(fake_quantize_symmetric(x, torch::ones({2}), -128, 127, 1), c10::Error);   // wrong channels
  EXPECT_THROW(fake_quantize_symmetric(x, torch::zeros({1}), -128, 127, 1), c10::Error);  // scale 0
  EXPECT_THROW(fake_quantize_symmetric(x, torch::ones({1}, torch::kDouble), 0, 255, 0), c10::Error);  // dtype
  EXPECT_THROW(fake_quantize_symmetric(x.to(torch::kInt), torch::ones({1}), 0, 255, 0), c10::Error);
  EXPECT_THROW(fake_quantize_asymmetric(x, torch::zeros({1}), -torch::ones({1}), 256, 0), c10::Error);
  EXPECT_THROW(fake_quantize_asymmetric(x, torch::zeros({1}), torch::ones({1}), 1, 0), c10::Error);
}

}  // namespace
}  // namespace nncf::kernels
