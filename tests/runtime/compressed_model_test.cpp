#include "nncf/runtime/compressed_model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <optional>
#include <sstream>

#include "nncf/capture/capture.h"
#include "nncf/ir/printer.h"
#include "reference_net.h"
#include "support/errors.h"

namespace nncf::runtime {
namespace {

using namespace testnet;  // NOLINT(google-build-using-namespace): the shared reference net
using ::testing::HasSubstr;
TEST(CompressedModel, TrainForwardBackwardAndStatsMatchEager) {
  torch::manual_seed(0);
  RefNet ref;
  CompressedModel model = make_net(ref);
  torch::Tensor x = torch::randn({2, 3, 5, 5});
  torch::Tensor w = torch::randn({2, 100});
  torch::Tensor mean_before = ref->bn1->running_mean.clone();

  torch::Tensor y_ref = ref->forward(x);
  torch::Tensor y = model->forward(x);
  expect_same(y, y_ref, "output");
  (y_ref * w).sum().backward();
  (y * w).sum().backward();
  for (const auto& p : ref->named_parameters()) {
    expect_same(model->tensor(p.key()).grad(), p.value().grad(), "grad of " + p.key());
  }
  EXPECT_FALSE(torch::equal(ref->bn1->running_mean, mean_before));
  expect_same(model->tensor("bn1.running_mean"), ref->bn1->running_mean, "running_mean");
  expect_same(model->tensor("bn1.running_var"), ref->bn1->running_var, "running_var");
}

TEST(CompressedModel, EvalModeUsesAndKeepsRunningStats) {
  torch::manual_seed(1);
  RefNet ref;
  ref->forward(torch::randn({4, 3, 5, 5}));  // move the running stats away from 0/1
  CompressedModel model = make_net(ref);
  ref->eval();
  model->eval();
  torch::Tensor x = torch::randn({3, 3, 5, 5});
  torch::Tensor mean = model->tensor("bn1.running_mean").clone();
  torch::Tensor var = model->tensor("bn1.running_var").clone();
  expect_same(model->forward(x), ref->forward(x), "eval output");
  expect_same(model->tensor("bn1.running_mean"), mean, "running_mean after eval");
  expect_same(model->tensor("bn1.running_var"), var, "running_var after eval");
  // Back in train mode the flag flips again and the stats move.
  model->train();
  model->forward(x);
  EXPECT_FALSE(torch::equal(model->tensor("bn1.running_mean"), mean));
}

TEST(CompressedModel, KeepsDottedNamesAndSharesTensors) {
  RefNet ref;
  auto state = cloned_state(*ref);
  CompressedModel model(ir::parse_graph(kNet), state);
  std::vector<std::string> names, ref_names, buffers, ref_buffers;
  for (const auto& p : model->named_parameters()) names.push_back(p.key());
  for (const auto& p : ref->named_parameters()) ref_names.push_back(p.key());
  for (const auto& b : model->named_buffers()) buffers.push_back(b.key());
  for (const auto& b : ref->named_buffers()) ref_buffers.push_back(b.key());
  EXPECT_EQ(names, ref_names);
  EXPECT_EQ(buffers, ref_buffers);
  for (const auto& p : model->named_parameters()) {
    EXPECT_EQ(p.value().unsafeGetTensorImpl(), state.at(p.key()).unsafeGetTensorImpl()) << p.key();
  }
  EXPECT_EQ(model->named_buffers()["bn1.running_var"].unsafeGetTensorImpl(),
            state.at("bn1.running_var").unsafeGetTensorImpl());
  EXPECT_FALSE(model->tensor("no.such").defined());
  std::ostringstream s;
  model->pretty_print(s);
  EXPECT_EQ(s.str(), "nncf::CompressedModel(nodes=7, params=4, buffers=3, hooks=0)");
}

TEST(CompressedModel, LoadsAUserCheckpointAndSavesOneTheUserLoads) {
  torch::manual_seed(2);
  RefNet ref;
  ref->forward(torch::randn({4, 3, 5, 5}));  // non-trivial running stats and num_batches_tracked
  std::stringstream user_ckpt;
  torch::save(ref, user_ckpt);

  RefNet other;  // different random weights
  CompressedModel model = make_net(other);
  model->insert(InsertionPoint::post_op("relu"), torch::nn::AnyModule(LearnedScale()), "fq");
  torch::load(model, user_ckpt);  // no nncf_hooks in a user checkpoint: the hooks keep their state
  for (const auto& p : ref->named_parameters()) expect_same(model->tensor(p.key()), p.value(), p.key());
  for (const auto& b : ref->named_buffers()) expect_same(model->tensor(b.key()), b.value(), b.key());

  // And back: the compressed model's checkpoint loads into the user's model, and into another
  // compressed model with the same inserted module.
  model->named_parameters()["conv1.weight"].data().fill_(0.5);
  model->named_parameters()["nncf_hooks.fq.scale"].data().fill_(3.0);
  std::stringstream ckpt;
  torch::save(model, ckpt);
  RefNet back;
  torch::load(back, ckpt);
  EXPECT_TRUE(torch::equal(back->conv1->weight, torch::full_like(back->conv1->weight, 0.5)));
  ckpt.seekg(0);
  CompressedModel model2 = make_net(other);
  model2->insert(InsertionPoint::post_op("relu"), torch::nn::AnyModule(LearnedScale()), "fq");
  torch::load(model2, ckpt);
  EXPECT_EQ(model2->named_parameters()["nncf_hooks.fq.scale"].item<double>(), 3.0);
}

// Eager version of kNet with optional changes at the points the hook tests use.
using Edit = std::function<torch::Tensor(torch::Tensor)>;
torch::Tensor eager_net(CompressedModel& m, const torch::Tensor& x, const Edit& on_conv,
                        const Edit& on_bn_input) {
  torch::NoGradGuard no_grad;
  torch::Tensor c = on_conv(torch::conv2d(x, m->tensor("conv1.weight"), m->tensor("conv1.bias"), 1, 1));
  torch::Tensor b =
      torch::batch_norm(on_bn_input(c), m->tensor("bn1.weight"), m->tensor("bn1.bias"),
                        m->tensor("bn1.running_mean"), m->tensor("bn1.running_var"), false, 0.1, 1e-5, true);
  return (torch::relu(b) + c).view({x.size(0), -1});
}

auto identity = [](torch::Tensor t) { return t; };
auto twice = [](torch::Tensor t) { return t * 2; };

TEST(CompressedModel, PostOpHookIsSeenByEveryConsumer) {
  RefNet ref;
  CompressedModel model = make_net(ref);
  model->eval();
  model->insert(InsertionPoint::post_op("conv1"), torch::nn::AnyModule(Scale(2.0)), "x2");
  torch::Tensor x = torch::randn({2, 3, 5, 5});
  torch::NoGradGuard no_grad;
  expect_same(model->forward(x), eager_net(model, x, twice, identity), "post-op on conv1");
  // A post-op on the last node changes the graph output.
  model->insert(InsertionPoint::post_op("view"), torch::nn::AnyModule(AddOne()), "plus1");
  expect_same(model->forward(x), eager_net(model, x, twice, identity) + 1, "post-op on the output");
}

TEST(CompressedModel, PreOpHookIsSeenByOneArgumentOnly) {
  RefNet ref;
  CompressedModel model = make_net(ref);
  model->eval();
  model->insert(InsertionPoint::pre_op("bn1", 0), torch::nn::AnyModule(Scale(2.0)), "x2");
  torch::Tensor x = torch::randn({2, 3, 5, 5});
  torch::NoGradGuard no_grad;
  // The add, which runs later, reads the same conv output unchanged.
  expect_same(model->forward(x), eager_net(model, x, identity, twice), "pre-op on batch_norm's input");
}

TEST(CompressedModel, WeightHookRunsOncePerForwardForEveryUse) {
  torch::Tensor w = torch::randn({4});
  CompressedModel model(ir::parse_graph(kSharedWeight), Tensors{{"w", w}});
  Scale scale(2.0);
  model->insert(InsertionPoint::weight("w"), torch::nn::AnyModule(scale), "x2");
  torch::Tensor x = torch::randn({4});
  expect_same(model->forward(x), x * (w * 2) + w * 2, "weight hook");
  EXPECT_EQ(scale->calls, 1);
  model->forward(x);
  EXPECT_EQ(scale->calls, 2);
  model->remove("x2");
  expect_same(model->forward(x), x * w + w, "after remove");
  EXPECT_EQ(scale->calls, 2);
  EXPECT_TRUE(model->hooks().empty());
}

TEST(CompressedModel, HooksOnOnePointRunByPriorityThenInsertionOrder) {
  torch::Tensor w = torch::randn({4});
  torch::Tensor x = torch::randn({4});
  {
    CompressedModel model(ir::parse_graph(kSharedWeight), Tensors{{"w", w}});
    model->insert(InsertionPoint::post_op("add"), torch::nn::AnyModule(Scale(2.0)), "x2", /*priority=*/1);
    model->insert(InsertionPoint::post_op("add"), torch::nn::AnyModule(AddOne()), "plus1", /*priority=*/0);
    expect_same(model->forward(x), (x * w + w + 1) * 2, "priority 0 first");
  }
  CompressedModel model(ir::parse_graph(kSharedWeight), Tensors{{"w", w}});
  model->insert(InsertionPoint::post_op("add"), torch::nn::AnyModule(Scale(2.0)), "x2");
  model->insert(InsertionPoint::post_op("add"), torch::nn::AnyModule(AddOne()), "plus1");
  expect_same(model->forward(x), (x * w + w) * 2 + 1, "ties in insertion order");
}

TEST(CompressedModel, InsertedModulesAreSubmodulesThatTrain) {
  torch::Tensor w = torch::randn({4}, torch::requires_grad());
  CompressedModel model(ir::parse_graph(kSharedWeight), Tensors{{"w", w}});
  LearnedScale fq;
  model->insert(InsertionPoint::weight("w"), torch::nn::AnyModule(fq), "fq");
  auto params = model->named_parameters();
  ASSERT_NE(params.find("nncf_hooks.fq.scale"), nullptr);
  torch::Tensor x = torch::randn({4});
  model->forward(x).sum().backward();
  // d/ds sum(x*s*w + s*w) = sum(x*w + w)
  ASSERT_TRUE(fq->scale.grad().defined());
  EXPECT_TRUE(torch::allclose(fq->scale.grad(), (x * w + w).sum().detach())) << fq->scale.grad();
  model->eval();
  EXPECT_FALSE(fq->is_training());
  model->remove("fq");
  EXPECT_EQ(model->named_parameters().find("nncf_hooks.fq.scale"), nullptr);
}

// Records a weak reference to what it sees.
struct WatchImpl : torch::nn::Module {
  torch::Tensor forward(const torch::Tensor& x) {
    seen.emplace(x.getIntrusivePtr());
    return x;
  }
  std::optional<c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl>> seen;
};
TORCH_MODULE(Watch);

// Records whether the watched tensor is gone by the time it runs.
struct ProbeImpl : torch::nn::Module {
  explicit ProbeImpl(Watch w) : watch(std::move(w)) {}
  torch::Tensor forward(const torch::Tensor& x) {
    expired = watch->seen && watch->seen->expired();
    return x;
  }
  Watch watch;
  bool expired = false;
};
TORCH_MODULE(Probe);

TEST(CompressedModel, FreesValuesAfterTheirLastUse) {
  CompressedModel model(ir::parse_graph(R"IR(
graph(%x : Tensor):
  %a = aten::relu(%x)  # scope=a
  %b = aten::neg(%a)  # scope=b
  %c = aten::sigmoid(%b)  # scope=c
  %d = aten::tanh(%c)  # scope=d
  return (%d)
)IR"),
                        Tensors{});
  Watch watch_a, watch_d;
  Probe probe(watch_a);
  model->insert(InsertionPoint::post_op("a"), torch::nn::AnyModule(watch_a), "watch_a");
  model->insert(InsertionPoint::pre_op("c", 0), torch::nn::AnyModule(probe), "probe");
  model->insert(InsertionPoint::post_op("d"), torch::nn::AnyModule(watch_d), "watch_d");
  torch::Tensor x = torch::randn({8});  // no autograd: nothing else holds %a
  torch::Tensor out = model->forward(x);
  EXPECT_TRUE(probe->expired) << "%a was still alive when %c ran";
  ASSERT_TRUE(watch_d->seen.has_value());
  EXPECT_FALSE(watch_d->seen->expired()) << "the graph output must survive";
  EXPECT_EQ(out.unsafeGetTensorImpl(), watch_d->seen->lock().get());
}

TEST(CompressedModel, RunsHintedOpsInPlaceUnlessAModuleProducedTheArgument) {
  const char* text = R"IR(
graph(%x : Tensor):
  %a = aten::neg(%x)  # scope=a
  %b = aten::relu(%a) inplace  # scope=b
  %c = aten::relu(%a)  # scope=c
  return (%b, %c)
)IR";
  // %a is still read by %c when %b runs: not in place.
  torch::Tensor x = torch::randn({64});
  auto outs = CompressedModel(ir::parse_graph(text), Tensors{})
                  ->forward(std::vector<c10::IValue>{x})
                  .toTupleRef()
                  .elements();
  EXPECT_EQ(outs[0].toTensor()._version(), 0);

