#include "nncf/passes/fused_patterns.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nncf/ir/metatype.h"
#include "nncf/ir/printer.h"

namespace nncf::passes {
namespace {

const char* kHeader =
    "graph(%x : Tensor, %training : bool [training], %w : Tensor [param], %b : Tensor [param], "
    "%g : Tensor [param], %bb : Tensor [param], %m : Tensor [buffer], %v : Tensor [buffer]):\n";

// Each pattern as the scopes of its nodes joined by '+'; the output node must be the last.
std::vector<std::string> patterns_of(const std::string& body, FusedPatterns::NodePredicate heads = nullptr) {
  const ir::Graph g = ir::parse_graph(kHeader + body);
  std::vector<std::string> out;
  for (const FusedPattern& p : FusedPatterns(std::move(heads)).run(g)) {
    EXPECT_GE(p.nodes.size(), 2u);
    EXPECT_EQ(p.output(), p.nodes.back());
    std::string s;
    for (const ir::Node* n : p.nodes) s += (s.empty() ? "" : "+") + n->scope();
    out.push_back(s);
  }
  return out;
}

using Patterns = std::vector<std::string>;

const char* kConv = "  %c = aten::conv2d(%x, %w, %b, [1, 1], [0, 0], [1, 1], 1)  # scope=conv\n";
const char* kBn = "  %n = aten::batch_norm(%c, %g, %bb, %m, %v, %training, 0.1, 1e-05, true)  # scope=bn\n";

TEST(FusedPatternsTest, ConvBatchNormRelu) {
  EXPECT_EQ(patterns_of(std::string(kConv) + kBn +
                        "  %r = aten::relu(%n)  # scope=relu\n"
                        "  return (%r)\n"),
            (Patterns{"conv+bn+relu"}));
}

TEST(FusedPatternsTest, ConvRelu) {
  EXPECT_EQ(patterns_of(std::string(kConv) + "  %r = aten::relu(%c)  # scope=relu\n"
                                             "  return (%r)\n"),
            (Patterns{"conv+relu"}));
}

TEST(FusedPatternsTest, LinearBatchNorm1d) {
  EXPECT_EQ(
      patterns_of("  %c = aten::linear(%x, %w, %b)  # scope=fc\n"
                  "  %n = aten::batch_norm(%c, %g, %bb, %m, %v, %training, 0.1, 1e-05, true)  # scope=bn\n"
                  "  return (%n)\n"),
      (Patterns{"fc+bn"}));
}

TEST(FusedPatternsTest, ActivationsThatFuse) {
  EXPECT_EQ(
      patterns_of(std::string(kConv) +
                  "  %h = aten::hardswish(%c)  # scope=hswish\n"
                  "  %l = aten::linear(%h, %w, %b)  # scope=fc\n"
                  "  %s = aten::silu(%l)  # scope=silu\n"
                  "  %c2 = aten::conv2d(%s, %w, None, [1, 1], [0, 0], [1, 1], 1)  # scope=conv2\n"
                  "  %n = aten::batch_norm(%c2, %g, %bb, %m, %v, %training, 0.1, 1e-05, true)  # scope=bn\n"
                  "  %r = aten::hardtanh(%n, 0., 6.)  # scope=relu6\n"
                  "  %r2 = aten::relu6(%r)  # scope=relu6b\n"
                  "  return (%r2)\n"),
      (Patterns{"conv+hswish", "fc+silu", "conv2+bn+relu6"}));
}

TEST(FusedPatternsTest, TwoConsumersDoNotFuse) {
  EXPECT_EQ(patterns_of(std::string(kConv) + kBn +
                        "  %r = aten::relu(%c)  # scope=relu\n"
                        "  return (%n, %r)\n"),
            Patterns{});
  // A graph output is a consumer too; sizes are not.
  EXPECT_EQ(patterns_of(std::string(kConv) + "  %r = aten::relu(%c)  # scope=relu\n  return (%r, %c)\n"),
            Patterns{});
  EXPECT_EQ(patterns_of(std::string(kConv) + "  %s = aten::size(%c, 0)  # scope=size\n"
                                             "  %r = aten::relu(%c)  # scope=relu\n"
                                             "  return (%r, %s)\n"),
            (Patterns{"conv+relu"}));
}

TEST(FusedPatternsTest, TrainingOnlyBatchNormDoesNotFuse) {
  EXPECT_EQ(
      patterns_of(std::string(kConv) +
                  "  %n = aten::batch_norm(%c, %g, %bb, %m, %v, %training, 0.1, 1e-05, true) train_only  "
                  "# scope=bn\n"
                  "  %y = prim::ModeSelect(%training, %n, %x)  # scope=select\n"
                  "  return (%y)\n"),
      Patterns{});
}

TEST(FusedPatternsTest, ArithmeticFusesOnlyWithAConstantOperand) {
  // A bias add joins the conv; a residual add starts its own pattern.
  EXPECT_EQ(patterns_of(std::string(kConv) +
                        "  %a = aten::add(%c, %bb, 1)  # scope=bias\n"
                        "  %r = aten::relu(%a)  # scope=relu\n"
                        "  %c2 = aten::conv2d(%r, %w, None, [1, 1], [0, 0], [1, 1], 1)  # scope=conv2\n"
                        "  %s = aten::add(%c2, %x, 1)  # scope=residual\n"
                        "  %r2 = aten::relu(%s)  # scope=relu2\n"
                        "  return (%r2)\n"),
            (Patterns{"conv+bias+relu", "residual+relu2"}));
}

TEST(FusedPatternsTest, ActivationHeadsOnlyWhereTheCallerSays) {
  const std::string body =
      "  %r = aten::relu(%x)  # scope=relu\n"
      "  %n = aten::batch_norm(%r, %g, %bb, %m, %v, %training, 0.1, 1e-05, true)  # scope=bn\n"
      "  return (%n)\n";
  EXPECT_EQ(patterns_of(body), Patterns{});
  EXPECT_EQ(patterns_of(body, [](const ir::Node& n) { return n.metatype() == ir::Metatype::ReLU; }),
            (Patterns{"relu+bn"}));
}

TEST(FusedPatternsTest, WeightOnlyComputationsDoNotFuse) {
  // Nothing here reads the data input: a weight transform is not an activation.
  EXPECT_EQ(patterns_of("  %c = aten::conv2d(%w, %w, None, [1, 1], [0, 0], [1, 1], 1)  # scope=conv\n"
                        "  %r = aten::relu(%c)  # scope=relu\n"
                        "  return (%r, %x)\n"),
            Patterns{});
}

}  // namespace
}  // namespace nncf::passes
