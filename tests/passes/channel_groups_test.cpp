#include "nncf/passes/channel_groups.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "nncf/capture/capture.h"
#include "nncf/ir/printer.h"
#include "support/models.h"

namespace nncf::passes {
namespace {

using Shapes = ChannelGroups::WeightShapes;

// A graph of `body` with data input %x, and every other value that `body` reads without defining
// it as a parameter (weights, batch-norm statistics).
ir::Graph graph_of(const std::string& body) {
  std::set<std::string> defined{"x"};
  std::vector<std::string> params;
  const std::regex def(R"(^\s*%([\w.]+)\s*(:[^=]*)?=)"), use(R"(%([\w.]+))");
  std::string line;
  for (std::istringstream lines(body); std::getline(lines, line);) {
    std::smatch m;
    const std::string rhs = std::regex_search(line, m, def) ? m.suffix().str() : line;
    for (std::sregex_iterator it(rhs.begin(), rhs.end(), use), end; it != end; ++it) {
      const std::string name = (*it)[1];
      if (!defined.count(name) && std::find(params.begin(), params.end(), name) == params.end())
        params.push_back(name);
    }
    if (!m.empty()) defined.insert(m[1]);
  }
  std::string text = "graph(%x : Tensor";
  for (const std::string& p : params) text += ", %" + p + " : Tensor [param]";
  return ir::parse_graph(text + "):\n" + body);
}

std::string conv(const std::string& y, const std::string& x, const std::string& scope, int64_t groups = 1) {
  return "  %" + y + " = aten::conv2d(%" + x + ", %" + scope + ".weight, None, [1, 1], [1, 1], [1, 1], " +
         std::to_string(groups) + ")  # scope=" + scope + "\n";
}
std::string bn(const std::string& y, const std::string& x, const std::string& scope) {
  return "  %" + y + " = aten::batch_norm(%" + x + ", %" + scope + ".weight, %" + scope + ".bias, %" + scope +
         ".running_mean, %" + scope + ".running_var, false, 0.1, 1e-05, true)  # scope=" + scope + "\n";
}
std::string relu(const std::string& y, const std::string& x, const std::string& scope) {
  return "  %" + y + " = aten::relu_(%" + x + ")  # scope=" + scope + "\n";
}

std::vector<std::string> summaries(const ChannelGroups& groups) {
  std::vector<std::string> out;
  for (const ChannelGroup& g : groups.groups()) out.push_back(to_string(g));
  return out;
}

// Every group's producers have its channel count, and every prunable group leaves the graph
// only through consumers.
void expect_consistent(const ChannelGroups& groups) {
  for (const ChannelGroup& g : groups.groups()) {
    for (const ChannelProducer& p : g.producers) EXPECT_EQ(p.channels, g.channels) << to_string(g);
    EXPECT_EQ(g.prunable, g.reasons.empty()) << to_string(g);
  }
}

TEST(ChannelGroupsTest, ResNetBlocksTieStemDownsampleAndSecondConvs) {
  ir::Graph g = graph_of(conv("c1", "x", "conv1") + bn("b1", "c1", "bn1") + relu("r1", "b1", "relu") +
                         conv("c2", "r1", "layer1.0.conv1") + bn("b2", "c2", "layer1.0.bn1") +
                         relu("r2", "b2", "layer1.0.relu") + conv("c3", "r2", "layer1.0.conv2") +
                         bn("b3", "c3", "layer1.0.bn2") + conv("d", "r1", "layer1.0.downsample.0") +
                         bn("db", "d", "layer1.0.downsample.1") +
                         "  %s = aten::add_.Tensor(%b3, %db, 1)  # scope=layer1.0/add_0\n" +
                         relu("r3", "s", "layer1.0.relu_1") + conv("c4", "r3", "layer1.1.conv1") +
                         bn("b4", "c4", "layer1.1.bn1") + relu("r4", "b4", "layer1.1.relu") +
                         conv("c5", "r4", "layer1.1.conv2") + bn("b5", "c5", "layer1.1.bn2") +
                         "  %s2 = aten::add_.Tensor(%b5, %r3, 1)  # scope=layer1.1/add_0\n" +
                         relu("r5", "s2", "layer1.1.relu_1") +
                         "  %p = aten::adaptive_avg_pool2d(%r5, [1, 1])  # scope=avgpool\n"
                         "  %f = aten::flatten.using_ints(%p, 1, -1)  # scope=flatten\n"
                         "  %y = aten::linear(%f, %fc.weight, %fc.bias)  # scope=fc\n"
                         "  return (%y)\n");
  const ChannelGroups groups(g, {{"conv1.weight", {8, 3, 3, 3}},
                                 {"layer1.0.conv1.weight", {16, 8, 3, 3}},
                                 {"layer1.0.conv2.weight", {16, 16, 3, 3}},
                                 {"layer1.0.downsample.0.weight", {16, 8, 1, 1}},
                                 {"layer1.1.conv1.weight", {16, 16, 3, 3}},
                                 {"layer1.1.conv2.weight", {16, 16, 3, 3}},
                                 {"fc.weight", {10, 16}}});
  EXPECT_EQ(
      summaries(groups),
      (std::vector<std::string>{
          "[8] prunable producers=conv1 consumers=bn1:batch_norm@0,layer1.0.conv1:conv@0,"
          "layer1.0.downsample.0:conv@0",
          "[16] prunable producers=layer1.0.conv1 consumers=layer1.0.bn1:batch_norm@0,layer1.0.conv2:conv@0",
          "[16] prunable producers=layer1.0.conv2,layer1.0.downsample.0,layer1.1.conv2 "
          "consumers=layer1.0.bn2:batch_norm@0,layer1.0.downsample.1:batch_norm@0,layer1.1.conv1:conv@0,"
          "layer1.1.bn2:batch_norm@0,fc:linear@0",
          "[16] prunable producers=layer1.1.conv1 consumers=layer1.1.bn1:batch_norm@0,layer1.1.conv2:conv@0",
          "[10] not_prunable producers=fc consumers= not prunable: reaches the model output;",
      }));
  EXPECT_EQ(groups.group_of("layer1.1.conv2"), groups.group_of("layer1.0.downsample.0"));
  EXPECT_EQ(groups.group_of("bn1"), nullptr);
}

TEST(ChannelGroupsTest, MobileNetV2DepthwiseFollowsExpandAndResidualTiesProjections) {
  std::string body = conv("c0", "x", "features.0.0") + bn("b0", "c0", "features.0.1") +
                     "  %r0 = aten::hardtanh(%b0, 0.0, 6.0)  # scope=features.0.2\n";
  std::string in = "r0";
  for (const std::string i : {"1", "2"}) {
    const std::string f = "features." + i + ".conv.";
    body += conv("e" + i, in, f + "0.0") + bn("eb" + i, "e" + i, f + "0.1") + "  %er" + i +
            " = aten::hardtanh(%eb" + i + ", 0.0, 6.0)  # scope=" + f + "0.2\n" +
            conv("d" + i, "er" + i, f + "1.0", 16) + bn("db" + i, "d" + i, f + "1.1") + "  %dr" + i +
            " = aten::hardtanh(%db" + i + ", 0.0, 6.0)  # scope=" + f + "1.2\n" +
            conv("p" + i, "dr" + i, f + "2") + bn("pb" + i, "p" + i, f + "3") + "  %a" + i +
            " = aten::add.Tensor(%" + in + ", %pb" + i + ", 1)  # scope=features." + i + "/add_0\n";
    in = "a" + i;
  }
  body +=
      "  %m = aten::mean.dim(%a2, [2, 3], false, None)  # scope=mean\n"
      "  %y = aten::linear(%m, %fc.weight, None)  # scope=fc\n"
      "  return (%y)\n";
  const ir::Graph g = graph_of(body);
  Shapes shapes{{"features.0.0.weight", {8, 3, 3, 3}}, {"fc.weight", {10, 8}}};
  for (const std::string i : {"1", "2"}) {
    shapes["features." + i + ".conv.0.0.weight"] = {16, 8, 1, 1};
    shapes["features." + i + ".conv.1.0.weight"] = {16, 1, 3, 3};
    shapes["features." + i + ".conv.2.weight"] = {8, 16, 1, 1};
  }
  const ChannelGroups groups(g, shapes);
  EXPECT_EQ(
      summaries(groups),
      (std::vector<std::string>{
          "[8] prunable producers=features.0.0,features.1.conv.2,features.2.conv.2 "
          "consumers=features.0.1:batch_norm@0,features.1.conv.0.0:conv@0,features.1.conv.3:batch_norm@0,"
          "features.2.conv.0.0:conv@0,features.2.conv.3:batch_norm@0,fc:linear@0",
          "[16] prunable producers=features.1.conv.0.0 consumers=features.1.conv.0.1:batch_norm@0,"
          "features.1.conv.1.0:depthwise@0,features.1.conv.1.1:batch_norm@0,features.1.conv.2:conv@0",
          "[16] prunable producers=features.2.conv.0.0 consumers=features.2.conv.0.1:batch_norm@0,"
          "features.2.conv.1.0:depthwise@0,features.2.conv.1.1:batch_norm@0,features.2.conv.2:conv@0",
          "[10] not_prunable producers=fc consumers= not prunable: reaches the model output;",
      }));
}

TEST(ChannelGroupsTest, DenseNetConcatenationsPlaceEachLayerAtItsOffset) {
  const ir::Graph g = graph_of(
      conv("c0", "x", "features.conv0") + bn("b0", "c0", "features.norm0") +
      relu("r0", "b0", "features.relu0") +
      "  %x0 = aten::max_pool2d(%r0, [3, 3], [2, 2], [1, 1], [1, 1], false)  # scope=features.pool0\n" +
      bn("n1", "x0", "l1.norm1") + relu("q1", "n1", "l1.relu1") + conv("h1", "q1", "l1.conv1") +
      bn("m1", "h1", "l1.norm2") + relu("s1", "m1", "l1.relu2") + conv("f1", "s1", "l1.conv2") +
      "  %list2 : Tensor[] = prim::ListConstruct(%x0, %f1)  # scope=l2/ListConstruct_0\n"
      "  %cat2 = aten::cat(%list2, 1)  # scope=l2/cat_0\n" +
      bn("n2", "cat2", "l2.norm1") + relu("q2", "n2", "l2.relu1") + conv("h2", "q2", "l2.conv1") +
      bn("m2", "h2", "l2.norm2") + relu("s2", "m2", "l2.relu2") + conv("f2", "s2", "l2.conv2") +
      "  %list3 : Tensor[] = prim::ListConstruct(%x0, %f1, %f2)  # scope=t/ListConstruct_0\n"
      "  %cat3 = aten::cat(%list3, 1)  # scope=t/cat_0\n" +
      bn("n3", "cat3", "t.norm") + relu("q3", "n3", "t.relu") + conv("y", "q3", "t.conv") +
      "  return (%y)\n");
  const ChannelGroups groups(g, {{"features.conv0.weight", {8, 3, 3, 3}},
                                 {"l1.conv1.weight", {16, 8, 1, 1}},
                                 {"l1.conv2.weight", {4, 16, 3, 3}},
                                 {"l2.conv1.weight", {16, 12, 1, 1}},
                                 {"l2.conv2.weight", {4, 16, 3, 3}},
                                 {"t.conv.weight", {6, 16, 1, 1}}});
  EXPECT_EQ(
      summaries(groups),
      (std::vector<std::string>{
          "[8] prunable producers=features.conv0 consumers=features.norm0:batch_norm@0,"
          "l1.norm1:batch_norm@0,l1.conv1:conv@0,l2/cat_0:cat@0,l2.norm1:batch_norm@0,l2.conv1:conv@0,t/"
          "cat_0:cat@0,"
          "t.norm:batch_norm@0,t.conv:conv@0",
          "[16] prunable producers=l1.conv1 consumers=l1.norm2:batch_norm@0,l1.conv2:conv@0",
          "[4] prunable producers=l1.conv2 consumers=l2/cat_0:cat@8,l2.norm1:batch_norm@8,l2.conv1:conv@8,"
          "t/cat_0:cat@8,t.norm:batch_norm@8,t.conv:conv@8",
          "[16] prunable producers=l2.conv1 consumers=l2.norm2:batch_norm@0,l2.conv2:conv@0",
          "[4] prunable producers=l2.conv2 consumers=t/cat_0:cat@12,t.norm:batch_norm@12,t.conv:conv@12",
          "[6] not_prunable producers=t.conv consumers= not prunable: reaches the model output;",
      }));
}

TEST(ChannelGroupsTest, InceptionBranchesConcatenateAtOffsets) {
  const ir::Graph g = graph_of(
      conv("c", "x", "conv1") + conv("b1", "c", "i.branch1") + conv("b2a", "c", "i.branch2.0") +
      relu("b2r", "b2a", "i.branch2/relu") + conv("b2", "b2r", "i.branch2.1") +
      conv("b3a", "c", "i.branch3.0") + conv("b3", "b3a", "i.branch3.1") +
      "  %b4p = aten::max_pool2d(%c, [3, 3], [1, 1], [1, 1], [1, 1], true)  # scope=i.branch4.0\n" +
      conv("b4", "b4p", "i.branch4.1") +
      "  %l : Tensor[] = prim::ListConstruct(%b1, %b2, %b3, %b4)  # scope=i/ListConstruct_0\n"
      "  %cat = aten::cat(%l, 1)  # scope=i/cat_0\n" +
      "  %up = aten::upsample_nearest2d(%cat, [8, 8], None, None)  # scope=up\n" + conv("y", "up", "next") +
      "  %z = aten::mul.Scalar(%y, 2.0)  # scope=scale\n"
      "  return (%z)\n");
  const ChannelGroups groups(g, {{"conv1.weight", {8, 3, 3, 3}},
                                 {"i.branch1.weight", {4, 8, 1, 1}},
                                 {"i.branch2.0.weight", {6, 8, 1, 1}},
                                 {"i.branch2.1.weight", {8, 6, 3, 3}},
                                 {"i.branch3.0.weight", {2, 8, 1, 1}},
                                 {"i.branch3.1.weight", {4, 2, 3, 3}},
                                 {"i.branch4.1.weight", {4, 8, 1, 1}},
                                 {"next.weight", {5, 20, 1, 1}}});
  ASSERT_EQ(groups.groups().size(), 8u);
  std::vector<std::pair<std::string, int64_t>> offsets;  // branch -> its offset in `next`'s input
  for (const char* branch : {"i.branch1", "i.branch2.1", "i.branch3.1", "i.branch4.1"}) {
    const ChannelGroup* grp = groups.group_of(branch);
    ASSERT_NE(grp, nullptr) << branch;
    EXPECT_TRUE(grp->prunable) << to_string(*grp);
    ASSERT_EQ(grp->consumers.size(), 2u) << to_string(*grp);
    EXPECT_EQ(grp->consumers[0].kind, ChannelConsumer::Kind::Cat);
    EXPECT_EQ(grp->consumers[1].node->scope(), "next");
    EXPECT_EQ(grp->consumers[0].offset, grp->consumers[1].offset);
    offsets.emplace_back(branch, grp->consumers[1].offset);
  }
  EXPECT_EQ(offsets, (std::vector<std::pair<std::string, int64_t>>{
                         {"i.branch1", 0}, {"i.branch2.1", 4}, {"i.branch3.1", 12}, {"i.branch4.1", 16}}));
  EXPECT_EQ(to_string(*groups.group_of("conv1")),
            "[8] prunable producers=conv1 consumers=i.branch1:conv@0,i.branch2.0:conv@0,i.branch3.0:conv@0,"
            "i.branch4.1:conv@0");
  EXPECT_EQ(to_string(*groups.group_of("next")),
            "[5] not_prunable producers=next consumers= not prunable: reaches the model output;");
}

TEST(ChannelGroupsTest, FlattenIntoLinearReadsSpatialColumnsPerChannel) {
  const Shapes shapes{{"conv.weight", {4, 3, 3, 3}}, {"fc.weight", {10, 100}}, {"fc2.weight", {2, 10}}};
  const std::string tail =
      "  %d = aten::dropout(%f, 0.5, false)  # scope=dropout\n"
      "  %h = aten::linear(%d, %fc.weight, %fc.bias)  # scope=fc\n"
      "  %hr = aten::relu(%h)  # scope=fc/relu\n"
      "  %y = aten::linear(%hr, %fc2.weight, None)  # scope=fc2\n"
      "  return (%y)\n";
  const std::vector<std::string> expected{
      "[4] prunable producers=conv consumers=fc:linear@0*25",
      "[10] prunable producers=fc consumers=fc2:linear@0",
      "[2] not_prunable producers=fc2 consumers= not prunable: reaches the model output;",
  };
  EXPECT_EQ(summaries(ChannelGroups(
                graph_of(conv("c", "x", "conv") + relu("r", "c", "relu") +
                         "  %f = aten::flatten.using_ints(%r, 1, -1)  # scope=flatten\n" + tail),
                shapes)),
            expected);
  EXPECT_EQ(
      summaries(ChannelGroups(graph_of(conv("c", "x", "conv") + relu("r", "c", "relu") +
                                       "  %n : int = aten::size.int(%r, 0)  # scope=size_0\n"
                                       "  %s : int[] = prim::ListConstruct(%n, -1)  # scope=ListConstruct_0\n"
                                       "  %f = aten::view(%r, %s)  # scope=view\n" +
                                       tail),
                              shapes)),
      expected);
}

TEST(ChannelGroupsTest, OutputsAndUnknownOpsMakeGroupsNotPrunable) {
  // a residual add ties a group to one that reaches the output
  ChannelGroups out(graph_of(conv("a", "x", "a") + conv("b", "a", "b") + conv("c", "b", "c") +
                             "  %s = aten::add.Tensor(%a, %c, 1)  # scope=add\n"
                             "  return (%s)\n"),
                    {{"a.weight", {4, 3, 3, 3}}, {"b.weight", {4, 4, 3, 3}}, {"c.weight", {4, 4, 3, 3}}});
  EXPECT_EQ(summaries(out), (std::vector<std::string>{
                                "[4] not_prunable producers=a,c consumers=b:conv@0 not prunable: reaches the "
                                "model output;",
                                "[4] prunable producers=b consumers=c:conv@0"}));
  // a transpose moves the channel axis; a matmul or a softmax over channels is not followed
  for (const std::string op :
       {"aten::transpose.int(%a, 1, 2)", "aten::matmul(%a, %a)", "aten::softmax.int(%a, 1, None)"}) {
    const ChannelGroups g(graph_of(conv("a", "x", "a") + "  %t = " + op + "  # scope=op\n" +
                                   "  %y = aten::sum(%t, None)  # scope=sum\n  return (%y)\n"),
                          {{"a.weight", {4, 3, 3, 3}}});
    ASSERT_EQ(g.groups().size(), 1u) << op;
    EXPECT_FALSE(g.groups()[0].prunable) << op;
    ASSERT_EQ(g.groups()[0].reasons.size(), 1u) << op;
    EXPECT_NE(g.groups()[0].reasons[0].find("at op, which the analysis does not follow"), std::string::npos)
        << g.groups()[0].reasons[0];
  }
  // a linear directly on a 4-D conv output reads its last spatial axis
  const ChannelGroups lin(
      graph_of(conv("a", "x", "a") + "  %y = aten::linear(%a, %fc.weight, None)  # scope=fc\n" +
               "  %s = aten::sum(%y, None)  # scope=sum\n  return (%s)\n"),
      {{"a.weight", {4, 3, 3, 3}}, {"fc.weight", {2, 4}}});
  EXPECT_EQ(to_string(lin.groups()[0]),
            "[4] not_prunable producers=a consumers= not prunable: read by aten::linear at fc along an axis "
            "that is "
            "not the channel axis;");
}

TEST(ChannelGroupsTest, GroupedConvolutionsAreNotPruned) {
  const ChannelGroups g(graph_of(conv("a", "x", "a") + conv("b", "a", "b", 2) + conv("c", "b", "c") +
                                 "  %s = aten::sum(%c, None)  # scope=sum\n  return (%s)\n"),
                        {{"a.weight", {8, 3, 3, 3}}, {"b.weight", {8, 4, 3, 3}}, {"c.weight", {4, 8, 1, 1}}});
  EXPECT_EQ(summaries(g),
            (std::vector<std::string>{
                "[8] not_prunable producers=a consumers= not prunable: read by grouped convolution b "
                "(groups=2);",
                "[8] not_prunable producers=b consumers=c:conv@0 not prunable: grouped convolution b "
                "(groups=2);",
                "[4] not_prunable producers=c consumers= not prunable: read by aten::sum at sum, which "
                "the analysis does not follow;",
            }));
}

TEST(ChannelGroupsTest, MismatchedOrUnknownOperandsBlockTies) {
  // broadcasting a 1-channel map over 4 channels, and adding a data input
  const ChannelGroups g(
      graph_of(conv("a", "x", "a") + conv("m", "x", "m") + "  %s = aten::mul.Tensor(%a, %m)  # scope=gate\n" +
               conv("b", "s", "b") + "  %t = aten::add.Tensor(%b, %x, 1)  # scope=add\n" +
               conv("y", "t", "c") + "  %z = aten::sum(%y, None)  # scope=sum\n  return (%z)\n"),
      {{"a.weight", {4, 3, 3, 3}},
       {"m.weight", {1, 3, 3, 3}},
       {"b.weight", {3, 4, 3, 3}},
       {"c.weight", {2, 3, 1, 1}}});
  ASSERT_EQ(g.groups().size(), 4u);
  EXPECT_EQ(
      g.groups()[0].reasons,
      std::vector<std::string>{"aten::mul.Tensor at gate combines 4 and 1 channels laid out differently"});
  EXPECT_EQ(g.groups()[1].reasons, g.groups()[0].reasons);
  EXPECT_EQ(
      g.groups()[2].reasons,
      std::vector<std::string>{"aten::add.Tensor at add combines them with a tensor of unknown channels"});
}

TEST(ChannelGroupsTest, LayersSharingAWeightAreOneGroup) {
  const ChannelGroups g(
      graph_of("  %a = aten::conv2d(%x, %w, None, [1, 1], [1, 1], [1, 1], 1)  # scope=conv\n"
               "  %b = aten::conv2d(%x, %w, None, [1, 1], [1, 1], [1, 1], 1)  # scope=conv#1\n"
               "  %l : Tensor[] = prim::ListConstruct(%a, %b)  # scope=ListConstruct_0\n"
               "  %c = aten::cat(%l, 1)  # scope=cat\n" +
               conv("y", "c", "next") + "  %z = aten::sum(%y, None)  # scope=sum\n  return (%z)\n"),
      {{"w", {4, 3, 3, 3}}, {"next.weight", {2, 8, 1, 1}}});
  EXPECT_EQ(to_string(g.groups()[0]),
            "[4] prunable producers=conv,conv#1 consumers=cat:cat@0,cat:cat@4,next:conv@0,next:conv@4");
}

// ---- captured models ---------------------------------------------------------------------------

Shapes shapes_of(const capture::Captured& c) {
  Shapes s;
  for (const auto& [name, t] : c.tensors) s[name] = t.sizes().vec();
  return s;
}

std::string weight_of(const ChannelProducer& p) {
  return p.node->input(1).value()->name();
}

// Every conv/linear of the graph is in exactly one group.
void expect_every_layer_grouped(const ir::Graph& graph, const ChannelGroups& groups) {
  std::multiset<const ir::Node*> seen;
  for (const ChannelGroup& g : groups.groups())
    for (const ChannelProducer& p : g.producers) seen.insert(p.node);
  for (const ir::Node* n : graph.nodes()) {
    const bool dw = n->op() == "aten::conv2d" && n->input(6).constant().to_int() > 1;
    if ((n->metatype() == ir::Metatype::Conv && !dw) || n->metatype() == ir::Metatype::Linear)
      EXPECT_EQ(seen.count(n), 1u) << n->scope();
  }
}

TEST(ChannelGroupsModelTest, CapturedResNet18) {
  testing::ResNet18 net(testing::ResNet18Options().base_width(8));
  net->eval();
  const capture::Captured c = capture::capture_module(net, {torch::randn({1, 3, 16, 16})});
  const ChannelGroups groups(c.graph, shapes_of(c));
  expect_consistent(groups);
  expect_every_layer_grouped(c.graph, groups);
  const ChannelGroup* stem = groups.group_of("conv1");
  ASSERT_NE(stem, nullptr);
  std::vector<std::string> weights;
  for (const ChannelProducer& p : stem->producers) weights.push_back(weight_of(p));
  EXPECT_EQ(weights,
            (std::vector<std::string>{"conv1.weight", "layer1.0.conv2.weight", "layer1.1.conv2.weight"}));
  EXPECT_TRUE(stem->prunable) << to_string(*stem);
  for (const char* layer : {"layer2", "layer3", "layer4"}) {
    const ChannelGroup* g = groups.group_of(std::string(layer) + ".0.downsample.0");
    ASSERT_NE(g, nullptr) << layer;
    EXPECT_EQ(g, groups.group_of(std::string(layer) + ".0.conv2"));
    EXPECT_EQ(g, groups.group_of(std::string(layer) + ".1.conv2"));
    EXPECT_EQ(g->producers.size(), 3u) << to_string(*g);
    EXPECT_TRUE(g->prunable) << to_string(*g);
  }
  EXPECT_FALSE(groups.group_of("fc")->prunable);
  EXPECT_EQ(groups.groups().size(),
            1u + 3u + 8u + 1u);  // layer1 with the stem, layer2..4, the blocks' conv1, fc
}

TEST(ChannelGroupsModelTest, CapturedMobileNetV2) {
  testing::MobileNetV2 net(testing::MobileNetV2Options().width_mult(0.25).last_channel(32));
  net->eval();
  const capture::Captured c = capture::capture_module(net, {torch::randn({1, 3, 32, 32})});
  const ChannelGroups groups(c.graph, shapes_of(c));
  expect_consistent(groups);
  expect_every_layer_grouped(c.graph, groups);
  size_t depthwise = 0;
  for (const ChannelGroup& g : groups.groups()) {
    for (const ChannelConsumer& u : g.consumers) depthwise += u.kind == ChannelConsumer::Kind::Depthwise;
    if (&g != &groups.groups().back()) EXPECT_TRUE(g.prunable) << to_string(g);
  }
  EXPECT_EQ(depthwise, 17u);                      // one per inverted residual
  EXPECT_FALSE(groups.groups().back().prunable);  // the classifier
}

// ---- torchvision TorchScript files (tests/support/make_torchscript.py) ---------------------------

std::optional<capture::Captured> torchvision(const std::string& name) {
  const char* dir = std::getenv("NNCF_TEST_MODELS_DIR");
  if (dir == nullptr || *dir == '\0') return std::nullopt;
  const std::string path = std::string(dir) + "/" + name + ".pt";
  if (!std::ifstream(path).good()) return std::nullopt;
  torch::manual_seed(0);
  return capture::capture_torchscript_file(path, {torch::randn({2, 3, 32, 32})});
}

#define CAPTURE_OR_SKIP(var, name)                          \
  std::optional<capture::Captured> var = torchvision(name); \
  if (!var) GTEST_SKIP() << name << ".pt not found in $NNCF_TEST_MODELS_DIR (run through ctest)"

TEST(ChannelGroupsTorchvisionTest, ResNet18) {
  CAPTURE_OR_SKIP(c, "resnet18_traced");
  const ChannelGroups groups(c->graph, shapes_of(*c));
  expect_consistent(groups);
  expect_every_layer_grouped(c->graph, groups);
  const ChannelGroup* stem = groups.group_of("conv1");
  ASSERT_NE(stem, nullptr);
  EXPECT_EQ(stem, groups.group_of("layer1.0.conv2"));
  EXPECT_EQ(stem, groups.group_of("layer1.1.conv2"));
  EXPECT_EQ(stem->producers.size(), 3u);
  EXPECT_TRUE(stem->prunable) << to_string(*stem);
  EXPECT_EQ(groups.group_of("layer4.0.downsample.0"), groups.group_of("layer4.1.conv2"));
  EXPECT_EQ(groups.group_of("layer4.1.conv2")->consumers.back().node->scope(), "fc");
}

TEST(ChannelGroupsTorchvisionTest, ConcatAndDepthwiseModels) {
  for (const char* name : {"mobilenet_v2_traced", "densenet121_traced", "googlenet_traced"}) {
    CAPTURE_OR_SKIP(c, name);
    const ChannelGroups groups(c->graph, shapes_of(*c));
    expect_consistent(groups);
    expect_every_layer_grouped(c->graph, groups);
    size_t prunable = 0, cats = 0;
    for (const ChannelGroup& g : groups.groups()) {
      prunable += g.prunable;
      for (const ChannelConsumer& u : g.consumers) cats += u.kind == ChannelConsumer::Kind::Cat;
    }
    EXPECT_GT(prunable, groups.groups().size() / 2) << name;
    EXPECT_EQ(cats > 0, std::string(name) != "mobilenet_v2_traced") << name;
  }
}

}  // namespace
}  // namespace nncf::passes