  const char* last_use = R"IR(
graph(%x : Tensor):
  %a = aten::neg(%x)  # scope=a
  %b = aten::relu(%a) inplace  # scope=b
  return (%b)
)IR";
  // An in-place op bumps the version counter of what it returns.
  torch::Tensor y = CompressedModel(ir::parse_graph(last_use), Tensors{})->forward(x);
  EXPECT_EQ(y._version(), 1);
  EXPECT_TRUE(torch::equal(y, torch::relu(-x)));

  // A module on %a: its result must stay as it returned it.
  CompressedModel hooked(ir::parse_graph(last_use), Tensors{});
  Keep keep;
  hooked->insert(InsertionPoint::post_op("a"), torch::nn::AnyModule(keep), "keep");
  torch::Tensor z = hooked->forward(x);
  EXPECT_EQ(z._version(), 0);
  EXPECT_TRUE(torch::equal(keep->kept, -x)) << "the op ran in place on the module's result";
  EXPECT_TRUE(torch::equal(z, torch::relu(-x)));
}

TEST(CompressedModel, RunsListsTuplesJitOnlyOpsAndSchemaDefaults) {
  CompressedModel model(ir::parse_graph(R"IR(
graph(%x : Tensor, %training : bool [training], %idx : Tensor [buffer]):
  %parts : Tensor[] = aten::chunk(%x, 2, 0)  # scope=chunk
  %p0 : Tensor, %p1 : Tensor = prim::ListUnpack(%parts)  # scope=unpack
  %list : Tensor[] = prim::ListConstruct(%p1, %p0)  # scope=list
  %swapped = aten::cat(%list, 0)  # scope=cat
  %t : int = aten::Int.bool(%training)  # scope=as_int
  %tt = prim::NumToTensor.Scalar(%t)  # scope=num_to_tensor
  %sum = aten::add.Tensor(%swapped, %tt)  # scope=add_default_alpha
  %dropped = aten::dropout(%sum, 0, false)  # scope=dropout_int_p
  %tup : (Tensor, Tensor) = prim::TupleConstruct(%dropped, %x)  # scope=tuple
  %first = prim::TupleIndex(%tup, 0)  # scope=index
  %u0 : Tensor, %u1 : Tensor = prim::TupleUnpack(%tup)  # scope=tunpack
  %ilist : Tensor?[] = prim::ListConstruct(None, %idx)  # scope=ilist
  %picked = aten::index.Tensor(%u1, %ilist)  # scope=index_tensor
  return (%first, %u0, %picked)
)IR"),
                        Tensors{{"idx", torch::tensor({1, 0})}});
  torch::Tensor x = torch::arange(8, torch::kFloat).view({4, 2});
  torch::Tensor expected = torch::cat({x.slice(0, 2), x.slice(0, 0, 2)}) + 1;  // training: +1
  c10::IValue out = model->forward(std::vector<c10::IValue>{x});
  ASSERT_TRUE(out.isTuple());
  const auto& elements = out.toTupleRef().elements();
  ASSERT_EQ(elements.size(), 3u);
  expect_same(elements[0].toTensor(), expected, "TupleIndex");
  expect_same(elements[1].toTensor(), expected, "TupleUnpack");
  expect_same(elements[2].toTensor(), x.index_select(1, torch::tensor({1, 0})), "index with Tensor?[]");
  model->eval();
  out = model->forward(std::vector<c10::IValue>{x});
  expect_same(out.toTupleRef().elements()[0].toTensor(), expected - 1, "eval: +0");
}

