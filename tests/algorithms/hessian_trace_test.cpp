// Hutchinson's Hessian-trace estimator on losses whose Hessian is known in closed form.

#include "nncf/algorithms/quantization/hessian_trace.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <vector>

#include "../runtime/reference_net.h"
#include "support/errors.h"

namespace nncf::quantization {
namespace {

// L = 0.5 sum a_j w_j^2 has H = diag(a): v^T H v = sum a_j for every Rademacher v, so each
// iteration is exact. Batches weight by their sizes: batch b scales the loss by s_b.
TEST(HessianTrace, DiagonalQuadraticIsExactAndBatchesWeighByTheirSize) {
  const at::Tensor a1 = torch::tensor({1.0, 2.0, 3.0, 6.0}, torch::kDouble);
  const at::Tensor a2 = torch::tensor({0.5, -1.5}, torch::kDouble);
  const at::Tensor w1 = torch::randn({2, 2}, torch::kDouble).requires_grad_();
  const at::Tensor w2 = torch::randn({2}, torch::kDouble).requires_grad_();
  const std::vector<double> scale = {1.0, 3.0};
  auto loss = [&](size_t b) {
    return scale[b] * 0.5 * ((a1.view({2, 2}) * w1 * w1).sum() + (a2 * w2 * w2).sum());
  };
  HutchinsonOptions o;
  o.max_iterations = 4;
  o.tolerance = 0;
  const HutchinsonResult r = hutchinson_traces({w1, w2}, loss, {10, 30}, o);
  const double weight = (10 * 1.0 + 30 * 3.0) / 40;
  ASSERT_EQ(r.traces.size(), 2u);
  EXPECT_NEAR(r.traces[0], weight * 3.0, 1e-12);   // mean of a1
  EXPECT_NEAR(r.traces[1], weight * -0.5, 1e-12);  // mean of a2
  EXPECT_EQ(r.iterations, 4);
  EXPECT_FALSE(r.converged);
  // Exact from the first iteration: the running mean stops changing at the second.
  o.tolerance = 1e-9;
  EXPECT_EQ(hutchinson_traces({w1, w2}, loss, {10, 30}, o).iterations, 2);
}

// Linear regression: L = 0.5 mean_n ||W x_n - t_n||^2 over a batch has the Hessian (in W's
// entries) I_out (x) C with C = mean x x^T: average trace tr(C) / in. The estimator is unbiased
// with per-iteration variance 2 sum_{i != j} H_ij^2 / numel^2; the estimate must fall within 4
// standard errors.
TEST(HessianTrace, LinearRegressionWithinTheEstimatorsError) {
  torch::manual_seed(0);
  const int64_t in = 5, out = 3, n = 40;
  const at::Tensor x =
      torch::randn({n, in}, torch::kDouble) * torch::tensor({1.0, 2.0, 0.5, 1.5, 1.0}, torch::kDouble);
  const at::Tensor t = torch::randn({n, out}, torch::kDouble);
  const at::Tensor w = torch::randn({out, in}, torch::kDouble).requires_grad_();
  auto loss = [&](size_t) { return 0.5 * (x.matmul(w.t()) - t).pow(2).sum(1).mean(); };
  const at::Tensor c = x.t().matmul(x) / n;
  const double expected = c.trace().item<double>() / in;
  // Off-diagonal of H = I_out (x) C: out copies of C's off-diagonal.
  const double off = (c.pow(2).sum() - c.diagonal().pow(2).sum()).item<double>() * out;
  HutchinsonOptions o;
  o.max_iterations = 400;
  o.tolerance = 0;
  o.seed = 11;
  const HutchinsonResult r = hutchinson_traces({w}, loss, {n}, o);
  const double se = std::sqrt(2 * off) / static_cast<double>(in * out) / std::sqrt(400.0);
  EXPECT_NEAR(r.traces[0], expected, 4 * se) << "se " << se;
  EXPECT_GT(se, 0);
  // The same seed gives the same estimate; another seed another one.
  EXPECT_EQ(hutchinson_traces({w}, loss, {n}, o).traces, r.traces);
  o.seed = 12;
  EXPECT_NE(hutchinson_traces({w}, loss, {n}, o).traces, r.traces);
  // Stopped by tolerance well before the limit.
  o.tolerance = 1e-2;
  const HutchinsonResult early = hutchinson_traces({w}, loss, {n}, o);
  EXPECT_TRUE(early.converged);
  EXPECT_LT(early.iterations, 400);
}

// Double backward through the runtime: the compressed model's traces (conv, BatchNorm in training
// mode, relu, residual add, cross-entropy) equal the eager module's for the same draws.
TEST(HessianTrace, ThroughTheCompressedModelAsInEager) {
  torch::manual_seed(5);
  runtime::testnet::RefNet ref;
  runtime::CompressedModel model = runtime::testnet::make_net(ref);
  const std::vector<at::Tensor> xs = {torch::randn({4, 3, 5, 5}), torch::randn({2, 3, 5, 5})};
  const std::vector<at::Tensor> ys = {torch::randint(0, 100, {4}), torch::randint(0, 100, {2})};
  auto loss_of = [&](const std::function<at::Tensor(const at::Tensor&)>& f) {
    return [&, f](size_t b) { return torch::nn::functional::cross_entropy(f(xs[b]), ys[b]); };
  };
  HutchinsonOptions o;
  o.max_iterations = 3;
  o.tolerance = 0;
  o.seed = 3;
  const HutchinsonResult eager =
      hutchinson_traces({ref->conv1->weight, ref->bn1->weight},
                        loss_of([&](const at::Tensor& x) { return ref->forward(x); }), {4, 2}, o);
  const HutchinsonResult compressed =
      hutchinson_traces({model->tensor("conv1.weight"), model->tensor("bn1.weight")},
                        loss_of([&](const at::Tensor& x) { return model->forward(x); }), {4, 2}, o);
  ASSERT_EQ(compressed.traces.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_NE(eager.traces[i], 0.0);
    EXPECT_NEAR(compressed.traces[i], eager.traces[i], 1e-4 * std::abs(eager.traces[i])) << i;
  }
}

TEST(HessianTrace, BadInputsAreNamed) {
  const at::Tensor w = torch::randn({3}).requires_grad_(), unused = torch::randn({2}).requires_grad_();
  auto loss = [&](size_t) { return (w * w).sum(); };
  HutchinsonOptions o;
  EXPECT_THAT(testing::error_of([&] {
                hutchinson_traces({w, unused}, loss, {4}, o);
              }),
              ::testing::HasSubstr("the loss does not depend on parameter 1"));
  EXPECT_THAT(testing::error_of([&] { hutchinson_traces({w.detach()}, loss, {4}, o); }),
              ::testing::HasSubstr("parameter 0 does not require grad"));
  EXPECT_THAT(testing::error_of([&] {
                hutchinson_traces(
                    {w}, [&](size_t) { return w * w; }, {4}, o);
              }),
              ::testing::HasSubstr("the loss of batch 0 is not a scalar"));
  EXPECT_THAT(testing::error_of([&] { hutchinson_traces({w}, loss, {}, o); }),
              ::testing::HasSubstr("no batch"));
  // A loss linear in a parameter has a zero Hessian there.
  auto linear = [&](size_t) { return w.sum() * 2; };
  EXPECT_EQ(hutchinson_traces({w}, linear, {4}, o).traces[0], 0.0);
}

}  // namespace
}  // namespace nncf::quantization
