// Batch insertion (a transformation layout applied at once) and structural rewrites
// (CompressedModelImpl::rewritten): a pruned model built from a changed graph and sliced tensors,
// carrying the inserted modules by name.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "nncf/ir/printer.h"
#include "nncf/runtime/compressed_model.h"
#include "reference_net.h"
#include "support/errors.h"

namespace nncf::runtime {
namespace {

using namespace testnet;  // NOLINT(google-build-using-namespace): the shared reference net
using nncf::testing::error_of;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// conv1 -> bn -> relu -> conv2; 3 -> 4 -> 5 channels.
constexpr const char* kConvBnReluConv = R"IR(
graph(%x : Tensor, %training : bool [training], %conv1.weight : Tensor [param],
      %conv1.bias : Tensor [param], %bn.weight : Tensor [param], %bn.bias : Tensor [param],
      %bn.running_mean : Tensor [buffer], %bn.running_var : Tensor [buffer],
      %conv2.weight : Tensor [param], %conv2.bias : Tensor [param]):
  %c = aten::conv2d(%x, %conv1.weight, %conv1.bias, [1, 1], [1, 1], [1, 1], 1)  # scope=conv1
  %b = aten::batch_norm(%c, %bn.weight, %bn.bias, %bn.running_mean, %bn.running_var, %training, 0.1, 1e-05, true)  # scope=bn
  %r = aten::relu(%b)  # scope=relu
  %y = aten::conv2d(%r, %conv2.weight, %conv2.bias, [1, 1], [1, 1], [1, 1], 1)  # scope=conv2
  return (%y)
)IR";

// The same without the relu.
constexpr const char* kConvBnConv = R"IR(
graph(%x : Tensor, %training : bool [training], %conv1.weight : Tensor [param],
      %conv1.bias : Tensor [param], %bn.weight : Tensor [param], %bn.bias : Tensor [param],
      %bn.running_mean : Tensor [buffer], %bn.running_var : Tensor [buffer],
      %conv2.weight : Tensor [param], %conv2.bias : Tensor [param]):
  %c = aten::conv2d(%x, %conv1.weight, %conv1.bias, [1, 1], [1, 1], [1, 1], 1)  # scope=conv1
  %b = aten::batch_norm(%c, %bn.weight, %bn.bias, %bn.running_mean, %bn.running_var, %training, 0.1, 1e-05, true)  # scope=bn
  %y = aten::conv2d(%b, %conv2.weight, %conv2.bias, [1, 1], [1, 1], [1, 1], 1)  # scope=conv2
  return (%y)
)IR";

Tensors conv_bn_relu_conv_state() {
  auto param = [](std::vector<int64_t> shape) { return torch::randn(shape).requires_grad_(true); };
  return {{"conv1.weight", param({4, 3, 3, 3})},
          {"conv1.bias", param({4})},
          {"bn.weight", param({4})},
          {"bn.bias", param({4})},
          {"bn.running_mean", torch::randn({4})},
          {"bn.running_var", torch::rand({4}) + 0.5},
          {"conv2.weight", param({5, 4, 3, 3})},
          {"conv2.bias", param({5})}};
}

// Multiplies a conv weight by one learned factor per output channel (state shaped like a filter
// count, as a per-channel quantizer's is).
struct ChannelScaleImpl : torch::nn::Module {
  explicit ChannelScaleImpl(torch::Tensor s) : scale(register_parameter("scale", std::move(s))) {}
  torch::Tensor forward(const torch::Tensor& w) { return w * scale.view({-1, 1, 1, 1}); }
  torch::Tensor scale;
};
TORCH_MODULE(ChannelScale);

int64_t numel(const std::vector<torch::Tensor>& tensors) {
  int64_t n = 0;
  for (const torch::Tensor& t : tensors) n += t.numel();
  return n;
}

std::vector<std::string> hook_names(const CompressedModel& m) {
  std::vector<std::string> names;
  for (const Hook& h : m->hooks()) names.push_back(h.name);
  return names;
}