using testing::error_of;

TEST(CompressedModel, ConstructionErrorsNameTheCulprits) {
  RefNet ref;
  auto state = cloned_state(*ref);
  auto missing = state;
  missing.erase("conv1.bias");
  missing.erase("bn1.running_var");
  std::string e = error_of([&] { CompressedModel(ir::parse_graph(kNet), missing); });
  EXPECT_THAT(e, HasSubstr("without a tensor: conv1.bias, bn1.running_var"));

  auto extra = state;
  extra["fc.weight"] = torch::zeros({1});
  EXPECT_THAT(error_of([&] { CompressedModel(ir::parse_graph(kNet), extra); }), HasSubstr("fc.weight"));

  EXPECT_THAT(error_of([&] {
                CompressedModel(
                    ir::parse_graph("graph(%nncf_hooks.w : Tensor [param]):\n  return (%nncf_hooks.w)"),
                    Tensors{{"nncf_hooks.w", torch::zeros({1})}});
              }),
              HasSubstr("'nncf_hooks.w' clashes"));

  EXPECT_THAT(error_of([&] {
                CompressedModel(
                    ir::parse_graph("graph(%x : Tensor):\n  %y = aten::no_such_op(%x)  # scope=weird\n"
                                    "  return (%y)"),
                    Tensors{});
              }),
              AllOf(HasSubstr("aten::no_such_op"), HasSubstr("weird")));
  EXPECT_THAT(error_of([&] {
                CompressedModel(
                    ir::parse_graph("graph(%x : Tensor):\n  %y = aten::add.Nope(%x, %x)  # scope=plus\n"
                                    "  return (%y)"),
                    Tensors{});
              }),
              AllOf(HasSubstr("aten::add.Nope"), HasSubstr("plus"), HasSubstr("Tensor")));
}

