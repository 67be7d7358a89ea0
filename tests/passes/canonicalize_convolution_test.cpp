#include "nncf/passes/canonicalize_convolution.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <unordered_map>

#include "nncf/ir/printer.h"
#include "support/run_graph.h"

namespace nncf::passes {
namespace {

// Parses `in`, runs the pass, and checks the result prints like `expected` (parsed and printed,
// so spacing in the expectation does not matter). Returns the rewritten graph.
ir::Graph expect_rewrite(const std::string& in, const std::string& expected) {
  ir::Graph g = ir::parse_graph(in);
  EXPECT_TRUE(CanonicalizeConvolution().run(g));
  ir::verify(g);
  EXPECT_EQ(ir::to_text(g), ir::to_text(ir::parse_graph(expected)));
  return g;
}

void expect_no_match(const std::string& in) {
  ir::Graph g = ir::parse_graph(in);
  EXPECT_FALSE(CanonicalizeConvolution().run(g));
  EXPECT_EQ(ir::to_text(g), ir::to_text(ir::parse_graph(in)));
}

using testing::expect_same_numbers;

TEST(CanonicalizeConvolutionTest, ConvolutionToConv2d) {
  const std::string in =
      "graph(%x : Tensor, %conv.weight : Tensor [param], %conv.bias : Tensor [param]):\n"
      "  %y = aten::_convolution(%x, %conv.weight, %conv.bias, [2, 1], [1, 0], [1, 1], false, [0, 0], 1, "
      "false, "
      "false, true, true)  # scope=conv\n"
      "  %z = aten::relu(%y)  # scope=relu_0\n"
      "  return (%z, %y)\n";
  ir::Graph g =
      expect_rewrite(in,
                     "graph(%x : Tensor, %conv.weight : Tensor [param], %conv.bias : Tensor [param]):\n"
                     "  %y = aten::conv2d(%x, %conv.weight, %conv.bias, [2, 1], [1, 0], [1, 1], 1)  # "
                     "scope=conv\n"
                     "  %z = aten::relu(%y)  # scope=relu_0\n"
                     "  return (%z, %y)\n");
  EXPECT_EQ(g.find_node("conv")->metatype(), ir::Metatype::Conv);
  torch::manual_seed(0);
  expect_same_numbers(in, g,
                      {{"x", torch::randn({2, 3, 7, 6})},
                       {"conv.weight", torch::randn({4, 3, 3, 2})},
                       {"conv.bias", torch::randn({4})}});
}

TEST(CanonicalizeConvolutionTest, DeprecatedTwelveArgumentForm) {
  expect_rewrite(
      "graph(%x : Tensor, %w : Tensor [param]):\n"
      "  %y = aten::_convolution.deprecated(%x, %w, None, [1], [0], [1], false, [0], 1, false, false, true)  "
      "# scope=c\n"
      "  return (%y)\n",
      "graph(%x : Tensor, %w : Tensor [param]):\n"
      "  %y = aten::conv1d(%x, %w, None, [1], [0], [1], 1)  # scope=c\n"
      "  return (%y)\n");
}

TEST(CanonicalizeConvolutionTest, ConvolutionOpToConv3d) {
  const std::string in =
      "graph(%x : Tensor, %w : Tensor [param]):\n"
      "  %y = aten::convolution(%x, %w, None, [1, 1, 1], [1, 1, 1], [2, 2, 2], false, [0, 0, 0], 2)  # "
      "scope=c\n"
      "  return (%y)\n";
  ir::Graph g =
      expect_rewrite(in,
                     "graph(%x : Tensor, %w : Tensor [param]):\n"
                     "  %y = aten::conv3d(%x, %w, None, [1, 1, 1], [1, 1, 1], [2, 2, 2], 2)  # scope=c\n"
                     "  return (%y)\n");
  expect_same_numbers(in, g, {{"x", torch::randn({1, 4, 6, 6, 6})}, {"w", torch::randn({2, 2, 3, 3, 3})}});
}

TEST(CanonicalizeConvolutionTest, TransposedToConvTranspose) {
  const std::string in =
      "graph(%x : Tensor, %w : Tensor [param], %b : Tensor [param]):\n"
      "  %y = aten::_convolution(%x, %w, %b, [2, 2], [1, 1], [1, 2], true, [1, 0], 1, false, false, true, "
      "true)"
      "  # scope=up\n"
      "  return (%y)\n";
  ir::Graph g = expect_rewrite(
      in,
      "graph(%x : Tensor, %w : Tensor [param], %b : Tensor [param]):\n"
      "  %y = aten::conv_transpose2d.input(%x, %w, %b, [2, 2], [1, 1], [1, 0], 1, [1, 2])  # scope=up\n"
      "  return (%y)\n");
  EXPECT_EQ(g.find_node("up")->metatype(), ir::Metatype::ConvTranspose);
  expect_same_numbers(
      in, g,
      {{"x", torch::randn({1, 3, 5, 5})}, {"w", torch::randn({3, 2, 3, 3})}, {"b", torch::randn({2})}});
}

TEST(CanonicalizeConvolutionTest, RewritesEveryConvolution) {
  expect_rewrite(
      "graph(%x : Tensor, %a : Tensor [param], %b : Tensor [param]):\n"
      "  %1 = aten::convolution(%x, %a, None, [1], [0], [1], false, [0], 1)  # scope=a\n"
      "  %2 = aten::convolution(%1, %b, None, [1], [0], [1], true, [0], 1)  # scope=b\n"
      "  return (%2)\n",
      "graph(%x : Tensor, %a : Tensor [param], %b : Tensor [param]):\n"
      "  %1 = aten::conv1d(%x, %a, None, [1], [0], [1], 1)  # scope=a\n"
      "  %2 = aten::conv_transpose1d(%1, %b, None, [1], [0], [0], 1, [1])  # scope=b\n"
      "  return (%2)\n");
  expect_rewrite(
      "graph(%x : Tensor, %w : Tensor [param]):\n"
      "  %1 = aten::convolution(%x, %w, None, [1, 1, 1], [0, 0, 0], [1, 1, 1], true, [0, 0, 0], 1)  # "
      "scope=a\n"
      "  return (%1)\n",
      "graph(%x : Tensor, %w : Tensor [param]):\n"
      "  %1 = aten::conv_transpose3d.input(%x, %w, None, [1, 1, 1], [0, 0, 0], [0, 0, 0], 1, [1, 1, 1])  # "
      "scope=a\n"
      "  return (%1)\n");
}

TEST(CanonicalizeConvolutionTest, NoMatchWhenArgumentsAreNotConstant) {
  // stride from a value
  expect_no_match(
      "graph(%x : Tensor, %w : Tensor [param], %s : int[]):\n"
      "  %y = aten::_convolution(%x, %w, None, %s, [0, 0], [1, 1], false, [0, 0], 1, false, false, true, "
      "true)"
      "  # scope=c\n"
      "  return (%y)\n");
  // transposed from a value
  expect_no_match(
      "graph(%x : Tensor, %w : Tensor [param], %t : bool):\n"
      "  %y = aten::convolution(%x, %w, None, [1, 1], [0, 0], [1, 1], %t, [0, 0], 1)  # scope=c\n"
      "  return (%y)\n");
  // groups from a value
  expect_no_match(
      "graph(%x : Tensor, %w : Tensor [param], %g : int):\n"
      "  %y = aten::convolution(%x, %w, None, [1, 1], [0, 0], [1, 1], false, [0, 0], %g)  # scope=c\n"
      "  return (%y)\n");
}

TEST(CanonicalizeConvolutionTest, NoMatchForOtherShapes) {
  // a stride of four dimensions has no specific op
  expect_no_match(
      "graph(%x : Tensor, %w : Tensor [param]):\n"
      "  %y = aten::convolution(%x, %w, None, [1, 1, 1, 1], [0, 0, 0, 0], [1, 1, 1, 1], false, [0], 1)  # "
      "scope=c\n"
      "  return (%y)\n");
  // a wrong argument count, and ops that are already specific
  expect_no_match(
      "graph(%x : Tensor, %w : Tensor [param]):\n"
      "  %y = aten::convolution(%x, %w, None, [1, 1], [0, 0], [1, 1], false, [0, 0])  # scope=c\n"
      "  %z = aten::conv2d(%y, %w, None, [1, 1], [0, 0], [1, 1], 1)  # scope=d\n"
      "  return (%z)\n");
}

}  // namespace
}  // namespace nncf::passes