TEST(CompressedModelBatchInsert, EqualsInsertingOneByOne) {
  torch::manual_seed(0);
  RefNet ref;
  CompressedModel one_by_one = make_net(ref);
  CompressedModel batched = make_net(ref);
  one_by_one->eval();
  batched->eval();
  one_by_one->insert(InsertionPoint::post_op("conv1"), torch::nn::AnyModule(AddOne()), "plus1", 1);
  one_by_one->insert(InsertionPoint::post_op("conv1"), torch::nn::AnyModule(Scale(2.0)), "x2", 0);
  one_by_one->insert({InsertionPoint::pre_op("add", 1), InsertionPoint::weight("conv1.weight")},
                     torch::nn::AnyModule(Scale(3.0)), "x3");
  std::vector<Hook> layout;
  layout.push_back(Hook{{InsertionPoint::post_op("conv1")}, "plus1", torch::nn::AnyModule(AddOne()), 1});
  layout.push_back(Hook{{InsertionPoint::post_op("conv1")}, "x2", torch::nn::AnyModule(Scale(2.0)), 0});
  layout.push_back(Hook{{InsertionPoint::pre_op("add", 1), InsertionPoint::weight("conv1.weight")},
                        "x3",
                        torch::nn::AnyModule(Scale(3.0)),
                        0});
  batched->insert(std::move(layout));

  EXPECT_EQ(hook_names(batched), (std::vector<std::string>{"plus1", "x2", "x3"}));
  EXPECT_EQ(batched->named_children()["nncf_hooks"]->named_children().size(), 3u);
  torch::NoGradGuard no_grad;
  torch::Tensor x = torch::randn({2, 3, 5, 5});
  torch::Tensor plain = make_net(ref)->forward(x);
  torch::Tensor y = batched->forward(x);
  expect_same(y, one_by_one->forward(x), "batch vs one by one");
  EXPECT_FALSE(torch::allclose(y, plain)) << "the hooks ran";
  batched->insert(std::vector<Hook>{});  // an empty batch changes nothing
  expect_same(batched->forward(x), y, "after an empty batch");
}

TEST(CompressedModelBatchInsert, IsAtomicAndReportsEveryBadHook) {
  RefNet ref;
  CompressedModel model = make_net(ref);
  auto batch = [](std::vector<std::pair<InsertionPoint, std::string>> entries) {
    std::vector<Hook> hooks;
    for (auto& [point, name] : entries)
      hooks.push_back(Hook{{point}, name, torch::nn::AnyModule(AddOne()), 0});
    return hooks;
  };
  const std::string msg = error_of([&] {
    model->insert(batch({{InsertionPoint::post_op("relu"), "a"},
                         {InsertionPoint::post_op("conv9"), "b"},
                         {InsertionPoint::post_op("add"), "a"}}));
  });
  EXPECT_THAT(msg, AllOf(HasSubstr("no node with scope 'conv9'"),
                         HasSubstr("a module named 'a' is already inserted at post_op(relu, 0)")));
  EXPECT_TRUE(model->hooks().empty());
  EXPECT_EQ(model->named_children().size(), 2u) << "no nncf_hooks after a failed batch";

  model->insert(InsertionPoint::post_op("relu"), torch::nn::AnyModule(AddOne()), "a");
  EXPECT_THAT(
      error_of([&] {
        model->insert(batch({{InsertionPoint::post_op("add"), "b"}, {InsertionPoint::post_op("add"), "a"}}));
      }),
      HasSubstr("a module named 'a' is already inserted at post_op(relu, 0)"));
  EXPECT_EQ(hook_names(model), (std::vector<std::string>{"a"}));
  EXPECT_EQ(model->named_children()["nncf_hooks"]->named_children().size(), 1u);
}

