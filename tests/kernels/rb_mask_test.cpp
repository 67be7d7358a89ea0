// The fused RB mask ops against their plain-ATen references (the same Philox noise, logit/sigmoid
// math) over odd sizes, strides, both dtypes and both ISA builds; plus determinism, thread-count
// independence, the keep frequency and the seed's link to the default generator.

#include "nncf/kernels/rb_mask.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace nncf::kernels {
namespace {

class ForceBaseline {
 public:
  explicit ForceBaseline(bool on) : previous_(detail::force_baseline_rb_isa(on)) {}
  ~ForceBaseline() { detail::force_baseline_rb_isa(previous_); }

 private:
  bool previous_;
};

std::vector<std::vector<int64_t>> shapes() {
  return {{1}, {3}, {7}, {1001}, {4097}, {3, 5, 7, 9}, {2, 70000}};
}

// Logits around the decision boundary and far from it (saturated sigmoid, clamped exp).
torch::Tensor make_logits(const std::vector<int64_t>& shape, torch::ScalarType dtype) {
  torch::Tensor m = torch::randn(shape, dtype) * 3;
  m.view(-1)[0] = 120;
  if (m.numel() > 2) m.view(-1)[1] = -120;
  return m;
}

// The kernel decides [z > 0] without computing z (Note [RB mask math]): it may differ from the
// reference only where z is within rounding of 0.
void expect_masked_equal(const torch::Tensor& got, const torch::Tensor& want, const torch::Tensor& z,
                         const std::string& what) {
  const double tol = z.scalar_type() == torch::kFloat ? 1e-4 : 1e-9;
  const torch::Tensor differ = got.ne(want);
  EXPECT_TRUE(z.abs().lt(tol).logical_or(differ.logical_not()).all().item<bool>()) << what;
  EXPECT_LE(differ.sum().item<int64_t>(), 2) << what;
}

TEST(RBMaskKernel, MatchesReference) {
  torch::manual_seed(0);
  for (bool baseline : {false, true}) {
    ForceBaseline isa(baseline);
    for (torch::ScalarType dtype : {torch::kFloat, torch::kDouble}) {
      for (const auto& shape : shapes()) {
        for (bool transposed : {false, true}) {
          const std::string what = c10::str(c10::IntArrayRef(shape), " ", dtype,
                                            transposed ? " transposed" : "", baseline ? " baseline" : "");
          torch::Tensor w = torch::randn(shape, dtype);
          if (transposed) {  // the same shape, strides reversed
            std::vector<int64_t> dims(shape.size());
            for (size_t d = 0; d < dims.size(); ++d) dims[d] = static_cast<int64_t>(dims.size() - 1 - d);
            w = torch::randn(w.permute(dims).sizes(), dtype).permute(dims);
          }
          const torch::Tensor m = make_logits(shape, dtype);
          const torch::Tensor g = torch::randn(shape, dtype);
          const int64_t seed = 0x1234567890abcdefLL, offset = 3;
          const torch::Tensor z = reference::rb_noise(m, seed, offset).to(dtype).logit() + m;

          const torch::Tensor out = rb_mask_forward(w, m, seed, offset);
          ASSERT_EQ(out.sizes(), w.sizes()) << what;
          expect_masked_equal(out, reference::rb_mask_forward(w, m, seed, offset), z, what + " forward");

          auto [gw, gm] = rb_mask_backward(g, w, m, seed, offset);
          auto [rgw, rgm] = reference::rb_mask_backward(g, w, m, seed, offset);
          expect_masked_equal(gw, rgw, z, what + " grad_w");
          // The reference's 1 - sigmoid(z) cancels for large z: an absolute error of eps * |g * w|.
          const double rtol = dtype == torch::kFloat ? 2e-5 : 1e-10;
          const double atol = (dtype == torch::kFloat ? 1e-7 : 1e-15) * (g * w).abs().max().item<double>();
          EXPECT_TRUE(torch::allclose(gm, rgm, rtol, atol))
              << what << " grad_logits, max diff " << (gm - rgm).abs().max().item<double>();
        }
      }
    }
  }
}

TEST(RBMaskKernel, IsasAreBitIdentical) {
  torch::manual_seed(1);
  const torch::Tensor w = torch::randn({3, 1001}), m = torch::randn({3, 1001}) * 4,
                      g = torch::randn({3, 1001});
  auto run = [&](bool baseline) {
    ForceBaseline isa(baseline);
    auto [gw, gm] = rb_mask_backward(g, w, m, 42, 0);
    return std::vector<torch::Tensor>{rb_mask_forward(w, m, 42, 0), gw, gm,
                                      rb_sigmoid_backward(torch::tensor(0.7f), m)};
  };
  const auto a = run(false), b = run(true);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "output " << i;
}

TEST(RBMaskKernel, NoiseDependsOnSeedAndOffsetOnly) {
  torch::manual_seed(2);
  const torch::Tensor w = torch::ones({5000}), m = torch::zeros({5000});
  const torch::Tensor a = rb_mask_forward(w, m, 7, 0);
  EXPECT_TRUE(torch::equal(a, rb_mask_forward(w, m, 7, 0)));
  EXPECT_FALSE(torch::equal(a, rb_mask_forward(w, m, 8, 0)));
  EXPECT_FALSE(torch::equal(a, rb_mask_forward(w, m, 7, 1)));
  // A prefix of a longer call draws the same noise.
  EXPECT_TRUE(
      torch::equal(a.slice(0, 0, 1001), rb_mask_forward(w.slice(0, 0, 1001), m.slice(0, 0, 1001), 7, 0)));
}

TEST(RBMaskKernel, ThreadCountIndependent) {
  torch::manual_seed(3);
  const torch::Tensor w = torch::randn({300001}), m = torch::randn({300001}), g = torch::randn({300001});
  const int threads = at::get_num_threads();
  auto run = [&](int n) {
    at::set_num_threads(n);
    auto [gw, gm] = rb_mask_backward(g, w, m, 99, 0);
    return std::vector<torch::Tensor>{rb_mask_forward(w, m, 99, 0), gw, gm,
                                      rb_sigmoid_backward(torch::tensor(-1.5f), m)};
  };
  const auto one = run(1), two = run(2);
  at::set_num_threads(threads);
  for (size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(torch::equal(one[i], two[i])) << "output " << i;
}

TEST(RBMaskKernel, KeepFrequencyIsSigmoidOfLogit) {
  const int64_t n = 100000;
  const torch::Tensor w = torch::ones({n});
  int64_t seed = 11;
  for (double logit : {0.0, 2.0, -1.0}) {
    const double kept = rb_mask_forward(w, torch::full({n}, logit), seed++).mean().item<double>();
    // 6 standard deviations of a binomial mean at p <= 0.5: 6 * sqrt(0.25 / n) ~ 0.0095.
    EXPECT_NEAR(kept, 1.0 / (1.0 + std::exp(-logit)), 0.0095) << "logit " << logit;
  }
}

TEST(RBMaskKernel, SigmoidBackwardMatchesReference) {
  torch::manual_seed(4);
  for (torch::ScalarType dtype : {torch::kFloat, torch::kDouble}) {
    for (const auto& shape : shapes()) {
      const torch::Tensor m = make_logits(shape, dtype);
      const torch::Tensor g = torch::tensor(0.37, dtype);
      const torch::Tensor want = at::sigmoid_backward(g.expand_as(m), m.sigmoid());
      const torch::Tensor got = rb_sigmoid_backward(g, m);
      const double rtol = dtype == torch::kFloat ? 2e-6 : 1e-14;
      const double atol = dtype == torch::kFloat ? 1e-7 : 1e-16;  // the reference's 1 - s cancels
      EXPECT_TRUE(torch::allclose(got, want, rtol, atol))
          << c10::IntArrayRef(shape) << " " << dtype << " max diff "
          << (got - want).abs().max().item<double>();
    }
  }
}

TEST(RBMaskKernel, SeedFollowsTheDefaultGenerator) {
  torch::manual_seed(5);
  const int64_t a = rb_mask_seed();
  const torch::Tensor state = at::detail::getDefaultCPUGenerator().get_state();
  const int64_t b = rb_mask_seed();
  EXPECT_NE(a, b);
  torch::manual_seed(5);
  EXPECT_EQ(rb_mask_seed(), a);
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  gen.set_state(state);
  EXPECT_EQ(rb_mask_seed(), b);
}

}  // namespace
}  // namespace nncf::kernels
