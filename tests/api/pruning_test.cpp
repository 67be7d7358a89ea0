// Filter pruning: NNCF's importance and schedule references, config keys, groups on the C++ zoo,
// masking then shrinking in place (outputs unchanged), optimizer state carried across the shrink,
// FLOPs targets, and checkpoints of shrunk models.

#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <c10/util/StringUtil.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "nncf/algorithms/composite.h"
#include "nncf/algorithms/pruning/controller.h"
#include "nncf/algorithms/pruning/importance.h"
#include "nncf/algorithms/pruning/scheduler.h"
#include "nncf/api/checkpoint.h"
#include "nncf/api/compression.h"
#include "support/errors.h"
#include "support/models.h"
#include "support/ort.h"

namespace nncf {
namespace {

using pruning::FilterImportance;
using pruning::FilterPruningConfig;
using pruning::FilterPruningController;
using pruning::PruningScheduler;

Config config_of(const std::string& compression, const std::string& shape = "[1, 3, 32, 32]") {
  return Config::from_string(R"({"input_info": {"sample_size": )" + shape + R"(}, "compression": )" +
                             compression + "}");
}

FilterPruningConfig parse(const std::string& compression) {
  return FilterPruningConfig::parse(config_of(compression).compression()[0]);
}

std::shared_ptr<FilterPruningController> as_pruning(const std::shared_ptr<CompressionController>& c) {
  auto p = std::dynamic_pointer_cast<FilterPruningController>(c);
  EXPECT_NE(p, nullptr);
  return p;
}

void expect_near(const at::Tensor& a, const std::vector<double>& b, double tol) {
  ASSERT_EQ(a.numel(), static_cast<int64_t>(b.size()));
  for (size_t i = 0; i < b.size(); ++i)
    EXPECT_NEAR(a[static_cast<int64_t>(i)].item<double>(), b[i], tol) << i;
}

// ---- importance, rounding, schedules ----------------------------------------------------------

// NNCF's tests/torch/pruning/test_filter_pruning_functions.py references.
TEST(FilterImportance, MatchesNncfReferences) {
  const at::Tensor w = torch::arange(120, torch::kFloat).view({2, 3, 4, 5});
  expect_near(pruning::filter_importance(w, 0, FilterImportance::L1), {1770, 5370}, 1e-6);
  expect_near(pruning::filter_importance(w, 0, FilterImportance::L2), {264.9717, 706.1232}, 1e-4);
  const at::Tensor g = torch::arange(120, torch::kFloat).view({3, 2, 4, 5});
  expect_near(pruning::filter_importance(g, 0, FilterImportance::GeometricMedian),
              {758.9466, 505.9644, 758.9466}, 1e-4);
  // Along dim 1 (a transposed convolution's output channels): the slices of that dim.
  expect_near(pruning::filter_importance(w.transpose(0, 1), 1, FilterImportance::L1), {1770, 5370}, 1e-6);
}

TEST(FilterImportance, KeptFiltersRoundUpToAMultiple) {
  EXPECT_EQ(pruning::pruned_count(64, 0.5, 8), 32);
  EXPECT_EQ(pruning::pruned_count(64, 0.3, 8), 16);  // 44.8 kept -> 48
  EXPECT_EQ(pruning::pruned_count(10, 0.95, 8), 2);  // 0.5 kept -> 8
  EXPECT_EQ(pruning::pruned_count(10, 0.95, 1), 9);  // at least one filter stays
  EXPECT_EQ(pruning::pruned_count(16, 0.0, 8), 0);
  EXPECT_EQ(pruning::pruned_count(7, 0.5, 8), 0);  // rounds back up to all 7
}

std::vector<double> levels(const FilterPruningConfig& c, int epochs, int* frozen_at = nullptr) {
  std::vector<double> out;
  int frozen = -1;
  std::vector<double> seen;
  PruningScheduler s(
      c, [&](double l) { seen.push_back(l); }, [&] { frozen = static_cast<int>(seen.size()) - 1; });
  for (int e = 0; e < epochs; ++e) {
    s.epoch_step();
    out.push_back(s.current_level());
  }
  EXPECT_EQ(seen, out);  // set_level gets every epoch's level
  if (frozen_at != nullptr) *frozen_at = frozen;
  return out;
}

// NNCF's tests/torch/pruning/test_schedulers.py: exponential_with_bias, init 0.1, target 0.7,
// 3 warm-up epochs, 5 pruning steps.
TEST(PruningSchedule, ExponentialWithBiasMatchesNncf) {
  const FilterPruningConfig c = parse(R"({"algorithm": "filter_pruning", "pruning_init": 0.1,
      "params": {"schedule": "exponential_with_bias", "pruning_target": 0.7, "num_init_steps": 3,
                 "pruning_steps": 5}})");
  int frozen = -1;
  const std::vector<double> got = levels(c, 10, &frozen);
  const std::vector<double> want = {0, 0, 0, 0.1, 0.6489741, 0.6956869, 0.6996617, 0.7, 0.7, 0.7};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << "epoch " << i;
  EXPECT_EQ(frozen, 8);  // epoch num_init_steps + pruning_steps

