#include "nncf/ir/printer.h"

#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include "support/errors.h"

#include <cmath>
#include <limits>
#include <sstream>

namespace nncf::ir {
namespace {

using testing::error_of;

void expect_round_trip(const std::string& text) {
  Graph g = parse_graph(text);
  EXPECT_EQ(to_text(g), text);
  EXPECT_EQ(to_text(parse_graph(to_text(g))), text);
  EXPECT_EQ(to_text(g.clone()), text);
}

TEST(PrinterTest, PrintsTheDocumentedForm) {
  Graph g;
  Value* x = g.add_input("x", "Tensor", InputRole::Data);
  g.add_input("training", "bool", InputRole::Training);
  Value* w = g.add_input("conv1.weight", "Tensor", InputRole::Parameter);
  Value* rm = g.add_input("bn1.running_mean", "Tensor", InputRole::Buffer);
  Node* conv = g.create_node("aten::conv2d",
                             {x, w, Constant::none(), Constant::int_list({1, 1}), Constant::int_list({1, 1}),
                              Constant::int_list({1, 1}), Constant::integer(1)},
                             {"Tensor"}, "conv1");
  Node* size = g.create_node("aten::size.int", {x, Constant::integer(0)}, {"int"}, "size_0", nullptr, {"n"});
  Node* pair = g.create_node("prim::TupleConstruct", {conv->output(), rm}, {"(Tensor, Tensor)"}, "tc");
  Node* unpack = g.create_node("prim::TupleUnpack", {pair->output()}, {"Tensor", "Tensor"}, "tu");
  g.create_node("aten::foo", {size->output()}, {}, "s");
  g.add_output(unpack->output(0));
  g.add_output(unpack->output(1));
  const std::string expected =
      "graph(%x : Tensor, %training : bool [training], %conv1.weight : Tensor [param], "
      "%bn1.running_mean : Tensor [buffer]):\n"
      "  %1 = aten::conv2d(%x, %conv1.weight, None, [1, 1], [1, 1], [1, 1], 1)  # scope=conv1\n"
      "  %n : int = aten::size.int(%x, 0)  # scope=size_0\n"
      "  %2 : (Tensor, Tensor) = prim::TupleConstruct(%1, %bn1.running_mean)  # scope=tc\n"
      "  %3, %4 = prim::TupleUnpack(%2)  # scope=tu\n"
      "  aten::foo(%n)  # scope=s\n"
      "  return (%3, %4)\n";
  EXPECT_EQ(to_text(g), expected);
  expect_round_trip(expected);
}

TEST(PrinterTest, RoundTripsTypesNamesAndShapes) {
  expect_round_trip("graph():\n  return ()\n");
  expect_round_trip(
      "graph(%x : Tensor, %l : Tensor?[], %\"odd name\" : Tensor, %\"q\\\"uote\\\\\" : int):\n"
      "  %\"out put\" : Tensor[], %b : (Tensor, (int, Tensor?)) = prim::Weird(%x, %l, %\"odd name\")  # "
      "scope=a/b c#1\n"
      "  %2 : Dict(str, Tensor) = prim::DictConstruct(%\"q\\\"uote\\\\\", %b)  # scope=d\n"
      "  aten::_nothing_()  # scope=e\n"
      "  return (%\"out put\", %2, %x)\n");
}

TEST(PrinterTest, ParsesLooseWhitespaceAndComments) {
  Graph g = parse_graph(
      "# leading comment\n"
      "graph(%x : Tensor,\n"
      "      %w : Tensor [param]):\n"
      "  %y = aten::linear( %x ,%w, None )   # scope=fc\n"
      "  # a comment line\n"
      "  return (%y)\n");
  EXPECT_EQ(to_text(g),
            "graph(%x : Tensor, %w : Tensor [param]):\n"
            "  %y = aten::linear(%x, %w, None)  # scope=fc\n"
            "  return (%y)\n");
  EXPECT_EQ(g.find_node("fc")->metatype(), Metatype::Linear);
  EXPECT_EQ(g.find_input("w")->role(), InputRole::Parameter);
}

TEST(PrinterTest, AllConstantKindsRoundTripExactly) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<Constant> constants = {
      Constant::none(),
      Constant::boolean(true),
      Constant::boolean(false),
      Constant::integer(0),
      Constant::integer(-7),
      Constant::integer(std::numeric_limits<int64_t>::max()),
      Constant::integer(std::numeric_limits<int64_t>::min()),
      Constant::real(3.0),
      Constant::real(0.1),
      Constant::real(1e-5),
      Constant::real(-0.0),
      Constant::real(1e300),
      Constant::real(1.0 / 3.0),
      Constant::real(5e-324),
      Constant::real(123456789012345678.0),
      Constant::real(nan),
      Constant::real(inf),
      Constant::real(-inf),
      Constant::string("a \"b\"\\\n\t\r\x01 é"),
      Constant::string(""),
      Constant::device("cpu"),
      Constant::device("cuda:0"),
      Constant::int_list({1, -2}),
      Constant::int_list({}),
      Constant::double_list({1.0, 2.5, -0.0, nan}),
      Constant::double_list({}),
      Constant::bool_list({true, false}),
      Constant::bool_list({}),
  };
  Graph g;
  Node* n = g.create_node("aten::many", {}, {"Tensor"}, "many");
  for (const Constant& c : constants) n->add_input(c);
  g.add_output(n->output());
  const std::string text = to_text(g);
  EXPECT_EQ(
      text,
      "graph():\n"
      "  %1 = aten::many(None, true, false, 0, -7, 9223372036854775807, -9223372036854775808, 3.0, 0.1, "
      "1e-05, -0.0, 1e+300, 0.3333333333333333, 4.94065645841247e-324, 1.2345678901234568e+17, nan, "
      "inf, -inf, \"a \\\"b\\\"\\\\\\n\\t\\r\\001 é\", \"\", device(\"cpu\"), device(\"cuda:0\"), [1, -2], "
      "[], [1.0, 2.5, -0.0, nan], []:float, [true, false], []:bool)  # scope=many\n"
      "  return (%1)\n");
  Graph back = parse_graph(text);
  EXPECT_EQ(to_text(back), text);
  const Node* m = back.find_node("many");
  ASSERT_EQ(m->inputs().size(), constants.size());
  for (size_t i = 0; i < constants.size(); ++i) {
    EXPECT_TRUE(m->input(i).constant() == constants[i]) << "constant " << i;
  }
}

TEST(PrinterTest, ParsesNumberSpellingsItDoesNotPrint) {
  Graph g = parse_graph("graph():\n  aten::f(+5, 1E3, -1.5e-3, [1, 2.5], -nan)  # scope=f\n  return ()\n");
  const Node* n = g.find_node("f");
  EXPECT_EQ(n->input(0).constant(), Constant::integer(5));
  EXPECT_EQ(n->input(1).constant(), Constant::real(1000.0));
  EXPECT_EQ(n->input(2).constant(), Constant::real(-1.5e-3));
  EXPECT_EQ(n->input(3).constant(), Constant::double_list({1.0, 2.5}));
  EXPECT_TRUE(std::isnan(n->input(4).constant().to_double()));
}

TEST(PrinterTest, RequiredInputShapesRoundTrip) {
  const char* text =
      "graph(%x : Tensor [shape=-1,3,32,32], %y : Tensor, %training : bool [training]):\n"
      "  %1 = aten::add.Tensor(%x, %y, 1)  # scope=add_0\n"
      "  return (%1)\n";
  expect_round_trip(text);
  Graph g = parse_graph(text);
  EXPECT_EQ(g.inputs()[0]->shape(), (std::vector<int64_t>{-1, 3, 32, 32}));
  EXPECT_TRUE(g.inputs()[1]->shape().empty());
  EXPECT_EQ(g.clone().inputs()[0]->shape(), g.inputs()[0]->shape());
  EXPECT_NE(error_of([] { parse_graph("graph(%x : Tensor [shape=-1,a]):\n  return ()\n"); })
                .find("bad dimension 'a' in the shape of %x"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_graph("graph(%w : Tensor [param] [shape=3]):\n  return ()\n"); })
                .find("only tensor data inputs"),
            std::string::npos);
}