// Keeping output channels {0, 2} of conv1 (its filters, bias, the BatchNorm's four vectors, and
// conv2's input channels) computes what the full model computes with filters 1 and 3 and their
// bias, beta and running mean zeroed: those channels are 0 after the BatchNorm (in eval mode by
// the zero mean, in train mode because a constant channel normalizes to beta), relu(0) = 0, and
// conv2 reads nothing from them.
class StructuralRewrite : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(0);
    state_ = conv_bn_relu_conv_state();
    model_ = CompressedModel(ir::parse_graph(kConvBnReluConv), state_);
    scale_ = Scale(2.0);
    std::vector<Hook> layout;
    layout.push_back(Hook{{InsertionPoint::pre_op("conv2", 0)}, "x2", torch::nn::AnyModule(scale_), 3});
    layout.push_back(Hook{{InsertionPoint::weight("conv1.weight")},
                          "w_scale",
                          torch::nn::AnyModule(ChannelScale(torch::rand({4}) + 0.5)),
                          1});
    layout.push_back(Hook{{InsertionPoint::post_op("relu")}, "act", torch::nn::AnyModule(AddOne()), 0});
    model_->insert(std::move(layout));
  }

  // The pruned model: channels {0, 2} of conv1 kept. The slices are taken with grad enabled.
  CompressedModel pruned() const {
    const torch::Tensor keep = torch::tensor({0, 2});
    Tensors sliced;
    for (const char* name :
         {"conv1.weight", "conv1.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"}) {
      sliced[name] = state_.at(name).index_select(0, keep);
    }
    sliced["conv2.weight"] = state_.at("conv2.weight").index_select(1, keep);
    torch::Tensor old_scale = model_->named_parameters()["nncf_hooks.w_scale.scale"];
    return model_->rewritten(
        ir::parse_graph(kConvBnReluConv), sliced,
        {{"w_scale", torch::nn::AnyModule(ChannelScale(old_scale.detach().index_select(0, keep)))},
         {"act", torch::nn::AnyModule(Scale(1.0))}});
  }

  // The full model with channels 1 and 3 zeroed, with the same kinds of hooks ("act" replaced as
  // in pruned(); relu(0) * 1 = 0 keeps the zeroed channels zero).
  CompressedModel masked() const {
    torch::NoGradGuard no_grad;
    Tensors state;
    for (const auto& [name, t] : state_) state[name] = t.detach().clone();
    const torch::Tensor drop = torch::tensor({1, 3});
    for (const char* name : {"conv1.weight", "conv1.bias", "bn.bias", "bn.running_mean"}) {
      state[name].index_fill_(0, drop, 0.0);
    }
    CompressedModel m(ir::parse_graph(kConvBnReluConv), state);
    torch::Tensor scale = model_->named_parameters()["nncf_hooks.w_scale.scale"].detach().clone();
    m->insert(InsertionPoint::pre_op("conv2", 0), torch::nn::AnyModule(Scale(2.0)), "x2", 3);
    m->insert(InsertionPoint::weight("conv1.weight"), torch::nn::AnyModule(ChannelScale(scale)), "w_scale",
              1);
    m->insert(InsertionPoint::post_op("relu"), torch::nn::AnyModule(Scale(1.0)), "act", 0);
    return m;
  }

  Tensors state_;
  CompressedModel model_{nullptr};
  Scale scale_{nullptr};
};

TEST_F(StructuralRewrite, PrunedModelEqualsTheMaskedOneInEvalAndTrainMode) {
  torch::Tensor x = torch::randn({2, 3, 6, 6});
  {
    model_->eval();
    CompressedModel p = pruned(), m = masked();
    m->eval();
    EXPECT_FALSE(p->is_training());
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::allclose(p->forward(x), m->forward(x), 1e-5, 1e-5));
  }
  model_->train();
  CompressedModel p = pruned(), m = masked();
  EXPECT_TRUE(p->is_training());
  EXPECT_TRUE(torch::allclose(p->forward(x), m->forward(x), 1e-5, 1e-5));
  // The batch statistics of the kept channels updated the pruned model's running stats alike.
  EXPECT_TRUE(torch::allclose(p->tensor("bn.running_var"),
                              m->tensor("bn.running_var").index_select(0, torch::tensor({0, 2}))));
}

TEST_F(StructuralRewrite, ShrinksParametersSharesTheRestAndCarriesHooks) {
  model_->eval();
  model_->set_batchnorm_adaptation(true);
  CompressedModel p = pruned();
  // conv1 4x3x3x3 + 4 -> 2x3x3x3 + 2; bn 4 + 4 -> 2 + 2; conv2 5x4x3x3 -> 5x2x3x3; w_scale 4 -> 2.
  EXPECT_EQ(numel(model_->parameters()) - numel(p->parameters()), 54 + 2 + 4 + 90 + 2);
  EXPECT_EQ(p->tensor("conv1.weight").sizes(), (std::vector<int64_t>{2, 3, 3, 3}));
  EXPECT_EQ(p->tensor("bn.running_mean").sizes(), (std::vector<int64_t>{2}));
  EXPECT_TRUE(p->tensor("conv1.weight").is_leaf());
  EXPECT_TRUE(p->tensor("conv1.weight").requires_grad());
  EXPECT_FALSE(p->tensor("bn.running_mean").requires_grad());
  // Unreplaced tensors are the same objects.
  EXPECT_EQ(p->tensor("conv2.bias").unsafeGetTensorImpl(), state_.at("conv2.bias").unsafeGetTensorImpl());

  // Hooks: the same names, points, priorities and order; unreplaced modules are shared.
  ASSERT_EQ(hook_names(p), hook_names(model_));
  for (size_t i = 0; i < p->hooks().size(); ++i) {
    EXPECT_EQ(p->hooks()[i].priority, model_->hooks()[i].priority);
    EXPECT_EQ(to_string(p->hooks()[i].points.at(0)), to_string(model_->hooks()[i].points.at(0)));
  }
  EXPECT_EQ(p->hooks()[0].module.ptr().get(), scale_.ptr().get());
  EXPECT_NE(p->named_parameters().find("nncf_hooks.w_scale.scale"), nullptr);
  EXPECT_EQ(p->named_parameters()["nncf_hooks.w_scale.scale"].numel(), 2);
  EXPECT_TRUE(p->batchnorm_adaptation());
  EXPECT_FALSE(p->hooks()[1].module.ptr()->is_training()) << "a replaced module starts in the model's mode";
  const int calls = scale_->calls;
  p->forward(torch::randn({1, 3, 4, 4}));
  EXPECT_EQ(scale_->calls, calls + 1) << "the carried hook runs in the new model";
}

