#include "nncf/runtime/compressed_model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <optional>
#include <sstream>

#include "nncf/capture/capture.h"
#include "nncf/ir/printer.h"
#include "support/errors.h"

namespace nncf::runtime {
namespace {

using ::testing::HasSubstr;
using Tensors = std::map<std::string, torch::Tensor>;

// conv -> batch_norm -> relu, + the conv output again, then a view whose shape is built at runtime
// from aten::size and prim::ListConstruct. The BatchNorm's num_batches_tracked is an unused buffer
// so that the graph's state matches RefNet's exactly.
constexpr const char* kNet = R"IR(
graph(%x : Tensor, %training : bool [training], %conv1.weight : Tensor [param],
      %conv1.bias : Tensor [param], %bn1.weight : Tensor [param], %bn1.bias : Tensor [param],
      %bn1.running_mean : Tensor [buffer], %bn1.running_var : Tensor [buffer],
      %bn1.num_batches_tracked : Tensor [buffer]):
  %c = aten::conv2d(%x, %conv1.weight, %conv1.bias, [1, 1], [1, 1], [1, 1], 1)  # scope=conv1
  %b = aten::batch_norm(%c, %bn1.weight, %bn1.bias, %bn1.running_mean, %bn1.running_var, %training, 0.1, 1e-05, true)  # scope=bn1
  %r = aten::relu(%b)  # scope=relu
  %s = aten::add.Tensor(%r, %c, 1)  # scope=add
  %n : int = aten::size.int(%x, 0)  # scope=size
  %shape : int[] = prim::ListConstruct(%n, -1)  # scope=shape
  %y = aten::view(%s, %shape)  # scope=view
  return (%y)
)IR";

// The same computation written as a C++-frontend module, with the same dotted names.
struct RefNetImpl : torch::nn::Module {
  RefNetImpl() {
    conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).padding(1)));
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(4));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor c = conv1(x);
    return (torch::relu(bn1(c)) + c).view({x.size(0), -1});
  }
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
};
TORCH_MODULE(RefNet);

// Copies of a module's state, so that the compressed model and the reference train separately.
std::map<std::string, torch::Tensor> cloned_state(torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value().detach().clone().requires_grad_(true);
  for (const auto& b : m.named_buffers()) out[b.key()] = b.value().clone();
  return out;
}

CompressedModel make_net(RefNet& ref) {
  return CompressedModel(ir::parse_graph(kNet), cloned_state(*ref));
}

// Inserted modules used by the hook tests.
struct ScaleImpl : torch::nn::Module {
  explicit ScaleImpl(double s) : s(s) {}
  torch::Tensor forward(const torch::Tensor& x) {
    ++calls;
    return x * s;
  }
  double s;
  int calls = 0;
};
TORCH_MODULE(Scale);

struct AddOneImpl : torch::nn::Module {
  torch::Tensor forward(const torch::Tensor& x) { return x + 1; }
};
TORCH_MODULE(AddOne);

struct LearnedScaleImpl : torch::nn::Module {
  LearnedScaleImpl() { scale = register_parameter("scale", torch::tensor(2.0)); }
  torch::Tensor forward(const torch::Tensor& x) { return x * scale; }
  torch::Tensor scale;
};
TORCH_MODULE(LearnedScale);

void expect_same(const torch::Tensor& a, const torch::Tensor& b, const std::string& what) {
  ASSERT_TRUE(a.defined() && b.defined()) << what;
  EXPECT_TRUE(torch::equal(a, b)) << what << ": max diff " << (a - b).abs().max().item<double>();
}

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

constexpr const char* kSharedWeight = R"IR(
graph(%x : Tensor, %w : Tensor [param]):
  %a = aten::mul.Tensor(%x, %w)  # scope=mul
  %b = aten::add.Tensor(%a, %w, 1)  # scope=add
  return (%b)
)IR";

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

// Keeps what it is given, to check later that nothing wrote to it.
struct KeepImpl : torch::nn::Module {
  torch::Tensor forward(const torch::Tensor& x) {
    kept = x;
    return x;
  }
  torch::Tensor kept;
};
TORCH_MODULE(Keep);

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

// x is read twice: both uses must see what a model-input module made of it.
constexpr const char* kInputUsedTwice = R"IR(
graph(%x : Tensor, %w : Tensor [param]):
  %a = aten::mul.Tensor(%x, %w)  # scope=mul
  %b = aten::add.Tensor(%a, %x, 1)  # scope=add
  return (%b)
)IR";

