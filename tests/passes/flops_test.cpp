#include "nncf/passes/flops.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <string>

#include "nncf/capture/capture.h"
#include "nncf/ir/printer.h"
#include "support/models.h"

namespace nncf::passes {
namespace {

GraphCost count(const ir::Graph& g, std::map<std::string, TensorShape> tensors, bool training = false) {
  InputShapes in;
  in.tensors = std::move(tensors);
  in.training = training;
  ShapeInferenceResult shapes = ShapeInference().run(g, in);
  for (const auto& d : shapes.diagnostics) ADD_FAILURE() << d.message;
  return CountFlops().run(g, shapes);
}

const NodeCost& at(const ir::Graph& g, const GraphCost& c, const char* scope) {
  const ir::Node* n = g.find_node(scope);
  EXPECT_NE(n, nullptr) << scope;
  return c.nodes.at(n);
}

TEST(CountFlopsTest, Convolutions) {
  ir::Graph g = ir::parse_graph(
      "graph(%x : Tensor, %y : Tensor, %z : Tensor, %conv.weight : Tensor [param], %conv.bias : Tensor "
      "[param], "
      "%dw.weight : Tensor [param], %up.weight : Tensor [param], %c1.weight : Tensor [param]):\n"
      "  %a = aten::conv2d(%x, %conv.weight, %conv.bias, [1, 1], [1, 1], [1, 1], 1)  # scope=conv\n"
      "  %d = aten::conv2d(%y, %dw.weight, None, [1, 1], [1, 1], [1, 1], 4)  # scope=dw\n"
      "  %u = aten::conv_transpose2d.input(%d, %up.weight, None, [2, 2], [0, 0], [0, 0], 1, [1, 1])  # "
      "scope=up\n"
      "  %s = aten::conv1d(%z, %c1.weight, None, [1], [0], [1], 1)  # scope=c1\n"
      "  %v = aten::_convolution(%d, %up.weight, None, [2, 2], [0, 0], [1, 1], true, [0, 0], 1, false, "
      "false, "
      "true, true)  # scope=up_generic\n"
      "  return (%a, %u, %s, %v)\n");
  GraphCost c = count(g, {{"x", {{1, 3, 8, 8}}},
                          {"y", {{1, 4, 5, 5}}},
                          {"z", {{1, 2, 9}}},
                          {"conv.weight", {{4, 3, 3, 3}}},
                          {"conv.bias", {{4}}},
                          {"dw.weight", {{4, 1, 3, 3}}},
                          {"up.weight", {{4, 6, 2, 2}}},
                          {"c1.weight", {{3, 2, 4}}}});
  EXPECT_TRUE(c.unknown.empty());
  // 3x3 kernel, 3 -> 4 channels, 8x8 output: 2 * 108 MACs per output pixel; the bias is not counted.
  EXPECT_EQ(at(g, c, "conv").flops, 2 * 108 * 64);
  EXPECT_EQ(at(g, c, "conv").params, 108 + 4);
  // Depthwise: 3x3 per channel, 4 channels, 5x5 output.
  EXPECT_EQ(at(g, c, "dw").flops, 2 * 36 * 25);
  // Transposed: each of the 4 x 5x5 input elements feeds 6 channels x 2x2 outputs.
  EXPECT_EQ(at(g, c, "up").flops, 2 * 4 * 25 * 24);
  EXPECT_EQ(at(g, c, "up_generic").flops, 2 * 4 * 25 * 24);
  // 1-d: kernel 4, 2 -> 3 channels, output length 6.
  EXPECT_EQ(at(g, c, "c1").flops, 2 * 24 * 6);
  EXPECT_EQ(c.weight_flops, 13824 + 1800 + 4800 + 288 + 4800);
  EXPECT_EQ(c.flops, c.weight_flops);
  // up.weight is read twice and counted once.
  EXPECT_EQ(c.params, 112 + 36 + 96 + 24);
}

TEST(CountFlopsTest, LinearAndMatmul) {
  ir::Graph g = ir::parse_graph(
      "graph(%x : Tensor, %b : Tensor, %fc.weight : Tensor [param], %fc.bias : Tensor [param]):\n"
      "  %y = aten::linear(%x, %fc.weight, %fc.bias)  # scope=fc\n"
      "  %wt = aten::t(%fc.weight)  # scope=t_0\n"
      "  %z = aten::addmm(%fc.bias, %x, %wt, 1, 1)  # scope=addmm\n"
      "  %m = aten::matmul(%b, %wt)  # scope=matmul\n"
      "  %r = aten::linear(%b, %fc.weight, None)  # scope=fc3d\n"
      "  return (%y, %z, %m, %r)\n");
  GraphCost c =
      count(g, {{"x", {{2, 64}}}, {"b", {{2, 3, 64}}}, {"fc.weight", {{10, 64}}}, {"fc.bias", {{10}}}});
  EXPECT_TRUE(c.unknown.empty());
  EXPECT_EQ(at(g, c, "fc").flops, 2 * 64 * 10 * 2);
  EXPECT_EQ(at(g, c, "fc").params, 650);
  EXPECT_EQ(at(g, c, "addmm").flops, 2 * 64 * 10 * 2);
  EXPECT_EQ(at(g, c, "addmm").params, 10);  // the weight is read by t_0
  EXPECT_EQ(at(g, c, "t_0").flops, 0);
  EXPECT_EQ(at(g, c, "matmul").flops, 2 * 64 * 10 * 6);
  EXPECT_EQ(at(g, c, "fc3d").flops, 2 * 64 * 10 * 6);
  EXPECT_EQ(c.params, 650);
}

TEST(CountFlopsTest, NormalizationElementwisePooling) {
  ir::Graph g = ir::parse_graph(
      "graph(%x : Tensor, %training : bool [training], %bn.weight : Tensor [param], %bn.bias : Tensor "
      "[param], "
      "%bn.running_mean : Tensor [buffer], %bn.running_var : Tensor [buffer]):\n"
      "  %b = aten::batch_norm(%x, %bn.weight, %bn.bias, %bn.running_mean, %bn.running_var, %training, 0.1, "
      "1e-05, true)  # scope=bn\n"
      "  %r = aten::relu(%b)  # scope=relu\n"
      "  %a = aten::add.Tensor(%r, %x, 1)  # scope=add\n"
      "  %m = aten::max_pool2d(%a, [3, 3], [2, 2], [1, 1], [1, 1], false)  # scope=maxpool\n"
      "  %g = aten::adaptive_avg_pool2d(%m, [1, 1])  # scope=gap\n"
      "  %f = aten::flatten.using_ints(%g, 1, -1)  # scope=flatten\n"
      "  %d = aten::dropout(%f, 0.5, %training) train_only  # scope=dropout\n"
      "  return (%f)\n");
  GraphCost c = count(g, {{"x", {{2, 8, 8, 8}}},
                          {"bn.weight", {{8}}},
                          {"bn.bias", {{8}}},
                          {"bn.running_mean", {{8}}},
                          {"bn.running_var", {{8}}}});
  EXPECT_TRUE(c.unknown.empty());
  const int64_t n = 2 * 8 * 8 * 8;
  EXPECT_EQ(at(g, c, "bn").flops, 2 * n);
  EXPECT_EQ(at(g, c, "bn").params, 16);  // running statistics are buffers
  EXPECT_EQ(at(g, c, "relu").flops, n);
  EXPECT_EQ(at(g, c, "add").flops, n);
  EXPECT_EQ(at(g, c, "maxpool").flops, 2 * 8 * 4 * 4 * 9);
  EXPECT_EQ(at(g, c, "gap").flops, 2 * 8 * 4 * 4);
  EXPECT_EQ(at(g, c, "flatten").flops, 0);
  EXPECT_EQ(c.nodes.count(g.find_node("dropout")), 0u);  // does not run in eval mode
  EXPECT_EQ(c.weight_flops, 0);
  EXPECT_EQ(c.flops, 2 * n + n + n + 2 * 8 * 4 * 4 * 9 + 2 * 8 * 4 * 4);
  EXPECT_EQ(c.params, 16);
}

TEST(CountFlopsTest, UnknownShapesAreListed) {
  ir::Graph g = ir::parse_graph(
      "graph(%x : Tensor, %fc.weight : Tensor [param]):\n"
      "  %s : Scalar = aten::item(%x)  # scope=item_0\n"
      "  %y = aten::mul.Scalar(%x, %s)  # scope=mul_0\n"
      "  %z = aten::linear(%y, %fc.weight, None)  # scope=fc\n"
      "  return (%z)\n");
  InputShapes in;
  in.tensors = {{"x", {{2, 4}}}, {"fc.weight", {{3, 4}}}};
  GraphCost c = CountFlops().run(g, ShapeInference().run(g, in));
  ASSERT_EQ(c.unknown.size(), 2u);
  EXPECT_EQ(c.unknown[0], g.find_node("mul_0"));
  EXPECT_EQ(c.unknown[1], g.find_node("fc"));
  EXPECT_EQ(at(g, c, "fc").params, 12);  // the weight's shape is still known
  EXPECT_EQ(c.flops, 0);
}

// torchvision's resnet18 at 224x224, batch 1: 11,689,512 parameters; 1,814,073,344 multiply-adds
// in its convs and fc (conv1 118,013,952; layer1 462,422,016; layer2..4 411,041,792 each; fc
// 512,000), so NNCF's FLOPs are twice that.
TEST(CountFlopsTest, ResNet18) {
  torch::manual_seed(0);
  testing::ResNet18 net(testing::ResNet18Options().num_classes(1000).cifar_stem(false));
  net->eval();
  capture::Captured cap = capture::capture_module(net, {torch::randn({1, 3, 32, 32})});
  std::map<std::string, at::Tensor> tensors = cap.tensors;
  tensors[cap.graph.inputs().at(0)->name()] = torch::empty({1, 3, 224, 224});
  ShapeInferenceResult shapes = ShapeInference().run(cap.graph, InputShapes::of(tensors));
  for (const auto& d : shapes.diagnostics) ADD_FAILURE() << d.message;
  GraphCost c = CountFlops().run(cap.graph, shapes);
  EXPECT_TRUE(c.unknown.empty());
  EXPECT_EQ(c.params, 11689512);
  EXPECT_EQ(c.weight_flops, 2 * int64_t{1814073344});
  EXPECT_GT(c.flops, c.weight_flops);
  const ir::Node* conv1 = cap.graph.find_node("conv1");
  ASSERT_NE(conv1, nullptr);
  EXPECT_EQ(c.nodes.at(conv1).flops, 2 * int64_t{118013952});
  EXPECT_EQ(c.nodes.at(conv1).params, 64 * 3 * 7 * 7);
}

}  // namespace
}  // namespace nncf::passes
