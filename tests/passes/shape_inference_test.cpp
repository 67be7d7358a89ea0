#include "nncf/passes/shape_inference.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "nncf/capture/capture.h"
#include "nncf/ir/printer.h"
#include "nncf/runtime/compressed_model.h"
#include "support/models.h"

namespace nncf::passes {
namespace {

using Sizes = std::vector<int64_t>;

ShapeInferenceResult infer(const ir::Graph& g, std::map<std::string, TensorShape> tensors,
                           bool training = false) {
  InputShapes in;
  in.tensors = std::move(tensors);
  in.training = training;
  return ShapeInference().run(g, in);
}

void expect_all_known(const ShapeInferenceResult& r) {
  EXPECT_TRUE(r.all_known());
  for (const ShapeDiagnostic& d : r.diagnostics) ADD_FAILURE() << d.message;
}

Sizes sizes_of(const ir::Graph& g, const ShapeInferenceResult& r, const std::string& name) {
  const ir::Value* v = g.find_value(name);
  EXPECT_NE(v, nullptr) << name;
  const ValueInfo& info = r.at(v);
  EXPECT_TRUE(info.known) << name;
  return info.sizes.value_or(Sizes{});
}

TEST(ShapeInferenceTest, ConvBatchNormRelu) {
  ir::Graph g = ir::parse_graph(
      "graph(%x : Tensor, %training : bool [training], %conv.weight : Tensor [param], "
      "%bn.weight : Tensor [param], %bn.bias : Tensor [param], %bn.running_mean : Tensor [buffer], "
      "%bn.running_var : Tensor [buffer]):\n"
      "  %c = aten::conv2d(%x, %conv.weight, None, [2, 2], [1, 1], [1, 1], 1)  # scope=conv\n"
      "  %b = aten::batch_norm(%c, %bn.weight, %bn.bias, %bn.running_mean, %bn.running_var, %training, 0.1, "
      "1e-05, true)  # scope=bn\n"
      "  %r = aten::relu(%b)  # scope=relu\n"
      "  return (%r)\n");
  for (bool training : {false, true}) {
    ShapeInferenceResult r = infer(g,
                                   {{"x", {{2, 3, 32, 32}}},
                                    {"conv.weight", {{8, 3, 3, 3}}},
                                    {"bn.weight", {{8}}},
                                    {"bn.bias", {{8}}},
                                    {"bn.running_mean", {{8}}},
                                    {"bn.running_var", {{8}}}},
                                   training);
    expect_all_known(r);
    EXPECT_EQ(sizes_of(g, r, "c"), (Sizes{2, 8, 16, 16}));
    EXPECT_EQ(sizes_of(g, r, "b"), (Sizes{2, 8, 16, 16}));
    EXPECT_EQ(sizes_of(g, r, "r"), (Sizes{2, 8, 16, 16}));
    EXPECT_EQ(r.at(g.find_value("r")).dtype, c10::ScalarType::Float);
    EXPECT_EQ(r.at(g.find_value("r")).numel(), 2 * 8 * 16 * 16);
  }
}

TEST(ShapeInferenceTest, GroupedAndTransposedConv) {
  ir::Graph g = ir::parse_graph(
      "graph(%x : Tensor, %x.1 : Tensor, %dw.weight : Tensor [param], %up.weight : Tensor [param], "
      "%c1.weight : Tensor [param]):\n"
      "  %d = aten::conv2d(%x, %dw.weight, None, [1, 1], [1, 1], [1, 1], 4)  # scope=dw\n"
      "  %u = aten::conv_transpose2d.input(%d, %up.weight, None, [2, 2], [0, 0], [0, 0], 1, [1, 1])  # "
      "scope=up\n"
      "  %s = aten::conv1d(%x.1, %c1.weight, None, [1], [0], [1], 1)  # scope=c1\n"
      "  return (%u, %s)\n");
  ShapeInferenceResult r = infer(g, {{"x", {{1, 4, 5, 5}}},
                                     {"x.1", {{1, 2, 9}}},
                                     {"dw.weight", {{4, 1, 3, 3}}},
                                     {"up.weight", {{4, 6, 2, 2}}},
                                     {"c1.weight", {{3, 2, 4}}}});
  expect_all_known(r);
  EXPECT_EQ(sizes_of(g, r, "d"), (Sizes{1, 4, 5, 5}));
  EXPECT_EQ(sizes_of(g, r, "u"), (Sizes{1, 6, 10, 10}));
  EXPECT_EQ(sizes_of(g, r, "s"), (Sizes{1, 3, 6}));
}

TEST(ShapeInferenceTest, FlattenLinearAddCat) {
  ir::Graph g = ir::parse_graph(
      "graph(%x : Tensor, %y : Tensor, %fc.weight : Tensor [param], %fc.bias : Tensor [param]):\n"
      "  %a = aten::add.Tensor(%x, %y, 1)  # scope=add\n"
      "  %l : Tensor[] = prim::ListConstruct(%a, %x)  # scope=list\n"
      "  %c = aten::cat(%l, 1)  # scope=cat\n"
      "  %f = aten::flatten.using_ints(%c, 1, -1)  # scope=flatten\n"
      "  %o = aten::linear(%f, %fc.weight, %fc.bias)  # scope=fc\n"
      "  return (%o)\n");
  ShapeInferenceResult r = infer(
      g, {{"x", {{2, 8, 2, 2}}}, {"y", {{1, 8, 1, 1}}}, {"fc.weight", {{10, 64}}}, {"fc.bias", {{10}}}});
  expect_all_known(r);
  EXPECT_EQ(sizes_of(g, r, "a"), (Sizes{2, 8, 2, 2}));  // broadcast
  EXPECT_EQ(sizes_of(g, r, "c"), (Sizes{2, 16, 2, 2}));
  EXPECT_EQ(sizes_of(g, r, "f"), (Sizes{2, 64}));
  EXPECT_EQ(sizes_of(g, r, "o"), (Sizes{2, 10}));
  const ValueInfo& list = r.at(g.find_value("l"));
  ASSERT_TRUE(list.known);
  EXPECT_FALSE(list.is_tensor());
  EXPECT_EQ(list.value.toTensorList().size(), 2u);
}

TEST(ShapeInferenceTest, ViewWithSizeComputesIntegers) {
  ir::Graph g = ir::parse_graph(
      "graph(%x : Tensor):\n"
      "  %n : int = aten::size.int(%x, 0)  # scope=size_0\n"
      "  %m : int = aten::mul.int(%n, 2)  # scope=mul_0\n"
      "  %s : int[] = prim::ListConstruct(%m, -1)  # scope=list_0\n"
      "  %v = aten::view(%x, %s)  # scope=view_0\n"
      "  return (%v)\n");
  ShapeInferenceResult r = infer(g, {{"x", {{6, 4, 2}, c10::ScalarType::Double}}});
  expect_all_known(r);
  EXPECT_EQ(r.at(g.find_value("n")).value.toInt(), 6);
  EXPECT_EQ(r.at(g.find_value("m")).value.toInt(), 12);
  EXPECT_EQ(r.at(g.find_value("s")).value.toIntVector(), (Sizes{12, -1}));
  EXPECT_EQ(sizes_of(g, r, "v"), (Sizes{12, 4}));
  EXPECT_EQ(r.at(g.find_value("v")).dtype, c10::ScalarType::Double);
}

TEST(ShapeInferenceTest, Pooling) {
  ir::Graph g = ir::parse_graph(
      "graph(%x : Tensor):\n"
      "  %m = aten::max_pool2d(%x, [3, 3], [2, 2], [1, 1], [1, 1], false)  # scope=maxpool\n"
      "  %a = aten::avg_pool2d(%m, [2, 2], [2, 2], [0, 0], false, true, None)  # scope=avgpool\n"
      "  %g = aten::adaptive_avg_pool2d(%a, [1, 1])  # scope=gap\n"
      "  %c = aten::max_pool2d(%x, [3, 3], [2, 2], [0, 0], [1, 1], true)  # scope=ceil\n"
      "  return (%g, %c)\n");
  ShapeInferenceResult r = infer(g, {{"x", {{2, 5, 32, 32}}}});
  expect_all_known(r);
  EXPECT_EQ(sizes_of(g, r, "m"), (Sizes{2, 5, 16, 16}));
  EXPECT_EQ(sizes_of(g, r, "a"), (Sizes{2, 5, 8, 8}));
  EXPECT_EQ(sizes_of(g, r, "g"), (Sizes{2, 5, 1, 1}));
  EXPECT_EQ(sizes_of(g, r, "c"), (Sizes{2, 5, 16, 16}));  // ceil((32 - 3) / 2) + 1
}

TEST(ShapeInferenceTest, TupleOutputHoldsMetaTensors) {
  ir::Graph g = ir::parse_graph(
      "graph(%x : Tensor):\n"
      "  %a = aten::relu(%x)  # scope=relu\n"
      "  %n : int = aten::size.int(%x, 1)  # scope=size_0\n"
      "  %t : (Tensor, int) = prim::TupleConstruct(%a, %n)  # scope=tuple\n"
      "  %b : Tensor, %k : int = prim::TupleUnpack(%t)  # scope=unpack\n"
      "  return (%t, %b)\n");
  ShapeInferenceResult r = infer(g, {{"x", {{3, 7}}}});
  expect_all_known(r);
  const ValueInfo& t = r.at(g.find_value("t"));
  ASSERT_TRUE(t.known && t.value.isTuple());
  const auto& elements = t.value.toTupleRef().elements();
  ASSERT_EQ(elements.size(), 2u);
  EXPECT_TRUE(elements[0].toTensor().is_meta());
  EXPECT_EQ(elements[0].toTensor().sizes(), c10::IntArrayRef({3, 7}));
  EXPECT_EQ(elements[1].toInt(), 7);
  EXPECT_EQ(sizes_of(g, r, "b"), (Sizes{3, 7}));
  EXPECT_EQ(r.at(g.find_value("k")).value.toInt(), 7);
}

TEST(ShapeInferenceTest, ModeSpecificNodesAndModeSelect) {
  ir::Graph g = ir::parse_graph(
      "graph(%x : Tensor, %training : bool [training]):\n"
      "  %p = aten::flatten.using_ints(%x, 0, -1) train_only  # scope=train_path\n"
      "  %q = aten::relu(%x) eval_only  # scope=eval_path\n"
      "  %y = prim::ModeSelect(%training, %p, %q)  # scope=select\n"
      "  return (%y)\n");
  ShapeInferenceResult eval = infer(g, {{"x", {{2, 3}}}}, false);
  expect_all_known(eval);
  EXPECT_EQ(sizes_of(g, eval, "y"), (Sizes{2, 3}));
  EXPECT_FALSE(eval.at(g.find_value("p")).known);  // did not run in this mode
  ShapeInferenceResult train = infer(g, {{"x", {{2, 3}}}}, true);
  EXPECT_EQ(sizes_of(g, train, "y"), (Sizes{6}));
  EXPECT_FALSE(train.at(g.find_value("q")).known);
}

TEST(ShapeInferenceTest, NumToTensorAndIntStayKnown) {
  ir::Graph g = ir::parse_graph(
      "graph(%x : Tensor):\n"
      "  %n : int = aten::size.int(%x, 0)  # scope=size_0\n"
      "  %t = prim::NumToTensor.Scalar(%n)  # scope=num_0\n"
      "  %i : int = aten::Int.Tensor(%t)  # scope=int_0\n"
      "  %s : int[] = prim::ListConstruct(%i, -1)  # scope=list_0\n"
      "  %v = aten::reshape(%x, %s)  # scope=reshape_0\n"
      "  return (%v)\n");
  ShapeInferenceResult r = infer(g, {{"x", {{4, 2, 3}}}});
  expect_all_known(r);
  EXPECT_EQ(r.at(g.find_value("i")).value.toInt(), 4);
  EXPECT_EQ(sizes_of(g, r, "v"), (Sizes{4, 6}));
}

TEST(ShapeInferenceTest, UnknownStopsAtOneNodeAndPropagates) {
  ir::Graph g = ir::parse_graph(
      "graph(%x : Tensor):\n"
      "  %s : Scalar = aten::item(%x)  # scope=item_0\n"
      "  %y = aten::mul.Scalar(%x, %s)  # scope=mul_0\n"
      "  %z = aten::relu(%y)  # scope=relu_0\n"
      "  %w = aten::neg(%x)  # scope=neg_0\n"
      "  %u = foo::bar(%w)  # scope=bar_0\n"
      "  return (%z, %u)\n");
  ShapeInferenceResult r = infer(g, {{"x", {{1}}}});
  EXPECT_FALSE(r.all_known());
  ASSERT_EQ(r.diagnostics.size(), 2u);  // the two roots, not their consumers
  EXPECT_EQ(r.diagnostics[0].node, g.find_node("item_0"));
  EXPECT_NE(r.diagnostics[0].message.find("item_0"), std::string::npos) << r.diagnostics[0].message;
  EXPECT_EQ(r.diagnostics[1].node, g.find_node("bar_0"));
  EXPECT_NE(r.diagnostics[1].message.find("unknown operator"), std::string::npos) << r.diagnostics[1].message;
  for (const char* name : {"s", "y", "z", "u"}) EXPECT_FALSE(r.at(g.find_value(name)).known) << name;
  EXPECT_EQ(sizes_of(g, r, "w"), (Sizes{1}));
}

TEST(ShapeInferenceTest, MissingAndContradictingInputs) {
  ir::Graph g = ir::parse_graph(
      "graph(%x : Tensor [shape=-1,3,8,8], %y : Tensor):\n"
      "  %a = aten::add.Tensor(%x, %y, 1)  # scope=add\n"
      "  return (%a)\n");
  ShapeInferenceResult r = infer(g, {{"x", {{5, 3, 8, 8}}}});
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].node, nullptr);
  EXPECT_NE(r.diagnostics[0].message.find("'y'"), std::string::npos);
  EXPECT_FALSE(r.at(g.find_value("a")).known);
  EXPECT_EQ(sizes_of(g, r, "x"), (Sizes{5, 3, 8, 8}));
  EXPECT_THROW(infer(g, {{"x", {{5, 3, 9, 8}}}, {"y", {{1}}}}), c10::Error);
}