  const FilterPruningConfig c2 = parse(R"({"algorithm": "filter_pruning",
      "params": {"schedule": "exponential_with_bias", "pruning_target": 0.5, "pruning_steps": 20}})");
  PruningScheduler s(
      c2, [](double) {}, [] {});
  EXPECT_NEAR(s.bias().a, -0.5, 1e-4);
  EXPECT_NEAR(s.bias().b, 0.5, 1e-4);
  EXPECT_NEAR(s.bias().k, 0.5836, 1e-4);
}

TEST(PruningSchedule, ExponentialAndBaseline) {
  // The density falls geometrically from 0.9 to 0.6 over pruning_steps - 1 = 14 epochs.
  const FilterPruningConfig c = parse(R"({"algorithm": "filter_pruning", "pruning_init": 0.1,
      "params": {"schedule": "exponential", "pruning_target": 0.4, "pruning_steps": 15}})");
  int frozen = -1;
  const std::vector<double> got = levels(c, 17, &frozen);
  for (int i = 0; i < 15; ++i) EXPECT_NEAR(got[i], 1 - 0.9 * std::pow(0.6 / 0.9, i / 14.0), 1e-12) << i;
  EXPECT_DOUBLE_EQ(got[15], 0.4);
  EXPECT_EQ(frozen, 15);

  const FilterPruningConfig b = parse(R"({"algorithm": "filter_pruning", "pruning_init": 0.2,
      "params": {"schedule": "baseline", "pruning_target": 0.3, "num_init_steps": 2}})");
  EXPECT_EQ(levels(b, 4, &frozen), (std::vector<double>{0, 0, 0.3, 0.3}));
  EXPECT_EQ(frozen, 2);
}

// ---- config -------------------------------------------------------------------------------------

TEST(FilterPruningConfig, NncfSampleSectionUnchanged) {
  // examples/torch/classification/configs/pruning/resnet18_pruning_geometric_median.json
  const FilterPruningConfig c = parse(R"({
            "algorithm": "filter_pruning",
            "pruning_init": 0.1,
            "params": {
            "schedule": "exponential",
                "pruning_target": 0.4,
                "pruning_steps": 15,
                "weight_importance": "geometric_median"
            }
        })");
  EXPECT_EQ(c.importance, FilterImportance::GeometricMedian);
  EXPECT_DOUBLE_EQ(c.pruning_init, 0.1);
  EXPECT_DOUBLE_EQ(c.target_level(), 0.4);
  EXPECT_EQ(c.pruning_steps, 15);
  // NNCF's defaults.
  const FilterPruningConfig d = parse(R"({"algorithm": "filter_pruning"})");
  EXPECT_EQ(d.schedule, pruning::PruningSchedule::Exponential);
  EXPECT_EQ(d.importance, FilterImportance::L2);
  EXPECT_DOUBLE_EQ(d.pruning_target, 0.5);
  EXPECT_EQ(d.num_init_steps, 0);
  EXPECT_EQ(d.pruning_steps, 100);
  EXPECT_FALSE(d.all_weights || d.prune_first_conv || d.prune_downsample_convs);
  EXPECT_TRUE(d.prune_batch_norms && d.zero_grad);
  EXPECT_EQ(d.round_channels_to, 8);
  EXPECT_EQ(parse(R"({"algorithm": "filter_pruning", "params": {"filter_importance": "L1"}})").importance,
            FilterImportance::L1);
}

TEST(FilterPruningConfig, BadSectionsNameTheirPath) {
  auto error = [](const std::string& s) { return testing::error_of([&] { parse(s); }); };
  EXPECT_NE(error(R"({"algorithm": "filter_pruning", "params": {"pruning_traget": 0.3}})")
                .find("compression.params.pruning_traget"),
            std::string::npos);
  EXPECT_NE(
      error(
          R"({"algorithm": "filter_pruning", "params": {"pruning_target": 0.3, "pruning_flops_target": 0.3}})")
          .find("mutually exclusive"),
      std::string::npos);
  EXPECT_NE(error(R"({"algorithm": "filter_pruning", "params": {"pruning_target": 1.0}})")
                .find("compression.params.pruning_target"),
            std::string::npos);
  EXPECT_NE(
      error(R"({"algorithm": "filter_pruning", "params": {"interlayer_ranking_type": "learned_ranking"}})")
          .find("not supported yet"),
      std::string::npos);
  EXPECT_NE(error(R"({"algorithm": "filter_pruning", "pruning_init": 0.6})").find("above the target"),
            std::string::npos);
}

