#include "nncf/passes/linear_fusion.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <unordered_map>

#include "nncf/ir/printer.h"
#include "support/run_graph.h"

namespace nncf::passes {
namespace {

ir::Graph expect_rewrite(const std::string& in, const std::string& expected) {
  ir::Graph g = ir::parse_graph(in);
  EXPECT_TRUE(LinearFusion().run(g));
  ir::verify(g);
  EXPECT_EQ(ir::to_text(g), ir::to_text(ir::parse_graph(expected)));
  EXPECT_FALSE(LinearFusion().run(g));  // a fixed point
  return g;
}

void expect_no_match(const std::string& in) {
  ir::Graph g = ir::parse_graph(in);
  EXPECT_FALSE(LinearFusion().run(g));
  EXPECT_EQ(ir::to_text(g), ir::to_text(ir::parse_graph(in)));
}

using testing::expect_same_numbers;

std::map<std::string, at::Tensor> fc_inputs(at::IntArrayRef x_shape) {
  torch::manual_seed(0);
  return {{"x", torch::randn(x_shape)}, {"fc.weight", torch::randn({5, 4})}, {"fc.bias", torch::randn({5})}};
}

const char* kHeader = "graph(%x : Tensor, %fc.weight : Tensor [param], %fc.bias : Tensor [param]):\n";

std::string graph_text(const std::string& body) {
  return kHeader + body;
}

TEST(LinearFusionTest, TransposeAddmmToLinear) {
  const std::string in = graph_text(
      "  %wt = aten::t(%fc.weight)  # scope=t_0\n"
      "  %y = aten::addmm(%fc.bias, %x, %wt, 1, 1)  # scope=fc\n"
      "  return (%y)\n");
  ir::Graph g = expect_rewrite(in, graph_text("  %y = aten::linear(%x, %fc.weight, %fc.bias)  # scope=fc\n"
                                              "  return (%y)\n"));
  EXPECT_EQ(g.find_node("fc")->metatype(), ir::Metatype::Linear);
  expect_same_numbers(in, g, fc_inputs({3, 4}));
}

TEST(LinearFusionTest, AddmmWithDoubleOnes) {
  expect_rewrite(graph_text("  %wt = aten::t(%fc.weight)  # scope=t_0\n"
                            "  %y = aten::addmm(%fc.bias, %x, %wt, 1.0, 1.0)  # scope=fc\n"
                            "  %z = aten::relu(%y)  # scope=relu_0\n"
                            "  return (%z)\n"),
                 graph_text("  %y = aten::linear(%x, %fc.weight, %fc.bias)  # scope=fc\n"
                            "  %z = aten::relu(%y)  # scope=relu_0\n"
                            "  return (%z)\n"));
}

TEST(LinearFusionTest, TransposeMatmulToLinear) {
  const std::string in = graph_text(
      "  %wt = aten::t(%fc.weight)  # scope=t_0\n"
      "  %y = aten::matmul(%x, %wt)  # scope=fc\n"
      "  return (%y)\n");
  ir::Graph g = expect_rewrite(in, graph_text("  %y = aten::linear(%x, %fc.weight, None)  # scope=fc\n"
                                              "  return (%y)\n"));
  expect_same_numbers(in, g, fc_inputs({2, 3, 4}));
}

TEST(LinearFusionTest, TransposeMmToLinear) {
  expect_rewrite(graph_text("  %wt = aten::t(%fc.weight)  # scope=t_0\n"
                            "  %y = aten::mm(%x, %wt)  # scope=fc\n"
                            "  return (%y)\n"),
                 graph_text("  %y = aten::linear(%x, %fc.weight, None)  # scope=fc\n"
                            "  return (%y)\n"));
}

TEST(LinearFusionTest, MatmulThenBiasAddIsOneLinear) {
  const std::string in = graph_text(
      "  %wt = aten::t(%fc.weight)  # scope=t_0\n"
      "  %y = aten::matmul(%x, %wt)  # scope=fc\n"
      "  %z = aten::add.Tensor(%y, %fc.bias, 1)  # scope=add_0\n"
      "  return (%z)\n");
  ir::Graph g = expect_rewrite(in, graph_text("  %z = aten::linear(%x, %fc.weight, %fc.bias)  # scope=add_0\n"
                                              "  return (%z)\n"));
  expect_same_numbers(in, g, fc_inputs({2, 3, 4}));
}

TEST(LinearFusionTest, BiasAddWithBiasFirst) {
  const std::string in = graph_text(
      "  %y = aten::linear(%x, %fc.weight, None)  # scope=fc\n"
      "  %z = aten::add.Tensor(%fc.bias, %y, 1)  # scope=add_0\n"
      "  %r = aten::relu(%z)  # scope=relu_0\n"
      "  return (%r)\n");
  ir::Graph g = expect_rewrite(in, graph_text("  %z = aten::linear(%x, %fc.weight, %fc.bias)  # scope=add_0\n"
                                              "  %r = aten::relu(%z)  # scope=relu_0\n"
                                              "  return (%r)\n"));
  expect_same_numbers(in, g, fc_inputs({3, 4}));
}

TEST(LinearFusionTest, SharedTransposeStaysWhileUsed) {
  const std::string in = graph_text(
      "  %wt = aten::t(%fc.weight)  # scope=t_0\n"
      "  %y = aten::mm(%x, %wt)  # scope=fc\n"
      "  return (%y, %wt)\n");
  expect_rewrite(in, graph_text("  %wt = aten::t(%fc.weight)  # scope=t_0\n"
                                "  %y = aten::linear(%x, %fc.weight, None)  # scope=fc\n"
                                "  return (%y, %wt)\n"));
  expect_rewrite(graph_text("  %wt = aten::t(%fc.weight)  # scope=t_0\n"
                            "  %y = aten::mm(%x, %wt)  # scope=fc\n"
                            "  %z = aten::matmul(%y, %wt)  # scope=fc#1\n"
                            "  return (%z)\n"),
                 graph_text("  %y = aten::linear(%x, %fc.weight, None)  # scope=fc\n"
                            "  %z = aten::linear(%y, %fc.weight, None)  # scope=fc#1\n"
                            "  return (%z)\n"));
}

TEST(LinearFusionTest, NoMatchForTransposeOfNonParameters) {
  // a transpose of an activation is not a linear layer
  expect_no_match(
      graph_text("  %a = aten::relu(%x)  # scope=relu_0\n"
                 "  %at = aten::t(%a)  # scope=t_0\n"
                 "  %y = aten::mm(%x, %at)  # scope=mm_0\n"
                 "  return (%y)\n"));
  // nor is a transpose of a buffer or of a data input
  expect_no_match(
      "graph(%x : Tensor, %m : Tensor [buffer], %d : Tensor):\n"
      "  %mt = aten::t(%m)  # scope=t_0\n"
      "  %y = aten::matmul(%x, %mt)  # scope=mm_0\n"
      "  %dt = aten::t(%d)  # scope=t_1\n"
      "  %z = aten::mm(%y, %dt)  # scope=mm_1\n"
      "  return (%z)\n");
  // the weight must be the transposed operand
  expect_no_match(
      graph_text("  %wt = aten::t(%fc.weight)  # scope=t_0\n"
                 "  %y = aten::mm(%wt, %x)  # scope=mm_0\n"
                 "  return (%y)\n"));
}

TEST(LinearFusionTest, NoMatchForScaledAddmm) {
  for (const char* scales : {"2, 1", "1, 0.5", "1.5, 1.0", "%s, 1"}) {
    expect_no_match(std::string("graph(%x : Tensor, %fc.weight : Tensor [param], %fc.bias : Tensor [param], "
                                "%s : int):\n") +
                    "  %wt = aten::t(%fc.weight)  # scope=t_0\n"
                    "  %y = aten::addmm(%fc.bias, %x, %wt, " +
                    scales +
                    ")  # scope=fc\n"
                    "  return (%y)\n");
  }
}

TEST(LinearFusionTest, NoMatchForBiasAddsThatAreNotBiases) {
  // alpha is not 1
  expect_no_match(
      graph_text("  %y = aten::linear(%x, %fc.weight, None)  # scope=fc\n"
                 "  %z = aten::add.Tensor(%y, %fc.bias, 2)  # scope=add_0\n"
                 "  return (%z)\n"));
  // %y has another use
  expect_no_match(
      graph_text("  %y = aten::linear(%x, %fc.weight, None)  # scope=fc\n"
                 "  %z = aten::add.Tensor(%y, %fc.bias, 1)  # scope=add_0\n"
                 "  %r = aten::relu(%y)  # scope=relu_0\n"
                 "  return (%z, %r)\n"));
  // %y is a graph output
  expect_no_match(
      graph_text("  %y = aten::linear(%x, %fc.weight, None)  # scope=fc\n"
                 "  %z = aten::add.Tensor(%y, %fc.bias, 1)  # scope=add_0\n"
                 "  return (%z, %y)\n"));
  // the addend is an activation, not a parameter
  expect_no_match(
      graph_text("  %y = aten::linear(%x, %fc.weight, None)  # scope=fc\n"
                 "  %z = aten::add.Tensor(%y, %x, 1)  # scope=add_0\n"
                 "  return (%z)\n"));
  // the linear already has a bias
  expect_no_match(
      graph_text("  %y = aten::linear(%x, %fc.weight, %fc.bias)  # scope=fc\n"
                 "  %z = aten::add.Tensor(%y, %fc.bias, 1)  # scope=add_0\n"
                 "  return (%z)\n"));
  // a subtraction is not a bias add
  expect_no_match(
      graph_text("  %y = aten::linear(%x, %fc.weight, None)  # scope=fc\n"
                 "  %z = aten::sub.Tensor(%y, %fc.bias, 1)  # scope=sub_0\n"
                 "  return (%z)\n"));
}

}  // namespace
}  // namespace nncf::passes
