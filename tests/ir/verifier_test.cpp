#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include "nncf/ir/printer.h"

namespace nncf::ir {
namespace {

// verify(g) must throw a c10::Error whose message contains `needle`.
void expect_invalid(const Graph& g, const std::string& needle) {
  try {
    verify(g);
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace()).find(needle), std::string::npos)
        << "message: " << e.what_without_backtrace();
    return;
  }
  ADD_FAILURE() << "verify accepted a graph that breaks: " << needle << "\n" << to_text(g);
}

// x -> relu -> sigmoid -> output, valid.
struct Chain {
  Graph g;
  Value* x;
  Node* relu;
  Node* sig;
  Chain() {
    x = g.add_input("x", "Tensor", InputRole::Data);
    relu = g.create_node("aten::relu", {x}, {"Tensor"}, "relu_0");
    sig = g.create_node("aten::sigmoid", {relu->output()}, {"Tensor"}, "sigmoid_0");
    g.add_output(sig->output());
  }
};

TEST(VerifierTest, AcceptsAValidGraph) {
  Chain c;
  c.g.add_input("training", "bool", InputRole::Training);
  c.g.add_input("fc.weight", "Tensor", InputRole::Parameter);
  c.g.add_input("bn.running_mean", "Tensor", InputRole::Buffer);
  c.g.create_node("aten::size.int", {c.x, Constant::integer(0)}, {"int"}, "size_0");
  EXPECT_NO_THROW(verify(c.g));
}

TEST(VerifierTest, UseBeforeDefinition) {
  Chain c;
  c.g.move_before(c.sig, c.relu);
  expect_invalid(c.g,
                 "node 0 aten::sigmoid (scope 'sigmoid_0'): argument 0 %1 is not a graph input or an output "
                 "of an earlier node");
}

TEST(VerifierTest, ArgumentFromAnotherGraph) {
  Chain a, b;
  a.g.create_node("aten::relu", {b.x}, {"Tensor"}, "foreign");
  expect_invalid(a.g, "(scope 'foreign'): argument 0 %x is not a graph input");
}

TEST(VerifierTest, UseListsMustMatchArguments) {
  Chain a, b;
  // A node of `a` that reads a value of `b` leaves `b` with a use no argument of `b` accounts for.
  a.g.create_node("aten::relu", {b.relu->output()}, {"Tensor"}, "foreign");
  expect_invalid(b.g, "use list of value %1 does not match");
}

TEST(VerifierTest, ValueNamesNonEmptyAndUnique) {
  {
    Chain c;
    c.g.add_input("", "Tensor", InputRole::Data);
    expect_invalid(c.g, "empty name");
  }
  {
    Chain c;
    c.g.create_node("aten::relu", {c.x}, {"Tensor"}, "again", nullptr, {"1"});
    expect_invalid(c.g, "value name %1 is defined twice");
  }
  {
    Chain c;
    c.g.add_input("x", "int", InputRole::Data);
    expect_invalid(c.g, "value name %x is defined twice");
  }
}

TEST(VerifierTest, TypesNonEmpty) {
  Chain c;
  c.g.create_node("aten::relu", {c.x}, {""}, "untyped");
  expect_invalid(c.g, "value %3 has an empty type");
}

TEST(VerifierTest, ScopesNonEmptyAndUnique) {
  {
    Chain c;
    c.sig->set_scope("");
    expect_invalid(c.g, "node 1 aten::sigmoid (scope ''): empty scope");
  }
  {
    Chain c;
    c.sig->set_scope("relu_0");
    expect_invalid(c.g, "node 1 aten::sigmoid (scope 'relu_0'): scope 'relu_0' is used by an earlier node");
  }
}

TEST(VerifierTest, OperatorNamesQualified) {
  for (const char* op : {"relu", "::relu", "aten::", "aten::re lu", "aten::relu.a-b", "a:b::c"}) {
    Chain c;
    c.g.create_node(op, {c.x}, {"Tensor"}, "bad");
    expect_invalid(c.g, "operator name is not qualified");
  }
}

TEST(VerifierTest, AtMostOneTrainingInputOfTypeBool) {
  {
    Chain c;
    c.g.add_input("training", "int", InputRole::Training);
    expect_invalid(c.g, "training input %training must be bool, got int");
  }
  {
    Chain c;
    c.g.add_input("training", "bool", InputRole::Training);
    c.g.add_input("training2", "bool", InputRole::Training);
    expect_invalid(c.g, "more than one training input (second: %training2)");
  }
}

TEST(VerifierTest, ParametersAndBuffersAreTensors) {
  {
    Chain c;
    c.g.add_input("fc.weight", "int[]", InputRole::Parameter);
    expect_invalid(c.g, "param input %fc.weight must be a Tensor, got int[]");
  }
  {
    Chain c;
    c.g.add_input("bn.num_batches_tracked", "int", InputRole::Buffer);
    expect_invalid(c.g, "buffer input %bn.num_batches_tracked must be a Tensor");
  }
}

TEST(VerifierTest, OutputsBelongToTheGraph) {
  Chain a, b;
  a.g.add_output(b.relu->output());
  expect_invalid(a.g, "graph output 1 %1 is not a value of this graph");
}

}  // namespace
}  // namespace nncf::ir
