// The fused binarization ops against their plain-ATen references (NNCF's formulas) over odd
// sizes, non-contiguous inputs, per-channel thresholds, both dtypes and both ISA builds; the
// reference against hand-computed values; and thread-count independence of the reductions.

#include "nncf/kernels/binarize.h"

#include <ATen/Parallel.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "support/errors.h"

namespace nncf::kernels {
namespace {

class ForceBaselineBinarize {
 public:
  explicit ForceBaselineBinarize(bool on) : previous_(detail::force_baseline_binarize_isa(on)) {}
  ~ForceBaselineBinarize() { detail::force_baseline_binarize_isa(previous_); }

 private:
  bool previous_;
};

std::vector<std::vector<int64_t>> activation_shapes() {
  return {{1, 1}, {2, 3}, {1, 5, 7}, {3, 4, 5, 7}, {2, 96, 9, 9}, {1, 3, 17, 33}, {2, 8, 4, 4, 3}};
}

TEST(BinarizeReference, MatchesHandComputedValues) {
  const at::Tensor w = torch::tensor({1.0F, -2.0F, 0.0F, 3.0F, -1.0F, 5.0F}).view({2, 3});
  // XNOR: per row mean |w| = 1 and 3; zero goes to -1.
  auto [xnor, s] = reference::binarize_weight(w, true);
  EXPECT_TRUE(torch::equal(xnor, torch::tensor({1.0F, -1.0F, -1.0F, 3.0F, -3.0F, 3.0F}).view({2, 3})));
  EXPECT_TRUE(torch::equal(s, torch::tensor({1.0F, 3.0F})));
  // DoReFa: one mean |w| = 2.
  auto [dorefa, s1] = reference::binarize_weight(w, false);
  EXPECT_TRUE(torch::equal(dorefa, torch::tensor({2.0F, -2.0F, -2.0F, 2.0F, -2.0F, 2.0F}).view({2, 3})));
  // Activations: S = 2, T = (0.25, 0.75) -> switching points 0.5 and 1.5.
  const at::Tensor x = torch::tensor({0.4F, 0.6F, 2.5F, 1.4F, 1.6F, -1.0F}).view({1, 2, 3});
  const at::Tensor scale = torch::tensor({2.0F}), thr = torch::tensor({0.25F, 0.75F});
  EXPECT_TRUE(torch::equal(reference::binarize_activation(x, scale, thr),
                           torch::tensor({0.0F, 2.0F, 2.0F, 0.0F, 2.0F, 0.0F}).view({1, 2, 3})));
  auto [dx, ds, dt] = reference::binarize_activation_backward(torch::ones_like(x), x, scale, thr);
  EXPECT_TRUE(torch::equal(dx, torch::tensor({1.0F, 1.0F, 0.0F, 1.0F, 1.0F, 0.0F}).view({1, 2, 3})));
  // dS: (0 - 0.4)/2 + (2 - 0.6)/2 + 1 (above) + (0 - 1.4)/2 + (2 - 1.6)/2 + (0 + 1)/2 = 1.5
  EXPECT_NEAR(ds.item<float>(), 1.5F, 1e-6);
  EXPECT_TRUE(torch::equal(dt, torch::tensor({-2.0F, -2.0F})));
}

template <typename Check>
void for_each_case(Check check) {
  for (bool baseline : {false, true}) {
    ForceBaselineBinarize force(baseline);
    for (torch::ScalarType dtype : {torch::kFloat, torch::kDouble})
      for (const auto& shape : activation_shapes()) check(shape, dtype);
  }
}

TEST(BinarizeKernel, ActivationForwardAndBackwardMatchTheReference) {
  torch::manual_seed(0);
  for_each_case([](const std::vector<int64_t>& shape, torch::ScalarType dtype) {
    const at::Tensor x = torch::randn(shape, dtype) * 2;
    const at::Tensor scale = torch::tensor({1.3}, dtype);
    const at::Tensor thr = torch::rand({1, shape[1], 1, 1}, dtype)
                               .reshape(std::vector<int64_t>{1, shape[1]});  // any shape with C elements
    const at::Tensor grad = torch::randn(shape, dtype);
    EXPECT_TRUE(
        torch::equal(binarize_activation(x, scale, thr), reference::binarize_activation(x, scale, thr)))
        << shape;
    auto [dx, ds, dt] = binarize_activation_backward(grad, x, scale, thr);
    auto [rdx, rds, rdt] = reference::binarize_activation_backward(grad, x, scale, thr);
    const double tol = dtype == torch::kFloat ? 1e-4 : 1e-10;
    EXPECT_TRUE(torch::equal(dx, rdx)) << shape;
    EXPECT_EQ(ds.sizes(), rds.sizes());
    EXPECT_EQ(dt.sizes(), rdt.sizes());
    EXPECT_TRUE(torch::allclose(ds, rds, tol, tol)) << shape << ds << rds;
    EXPECT_TRUE(torch::allclose(dt, rdt, tol, tol)) << shape << dt << rdt;
    // The out variants write the same values into given tensors.
    at::Tensor out = torch::full(shape, 7.0, dtype), dx_out = torch::full(shape, 7.0, dtype);
    EXPECT_EQ(binarize_activation_out(x, scale, thr, out).data_ptr(), out.data_ptr());
    EXPECT_TRUE(torch::equal(out, reference::binarize_activation(x, scale, thr))) << shape;
    auto [ods, odt] = binarize_activation_backward_out(grad, x, scale, thr, dx_out);
    EXPECT_TRUE(torch::equal(dx_out, dx)) << shape;
    EXPECT_TRUE(torch::equal(ods, ds));
    EXPECT_TRUE(torch::equal(odt, dt));
  });
}

TEST(BinarizeKernel, OutVariantsRejectUnfitOutputs) {
  const at::Tensor x = torch::randn({2, 3, 4, 4}), grad = torch::randn({2, 3, 4, 4});
  const at::Tensor scale = torch::tensor({1.0F}), thr = torch::rand({3});
  at::Tensor wrong_shape = torch::empty({2, 3, 4, 5}),
             wrong_dtype = torch::empty({2, 3, 4, 4}, torch::kDouble);
  at::Tensor strided = torch::empty({2, 3, 4, 4}).transpose(2, 3), same = x, same_grad = grad;
  for (at::Tensor* out : {&wrong_shape, &wrong_dtype, &strided, &same}) {
    EXPECT_THAT(testing::error_of([&] { binarize_activation_out(x, scale, thr, *out); }),
                ::testing::HasSubstr("nncf binarize_activation: the output"));
    EXPECT_THAT(testing::error_of([&] { binarize_activation_backward_out(grad, x, scale, thr, *out); }),
                ::testing::HasSubstr("nncf binarize_activation_backward: the output"));
  }
  EXPECT_THAT(testing::error_of([&] { binarize_activation_backward_out(grad, x, scale, thr, same_grad); }),
              ::testing::HasSubstr("overlaps"));
  at::Tensor w = torch::randn({4, 3, 3, 3}), w_short = torch::empty({4, 3, 3, 2});
  EXPECT_THAT(testing::error_of([&] { binarize_weight_out(w, true, w_short); }),
              ::testing::HasSubstr("nncf binarize_weight: the output must be a contiguous Float tensor of "
                                   "shape [4, 3, 3, 3], got Float [4, 3, 3, 2]"));
  EXPECT_THAT(testing::error_of([&] { binarize_weight_out(w, true, w); }), ::testing::HasSubstr("overlaps"));
}

TEST(BinarizeKernel, NonContiguousInputs) {
  torch::manual_seed(1);
  const at::Tensor x = torch::randn({4, 6, 5, 8}).transpose(2, 3);  // non-contiguous
  const at::Tensor grad = torch::randn({4, 6, 5, 8}).transpose(2, 3);
  const at::Tensor scale = torch::tensor({0.9F}), thr = torch::rand({6});
  EXPECT_TRUE(
      torch::equal(binarize_activation(x, scale, thr), reference::binarize_activation(x, scale, thr)));
  auto [dx, ds, dt] = binarize_activation_backward(grad, x, scale, thr);
  auto [rdx, rds, rdt] = reference::binarize_activation_backward(grad, x, scale, thr);
  EXPECT_TRUE(torch::equal(dx, rdx));
  EXPECT_TRUE(torch::allclose(ds, rds, 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(dt, rdt, 1e-4, 1e-4));
  const at::Tensor w = torch::randn({7, 3, 3, 5}).transpose(1, 3);
  for (bool per_channel : {true, false}) {
    auto [out, s] = binarize_weight(w, per_channel);
    auto [rout, rs] = reference::binarize_weight(w, per_channel);
    EXPECT_TRUE(torch::allclose(out, rout, 1e-6, 1e-7));
    EXPECT_TRUE(torch::allclose(s, rs, 1e-6, 1e-7));
  }
}

TEST(BinarizeKernel, WeightsMatchTheReference) {
  torch::manual_seed(2);
  for (bool baseline : {false, true}) {
    ForceBaselineBinarize force(baseline);
    for (torch::ScalarType dtype : {torch::kFloat, torch::kDouble}) {
      for (const std::vector<int64_t>& shape : std::vector<std::vector<int64_t>>{
               {1, 1, 1, 1}, {3, 1, 3, 3}, {17, 5, 3, 3}, {64, 96, 3, 3}, {5, 7}}) {
        at::Tensor w = torch::randn(shape, dtype);
        w.view(-1)[0] = 0;  // zero goes to -s
        for (bool per_channel : {true, false}) {
          auto [out, s] = binarize_weight(w, per_channel);
          auto [rout, rs] = reference::binarize_weight(w, per_channel);
          const double tol = dtype == torch::kFloat ? 1e-6 : 1e-12;
          EXPECT_TRUE(torch::allclose(out, rout, tol, tol)) << shape;
          EXPECT_TRUE(torch::allclose(s, rs, tol, tol)) << shape;
          EXPECT_TRUE(torch::equal(out.gt(0), w.gt(0))) << shape;
          at::Tensor into = torch::full(shape, 7.0, dtype);
          EXPECT_TRUE(torch::equal(binarize_weight_out(w, per_channel, into), s));
          EXPECT_TRUE(torch::equal(into, out)) << shape;
        }
      }
    }
  }
}

TEST(BinarizeKernel, ReductionsDoNotDependOnTheThreadCount) {
  torch::manual_seed(3);
  const at::Tensor x = torch::randn({8, 32, 28, 28}), grad = torch::randn({8, 32, 28, 28});
  const at::Tensor scale = torch::tensor({1.1F}), thr = torch::rand({32});
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  auto one = binarize_activation_backward(grad, x, scale, thr);
  at::set_num_threads(2);
  auto two = binarize_activation_backward(grad, x, scale, thr);
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(std::get<1>(one), std::get<1>(two)));
  EXPECT_TRUE(torch::equal(std::get<2>(one), std::get<2>(two)));
}

TEST(BinarizeKernel, BadInputsAreNamed) {
  const at::Tensor x = torch::randn({2, 3, 4});
  EXPECT_THROW(binarize_activation(x, torch::ones({2}), torch::rand({3})), c10::Error);
  EXPECT_THROW(binarize_activation(x, torch::ones({1}), torch::rand({4})), c10::Error);
  EXPECT_THROW(binarize_activation(x.to(torch::kInt), torch::ones({1}), torch::rand({3})), c10::Error);
  EXPECT_THROW(binarize_activation(torch::randn({5}), torch::ones({1}), torch::rand({5})), c10::Error);
  EXPECT_THROW(binarize_weight(torch::empty({0, 3}), true), c10::Error);
}

}  // namespace
}  // namespace nncf::kernels
