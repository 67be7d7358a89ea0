// Insertion points beyond one module at one operator: model inputs, one module at several points,
// and BatchNorm adaptation (BatchNorm in training mode, everything else in eval mode).

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "nncf/capture/capture.h"
#include "nncf/runtime/compressed_model.h"
#include "reference_net.h"
#include "support/errors.h"

namespace nncf::runtime {
namespace {

using namespace testnet;  // NOLINT(google-build-using-namespace): the shared reference net
using testing::error_of;
using ::testing::HasSubstr;

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
