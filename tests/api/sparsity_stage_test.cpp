// The compression stage of the sparsity controllers against the schedule's real target level (the
// last multistep level, `sparsity_target` otherwise), for every schedule type; and BatchNorm
// adaptation of magnitude sparsity, which runs only when set_sparsity_level asks for it (as NNCF),
// never at the scheduler's level changes.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <vector>

#include "nncf/algorithms/sparsity/controller.h"
#include "nncf/api/compression.h"
#include "nncf/ir/log.h"
#include "support/errors.h"
#include "support/models.h"

namespace nncf {
namespace {

using sparsity::SparsityController;

Config config_of(const std::string& section) {
  return Config::from_string(R"({"input_info": {"sample_size": [1, 1, 12, 12]}, "compression": )" + section +
                             "}");
}

CompressionResult build(const std::string& section) {
  torch::manual_seed(0);
  testing::SmallCNN net(testing::SmallCNNOptions().width(4).num_classes(4));
  return create_compressed_model(net, config_of(section));
}

std::shared_ptr<SparsityController> as_sparsity(const CompressionResult& r) {
  auto s = std::dynamic_pointer_cast<SparsityController>(r.ctrl);
  EXPECT_NE(s, nullptr);
  return s;
}

// The stage after each of `epochs` epoch_step()s.
std::vector<CompressionStage> stages(CompressionResult& r, int epochs) {
  std::vector<CompressionStage> out;
  for (int e = 0; e < epochs; ++e) {
    r.ctrl->scheduler().epoch_step();
    out.push_back(r.ctrl->compression_stage());
  }
  return out;
}

constexpr auto kNone = CompressionStage::Uncompressed;
constexpr auto kPartial = CompressionStage::PartiallyCompressed;
constexpr auto kFull = CompressionStage::FullyCompressed;

TEST(SparsityStage, MultistepIsFullyCompressedAtItsLastLevelOnly) {
  // Levels 0.1, 0.5, 0.9: the default sparsity_target (0.5) is not this schedule's target.
  auto r = build(R"({"algorithm": "magnitude_sparsity", "params": {"schedule": "multistep",
      "multistep_steps": [1, 3], "multistep_sparsity_levels": [0.1, 0.5, 0.9]}})");
  EXPECT_EQ(stages(r, 4), (std::vector<CompressionStage>{kPartial, kPartial, kPartial, kFull}));
  EXPECT_DOUBLE_EQ(as_sparsity(r)->sparsity_level(), 0.9);
  // Levels 0.1, 0.3: fully compressed at 0.3, below the default sparsity_target.
  auto low = build(R"({"algorithm": "magnitude_sparsity", "params": {"schedule": "multistep",
      "multistep_steps": [1], "multistep_sparsity_levels": [0.1, 0.3]}})");
  EXPECT_EQ(stages(low, 3), (std::vector<CompressionStage>{kPartial, kFull, kFull}));
  // A schedule that starts at 0 is uncompressed there.
  auto zero = build(R"({"algorithm": "rb_sparsity", "params": {"schedule": "multistep",
      "multistep_steps": [2], "multistep_sparsity_levels": [0, 0.4]}})");
  EXPECT_EQ(stages(zero, 3), (std::vector<CompressionStage>{kNone, kNone, kFull}));
  // A schedule whose target is 0 compresses nothing: uncompressed throughout (NNCF checks 0 first).
  auto nothing = build(R"({"algorithm": "magnitude_sparsity", "params": {"schedule": "multistep",
      "multistep_steps": [1], "multistep_sparsity_levels": [0, 0]}})");
  EXPECT_EQ(stages(nothing, 2), (std::vector<CompressionStage>{kNone, kNone}));
}

TEST(SparsityStage, PolynomialAndExponentialReachTheirTargetExactly) {
  // Convex: I + (T - I) * 1^p is not T in floating point for these values; the stage must still
  // become fully compressed at the target epoch.
  for (const char* schedule :
       {R"("polynomial", "concave": false, "power": 2)", R"("polynomial", "power": 3)", R"("exponential")"}) {
    for (const char* algo : {"magnitude_sparsity", "rb_sparsity"}) {
      auto r =
          build(c10::str(R"({"algorithm": ")", algo, R"(", "sparsity_init": 0.1, "params": {"schedule": )",
                         schedule, R"(, "sparsity_target": 0.7, "sparsity_target_epoch": 3}})"));
      EXPECT_EQ(stages(r, 5), (std::vector<CompressionStage>{kPartial, kPartial, kPartial, kFull, kFull}))
          << algo << " " << schedule;
      EXPECT_DOUBLE_EQ(as_sparsity(r)->sparsity_level(), 0.7) << algo << " " << schedule;
    }
  }
}

TEST(SparsityStage, PerStepPolynomialIsFullyCompressedAtTheTarget) {
  auto r = build(R"({"algorithm": "magnitude_sparsity", "sparsity_init": 0.1, "params": {
      "sparsity_target": 0.6, "sparsity_target_epoch": 2, "update_per_optimizer_step": true,
      "steps_per_epoch": 4}})");
  std::vector<CompressionStage> seen;
  for (int e = 0; e < 3; ++e) {
    r.ctrl->scheduler().epoch_step();
    for (int i = 0; i < 4; ++i) {
      r.ctrl->scheduler().step();
      seen.push_back(r.ctrl->compression_stage());
    }
  }
  EXPECT_EQ(seen.back(), kFull);
  EXPECT_EQ(seen[7], kPartial) << "epoch 1's last step is at epoch 1.75, before the target";
  EXPECT_EQ(seen[8], kFull) << "epoch 2 is the target epoch";
}

