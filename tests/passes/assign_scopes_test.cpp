#include "nncf/passes/assign_scopes.h"

#include <gtest/gtest.h>

#include "nncf/ir/printer.h"
#include "nncf/passes/pipeline.h"

namespace nncf::passes {
namespace {

std::vector<std::string> scopes(const ir::Graph& g) {
  std::vector<std::string> out;
  for (const ir::Node* n : g.nodes()) out.push_back(n->scope());
  return out;
}

// Parses `in`, assigns scopes and returns them in node order.
std::vector<std::string> assigned_scopes(const std::string& in) {
  ir::Graph g = ir::parse_graph(in);
  AssignScopes().run(g);
  ir::verify(g);
  return scopes(g);
}

using Scopes = std::vector<std::string>;

TEST(AssignScopesTest, ResNetBasicBlock) {
  const std::string in =
      "graph(%x : Tensor, %training : bool [training], %layer1.0.conv1.weight : Tensor [param], "
      "%layer1.0.bn1.weight : Tensor [param], %layer1.0.bn1.running_mean : Tensor [buffer], "
      "%layer1.0.conv2.weight : Tensor [param], %layer1.0.bn2.weight : Tensor [param], "
      "%layer1.0.downsample.0.weight : Tensor [param], %layer1.0.downsample.1.running_mean : Tensor "
      "[buffer], "
      "%layer1.0.downsample.1.weight : Tensor [param], %fc.weight : Tensor [param]):\n"
      "  %1 = aten::conv2d(%x, %layer1.0.conv1.weight, None, [1, 1], [1, 1], [1, 1], 1)  # scope=a\n"
      "  %2 = aten::batch_norm(%1, %layer1.0.bn1.weight, None, %layer1.0.bn1.running_mean, None, %training, "
      "0.1, "
      "1e-05, true)  # scope=b\n"
      "  %3 = aten::relu_(%2)  # scope=c\n"
      "  %4 = aten::conv2d(%3, %layer1.0.conv2.weight, None, [1, 1], [1, 1], [1, 1], 1)  # scope=d\n"
      "  %5 = aten::batch_norm(%4, %layer1.0.bn2.weight, None, None, None, %training, 0.1, 1e-05, true)  # "
      "scope=e\n"
      "  %6 = aten::conv2d(%x, %layer1.0.downsample.0.weight, None, [2, 2], [0, 0], [1, 1], 1)  # scope=f\n"
      // the buffer comes first, the parameter still names the module
      "  %7 = aten::batch_norm(%6, %layer1.0.downsample.1.running_mean, %layer1.0.downsample.1.weight, None, "
      "None, "
      "%training, 0.1, 1e-05, true)  # scope=g\n"
      "  %8 = aten::add_.Tensor(%5, %7, 1)  # scope=h\n"
      "  %9 = aten::relu_(%8)  # scope=i\n"
      "  %10 = aten::flatten.using_ints(%9, 1, -1)  # scope=j\n"
      "  %11 = aten::linear(%10, %fc.weight, None)  # scope=k\n"
      "  return (%11)\n";
  EXPECT_EQ(assigned_scopes(in),
            (Scopes{"layer1.0.conv1", "layer1.0.bn1", "layer1.0/relu_0", "layer1.0.conv2", "layer1.0.bn2",
                    "layer1.0.downsample.0", "layer1.0.downsample.1", "layer1.0/add_0", "layer1.0/relu_1",
                    "layer1.0/flatten_0", "fc"}));
}

TEST(AssignScopesTest, TextInTextOut) {
  ir::Graph g = ir::parse_graph(
      "graph(%x : Tensor, %fc.weight : Tensor [param]):\n"
      "  %1 = aten::linear(%x, %fc.weight, None)  # scope=old\n"
      "  %2 = aten::relu(%1)  # scope=older\n"
      "  return (%2)\n");
  EXPECT_TRUE(AssignScopes().run(g));
  EXPECT_EQ(ir::to_text(g),
            "graph(%x : Tensor, %fc.weight : Tensor [param]):\n"
            "  %1 = aten::linear(%x, %fc.weight, None)  # scope=fc\n"
            "  %2 = aten::relu(%1)  # scope=relu_0\n"
            "  return (%2)\n");
}

TEST(AssignScopesTest, SharedWeightGetsNumberedScopes) {
  EXPECT_EQ(assigned_scopes("graph(%x : Tensor, %fc.weight : Tensor [param]):\n"
                            "  %1 = aten::linear(%x, %fc.weight, None)  # scope=a\n"
                            "  %2 = aten::linear(%1, %fc.weight, None)  # scope=b\n"
                            "  %3 = aten::linear(%2, %fc.weight, None)  # scope=c\n"
                            "  return (%3)\n"),
            (Scopes{"fc", "fc#1", "fc#2"}));
}

TEST(AssignScopesTest, BufferOwnsWhenThereIsNoParameter) {
  EXPECT_EQ(
      assigned_scopes("graph(%x : Tensor, %norm.mean : Tensor [buffer], %scale.weight : Tensor [param]):\n"
                      "  %1 = aten::sub.Tensor(%x, %norm.mean, 1)  # scope=a\n"
                      "  %2 = aten::mul.Tensor(%norm.mean, %scale.weight)  # scope=b\n"
                      "  return (%2)\n"),
      (Scopes{"norm", "scale"}));
}

TEST(AssignScopesTest, KindsAndCountersPerBlock) {
  EXPECT_EQ(assigned_scopes("graph(%x : Tensor, %a.conv.weight : Tensor [param], %weight : Tensor [param]):\n"
                            "  %1 = aten::relu_(%x)  # scope=s1\n"
                            "  %2 = aten::relu(%1)  # scope=s2\n"
                            "  %3 = aten::conv1d(%2, %a.conv.weight, None, [1], [0], [1], 1)  # scope=s3\n"
                            "  %4 = aten::relu(%3)  # scope=s4\n"
                            "  %5 = aten::relu(%4)  # scope=s5\n"
                            "  %l : Tensor[] = prim::ListConstruct(%5, %2)  # scope=s6\n"
                            "  %6 = aten::cat(%l, 1)  # scope=s7\n"
                            "  %7 = aten::add.Tensor(%5, %5, 1)  # scope=s8\n"
                            // a top-level parameter has no module: the node is named by its kind
                            "  %8 = aten::mul.Tensor(%7, %weight)  # scope=s9\n"
                            "  %n : int = aten::size.int(%8, 0)  # scope=s10\n"
                            "  aten::__and__(%n, %n)  # scope=s11\n"
                            "  return (%6)\n"),
            // the list takes the block of its argument produced last (%5, in block a)
            (Scopes{"relu_0", "relu_1", "a.conv", "a/relu_0", "a/relu_1", "a/ListConstruct_0", "a/cat_0",
                    "a/add_0", "mul_0", "size_0", "__and___0"}));
}

TEST(AssignScopesTest, BlockOfLatestArgumentUnlessAnEnclosingBlockFeedsIt) {
  EXPECT_EQ(
      assigned_scopes("graph(%x : Tensor, %training : bool [training], %layer1.conv.weight : Tensor [param], "
                      "%layer10.conv.weight : Tensor [param], %layer1.a.b.weight : Tensor [param]):\n"
                      "  %1 = aten::conv1d(%x, %layer1.conv.weight, None, [1], [0], [1], 1)  # scope=s1\n"
                      "  %2 = aten::conv1d(%x, %layer10.conv.weight, None, [1], [0], [1], 1)  # scope=s2\n"
                      // layer1 does not enclose layer10 (whole components): the latest wins
                      "  %3 = aten::add.Tensor(%1, %2, 1)  # scope=s3\n"
                      "  %4 = aten::mul.Tensor(%1, %layer1.a.b.weight)  # scope=s4\n"
                      // layer1 encloses layer1.a, the block of the latest argument
                      "  %5 = aten::add.Tensor(%1, %4, 1)  # scope=s5\n"
                      // the training flag says nothing about the block
                      "  %6 = aten::dropout(%5, 0.5, %training)  # scope=s6\n"
                      // a data input says nothing about the block
                      "  %7 = aten::add.Tensor(%6, %x, 1)  # scope=s7\n"
                      "  %8 = aten::sigmoid(%x)  # scope=s8\n"
                      "  %9 = prim::Const()  # scope=s9\n"
                      "  return (%3, %7, %8, %9)\n"),
      (Scopes{"layer1.conv", "layer10.conv", "layer10/add_0", "layer1.a.b", "layer1/add_0",
              "layer1/dropout_0", "layer1/add_1", "sigmoid_0", "Const_0"}));
}

TEST(AssignScopesTest, IdentityFromBeforeTheBlockKeepsTheAddInTheBlock) {
  EXPECT_EQ(assigned_scopes("graph(%x : Tensor, %stem.weight : Tensor [param], "
                            "%layer1.0.conv.weight : Tensor [param]):\n"
                            "  %1 = aten::conv1d(%x, %stem.weight, None, [1], [0], [1], 1)  # scope=s1\n"
                            "  %2 = aten::relu(%1)  # scope=s2\n"
                            "  %3 = aten::conv1d(%2, %layer1.0.conv.weight, None, [1], [0], [1], 1)  # scope=s3\n"
                            "  %4 = aten::add.Tensor(%3, %2, 1)  # scope=s4\n"
                            "  %5 = aten::relu(%4)  # scope=s5\n"
                            "  return (%5)\n"),
            (Scopes{"stem", "relu_0", "layer1.0.conv", "layer1.0/add_0", "layer1.0/relu_0"}));
}

TEST(AssignScopesTest, InPlaceBufferUpdateSitsInsideItsModule) {
  // BatchNorm's num_batches_tracked counter runs before the batch_norm itself; the module's name
  // goes to the batch_norm.
  EXPECT_EQ(assigned_scopes("graph(%x : Tensor, %training : bool [training], %bn.weight : Tensor [param], "
                            "%bn.num_batches_tracked : Tensor [buffer]):\n"
                            "  %a : int = aten::Int.bool(%training)  # scope=s0\n"
                            "  %1 = aten::add_.Scalar(%bn.num_batches_tracked, 1, %a)  # scope=s1\n"
                            "  %2 = aten::batch_norm(%x, %bn.weight, None, None, None, %training, 0.1, 1e-05, "
                            "true)  # scope=s2\n"
                            "  return (%2)\n"),
            (Scopes{"Int_0", "bn/add_0", "bn"}));
}

TEST(AssignScopesTest, SiblingBlocksGiveTheLatest) {
  EXPECT_EQ(
      assigned_scopes("graph(%x : Tensor, %net.a.conv.weight : Tensor [param], "
                      "%net.b.conv.weight : Tensor [param]):\n"
                      "  %1 = aten::conv1d(%x, %net.a.conv.weight, None, [1], [0], [1], 1)  # scope=s1\n"
                      "  %2 = aten::conv1d(%x, %net.b.conv.weight, None, [1], [0], [1], 1)  # scope=s2\n"
                      "  %3 = aten::add.Tensor(%1, %2, 1)  # scope=s3\n"
                      "  return (%3)\n"),
      (Scopes{"net.a.conv", "net.b.conv", "net.b/add_0"}));
}

TEST(AssignScopesTest, GeneratedNamesNeverCollideWithModules) {
  EXPECT_EQ(assigned_scopes("graph(%x : Tensor, %relu_0.weight : Tensor [param]):\n"
                            "  %1 = aten::relu(%x)  # scope=s1\n"
                            "  %2 = aten::mul.Tensor(%1, %relu_0.weight)  # scope=s2\n"
                            "  return (%2)\n"),
            (Scopes{"relu_0", "relu_0#1"}));
}

TEST(AssignScopesTest, DeterministicAndIdempotent) {
  const std::string in =
      "graph(%x : Tensor, %fc.weight : Tensor [param]):\n"
      "  %1 = aten::linear(%x, %fc.weight, None)  # scope=z\n"
      "  %2 = aten::relu(%1)  # scope=y\n"
      "  return (%2)\n";
  ir::Graph a = ir::parse_graph(in);
  ir::Graph b = a.clone();
  EXPECT_TRUE(AssignScopes().run(a));
  EXPECT_TRUE(AssignScopes().run(b));
  EXPECT_EQ(ir::to_text(a), ir::to_text(b));
  EXPECT_FALSE(AssignScopes().run(a));
  a.find_node("fc")->set_scope("changed");
  EXPECT_TRUE(AssignScopes().run(a));  // existing scopes are overwritten
  EXPECT_EQ(ir::to_text(a), ir::to_text(b));
}

TEST(PipelineTest, CanonicalizeCaptured) {
  ir::Graph g = ir::parse_graph(
      "graph(%x : Tensor, %conv.weight : Tensor [param], %fc.weight : Tensor [param], %fc.bias : Tensor "
      "[param]):\n"
      "  %1 = aten::_convolution(%x, %conv.weight, None, [1, 1], [0, 0], [1, 1], false, [0, 0], 1, false, "
      "false, "
      "true, true)  # scope=t1\n"
      "  %2 = aten::relu_(%1)  # scope=t2\n"
      "  %3 = aten::flatten.using_ints(%2, 1, -1)  # scope=t3\n"
      "  %4 = aten::t(%fc.weight)  # scope=t4\n"
      "  %5 = aten::addmm(%fc.bias, %3, %4, 1, 1)  # scope=t5\n"
      "  return (%5)\n");
  canonicalize_captured(g);
  EXPECT_EQ(
      ir::to_text(g),
      "graph(%x : Tensor, %conv.weight : Tensor [param], %fc.weight : Tensor [param], %fc.bias : Tensor "
      "[param]):\n"
      "  %1 = aten::conv2d(%x, %conv.weight, None, [1, 1], [0, 0], [1, 1], 1)  # scope=conv\n"
      "  %2 = aten::relu_(%1)  # scope=relu_0\n"
      "  %3 = aten::flatten.using_ints(%2, 1, -1)  # scope=flatten_0\n"
      "  %5 = aten::linear(%3, %fc.weight, %fc.bias)  # scope=fc\n"
      "  return (%5)\n");
}

}  // namespace
}  // namespace nncf::passes