// Every tensor the meta evaluation infers equals the one the real kernels compute, and the output
// equals the shape of the runtime's forward.
void expect_matches_real_run(const capture::Captured& cap, const at::Tensor& x) {
  std::map<std::string, at::Tensor> tensors = cap.tensors;
  const std::string data = cap.graph.inputs().at(0)->name();
  tensors[data] = x;
  const InputShapes in = InputShapes::of(tensors);
  ShapeInferenceResult meta = ShapeInference().run(cap.graph, in);
  ShapeInferenceResult real = ShapeInference(c10::Device(c10::kCPU)).run(cap.graph, in);
  for (const auto& d : meta.diagnostics) ADD_FAILURE() << d.message;
  size_t convs = 0, tensors_checked = 0;
  for (const ir::Node* n : cap.graph.nodes()) {
    for (const ir::Value* v : n->outputs()) {
      const ValueInfo& m = meta.at(v);
      const ValueInfo& c = real.at(v);
      ASSERT_EQ(m.known, c.known) << n->scope();
      if (!m.is_tensor()) continue;
      EXPECT_EQ(m.sizes, c.sizes) << n->scope();
      EXPECT_EQ(m.dtype, c.dtype) << n->scope();
      ++tensors_checked;
    }
    if (n->metatype() == ir::Metatype::Conv) ++convs;
  }
  EXPECT_GT(convs, 0u);
  EXPECT_GT(tensors_checked, convs);
  runtime::CompressedModel model(cap.graph.clone(), cap.tensors);
  model->eval();
  torch::NoGradGuard no_grad;
  c10::IValue y = model->forward(std::vector<c10::IValue>{x});
  const ValueInfo& out = meta.at(cap.graph.outputs().at(0));
  ASSERT_EQ(out.is_tensor(), y.isTensor());
  if (y.isTensor()) EXPECT_EQ(out.sizes, y.toTensor().sizes().vec());
}