TEST(SparsityStage, AdaptiveIsCappedAtAndReachesItsTarget) {
  auto r = build(R"({"algorithm": "rb_sparsity", "sparsity_init": 0.2, "params": {"schedule": "adaptive",
      "sparsity_target": 0.3, "patience": 1}})");
  {
    // Every logit negative: the model is fully sparse, each epoch is "bad", the level rises by 0.05.
    torch::NoGradGuard no_grad;
    for (auto& p : r.model->named_parameters()) {
      if (p.key().find("rb_sparsity.mask") != std::string::npos) p.value().fill_(-1);
    }
  }
  EXPECT_EQ(stages(r, 3), (std::vector<CompressionStage>{kPartial, kFull, kFull}));
  EXPECT_DOUBLE_EQ(as_sparsity(r)->sparsity_level(), 0.3);
}

TEST(SparsityStage, LocalModeIsFullyCompressedAtItsLevel) {
  // No schedule: the level set is the target (NNCF reports local mode as fully compressed).
  auto r = build(R"({"algorithm": "magnitude_sparsity", "sparsity_init": 0.3,
      "params": {"sparsity_level_setting_mode": "local"}})");
  EXPECT_EQ(r.ctrl->compression_stage(), kFull);
}

TEST(SparsityStage, FrozenMasksFollowTheSchedule) {
  // Frozen at epoch 1 (level 0.1 kept by the masks), the schedule reaches its target at epoch 2:
  // the compression is as complete as this config makes it.
  auto r = build(R"({"algorithm": "magnitude_sparsity", "sparsity_init": 0.1, "params": {
      "schedule": "multistep", "multistep_steps": [2], "multistep_sparsity_levels": [0.1, 0.4],
      "sparsity_freeze_epoch": 1}})");
  EXPECT_EQ(stages(r, 3), (std::vector<CompressionStage>{kPartial, kPartial, kFull}));
}

// ---- BatchNorm adaptation -----------------------------------------------------------------------

// Data whose every batch is counted: a BN-adaptation pass is a run over it.
struct CountingData {
  torch::Tensor x = torch::randn({8, 1, 12, 12});
  int batches = 0;
  InitData data() {
    return InitData([this](const InitData::Visitor& visit) {
      for (int i = 0; i < 4; ++i) {
        ++batches;
        if (!visit({x.slice(0, 2 * i, 2 * i + 2)})) return;
      }
    });
  }
};

TEST(SparsityBatchNormAdaptation, NeverRunsAtScheduledLevelChanges) {
  auto r = build(R"({"algorithm": "magnitude_sparsity", "sparsity_init": 0.1, "params": {
      "sparsity_target": 0.6, "sparsity_target_epoch": 2, "update_per_optimizer_step": true,
      "steps_per_epoch": 4}, "initializer": {"batchnorm_adaptation": {"num_bn_adaptation_samples": 4}}})");
  auto s = as_sparsity(r);
  CountingData counting;
  r.ctrl->initialize(counting.data());
  EXPECT_EQ(counting.batches, 0) << "NNCF's magnitude sparsity runs no BN adaptation at initialization";
  std::vector<double> levels;
  for (int e = 0; e < 2; ++e) {
    r.ctrl->scheduler().epoch_step();
    for (int i = 0; i < 4; ++i) {
      r.ctrl->scheduler().step();
      levels.push_back(s->sparsity_level());
    }
  }
  EXPECT_GT(levels.back(), levels.front()) << "the level changed at the steps";
  EXPECT_EQ(counting.batches, 0) << "no BN adaptation at scheduled level changes";

  // Explicitly asked for: one pass of ceil(4 / 2) = 2 batches, moving the running statistics.
  const torch::Tensor mean = r.model->tensor("bn1.running_mean").clone();
  s->set_sparsity_level(0.3, /*run_batchnorm_adaptation=*/true);
  EXPECT_EQ(counting.batches, 2);
  EXPECT_FALSE(torch::equal(mean, r.model->tensor("bn1.running_mean")));
}

TEST(SparsityBatchNormAdaptation, ExplicitRunWithoutDataNamesInitialize) {
  auto r = build(R"({"algorithm": "magnitude_sparsity",
      "initializer": {"batchnorm_adaptation": {"num_bn_adaptation_samples": 4}}})");
  r.ctrl->scheduler().epoch_step();  // a scheduled level change needs no data
  const std::string msg = testing::error_of([&] { as_sparsity(r)->set_sparsity_level(0.3, true); });
  EXPECT_NE(msg.find("ctrl->initialize(loader)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("compression"), std::string::npos) << msg;
}

TEST(SparsityBatchNormAdaptation, AConfiguredSectionSaysWhenItRuns) {
  // The section alone runs nothing; the config's reader hears so once, with the JSON path.
  std::vector<std::string> messages;
  reset_log_once();
  const LogSink previous =
      set_log_sink([&](LogLevel, const std::string& message) { messages.push_back(message); });
  for (int i = 0; i < 2; ++i) {
    build(R"({"algorithm": "magnitude_sparsity",
        "initializer": {"batchnorm_adaptation": {"num_bn_adaptation_samples": 4}}})");
  }
  set_log_sink(previous);
  const auto hits = std::count_if(messages.begin(), messages.end(), [](const std::string& m) {
    return m.find("compression.initializer.batchnorm_adaptation: ") != std::string::npos &&
           m.find("run_batchnorm_adaptation=*/true") != std::string::npos;
  });
  EXPECT_EQ(hits, 1) << c10::Join("\n", messages);
}

}  // namespace
}  // namespace nncf