TEST(CompressedModel, ModelInputHookRunsOnceAndEveryUseSeesIt) {
  EXPECT_EQ(to_string(InsertionPoint::model_input("x")), "input(x)");
  torch::Tensor w = torch::randn({4});
  CompressedModel model(ir::parse_graph(kInputUsedTwice), Tensors{{"w", w}});
  Keep keep;
  Scale scale(2.0);
  model->insert(InsertionPoint::model_input("x"), torch::nn::AnyModule(scale), "x2");
  model->insert(InsertionPoint::model_input("x"), torch::nn::AnyModule(keep), "keep", /*priority=*/-1);
  torch::Tensor x = torch::randn({4});
  torch::Tensor x_before = x.clone();
  expect_same(model->forward(x), (2 * x) * w + 2 * x, "model-input hook");
  EXPECT_EQ(scale->calls, 1);
  expect_same(keep->kept, x_before, "what the first module saw");
  expect_same(x, x_before, "the caller's input");

  // On the conv net: the same as the unhooked model on 2 * x.
  RefNet ref;
  CompressedModel plain = make_net(ref);
  CompressedModel hooked = make_net(ref);
  plain->eval();
  hooked->eval();
  hooked->insert(InsertionPoint::model_input("x"), torch::nn::AnyModule(Scale(2.0)), "x2");
  torch::Tensor y = torch::randn({2, 3, 5, 5});
  torch::NoGradGuard no_grad;
  expect_same(hooked->forward(y), plain->forward(2 * y), "conv net on 2 * x");
}

TEST(CompressedModel, OneModuleAtSeveralPointsRunsAtEach) {
  torch::Tensor w = torch::randn({4});
  CompressedModel model(ir::parse_graph(kSharedWeight), Tensors{{"w", w}});
  Scale scale(2.0);
  model->insert({InsertionPoint::pre_op("mul", 1), InsertionPoint::pre_op("add", 1)},
                torch::nn::AnyModule(scale), "x2");
  ASSERT_EQ(model->hooks().size(), 1u);
  EXPECT_EQ(model->hooks()[0].points.size(), 2u);
  torch::Tensor x = torch::randn({4});
  expect_same(model->forward(x), x * (w * 2) + w * 2, "shared module");
  EXPECT_EQ(scale->calls, 2);
  model->forward(x);
  EXPECT_EQ(scale->calls, 4);
  model->remove("x2");
  expect_same(model->forward(x), x * w + w, "after remove");
  EXPECT_EQ(scale->calls, 4);
}

TEST(CompressedModel, SharedModuleParametersAreListedAndUpdatedOnce) {
  torch::Tensor w = torch::randn({4});
  CompressedModel model(ir::parse_graph(kSharedWeight), Tensors{{"w", w}});
  LearnedScale fq;
  model->insert({InsertionPoint::pre_op("mul", 1), InsertionPoint::post_op("add")}, torch::nn::AnyModule(fq),
                "fq");
  std::vector<std::string> names;
  for (const auto& p : model->named_parameters()) names.push_back(p.key());
  EXPECT_EQ(names, (std::vector<std::string>{"w", "nncf_hooks.fq.scale"}));
  EXPECT_EQ(model->parameters().size(), 2u);

  torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(0.1));
  torch::Tensor x = torch::randn({4});
  // y = (x * s * w + w) * s, so dy/ds summed = sum(2 * s * x * w + w) at s = 2.
  torch::Tensor y = model->forward(x);
  expect_same(y.detach(), (x * 2 * w + w) * 2, "forward");
  y.sum().backward();
  double grad = (4 * x * w + w).sum().item<double>();
  ASSERT_TRUE(fq->scale.grad().defined());
  EXPECT_NEAR(fq->scale.grad().item<double>(), grad, 1e-4);
  sgd.step();
  EXPECT_NEAR(fq->scale.item<double>(), 2.0 - 0.1 * grad, 1e-4) << "one SGD update, not one per point";
}

TEST(CompressedModel, MultiPointInsertErrorsNameEachPoint) {
  RefNet ref;
  CompressedModel model = make_net(ref);
  auto insert = [&](std::vector<InsertionPoint> points, const std::string& name = "h") {
    return error_of([&] { model->insert(points, torch::nn::AnyModule(AddOne()), name); });
  };
  EXPECT_THAT(insert({}), HasSubstr("'h' has no insertion point"));
  EXPECT_THAT(insert({InsertionPoint::post_op("relu"), InsertionPoint::pre_op("add", 0),
                      InsertionPoint::post_op("relu")}),
              HasSubstr("post_op(relu, 0) is listed twice"));
  EXPECT_THAT(insert({InsertionPoint::pre_op("conv9", 0), InsertionPoint::post_op("relu"),
                      InsertionPoint::weight("nope.weight")}),
              AllOf(HasSubstr("no node with scope 'conv9'"), HasSubstr("weight(nope.weight)")));
  EXPECT_THAT(insert({InsertionPoint::model_input("conv1.weight")}),
              HasSubstr("input(conv1.weight) does not exist: no data input named 'conv1.weight'"));
  EXPECT_THAT(insert({InsertionPoint::model_input("training")}), HasSubstr("'training'"));
  EXPECT_THAT(insert({InsertionPoint::model_input("y")}), HasSubstr("input(y)"));
  EXPECT_TRUE(model->hooks().empty());
  EXPECT_EQ(model->named_children().size(), 2u) << "no nncf_hooks after failed inserts";

  CompressedModel with_int(ir::parse_graph("graph(%x : Tensor, %n : int):\n"
                                           "  %y = aten::mul.Scalar(%x, %n)  # scope=mul\n  return (%y)"),
                           Tensors{});
  EXPECT_THAT(error_of([&] {
                with_int->insert(InsertionPoint::model_input("n"), torch::nn::AnyModule(AddOne()), "h");
              }),
              HasSubstr("input 'n' is of type int, not Tensor"));

  model->insert({InsertionPoint::post_op("relu"), InsertionPoint::post_op("add")},
                torch::nn::AnyModule(AddOne()), "h");
  EXPECT_THAT(insert({InsertionPoint::post_op("conv1")}),
              HasSubstr("'h' is already inserted at post_op(relu, 0), post_op(add, 0)"));
}