TEST_F(StructuralRewrite, AnOptimizerTrainsTheNewParameters) {
  CompressedModel p = pruned();
  const torch::Tensor before = p->tensor("conv1.weight").detach().clone();
  const torch::Tensor old_before = state_.at("conv1.weight").detach().clone();
  torch::optim::SGD sgd(p->parameters(), torch::optim::SGDOptions(0.1));
  ASSERT_EQ(sgd.param_groups().at(0).params().size(), p->parameters().size());
  p->forward(torch::randn({2, 3, 6, 6})).square().mean().backward();
  ASSERT_TRUE(p->tensor("conv1.weight").grad().defined());
  EXPECT_EQ(p->tensor("conv1.weight").grad().sizes(), before.sizes());
  EXPECT_FALSE(state_.at("conv1.weight").grad().defined()) << "the slice's history was cut";
  sgd.step();
  EXPECT_FALSE(torch::equal(p->tensor("conv1.weight"), before));
  EXPECT_TRUE(torch::equal(state_.at("conv1.weight"), old_before)) << "the old weight is not the new one";
}

TEST_F(StructuralRewrite, AHookWhosePointIsGoneMustBeReplacedOrDropped) {
  // Without the relu, the hook at post_op(relu) has nowhere to run.
  EXPECT_THAT(error_of([&] { model_->rewritten(ir::parse_graph(kConvBnConv), {}); }),
              AllOf(HasSubstr("hook 'act' cannot be carried over"), HasSubstr("post_op(relu, 0)"),
                    HasSubstr("replace it or drop it"), Not(HasSubstr("'x2'"))));
  CompressedModel p = model_->rewritten(ir::parse_graph(kConvBnConv), {}, {}, {"act"});
  EXPECT_EQ(hook_names(p), (std::vector<std::string>{"x2", "w_scale"}));
  EXPECT_EQ(p->named_parameters().size(), model_->named_parameters().size());
  p->forward(torch::randn({1, 3, 4, 4}));
  EXPECT_EQ(hook_names(model_), (std::vector<std::string>{"x2", "w_scale", "act"})) << "unchanged";
}

TEST_F(StructuralRewrite, ErrorsNameEveryBadNameAtOnce) {
  const std::string msg = error_of([&] {
    model_->rewritten(ir::parse_graph(kConvBnReluConv), {{"conv3.weight", torch::zeros({1})}},
                      {{"nope", torch::nn::AnyModule(AddOne())}, {"act", torch::nn::AnyModule(AddOne())}},
                      {"gone", "act"});
  });
  EXPECT_THAT(msg, AllOf(HasSubstr("replaced tensor 'conv3.weight' is not a parameter/buffer input"),
                         HasSubstr("replaced hook 'nope' is not inserted"),
                         HasSubstr("dropped hook 'gone' is not inserted"),
                         HasSubstr("hook 'act' is both replaced and dropped")));
  // A graph with a state input this model has no tensor for.
  std::string text = kConvBnReluConv;
  text.replace(text.find("%conv2.bias : Tensor [param]"), 28,
               "%conv2.bias : Tensor [param], %extra : Tensor [buffer]");
  EXPECT_THAT(error_of([&] { model_->rewritten(ir::parse_graph(text), {}); }),
              HasSubstr("'extra' is a new buffer input and has no tensor in replaced_tensors"));
  CompressedModel p = model_->rewritten(ir::parse_graph(text), {{"extra", torch::zeros({2})}});
  EXPECT_EQ(p->named_buffers().size(), model_->named_buffers().size() + 1);
}

}  // namespace
}  // namespace nncf::runtime