// ---- groups, masks, shrink ----------------------------------------------------------------------

testing::ResNet18 resnet18(int64_t width = 16) {
  torch::manual_seed(0);
  return testing::ResNet18(testing::ResNet18Options().base_width(width));
}

// Random BatchNorm statistics and affine parameters, so that masked and shrunk models are compared
// on non-trivial numbers.
void randomize_batchnorms(torch::nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& sub : m.modules(/*include_self=*/false)) {
    if (auto* bn = sub->as<torch::nn::BatchNorm2d>()) {
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.uniform_(-0.2, 0.2);
      bn->running_mean.uniform_(-0.2, 0.2);
      bn->running_var.uniform_(0.5, 1.5);
    }
  }
}

TEST(FilterPruning, ResNet18GroupsFollowNncfRules) {
  auto net = resnet18();
  auto r = create_compressed_model(net, config_of(R"({"algorithm": "filter_pruning"})"));
  auto p = as_pruning(r.ctrl);
  // NNCF's defaults: the inner conv of each block (8) less the three with stride 2; the residual
  // stages are skipped -- layer1's holds the stem conv (a first conv), layer2..4's a stride-2
  // downsample conv.
  std::set<std::string> pruned;
  for (const auto& g : p->groups())
    for (const auto& l : g.layers) pruned.insert(l.scope);
  EXPECT_EQ(pruned.size(), 5u);  // layer1.0, 1.1, 2.1, 3.1, 4.1 conv1; layer{2,3,4}.0.conv1 have stride 2
  EXPECT_TRUE(pruned.count("layer1.0.conv1"));
  EXPECT_TRUE(pruned.count("layer3.1.conv1"));
  EXPECT_FALSE(pruned.count("layer2.0.conv1"));  // stride 2
  EXPECT_FALSE(pruned.count("conv1"));
  bool first_conv_reason = false, downsample_reason = false;
  for (const auto& s : p->skipped())
    for (const auto& why : s.reasons) {
      first_conv_reason |= why.find("prune_first_conv") != std::string::npos;
      downsample_reason |= why.find("prune_downsample_convs") != std::string::npos;
    }
  EXPECT_TRUE(first_conv_reason);
  EXPECT_TRUE(downsample_reason);

  // With both allowed, the residual stages become groups too.
  auto all = create_compressed_model(
      net, config_of(R"({"algorithm": "filter_pruning", "params": {"prune_first_conv": true,
                        "prune_downsample_convs": true}})"));
  EXPECT_EQ(as_pruning(all.ctrl)->groups().size(), 8u + 4u);
}

// The kept filters are the most important ones by the configured criterion, group-wise: a
// residual stage ranks its filters by the sum over its convolutions.
TEST(FilterPruning, MasksTheLeastImportantFiltersOfEachGroup) {
  auto net = resnet18();
  auto r = create_compressed_model(net, config_of(R"({"algorithm": "filter_pruning", "params": {
      "prune_first_conv": true, "prune_downsample_convs": true, "weight_importance": "L1"}})"));
  auto p = as_pruning(r.ctrl);
  p->set_pruning_level(0.5);
  for (const auto& g : p->groups()) {
    at::Tensor imp = torch::zeros({g.channels_before}, torch::kDouble);
    for (const auto& l : g.layers) imp += r.model->tensor(l.weight).abs().sum({1, 2, 3}).to(torch::kDouble);
    const int64_t k = pruning::pruned_count(g.channels_before, 0.5, 8);
    const at::Tensor order = std::get<1>(imp.sort(true, 0, false));
    const at::Tensor kept = g.kept();
    EXPECT_EQ(kept.sum().item<int64_t>(), g.channels_before - k) << g.layers.front().scope;
    EXPECT_EQ(kept.index_select(0, order.slice(0, 0, k)).sum().item<double>(), 0) << g.layers.front().scope;
  }
  // The statistics say it.
  const Statistics s = r.ctrl->statistics();
  EXPECT_DOUBLE_EQ(s.values.at("filter_pruning.pruning_level"), 0.5);
  EXPECT_LT(s.values.at("filter_pruning.flops_ratio"), 0.5);
  EXPECT_LT(s.values.at("filter_pruning.params_now"), s.values.at("filter_pruning.params_before"));
}