TEST(PrinterTest, InplaceHintRoundTrips) {
  const char* text =
      "graph(%x : Tensor):\n"
      "  %1 = aten::relu(%x) inplace  # scope=relu_0\n"
      "  %2 = aten::relu(%1)  # scope=relu_1\n"
      "  return (%2)\n";
  expect_round_trip(text);
  Graph g = parse_graph(text);
  EXPECT_TRUE(g.find_node("relu_0")->inplace_hint());
  EXPECT_FALSE(g.find_node("relu_1")->inplace_hint());
  EXPECT_TRUE(g.clone().find_node("relu_0")->inplace_hint());
}

TEST(PrinterTest, ModeSpecificNodesRoundTripAndVerify) {
  const char* text =
      "graph(%x : Tensor, %training : bool [training]):\n"
      "  %1 = aten::mul.Scalar(%x, 2) train_only  # scope=mul_0\n"
      "  %2 = aten::relu(%x) inplace eval_only  # scope=relu_0\n"
      "  %3 = prim::ModeSelect(%training, %1, %2)  # scope=ModeSelect_0\n"
      "  return (%3)\n";
  expect_round_trip(text);
  Graph g = parse_graph(text);
  EXPECT_EQ(g.find_node("mul_0")->runs_in(), RunsIn::Training);
  EXPECT_EQ(g.find_node("relu_0")->runs_in(), RunsIn::Eval);
  EXPECT_TRUE(g.find_node("relu_0")->inplace_hint());
  EXPECT_EQ(g.clone().find_node("relu_0")->runs_in(), RunsIn::Eval);
  EXPECT_EQ(g.find_node("ModeSelect_0")->metatype(), Metatype::ModeSelect);
  // A mode-specific value read outside its mode, or on the wrong side of a select.
  const char* header = "graph(%x : Tensor, %training : bool [training]):\n";
  EXPECT_NE(error_of([&] {
              parse_graph(std::string(header) + "  %1 = aten::neg(%x) train_only  # scope=a\n" +
                          "  %2 = aten::relu(%1)  # scope=b\n  return (%2)\n");
            }).find("which only a train_only node makes"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              parse_graph(std::string(header) + "  %1 = aten::neg(%x) train_only  # scope=a\n" +
                          "  %2 = prim::ModeSelect(%training, %x, %1)  # scope=b\n  return (%2)\n");
            }).find("which only a train_only node makes"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              parse_graph(std::string(header) + "  %1 = aten::neg(%x) eval_only  # scope=a\n  return (%1)\n");
            }).find("produced by a eval_only node"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              parse_graph(std::string(header) + "  %1 = prim::ModeSelect(%x, %x, %x)  # scope=a\n  return (%1)\n");
            }).find("takes (%training, train value, eval value)"),
            std::string::npos);
}