// conv -> batch_norm -> dropout -> relu, for BatchNorm adaptation.
struct ConvBnDropImpl : torch::nn::Module {
  ConvBnDropImpl() {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).padding(1)));
    bn = register_module("bn", torch::nn::BatchNorm2d(4));
    dropout = register_module("dropout", torch::nn::Dropout(0.5));
  }
  torch::Tensor forward(const torch::Tensor& x) { return torch::relu(dropout(bn(conv(x)))); }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(ConvBnDrop);

void expect_close(const torch::Tensor& a, const torch::Tensor& b, const std::string& what) {
  ASSERT_TRUE(a.defined() && b.defined()) << what;
  EXPECT_TRUE(torch::allclose(a, b, 1e-5, 1e-6))
      << what << ": max diff " << (a - b).abs().max().item<double>();
}

TEST(CompressedModel, BatchNormAdaptationUpdatesStatsWithEverythingElseInEval) {
  torch::manual_seed(3);
  ConvBnDrop net;
  net->forward(torch::randn({4, 3, 6, 6}));  // running stats away from 0/1
  capture::Captured captured = capture::capture_module(net, {torch::randn({2, 3, 6, 6})});
  CompressedModel model(std::move(captured.graph), captured.tensors);
  model->eval();
  EXPECT_FALSE(model->batchnorm_adaptation());
  torch::Tensor mean = model->tensor("bn.running_mean");
  torch::Tensor var = model->tensor("bn.running_var");
  torch::Tensor tracked = model->tensor("bn.num_batches_tracked");
  const torch::Tensor mean0 = mean.clone(), var0 = var.clone(), tracked0 = tracked.clone();
  torch::NoGradGuard no_grad;
  torch::Tensor x = torch::randn({8, 3, 6, 6}) * 2 + 1;
  torch::Tensor c = net->conv(x);
  torch::Tensor w = model->tensor("bn.weight"), b = model->tensor("bn.bias");

  // Off: eval stays eval.
  expect_close(model->forward(x),
               torch::relu(torch::batch_norm(c, w, b, mean0, var0, false, 0.1, 1e-5, false)), "eval output");
  expect_same(mean, mean0, "running_mean in eval");
  expect_same(var, var0, "running_var in eval");

  // On: batch statistics, the running stats move as BatchNorm2d's in train mode, dropout stays off.
  model->set_batchnorm_adaptation(true);
  EXPECT_TRUE(model->batchnorm_adaptation());
  torch::Tensor want_mean = mean0.clone(), want_var = var0.clone();
  torch::Tensor want = torch::relu(torch::batch_norm(c, w, b, want_mean, want_var, true, 0.1, 1e-5, false));
  torch::Tensor y1 = model->forward(x);
  EXPECT_FALSE(model->is_training());
  expect_close(y1, want, "adaptation output: batch statistics, no dropout");
  EXPECT_FALSE(torch::equal(mean, mean0));
  expect_close(mean, want_mean, "running_mean after adaptation");
  expect_close(var, want_var, "running_var after adaptation");
  expect_same(tracked, tracked0, "num_batches_tracked (a train-only step)");
  torch::Tensor y2 = model->forward(x);
  expect_same(y2, y1, "second adaptation pass");
  torch::batch_norm(c, w, b, want_mean, want_var, true, 0.1, 1e-5, false);
  expect_close(mean, want_mean, "running_mean after two passes");

  // Off again: running statistics, kept.
  model->set_batchnorm_adaptation(false);
  const torch::Tensor mean1 = mean.clone();
  expect_close(model->forward(x),
               torch::relu(torch::batch_norm(c, w, b, mean1, var, false, 0.1, 1e-5, false)),
               "eval output after adaptation");
  expect_same(mean, mean1, "running_mean in eval after adaptation");

  // In train mode the flag changes nothing: train-only steps run.
  model->set_batchnorm_adaptation(true);
  model->train();
  model->forward(x);
  EXPECT_EQ(tracked.item<int64_t>(), tracked0.item<int64_t>() + 1);
}

}  // namespace
}  // namespace nncf::runtime