// Shrinking removes the masked channels and changes no output, on residual, depthwise and
// flatten-into-linear graphs.
template <typename Net>
void expect_shrink_keeps_outputs(Net& net, const at::Tensor& x, const std::string& params, double level) {
  randomize_batchnorms(*net);
  auto r = create_compressed_model(
      net, config_of(R"({"algorithm": "filter_pruning", "params": )" + params + "}", "[2, 3, 32, 32]"));
  auto p = as_pruning(r.ctrl);
  ASSERT_FALSE(p->groups().empty());
  p->set_pruning_level(level);
  r.model->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor masked = r.model->forward(x);
  const int64_t params_masked = p->params_now(), flops_masked = p->flops_now();
  std::map<std::string, int64_t> before;
  for (const auto& t : r.model->named_parameters()) before[t.key()] = t.value().numel();
  p->shrink();
  const at::Tensor shrunk = r.model->forward(x);
  EXPECT_TRUE(torch::allclose(masked, shrunk, 1e-4, 1e-5)) << (masked - shrunk).abs().max();
  int64_t total = 0, total_before = 0;
  for (const auto& t : r.model->named_parameters()) {
    if (t.key().rfind("nncf_hooks", 0) == 0) continue;
    total += t.value().numel();
    total_before += before.at(t.key());
  }
  EXPECT_LT(total, total_before);
  EXPECT_EQ(total, params_masked);  // the estimate before the shrink is the shrunk model's size
  EXPECT_EQ(p->params_now(), total);
  EXPECT_EQ(p->flops_now(), flops_masked);
  for (const auto& g : p->groups()) {
    EXPECT_EQ(g.channels_now, g.kept().numel());
    EXPECT_EQ(g.kept().sum().template item<int64_t>(), g.channels_now);  // all kept now
  }
  // A second shrink has nothing to do.
  p->shrink();
  EXPECT_TRUE(torch::allclose(masked, r.model->forward(x), 1e-4, 1e-5));
}

TEST(FilterPruning, ShrinkKeepsOutputsResNet18) {
  auto net = resnet18();
  expect_shrink_keeps_outputs(net, torch::randn({2, 3, 32, 32}),
                              R"({"prune_first_conv": true, "prune_downsample_convs": true})", 0.5);
}

TEST(FilterPruning, ShrinkKeepsOutputsResNet50) {
  torch::manual_seed(0);
  nncf_sample::models::ResNet net(
      nncf_sample::models::resnet_options(50).num_classes(10).widths({16, 32, 64, 128}).small_input(true));
  expect_shrink_keeps_outputs(net, torch::randn({2, 3, 32, 32}),
                              R"({"weight_importance": "geometric_median"})", 0.4);
}

TEST(FilterPruning, ShrinkKeepsOutputsMobileNetV2) {
  torch::manual_seed(0);
  testing::MobileNetV2 net(testing::MobileNetV2Options().width_mult(0.5).stem_stride(1));
  expect_shrink_keeps_outputs(net, torch::randn({2, 3, 32, 32}),
                              R"({"round_channels_to": 1, "all_weights": true})", 0.3);
}

TEST(FilterPruning, ShrinkKeepsOutputsFlattenIntoLinear) {
  torch::manual_seed(0);
  torch::nn::Sequential net(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 3).padding(1)),
                            torch::nn::BatchNorm2d(8), torch::nn::ReLU(),
                            torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 16, 3).stride(1)),
                            torch::nn::BatchNorm2d(16), torch::nn::ReLU(), torch::nn::AdaptiveAvgPool2d(2),
                            torch::nn::Flatten(), torch::nn::Linear(64, 10));
  expect_shrink_keeps_outputs(net, torch::randn({2, 3, 32, 32}), R"({"round_channels_to": 1})", 0.5);
}

// Where a removed channel is not zero after its last normalization (prune_batch_norms false, or an
// activation with f(0) != 0), it feeds a constant into its consumers, which the shrink folds into
// their biases (or into the running mean of the BatchNorm after a consumer without a bias).
struct FoldCase {
  std::shared_ptr<FilterPruningController> ctrl;
  at::Tensor masked, shrunk;
};

FoldCase shrink_and_compare(torch::nn::Sequential net, const std::string& params) {
  randomize_batchnorms(*net);
  auto r = create_compressed_model(
      net, config_of(R"({"algorithm": "filter_pruning", "params": )" + params + "}", "[2, 3, 16, 16]"));
  auto p = as_pruning(r.ctrl);
  p->set_pruning_level(0.5);
  r.model->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor x = torch::randn({4, 3, 16, 16});
  FoldCase out{p, r.model->forward(x), {}};
  p->shrink();
  out.shrunk = r.model->forward(x);
  return out;
}

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t padding, bool bias) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).padding(padding).bias(bias));
}