TEST(ShapeInferenceModelTest, ResNet18MatchesRealRun) {
  torch::manual_seed(0);
  testing::ResNet18 net(testing::ResNet18Options().num_classes(1000).cifar_stem(false).base_width(16));
  net->eval();
  capture::Captured cap = capture::capture_module(net, {torch::randn({2, 3, 32, 32})});
  expect_matches_real_run(cap, torch::randn({3, 3, 64, 64}));
}

TEST(ShapeInferenceModelTest, MobileNetV2MatchesRealRun) {
  torch::manual_seed(0);
  testing::MobileNetV2 net(testing::MobileNetV2Options().width_mult(0.25));
  net->eval();
  capture::Captured cap = capture::capture_module(net, {torch::randn({2, 3, 32, 32})});
  expect_matches_real_run(cap, torch::randn({2, 3, 48, 48}));
}

// torchvision TorchScript files of tests/support/make_torchscript.py, where they were written.
class ShapeInferenceTorchScriptTest : public ::testing::TestWithParam<std::pair<std::string, int64_t>> {};

TEST_P(ShapeInferenceTorchScriptTest, MatchesRealRun) {
  const char* dir = std::getenv("NNCF_TEST_MODELS_DIR");
  const std::string path = std::string(dir ? dir : "") + "/" + GetParam().first + ".pt";
  if (dir == nullptr || !std::ifstream(path).good()) GTEST_SKIP() << path << " is absent";
  const int64_t size = GetParam().second;
  torch::manual_seed(0);
  capture::Captured cap = capture::capture_torchscript_file(path, {torch::randn({2, 3, size, size})});
  expect_matches_real_run(cap, torch::randn({2, 3, size, size}));
}

INSTANTIATE_TEST_SUITE_P(Torchvision, ShapeInferenceTorchScriptTest,
                         ::testing::Values(std::make_pair("resnet18_traced", 32),
                                           std::make_pair("mobilenet_v2_traced", 32),
                                           std::make_pair("densenet121_traced", 32),
                                           std::make_pair("googlenet_traced", 32),
                                           std::make_pair("shufflenet_v2_x0_5_traced", 32),
                                           std::make_pair("efficientnet_b0_scripted", 32),
                                           std::make_pair("inception_v3_traced", 75)),
                         [](const auto& info) { return info.param.first; });

}  // namespace
}  // namespace nncf::passes
