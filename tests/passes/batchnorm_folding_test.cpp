#include "nncf/passes/batchnorm_folding.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "nncf/ir/printer.h"

namespace nncf::passes {
namespace {

const char* kHeader =
    "graph(%x : Tensor, %training : bool [training], %w : Tensor [param], %b : Tensor [param], "
    "%g : Tensor [param], %bb : Tensor [param], %m : Tensor [buffer], %v : Tensor [buffer]):\n";

// Each fold as "<layer scope>+<batch_norm scope>".
std::vector<std::string> folds_of(const std::string& body, bool into_linear = false) {
  const ir::Graph g = ir::parse_graph(kHeader + body);
  std::vector<std::string> out;
  for (const FoldableBatchNorm& f : BatchNormFolding(into_linear).run(g)) {
    EXPECT_EQ(f.batch_norm->input(0).value()->producer(), f.layer);
    out.push_back(f.layer->scope() + "+" + f.batch_norm->scope());
  }
  return out;
}

using Folds = std::vector<std::string>;

const char* kConv = "  %c = aten::conv2d(%x, %w, %b, [1, 1], [0, 0], [1, 1], 1)  # scope=conv\n";
const char* kBn = "  %n = aten::batch_norm(%c, %g, %bb, %m, %v, %training, 0.1, 1e-05, true)  # scope=bn\n";

TEST(BatchNormFoldingTest, ConvBatchNormRelu) {
  EXPECT_EQ(folds_of(std::string(kConv) + kBn + "  %r = aten::relu(%n)  # scope=relu\n  return (%r)\n"),
            (Folds{"conv+bn"}));
  // No bias, no affine parameters, eval mode as a constant.
  EXPECT_EQ(folds_of("  %c = aten::conv2d(%x, %w, None, [1, 1], [0, 0], [1, 1], 1)  # scope=conv\n"
                     "  %n = aten::batch_norm(%c, None, None, %m, %v, false, 0.1, 1e-05, true)  # scope=bn\n"
                     "  return (%n)\n"),
            (Folds{"conv+bn"}));
}

TEST(BatchNormFoldingTest, LinearBatchNorm1dOnlyWhenAsked) {
  const std::string body =
      "  %c = aten::linear(%x, %w, %b)  # scope=fc\n"
      "  %n = aten::batch_norm(%c, %g, %bb, %m, %v, %training, 0.1, 1e-05, true)  # scope=bn\n"
      "  return (%n)\n";
  EXPECT_EQ(folds_of(body), Folds{});
  EXPECT_EQ(folds_of(body, /*into_linear=*/true), (Folds{"fc+bn"}));
}

TEST(BatchNormFoldingTest, ConvReluHasNothingToFold) {
  EXPECT_EQ(folds_of(std::string(kConv) + "  %r = aten::relu(%c)  # scope=relu\n  return (%r)\n"), Folds{});
  // A batch norm after the activation does not fold through it.
  EXPECT_EQ(folds_of(std::string(kConv) +
                     "  %r = aten::relu(%c)  # scope=relu\n"
                     "  %n = aten::batch_norm(%r, %g, %bb, %m, %v, %training, 0.1, 1e-05, true)  # scope=bn\n"
                     "  return (%n)\n"),
            Folds{});
}

TEST(BatchNormFoldingTest, ConvWithTwoConsumersDoesNotFold) {
  EXPECT_EQ(folds_of(std::string(kConv) + kBn + "  %r = aten::relu(%c)  # scope=relu\n  return (%n, %r)\n"),
            Folds{});
  EXPECT_EQ(folds_of(std::string(kConv) + kBn + "  return (%n, %c)\n"), Folds{});
}

TEST(BatchNormFoldingTest, TrainingOnlyBatchNormDoesNotFold) {
  EXPECT_EQ(folds_of(std::string(kConv) +
                     "  %n = aten::batch_norm(%c, %g, %bb, %m, %v, %training, 0.1, 1e-05, true) train_only  "
                     "# scope=bn\n"
                     "  %y = prim::ModeSelect(%training, %n, %c)  # scope=select\n"
                     "  return (%y)\n"),
            Folds{});
  // A training-only reader of the conv does not keep an always-running batch norm from folding.
  EXPECT_EQ(folds_of(std::string(kConv) + kBn +
                     "  %t = aten::relu(%c) train_only  # scope=relu\n"
                     "  %y = prim::ModeSelect(%training, %t, %n)  # scope=select\n"
                     "  return (%y)\n"),
            (Folds{"conv+bn"}));
}

TEST(BatchNormFoldingTest, BatchStatisticsOrComputedTensorsDoNotFold) {
  // Batch statistics in eval mode.
  EXPECT_EQ(folds_of(std::string(kConv) +
                     "  %n = aten::batch_norm(%c, %g, %bb, %m, %v, true, 0.1, 1e-05, true)  # scope=bn\n"
                     "  return (%n)\n"),
            Folds{});
  // No running statistics.
  EXPECT_EQ(
      folds_of(std::string(kConv) +
               "  %n = aten::batch_norm(%c, %g, %bb, None, None, %training, 0.1, 1e-05, true)  # scope=bn\n"
               "  return (%n)\n"),
      Folds{});
  // A scale computed from the data, and a weight computed in the graph.
  EXPECT_EQ(folds_of(std::string(kConv) +
                     "  %s = aten::relu(%x)  # scope=relu\n"
                     "  %n = aten::batch_norm(%c, %s, %bb, %m, %v, %training, 0.1, 1e-05, true)  # scope=bn\n"
                     "  return (%n)\n"),
            Folds{});
  EXPECT_EQ(folds_of("  %w2 = aten::neg(%w)  # scope=neg\n"
                     "  %c = aten::conv2d(%x, %w2, %b, [1, 1], [0, 0], [1, 1], 1)  # scope=conv\n" +
                     std::string(kBn) + "  return (%n)\n"),
            Folds{});
}

// bn(layer(x, w, b)) in eval mode against layer(x, fold_weight(w), fold_bias(b)).
void expect_fold_matches(const at::Tensor& y, const at::Tensor& folded, double tolerance) {
  EXPECT_TRUE(at::allclose(y, folded, tolerance, tolerance)) << (y - folded).abs().max();
}

TEST(BatchNormFoldingTest, FoldedConvComputesTheBatchNorm) {
  torch::manual_seed(0);
  const at::Tensor x = torch::randn({2, 3, 7, 5});
  const at::Tensor w = torch::randn({4, 3, 3, 3}), b = torch::randn({4});
  const at::Tensor gamma = torch::rand({4}) + 0.5, beta = torch::randn({4});
  const at::Tensor mean = torch::randn({4}), var = torch::rand({4}) + 0.1;
  const double eps = 1e-5;
  const at::Tensor y = at::batch_norm(at::conv2d(x, w, b), gamma, beta, mean, var, false, 0.1, eps, false);
  const BatchNormAffine a = BatchNormFolding::affine(mean, var, gamma, beta, eps);
  EXPECT_EQ(a.scale.scalar_type(), at::kDouble);
  const at::Tensor w2 = a.fold_weight(w);
  EXPECT_EQ(w2.scalar_type(), at::kFloat);
  expect_fold_matches(y, at::conv2d(x, w2, a.fold_bias(b).to(at::kFloat)), 1e-4);
  // Without a conv bias, gamma or beta; in double.
  const at::Tensor xd = x.to(at::kDouble), wd = w.to(at::kDouble);
  const at::Tensor yd = at::batch_norm(at::conv2d(xd, wd), {}, {}, mean.to(at::kDouble), var.to(at::kDouble),
                                       false, 0.1, eps, false);
  const BatchNormAffine plain = BatchNormFolding::affine(mean, var, std::nullopt, std::nullopt, eps);
  expect_fold_matches(yd, at::conv2d(xd, plain.fold_weight(wd), plain.fold_bias(std::nullopt)), 1e-10);
}

TEST(BatchNormFoldingTest, FoldedLinearComputesTheBatchNorm1d) {
  torch::manual_seed(1);
  const at::Tensor x = torch::randn({6, 5});
  const at::Tensor w = torch::randn({3, 5}), b = torch::randn({3});
  const at::Tensor gamma = torch::randn({3}), beta = torch::randn({3});
  const at::Tensor mean = torch::randn({3}), var = torch::rand({3}) + 0.1;
  const at::Tensor y = at::batch_norm(at::linear(x, w, b), gamma, beta, mean, var, false, 0.1, 1e-3, false);
  const BatchNormAffine a = BatchNormFolding::affine(mean, var, gamma, beta, 1e-3);
  expect_fold_matches(y, at::linear(x, a.fold_weight(w), a.fold_bias(b).to(at::kFloat)), 1e-4);
}

}  // namespace
}  // namespace nncf::passes