TEST(FilterPruning, ShrinkFoldsWhatUnmaskedBatchNormsFeedTheConsumers) {
  torch::manual_seed(0);
  // conv1's removed filters leave BatchNorm constants that reach conv2 (1x1, no bias: folded into
  // bn2's running mean); conv2's reach the linear layer through the pooling (folded into its bias).
  torch::nn::Sequential net(conv(3, 8, 3, 1, true), torch::nn::BatchNorm2d(8), torch::nn::ReLU(),
                            conv(8, 16, 1, 0, false), torch::nn::BatchNorm2d(16), torch::nn::ReLU(),
                            torch::nn::AdaptiveAvgPool2d(1), torch::nn::Flatten(), torch::nn::Linear(16, 10));
  auto* bn2 = net[4]->as<torch::nn::BatchNorm2d>();
  auto* fc = net[8]->as<torch::nn::Linear>();
  const at::Tensor bias_before = fc->bias.clone();
  const FoldCase c = shrink_and_compare(
      net, R"({"prune_batch_norms": false, "prune_first_conv": true, "round_channels_to": 1})");
  ASSERT_EQ(c.ctrl->groups().size(), 2U);
  EXPECT_TRUE(torch::allclose(c.masked, c.shrunk, 1e-4, 1e-5)) << (c.masked - c.shrunk).abs().max();
  EXPECT_EQ(c.ctrl->statistics().values.at("filter_pruning.shrink_approximations"), 0);
  // The folds did something: without them the outputs would differ.
  EXPECT_FALSE(torch::allclose(fc->bias, bias_before));
  EXPECT_EQ(bn2->running_mean.numel(), 8);  // shrunk with its convolution
}

TEST(FilterPruning, ShrinkFoldsAConstantActivationOfZero) {
  torch::manual_seed(0);
  // sigmoid(0) = 0.5: masked channels (BatchNorms masked too) feed 0.5 into conv2's bias.
  torch::nn::Sequential net(conv(3, 8, 3, 1, true), torch::nn::BatchNorm2d(8), torch::nn::Sigmoid(),
                            conv(8, 8, 1, 0, true), torch::nn::BatchNorm2d(8), torch::nn::ReLU(),
                            torch::nn::Flatten(), torch::nn::Linear(8 * 16 * 16, 10));
  const FoldCase c = shrink_and_compare(net, R"({"prune_first_conv": true, "round_channels_to": 1})");
  EXPECT_TRUE(torch::allclose(c.masked, c.shrunk, 1e-4, 1e-5)) << (c.masked - c.shrunk).abs().max();
  EXPECT_EQ(c.ctrl->statistics().values.at("filter_pruning.shrink_approximations"), 0);
}

TEST(FilterPruning, ShrinkNamesTheConsumersItCannotFoldExactly) {
  torch::manual_seed(0);
  // A padded 3x3 consumer: at the borders its taps on the removed channels read zero padding, so
  // a bias cannot carry their constant exactly; the statistics say so and the interior is exact.
  torch::nn::Sequential net(conv(3, 8, 3, 1, true), torch::nn::BatchNorm2d(8), torch::nn::ReLU(),
                            conv(8, 4, 3, 1, true));
  const FoldCase c = shrink_and_compare(net, R"({"prune_batch_norms": false, "prune_first_conv": true,
                                                 "round_channels_to": 1})");
  const Statistics s = c.ctrl->statistics();
  EXPECT_EQ(s.values.at("filter_pruning.shrink_approximations"), 1);
  bool named = false;
  for (const StatisticsTable& t : s.tables)
    if (t.title == "filter_pruning: shrink approximations")
      named = t.rows.size() == 1 && t.rows[0][1].find("pads with zeros") != std::string::npos;
  EXPECT_TRUE(named);
  using torch::indexing::Slice;
  EXPECT_TRUE(torch::allclose(c.masked.index({Slice(), Slice(), Slice(1, -1), Slice(1, -1)}),
                              c.shrunk.index({Slice(), Slice(), Slice(1, -1), Slice(1, -1)}), 1e-4, 1e-5));
  EXPECT_FALSE(torch::allclose(c.masked, c.shrunk, 1e-4, 1e-5));
}