TEST(CompressedModel, InsertErrorsNameThePoint) {
  RefNet ref;
  CompressedModel model = make_net(ref);
  auto insert = [&](InsertionPoint p, const std::string& name = "h") {
    return error_of([&] { model->insert(p, torch::nn::AnyModule(AddOne()), name); });
  };
  EXPECT_THAT(insert(InsertionPoint::pre_op("conv9", 0)), HasSubstr("no node with scope 'conv9'"));
  EXPECT_THAT(insert(InsertionPoint::pre_op("conv1", 7)), HasSubstr("pre_op(conv1, 7)"));
  EXPECT_THAT(insert(InsertionPoint::pre_op("conv1", 3)), HasSubstr("is a constant"));
  EXPECT_THAT(insert(InsertionPoint::post_op("relu", 1)), HasSubstr("post_op(relu, 1)"));
  EXPECT_THAT(insert(InsertionPoint::post_op("size")), HasSubstr("of type int"));
  EXPECT_THAT(insert(InsertionPoint::weight("conv1.wieght")), HasSubstr("conv1.wieght"));
  EXPECT_THAT(insert(InsertionPoint::weight("x")), HasSubstr("no parameter or buffer named 'x'"));
  EXPECT_THAT(insert(InsertionPoint::post_op("relu"), "a.b"), HasSubstr("'a.b'"));
  EXPECT_TRUE(model->hooks().empty());
  model->insert(InsertionPoint::post_op("relu"), torch::nn::AnyModule(AddOne()), "h");
  EXPECT_THAT(insert(InsertionPoint::post_op("add")), HasSubstr("'h' is already inserted"));
  EXPECT_THAT(error_of([&] { model->remove("nope"); }), HasSubstr("'nope'"));
}

TEST(CompressedModel, ForwardErrorsNameTheInputOrNode) {
  RefNet ref;
  CompressedModel model = make_net(ref);
  torch::Tensor x = torch::randn({2, 3, 5, 5});
  EXPECT_THAT(error_of([&] {
                model->forward(std::vector<c10::IValue>{x, x});
              }),
              HasSubstr("expects 1 inputs, got 2"));
  EXPECT_THAT(error_of([&] { model->forward(std::vector<c10::IValue>{c10::IValue(3)}); }),
              HasSubstr("input 0 ('x') must be a Tensor"));
  // A runtime failure names the node it happened in; the model stays usable.
  EXPECT_THAT(error_of([&] {
                model->forward(torch::randn({2, 5, 5, 5}));
              }),
              AllOf(HasSubstr("aten::conv2d"), HasSubstr("'conv1'")));
  EXPECT_EQ(model->forward(x).sizes().vec(), (std::vector<int64_t>{2, 100}));
}

}  // namespace
}  // namespace nncf::runtime
