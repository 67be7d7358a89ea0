// The algorithm table, transformation layouts and what controllers publish: every algorithm a
// config may name is one table entry; builders return layouts that one transformer applies; the
// compression rate comes from Statistics::values, not from controller types.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>

#include "nncf/algorithms/algorithm.h"
#include "nncf/algorithms/priorities.h"
#include "nncf/api/algorithms.h"
#include "nncf/api/compression.h"
#include "nncf/runtime/transformation.h"
#include "support/errors.h"

namespace nncf {
namespace {

struct TwoLayerImpl : torch::nn::Module {
  TwoLayerImpl() {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 4, 3)));
    fc = register_module("fc", torch::nn::Linear(4 * 4 * 4, 3));
  }
  torch::Tensor forward(torch::Tensor x) { return fc->forward(torch::relu(conv->forward(x)).flatten(1)); }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(TwoLayer);

Config config_of(const std::string& compression) {
  return Config::from_string(R"({"input_info": {"sample_size": [2, 1, 6, 6]}, "compression": )" +
                             compression + "}");
}

// Records the order in which modules run.
struct OrderImpl : torch::nn::Module {
  OrderImpl(std::vector<std::string>* log, std::string name) : log(log), name(std::move(name)) {}
  torch::Tensor forward(const torch::Tensor& x) {
    log->push_back(name);
    return x;
  }
  std::vector<std::string>* log;
  std::string name;
};
TORCH_MODULE(Order);

TEST(AlgorithmTable, EverySupportedNameHasOneEntryAndValidatesItsSection) {
  const auto& names = supported_algorithm_names();
  ASSERT_EQ(names.size(), algorithm_table().size());
  for (const std::string& name : names) {
    const Algorithm* a = find_algorithm(name);
    ASSERT_NE(a, nullptr) << name;
    EXPECT_EQ(std::count(names.begin(), names.end(), name), 1) << name;
  }
  EXPECT_EQ(find_algorithm("knowledge_distillation"), nullptr);
  // Validation goes through the entry: a bad key is named with its path.
  const Config bad = config_of(R"({"algorithm": "rb_sparsity", "sparsity_inti": 0.1})");
  EXPECT_THAT(testing::error_of([&] { find_algorithm("rb_sparsity")->validate(bad.compression()[0]); }),
              ::testing::HasSubstr("compression.sparsity_inti"));
}

TEST(TransformationLayout, MergedLayoutsRunByPriorityWhateverTheMergeOrder) {
  TwoLayer net;
  auto captured = capture::capture_module(net, {torch::randn({2, 1, 6, 6})});
  runtime::CompressedModel model(std::move(captured.graph), captured.tensors);
  std::vector<std::string> log;
  runtime::TransformationLayout quantize, sparsify, merged;
  quantize.insert({runtime::InsertionPoint::weight("conv.weight")}, torch::nn::AnyModule(Order(&log, "q")),
                  "q", priority::kQuantization);
  sparsify.insert({runtime::InsertionPoint::weight("conv.weight")}, torch::nn::AnyModule(Order(&log, "s")),
                  "s", priority::kSparsity);
  merged.merge(std::move(quantize));
  merged.merge(std::move(sparsify));
  ASSERT_EQ(merged.insertions().size(), 2u);
  runtime::apply(model, merged);
  model->forward(torch::randn({2, 1, 6, 6}));
  EXPECT_EQ(log, (std::vector<std::string>{"s", "q"}));
}

TEST(TransformationLayout, ABadCommandLeavesTheModelUnchanged) {
  TwoLayer net;
  auto captured = capture::capture_module(net, {torch::randn({2, 1, 6, 6})});
  runtime::CompressedModel model(std::move(captured.graph), captured.tensors);
  std::vector<std::string> log;
  runtime::TransformationLayout layout;
  layout.insert({runtime::InsertionPoint::weight("conv.weight")}, torch::nn::AnyModule(Order(&log, "a")), "a",
                0);
  layout.insert({runtime::InsertionPoint::weight("no.such.weight")}, torch::nn::AnyModule(Order(&log, "b")),
                "b", 0);
  EXPECT_THAT(testing::error_of([&] { runtime::apply(model, layout); }),
              ::testing::HasSubstr("no.such.weight"));
  EXPECT_TRUE(model->hooks().empty());
}

TEST(CompressionRate, ComesFromStatisticsForEveryAlgorithmAndTheirCombination) {
  TwoLayer net;
  {
    auto r = create_compressed_model(net, config_of(R"({"algorithm": "quantization"})"));
    // Both weights on 8 bits: 32 / 8.
    EXPECT_DOUBLE_EQ(compression_rate(r.ctrl->statistics(), r.model), 4.0);
  }
  {
    auto r =
        create_compressed_model(net, config_of(R"({"algorithm": "magnitude_sparsity", "sparsity_init": 0.5,
        "params": {"sparsity_level_setting_mode": "local"}})"));
    const Statistics s = r.ctrl->statistics();
    EXPECT_NEAR(s.values.at("compression.weight_density.conv.weight"), 0.5, 1.0 / 36);
    EXPECT_NEAR(compression_rate(s, r.model), 2.0, 0.1);
  }
  {
    auto r =
        create_compressed_model(net, config_of(R"([{"algorithm": "magnitude_sparsity", "sparsity_init": 0.5,
                          "params": {"sparsity_level_setting_mode": "local"}}, {"algorithm": "quantization"}])"));
    const Statistics s = r.ctrl->statistics();
    const double conv_n = 4 * 9, fc_n = 3 * 64;
    const double stored = 8 * (s.values.at("compression.weight_density.conv.weight") * conv_n +
                               s.values.at("compression.weight_density.fc.weight") * fc_n);
    EXPECT_DOUBLE_EQ(compression_rate(s, r.model), 32 * (conv_n + fc_n) / stored);
  }
}

}  // namespace
}  // namespace nncf