// The optimizer goes on across the shrink: one step after shrinking equals one step of the masked
// model on the kept channels, for SGD with momentum and for Adam.
template <typename Optimizer, typename Options>
void expect_same_step(const Options& options) {
  auto make = [] {
    auto net = resnet18(16);
    randomize_batchnorms(*net);
    return create_compressed_model(net, config_of(R"({"algorithm": "filter_pruning", "params": {
        "prune_first_conv": true, "prune_downsample_convs": true}})"));
  };
  CompressionResult a = make(), b = make();
  for (auto* r : {&a, &b}) as_pruning(r->ctrl)->set_pruning_level(0.5);
  Optimizer oa(a.model->parameters(), options), ob(b.model->parameters(), options);
  torch::manual_seed(1);
  const at::Tensor x = torch::randn({4, 3, 32, 32});
  const at::Tensor y = torch::randint(0, 10, {4});
  auto step = [&](CompressionResult& r, torch::optim::Optimizer& o) {
    r.model->train();
    o.zero_grad();
    torch::nn::functional::cross_entropy(r.model->forward(x), y).backward();
    o.step();
  };
  for (int i = 0; i < 2; ++i) step(a, oa), step(b, ob);
  auto pa = as_pruning(a.ctrl);
  pa->shrink(&oa);
  step(a, oa), step(b, ob);
  // Compare every parameter of `a` with `b`'s on the kept channels: `b` shrunk (without an
  // optimizer) now, after its step, selects exactly those channels.
  as_pruning(b.ctrl)->shrink();
  for (const auto& t : a.model->named_parameters()) {
    const at::Tensor other = b.model->tensor(t.key());
    ASSERT_TRUE(t.value().sizes().equals(other.sizes())) << t.key();
    EXPECT_TRUE(torch::allclose(t.value(), other, 1e-5, 1e-6))
        << t.key() << " " << (t.value() - other).abs().max();
  }
}

TEST(FilterPruning, OptimizerStateCarriesAcrossTheShrinkSgd) {
  expect_same_step<torch::optim::SGD>(torch::optim::SGDOptions(0.05).momentum(0.9).nesterov(true));
}

TEST(FilterPruning, OptimizerStateCarriesAcrossTheShrinkAdam) {
  expect_same_step<torch::optim::Adam>(torch::optim::AdamOptions(1e-3));
}

TEST(FilterPruning, FlopsTargetIsReachedWithinOneRoundingStep) {
  auto net = resnet18();
  auto r = create_compressed_model(net, config_of(R"({"algorithm": "filter_pruning", "params": {
      "prune_first_conv": true, "prune_downsample_convs": true, "pruning_flops_target": 0.5,
      "round_channels_to": 1}})"));
  auto p = as_pruning(r.ctrl);
  p->set_pruning_level(0.5);
  const double ratio = static_cast<double>(p->flops_now()) / static_cast<double>(p->flops_before());
  EXPECT_LE(ratio, 0.5);
  EXPECT_GT(ratio, 0.45);  // one filter back in any group would be above the budget

  // With NNCF's rounding to 8 filters the steps are coarse; giving steps back keeps it close.
  auto r8 = create_compressed_model(net, config_of(R"({"algorithm": "filter_pruning", "params": {
      "prune_first_conv": true, "prune_downsample_convs": true, "pruning_flops_target": 0.5}})"));
  auto p8 = as_pruning(r8.ctrl);
  p8->set_pruning_level(0.5);
  const double ratio8 = static_cast<double>(p8->flops_now()) / static_cast<double>(p8->flops_before());
  EXPECT_LE(ratio8, 0.5);
  EXPECT_GT(ratio8, 0.42);
}

TEST(FilterPruning, ScheduleFreezeShrinksWithTheAttachedOptimizer) {
  auto net = resnet18();
  auto r = create_compressed_model(net, config_of(R"({"algorithm": "filter_pruning", "params": {
      "schedule": "baseline", "pruning_target": 0.5, "num_init_steps": 1}})"));
  auto p = as_pruning(r.ctrl);
  torch::optim::SGD opt(r.model->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  p->attach_optimizer(&opt);
  const int64_t before = r.model->tensor("layer1.0.conv1.weight").size(0);
  r.ctrl->scheduler().epoch_step();  // warm-up
  EXPECT_EQ(r.model->tensor("layer1.0.conv1.weight").size(0), before);
  r.ctrl->scheduler().epoch_step();  // target and freeze
  EXPECT_TRUE(p->frozen());
  EXPECT_EQ(r.model->tensor("layer1.0.conv1.weight").size(0), before / 2);
  EXPECT_EQ(r.ctrl->compression_stage(), CompressionStage::FullyCompressed);
  // Training goes on with the same optimizer.
  r.model->train();
  opt.zero_grad();
  r.model->forward(torch::randn({2, 3, 32, 32})).sum().backward();
  opt.step();
}