TEST(PrinterTest, ErrorsNameLineAndColumn) {
  auto parse = [](const char* text) { return error_of([&] { parse_graph(text); }); };
  EXPECT_NE(
      parse("graph(%x : Tensor):\n  %y = aten::relu(%x\n  return (%y)\n").find("line 3, col 3: expected ')'"),
      std::string::npos);
  EXPECT_NE(parse("graph(%x : Tensor):\n  %y = aten::relu(%z)  # scope=r\n  return (%y)\n")
                .find("line 2, col 19: undefined value %z"),
            std::string::npos);
  EXPECT_NE(parse("graph(%x : Tensor):\n  %x = aten::relu(%x)  # scope=r\n  return (%x)\n")
                .find("line 2, col 3: redefinition of %x"),
            std::string::npos);
  EXPECT_NE(parse("graph(%x : Tensor, %x : int):\n  return ()\n").find("line 1, col 20: redefinition of %x"),
            std::string::npos);
  EXPECT_NE(parse("graph():\n  %a, %a = prim::F()  # scope=f\n  return ()\n").find("redefinition of %a"),
            std::string::npos);
  EXPECT_NE(
      parse("graph():\n  aten::f(foo)  # scope=f\n  return ()\n").find("line 2, col 11: expected a value"),
      std::string::npos);
  EXPECT_NE(parse("graph():\n  aten::f(\"abc)  # scope=f\n  return ()\n").find("unterminated string"),
            std::string::npos);
  EXPECT_NE(parse("graph():\n  aten::f(99999999999999999999)  # scope=f\n  return ()\n").find("out of range"),
            std::string::npos);
  EXPECT_NE(parse("graph():\n  aten::f([1, true])  # scope=f\n  return ()\n").find("a list constant"),
            std::string::npos);
  EXPECT_NE(parse("graph():\n  aten::f([]:str)  # scope=f\n  return ()\n").find("expected 'float' or 'bool'"),
            std::string::npos);
  EXPECT_NE(parse("graph():\n  aten::f(1)  // scope=f\n  return ()\n")
                .find("line 2, col 15: expected an operator name"),
            std::string::npos);
  EXPECT_NE(parse("graph(%x : ):\n  return ()\n").find("line 1, col 12: expected a type"), std::string::npos);
  EXPECT_NE(
      parse("graph(%x : Tensor):\n  %y = aten::relu(%x)  # scope=r\n").find("expected an operator name"),
      std::string::npos);
  EXPECT_NE(parse("graph():\n  return ()\nx").find("line 3, col 1: expected end of text"), std::string::npos);
  EXPECT_NE(parse("grph():\n  return ()\n").find("line 1, col 1: expected 'graph'"), std::string::npos);
}

