#include "nncf/ir/graph.h"

#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "nncf/ir/printer.h"

namespace nncf::ir {
namespace {

// x -> relu -> add(relu, x) -> output
struct Small {
  Graph g;
  Value* x;
  Node* relu;
  Node* add;
  Small() {
    x = g.add_input("x", "Tensor", InputRole::Data);
    relu = g.create_node("aten::relu", {x}, {"Tensor"}, "relu_0");
    add = g.create_node("aten::add.Tensor", {relu->output(), x, Constant::integer(1)}, {"Tensor"}, "add_0");
    g.add_output(add->output());
  }
};

TEST(GraphTest, SplitOverload) {
  EXPECT_EQ(split_overload("aten::add.Tensor"),
            std::make_pair(std::string("aten::add"), std::string("Tensor")));
  EXPECT_EQ(split_overload("aten::conv2d"), std::make_pair(std::string("aten::conv2d"), std::string()));
  EXPECT_EQ(split_overload("aten::size.int"), std::make_pair(std::string("aten::size"), std::string("int")));
  EXPECT_EQ(split_overload("aten::a.b.c"), std::make_pair(std::string("aten::a"), std::string("b.c")));
}

TEST(GraphTest, NodeFields) {
  Small s;
  EXPECT_EQ(s.add->op(), "aten::add");
  EXPECT_EQ(s.add->overload(), "Tensor");
  EXPECT_EQ(s.add->qualified_op(), "aten::add.Tensor");
  EXPECT_EQ(s.relu->qualified_op(), "aten::relu");
  EXPECT_EQ(s.add->metatype(), Metatype::Add);
  EXPECT_EQ(s.relu->metatype(), Metatype::ReLU);
  EXPECT_EQ(s.relu->position(), 0u);
  EXPECT_EQ(s.add->position(), 1u);
  EXPECT_EQ(s.add->graph(), &s.g);
  EXPECT_EQ(s.add->output()->producer(), s.add);
  EXPECT_FALSE(s.add->output()->is_graph_input());
  EXPECT_TRUE(s.x->is_graph_input());
  EXPECT_EQ(s.g.find_node("add_0"), s.add);
  EXPECT_EQ(s.g.find_node("nope"), nullptr);
  EXPECT_EQ(s.g.find_value("x"), s.x);
  EXPECT_EQ(s.g.find_input("x"), s.x);
  EXPECT_EQ(s.g.find_input("1"), nullptr);
  EXPECT_EQ(s.g.training_input(), nullptr);
  Value* t = s.g.add_input("training", "bool", InputRole::Training);
  EXPECT_EQ(s.g.training_input(), t);
  EXPECT_EQ(t->index(), 1u);
}

TEST(GraphTest, FreshNamesSkipTakenNames) {
  Graph g;
  Value* x = g.add_input("2", "Tensor", InputRole::Data);
  Node* a = g.create_node("aten::relu", {x}, {"Tensor"}, "a");
  Node* b = g.create_node("aten::relu", {a->output()}, {"Tensor"}, "b");
  Node* c = g.create_node("prim::ListUnpack", {b->output()}, {"Tensor", "Tensor"}, "c", nullptr, {"p", "q"});
  EXPECT_EQ(a->output()->name(), "1");
  EXPECT_EQ(b->output()->name(), "3");
  EXPECT_EQ(c->output(0)->name(), "p");
  EXPECT_EQ(c->output(1)->name(), "q");
  EXPECT_EQ(c->output(1)->index(), 1u);
  EXPECT_THROW(g.create_node("aten::relu", {x}, {"Tensor"}, "d", nullptr, {"a", "b"}), c10::Error);
}

TEST(GraphTest, UniqueName) {
  Small s;
  EXPECT_EQ(s.g.unique_name("y"), "y");
  EXPECT_EQ(s.g.unique_name("x"), "x.1");
  s.g.add_input("x.1", "Tensor", InputRole::Data);
  EXPECT_EQ(s.g.unique_name("x"), "x.2");
  EXPECT_EQ(s.g.unique_name(""), "3");  // "1" and "2" are the node outputs
}

TEST(GraphTest, CreateNodeBefore) {
  Small s;
  Node* n = s.g.create_node("aten::sigmoid", {s.x}, {"Tensor"}, "sig", s.add);
  EXPECT_EQ(n->position(), 1u);
  EXPECT_EQ(s.add->position(), 2u);
}

TEST(GraphTest, UsesFollowSetAddRemoveInput) {
  Small s;
  Value* r = s.relu->output();
  ASSERT_EQ(s.x->uses().size(), 2u);
  ASSERT_EQ(r->uses().size(), 1u);
  EXPECT_EQ(r->uses()[0].user, s.add);
  EXPECT_EQ(r->uses()[0].index, 0u);

  s.add->set_input(0, s.x);  // add(x, x, 1)
  EXPECT_TRUE(r->uses().empty());
  EXPECT_EQ(s.x->uses().size(), 3u);
  s.add->set_input(2, r);  // add(x, x, r)
  EXPECT_EQ(r->uses().size(), 1u);
  EXPECT_EQ(r->uses()[0].index, 2u);

  s.add->remove_input(0);  // add(x, r): r moves to index 1
  ASSERT_EQ(r->uses().size(), 1u);
  EXPECT_EQ(r->uses()[0].index, 1u);
  EXPECT_EQ(s.add->input(1).value(), r);
  EXPECT_EQ(s.x->uses().size(), 2u);

  s.add->add_input(r);
  EXPECT_EQ(r->uses().size(), 2u);
  EXPECT_EQ(r->uses()[1].index, 2u);
  s.add->set_input(2, Constant::integer(1));
  EXPECT_EQ(r->uses().size(), 1u);
  EXPECT_NO_THROW(verify(s.g));
  EXPECT_THROW(s.add->set_input(7, s.x), c10::Error);
  EXPECT_THROW(s.add->remove_input(7), c10::Error);
}

TEST(GraphTest, ReplaceAllUsesWithUpdatesArgumentsAndOutputs) {
  Small s;
  Node* sig = s.g.create_node("aten::sigmoid", {s.x}, {"Tensor"}, "sig", s.relu);
  Value* r = s.relu->output();
  s.g.add_output(r);
  r->replace_all_uses_with(sig->output());
  EXPECT_TRUE(r->uses().empty());
  EXPECT_EQ(s.add->input(0).value(), sig->output());
  EXPECT_EQ(s.g.outputs()[1], sig->output());
  EXPECT_EQ(s.g.outputs()[0], s.add->output());
  ASSERT_EQ(sig->output()->uses().size(), 1u);
  EXPECT_EQ(sig->output()->uses()[0].user, s.add);
  s.g.erase_node(s.relu);
  EXPECT_NO_THROW(verify(s.g));
}

TEST(GraphTest, EraseNodeRefusesUsedOrOutputValues) {
  Small s;
  EXPECT_THROW(s.g.erase_node(s.relu), c10::Error);  // used by add
  EXPECT_THROW(s.g.erase_node(s.add), c10::Error);   // a graph output
  s.g.set_output(0, s.x);
  std::string name = s.add->output()->name();
  s.g.erase_node(s.add);
  EXPECT_TRUE(s.relu->output()->uses().empty());
  EXPECT_EQ(s.x->uses().size(), 1u);
  EXPECT_EQ(s.g.find_value(name), nullptr);
  s.g.erase_node(s.relu);
  EXPECT_EQ(s.g.num_nodes(), 0u);
  EXPECT_TRUE(s.x->uses().empty());
  EXPECT_NO_THROW(verify(s.g));
}

TEST(GraphTest, MoveBefore) {
  Small s;
  Node* sig = s.g.create_node("aten::sigmoid", {s.x}, {"Tensor"}, "sig");
  s.g.move_before(sig, s.relu);
  EXPECT_EQ(sig->position(), 0u);
  EXPECT_EQ(s.relu->position(), 1u);
  EXPECT_EQ(*s.g.nodes().begin(), sig);
}

TEST(GraphTest, CloneIsDeepAndIndependent) {
  Small s;
  s.g.add_input("fc.weight", "Tensor", InputRole::Parameter);
  Graph c = s.g.clone();
  EXPECT_EQ(to_text(c), to_text(s.g));
  EXPECT_NO_THROW(verify(c));
  ASSERT_EQ(c.inputs().size(), 2u);
  EXPECT_NE(c.inputs()[0], s.x);
  EXPECT_EQ(c.inputs()[1]->role(), InputRole::Parameter);
  EXPECT_NE(c.outputs()[0], s.add->output());
  Node* cadd = c.find_node("add_0");
  ASSERT_NE(cadd, nullptr);
  EXPECT_EQ(cadd->graph(), &c);
  EXPECT_EQ(cadd->input(0).value()->producer(), c.find_node("relu_0"));

  // Mutating the clone leaves the original alone, and the other way round.
  std::string original = to_text(s.g);
  c.find_node("relu_0")->set_scope("changed");
  c.set_output(0, c.inputs()[0]);
  c.erase_node(cadd);
  EXPECT_EQ(to_text(s.g), original);
  EXPECT_EQ(s.x->uses().size(), 2u);
  s.g.create_node("aten::relu", {s.x}, {"Tensor"}, "extra");
  EXPECT_EQ(c.num_nodes(), 1u);
  EXPECT_EQ(c.inputs()[0]->uses().size(), 1u);
  // Fresh names continue after the original's.
  Graph c2 = s.g.clone();
  EXPECT_EQ(c2.create_node("aten::relu", {c2.inputs()[0]}, {"Tensor"}, "more")->output()->name(), "4");
}

TEST(GraphTest, MoveRepointsNodesAndValues) {
  Small s;
  Graph moved(std::move(s.g));
  EXPECT_EQ(s.relu->graph(), &moved);
  EXPECT_EQ(moved.num_nodes(), 2u);
  // replace_all_uses_with must reach the outputs of the graph the value lives in now.
  Node* sig = moved.create_node("aten::sigmoid", {s.x}, {"Tensor"}, "sig");
  s.add->output()->replace_all_uses_with(sig->output());
  EXPECT_EQ(moved.outputs()[0], sig->output());
  EXPECT_EQ(sig->position(), 2u);  // node iterators still point into the moved list

  Graph assigned;
  assigned.add_input("old", "Tensor", InputRole::Data);
  assigned = std::move(moved);
  EXPECT_EQ(s.add->graph(), &assigned);
  EXPECT_EQ(assigned.find_value("old"), nullptr);
  sig->output()->replace_all_uses_with(s.relu->output());
  EXPECT_EQ(assigned.outputs()[0], s.relu->output());
  assigned.erase_node(sig);
  assigned.erase_node(s.add);
  EXPECT_EQ(s.relu->position(), 0u);
  EXPECT_NO_THROW(verify(assigned));
  EXPECT_EQ(assigned.create_node("aten::relu", {s.x}, {"Tensor"}, "r2")->output()->name(), "4");
}

TEST(ConstantTest, KindsAndAccessors) {
  EXPECT_TRUE(Constant().is_none());
  EXPECT_EQ(Constant::integer(-3).to_int(), -3);
  EXPECT_EQ(Constant::boolean(true).kind(), Constant::Kind::Bool);
  EXPECT_EQ(Constant::device("cpu").to_string(), "cpu");
  EXPECT_EQ(Constant::string("s").kind(), Constant::Kind::String);
  EXPECT_EQ(Constant::int_list({1, 2}).to_int_list(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(Constant::bool_list({true}).to_bool_list(), (std::vector<bool>{true}));
  EXPECT_THROW(Constant::integer(1).to_double(), c10::Error);
  EXPECT_THROW(Constant::real(1).to_int(), c10::Error);
  EXPECT_THROW(Constant().to_string(), c10::Error);
  EXPECT_THROW(Constant::int_list({}).to_double_list(), c10::Error);
}

TEST(ConstantTest, EqualityIsExact) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(Constant::real(nan), Constant::real(nan));
  EXPECT_NE(Constant::real(0.0), Constant::real(-0.0));
  EXPECT_NE(Constant::double_list({0.0}), Constant::double_list({-0.0}));
  EXPECT_EQ(Constant::double_list({nan, 1.5}), Constant::double_list({nan, 1.5}));
  EXPECT_NE(Constant::integer(1), Constant::real(1.0));
  EXPECT_NE(Constant::string("cpu"), Constant::device("cpu"));
  EXPECT_NE(Constant::int_list({}), Constant::double_list({}));
  EXPECT_EQ(Constant(), Constant::none());
}

TEST(MetatypeTest, Table) {
  EXPECT_EQ(metatype_of("aten::conv2d"), Metatype::Conv);
  EXPECT_EQ(metatype_of("aten::_convolution"), Metatype::Conv);
  EXPECT_EQ(metatype_of("aten::conv_transpose3d"), Metatype::ConvTranspose);
  EXPECT_EQ(metatype_of("aten::addmm"), Metatype::MatMul);
  EXPECT_EQ(metatype_of("aten::relu_"), Metatype::ReLU);
  EXPECT_EQ(metatype_of("aten::hardtanh_"), Metatype::ReLU6);
  EXPECT_EQ(metatype_of("aten::selu"), Metatype::ELU);
  EXPECT_EQ(metatype_of("aten::log_softmax"), Metatype::Softmax);
  EXPECT_EQ(metatype_of("aten::add_"), Metatype::Add);
  EXPECT_EQ(metatype_of("aten::rsub"), Metatype::Sub);
  EXPECT_EQ(metatype_of("aten::max_pool2d_with_indices"), Metatype::MaxPool);
  EXPECT_EQ(metatype_of("aten::avg_pool3d"), Metatype::AvgPool);
  EXPECT_EQ(metatype_of("aten::adaptive_avg_pool2d"), Metatype::AdaptiveAvgPool);
  EXPECT_EQ(metatype_of("aten::adaptive_max_pool1d"), Metatype::AdaptiveMaxPool);
  EXPECT_EQ(metatype_of("aten::stack"), Metatype::Cat);
  EXPECT_EQ(metatype_of("aten::t"), Metatype::Reshape);
  EXPECT_EQ(metatype_of("aten::unsqueeze_"), Metatype::Reshape);
  EXPECT_EQ(metatype_of("aten::split_with_sizes"), Metatype::Split);
  EXPECT_EQ(metatype_of("aten::index_select"), Metatype::Slice);
  EXPECT_EQ(metatype_of("aten::reflection_pad2d"), Metatype::Pad);
  EXPECT_EQ(metatype_of("aten::upsample_bilinear2d"), Metatype::Interpolate);
  EXPECT_EQ(metatype_of("aten::feature_alpha_dropout"), Metatype::Dropout);
  EXPECT_EQ(metatype_of("aten::ScalarImplicit"), Metatype::Size);
  EXPECT_EQ(metatype_of("prim::TupleConstruct"), Metatype::Construct);
  EXPECT_EQ(metatype_of("prim::TupleIndex"), Metatype::Unpack);
  EXPECT_EQ(metatype_of("nncf::fake_quantize"), Metatype::Compression);
  EXPECT_EQ(metatype_of("aten::__and__"), Metatype::Unknown);
  EXPECT_EQ(metatype_of("relu"), Metatype::Unknown);
  EXPECT_EQ(metatype_of("custom::conv2d"), Metatype::Unknown);
}

TEST(MetatypeTest, NamesAndWeights) {
  EXPECT_STREQ(to_string(Metatype::Conv), "conv");
  EXPECT_STREQ(to_string(Metatype::ConvTranspose), "conv_transpose");
  EXPECT_STREQ(to_string(Metatype::BatchNorm), "batch_norm");
  EXPECT_STREQ(to_string(Metatype::AdaptiveAvgPool), "adaptive_avg_pool");
  EXPECT_STREQ(to_string(Metatype::Unknown), "unknown");
  EXPECT_TRUE(has_weights(Metatype::Conv));
  EXPECT_TRUE(has_weights(Metatype::Embedding));
  EXPECT_TRUE(has_weights(Metatype::MatMul));
  EXPECT_FALSE(has_weights(Metatype::BatchNorm));
  EXPECT_FALSE(has_weights(Metatype::ReLU));
  EXPECT_STREQ(to_string(InputRole::Parameter), "param");
}

}  // namespace
}  // namespace nncf::ir