TEST(FilterPruning, ShrunkCheckpointResumes) {
  auto net = resnet18();
  const Config config = config_of(R"({"algorithm": "filter_pruning", "params": {"pruning_target": 0.5}})");
  auto r = create_compressed_model(net, config);
  auto p = as_pruning(r.ctrl);
  p->set_pruning_level(0.5);
  p->shrink();
  const std::string path = "pruning_ckpt_" + std::to_string(::getpid()) + ".nncf";
  save_checkpoint(path, r, config);
  auto fresh = resnet18();
  auto again = create_compressed_model(fresh, config, Checkpoint::load(path));
  std::remove(path.c_str());
  r.model->eval();
  again.model->eval();
  const at::Tensor x = torch::randn({2, 3, 32, 32});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(r.model->forward(x), again.model->forward(x)));
  EXPECT_EQ(again.model->tensor("layer1.0.conv1.weight").sizes(),
            r.model->tensor("layer1.0.conv1.weight").sizes());
}

// Pruning masks run first on a weight (priority), and the shrink slices the sparsity mask and the
// per-channel weight quantizer of every shrunk weight: outputs stay equal.
TEST(FilterPruning, CombinesWithQuantizationAndSparsity) {
  auto net = resnet18();
  randomize_batchnorms(*net);
  auto r = create_compressed_model(
      net, config_of(R"([{"algorithm": "filter_pruning", "params": {"prune_first_conv": true}},
                         {"algorithm": "magnitude_sparsity", "sparsity_init": 0.3},
                         {"algorithm": "quantization", "weights": {"per_channel": true},
                          "initializer": {"range": {"num_init_samples": 0}}}])"));
  auto* composite = dynamic_cast<CompositeController*>(r.ctrl.get());
  ASSERT_NE(composite, nullptr);
  auto p = composite->find<FilterPruningController>();
  ASSERT_NE(p, nullptr);
  p->set_pruning_level(0.5);
  torch::optim::SGD opt(r.model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  r.model->train();
  const at::Tensor x = torch::randn({2, 3, 32, 32});
  opt.zero_grad();
  r.model->forward(x).sum().backward();
  opt.step();
  r.model->eval();
  at::Tensor masked;
  {
    torch::NoGradGuard no_grad;
    masked = r.model->forward(x);
  }
  p->shrink(&opt);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(masked, r.model->forward(x), 1e-4, 1e-5));
  EXPECT_LT(r.model->tensor("layer1.0.conv1.weight").size(0), 16);
}

std::string temp(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("nncf_pruning_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

// The shrunk model exports smaller, and ONNX Runtime and LibTorch's TorchScript loader run it to
// the model's outputs.
TEST(FilterPruning, ShrunkModelExportsSmallerAndRunsInOnnxRuntime) {
  auto net = resnet18();
  randomize_batchnorms(*net);
  auto r = create_compressed_model(net, config_of(R"({"algorithm": "filter_pruning", "params": {
      "prune_first_conv": true, "prune_downsample_convs": true}})"));
  auto p = as_pruning(r.ctrl);
  p->set_pruning_level(0.5);
  const std::string masked = temp("masked.onnx"), shrunk = temp("shrunk.onnx"), ts = temp("shrunk.pt");
  r.ctrl->export_model(masked);
  p->shrink();
  r.ctrl->export_model(shrunk);
  r.ctrl->export_model(ts, "torchscript");
  const auto size = [](const std::string& f) { return static_cast<double>(std::filesystem::file_size(f)); };
  EXPECT_LT(size(shrunk), 0.6 * size(masked));
  r.model->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor x = torch::randn({3, 3, 32, 32});
  const at::Tensor want = r.model->forward(x);
  const auto got =
      testing::run_onnxruntime(shrunk, {{testing::onnxruntime_signature(shrunk).inputs.at(0), x}});
  EXPECT_TRUE(torch::allclose(got.at(0), want, 1e-3, 1e-4)) << (got.at(0) - want).abs().max();
  torch::jit::Module loaded = torch::jit::load(ts);
  EXPECT_TRUE(torch::allclose(loaded.forward({x}).toTensor(), want, 1e-4, 1e-5));
  for (const std::string& f : {masked, shrunk, ts}) std::remove(f.c_str());
}

// NNCF's resnet18_pruning_geometric_median.json section, unchanged, on torchvision's models as
// TorchScript files: groups found (residual adds, concatenations, depthwise convolutions,
// squeeze-excitation multiplies), masked at the target, shrunk with outputs unchanged.
class TorchvisionPruning : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchvisionPruning, NncfConfigPrunesAndShrinksWithOutputsUnchanged) {
  const char* dir = std::getenv("NNCF_TEST_MODELS_DIR");
  ASSERT_NE(dir, nullptr) << "NNCF_TEST_MODELS_DIR is set by CTest";
  torch::manual_seed(0);
  const Config config = config_of(R"({
            "algorithm": "filter_pruning",
            "pruning_init": 0.1,
            "params": {
            "schedule": "exponential",
                "pruning_target": 0.4,
                "pruning_steps": 15,
                "weight_importance": "geometric_median"
            }
        })",
                                  "[1, 3, 64, 64]");
  auto r = create_compressed_model(std::string(dir) + "/" + GetParam() + ".pt", config);
  auto p = as_pruning(r.ctrl);
  std::string skipped;
  for (const auto& g : p->skipped())
    skipped += c10::Join(",", g.layers) + ": " + c10::Join("; ", g.reasons) + "\n";
  ASSERT_FALSE(p->groups().empty()) << skipped;
  {
    torch::NoGradGuard no_grad;
    for (const auto& b : r.model->named_buffers()) {
      const std::string& k = b.key();
      if (k.size() > 12 && k.compare(k.size() - 12, 12, "running_mean") == 0) b.value().uniform_(-0.2, 0.2);
      if (k.size() > 11 && k.compare(k.size() - 11, 11, "running_var") == 0) b.value().uniform_(0.5, 1.5);
    }
  }
  p->set_pruning_level(0.4);
  r.model->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor x = torch::randn({2, 3, 64, 64});
  auto first = [](const c10::IValue& v) {
    return v.isTensor() ? v.toTensor() : v.toTuple()->elements()[0].toTensor();
  };
  const at::Tensor masked = first(r.model->forward(std::vector<c10::IValue>{x}));
  const int64_t params = p->params_now();
  p->shrink();
  const at::Tensor shrunk = first(r.model->forward(std::vector<c10::IValue>{x}));
  EXPECT_TRUE(torch::allclose(masked, shrunk, 1e-3, 1e-4)) << (masked - shrunk).abs().max();
  EXPECT_LT(params, p->params_before());
  EXPECT_EQ(p->params_now(), params);
}