TEST(PrinterTest, ParseRunsTheVerifier) {
  EXPECT_NE(error_of([] {
              parse_graph(
                  "graph(%x : Tensor):\n  %a = aten::relu(%x)  # scope=s\n  %b = aten::relu(%a)  # scope=s\n"
                  "  return (%b)\n");
            }).find("scope 's' is used by an earlier node"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              parse_graph("graph(%x : Tensor):\n  %a = relu(%x)  # scope=s\n  return (%a)\n");
            }).find("not qualified"),
            std::string::npos);
}

TEST(DotTest, OneShapePerInputAndNodeOneEdgePerValueUse) {
  Graph g = parse_graph(
      "graph(%x : Tensor, %w : Tensor [param]):\n"
      "  %y = aten::linear(%x, %w, None)  # scope=say \"hi\"\\now\n"
      "  %n : int = aten::size(%y, 0)  # scope=size_0\n"
      "  %z = aten::view(%y, %n, [-1])  # scope=view_0\n"
      "  return (%z, %y)\n");
  std::string dot = to_dot(g);
  auto count = [&](const std::string& needle) {
    size_t k = 0;
    for (size_t p = dot.find(needle); p != std::string::npos; p = dot.find(needle, p + 1)) ++k;
    return k;
  };
  EXPECT_EQ(dot.rfind("digraph", 0), 0u);
  EXPECT_EQ(dot.back(), '\n');
  EXPECT_EQ(count("shape=ellipse"), 2u);
  EXPECT_EQ(count("shape=box"), 3u);
  EXPECT_EQ(count(" -> "), 7u);           // x, w -> linear; y -> size; y, n -> view; z, y -> return
  EXPECT_EQ(count("[label=\"n\"]"), 1u);  // only the non-tensor value is labelled
  EXPECT_NE(dot.find("label=\"aten::linear\\nsay \\\"hi\\\"\\\\now\""), std::string::npos);
  // Every quote outside an escape opens or closes a string: a count per line that is even.
  std::istringstream lines(dot);
  for (std::string line; std::getline(lines, line);) {
    size_t quotes = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '\\') {
        ++i;
      } else if (line[i] == '"') {
        ++quotes;
      }
    }
    EXPECT_EQ(quotes % 2, 0u) << line;
  }
}

}  // namespace
}  // namespace nncf::ir