INSTANTIATE_TEST_SUITE_P(Zoo, TorchvisionPruning,
                         ::testing::Values("resnet18_traced", "resnet18_scripted", "mobilenet_v2_scripted",
                                           "densenet121_traced", "googlenet_traced", "efficientnet_b0_traced",
                                           "squeezenet1_1_scripted", "mnasnet0_5_traced"));

// DenseNet concatenates every layer's output: the BatchNorm that reads a concatenation masks the
// segments of several groups, side by side, each at its own offset.
TEST(TorchvisionPruningGroups, DenseNetBatchNormsHoldSeveralGroupsSideBySide) {
  const char* dir = std::getenv("NNCF_TEST_MODELS_DIR");
  ASSERT_NE(dir, nullptr) << "NNCF_TEST_MODELS_DIR is set by CTest";
  auto r = create_compressed_model(std::string(dir) + "/densenet121_traced.pt",
                                   config_of(R"({"algorithm": "filter_pruning"})", "[1, 3, 64, 64]"));
  auto p = as_pruning(r.ctrl);
  std::map<std::string, std::set<int64_t>> offsets;  // masked tensor -> offsets of its groups
  for (const auto& g : p->groups())
    for (const auto& seg : g.segments) offsets[seg.tensor].insert(seg.offset);
  // denseblock1's last layer reads the stem's 64 channels and five 32-channel layer outputs.
  const auto& last = offsets["features.denseblock1.denselayer6.norm1.weight"];
  EXPECT_EQ(last, (std::set<int64_t>{64, 96, 128, 160, 192}));  // the stem's group is a first conv
  size_t shared = 0;
  for (const auto& [tensor, o] : offsets) shared += o.size() > 1;
  EXPECT_GT(shared, 10u);
}

// RegNet-X's grouped convolutions tie channel blocks: no group is pruned, and each says why.
TEST(TorchvisionPruningSkips, RegNetGroupedConvolutionsAreSkippedWithReasons) {
  const char* dir = std::getenv("NNCF_TEST_MODELS_DIR");
  ASSERT_NE(dir, nullptr) << "NNCF_TEST_MODELS_DIR is set by CTest";
  auto r = create_compressed_model(std::string(dir) + "/regnet_x_400mf_traced.pt",
                                   config_of(R"({"algorithm": "filter_pruning"})", "[1, 3, 64, 64]"));
  auto p = as_pruning(r.ctrl);
  EXPECT_TRUE(p->groups().empty());
  ASSERT_FALSE(p->skipped().empty());
  size_t grouped = 0;
  for (const auto& s : p->skipped()) {
    EXPECT_FALSE(s.reasons.empty());
    for (const auto& why : s.reasons) grouped += why.find("grouped convolution") != std::string::npos;
  }
  EXPECT_GT(grouped, 0u);
  EXPECT_NE(r.ctrl->statistics().to_string().find("groups not pruned"), std::string::npos);
}

}  // namespace
}  // namespace nncf
