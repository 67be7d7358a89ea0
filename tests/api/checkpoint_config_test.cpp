// Resuming checks the config against the one the checkpoint was saved with: the `compression`
// section, `target_device` and the global `compression_lr_multiplier` must be equal as JSON values
// (comments, formatting and key order do not matter); the first difference is named by its JSON
// path. Keys that do not change the compression (input_info, a training loop's own keys) may differ.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <string>

#include "nncf/api/checkpoint.h"
#include "nncf/api/compression.h"
#include "support/errors.h"
#include "support/models.h"

namespace nncf {
namespace {

const char* kSaved = R"({"input_info": {"sample_size": [1, 1, 12, 12]}, "target_device": "TRIAL",
  "compression": [
    {"algorithm": "magnitude_sparsity", "sparsity_init": 0.1,
     "params": {"sparsity_target": 0.5, "sparsity_target_epoch": 2, "multistep_steps": [1, 3],
                "multistep_sparsity_levels": [0.1, 0.3, 0.5]}},
    {"algorithm": "quantization", "weights": {"bits": 8}, "initializer": {"range": {"num_init_samples": 8}}}]})";

class CheckpointConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(0);
    path_ = ::testing::TempDir() + "/nncf_checkpoint_config.nncf";
    net_ = testing::SmallCNN(testing::SmallCNNOptions().width(4));
    const Config config = Config::from_string(kSaved);
    auto r = create_compressed_model(net_, config);
    save_checkpoint(path_, r, config);
  }
  void TearDown() override { std::remove(path_.c_str()); }

  // The error of resuming with `json` ("" when it resumes).
  std::string resume_error(const std::string& json) {
    try {
      create_compressed_model(net_, Config::from_string(json), Checkpoint::load(path_));
    } catch (const c10::Error& e) {
      return e.what_without_backtrace();
    }
    return "";
  }
  // kSaved with `from` replaced by `to`.
  static std::string edited(const std::string& from, const std::string& to) {
    std::string s = kSaved;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  }

  std::string path_;
  testing::SmallCNN net_{nullptr};
};

TEST_F(CheckpointConfig, AnEqualConfigResumes) {
  EXPECT_EQ(resume_error(kSaved), "");
  // Comments, formatting, key order, 2 vs 2.0, and keys outside the compression may differ.
  EXPECT_EQ(resume_error(R"(// the same compression
    {"epochs": 10, "batch_size": 64, "input_info": {"sample_size": [4, 1, 12, 12]},
     "compression": [
       {"params": {"multistep_steps": [1, 3], "sparsity_target_epoch": 2.0, "sparsity_target": 5e-1,
                   "multistep_sparsity_levels": [0.1, 0.3, 0.5]},
        "sparsity_init": 0.1, "algorithm": "magnitude_sparsity"},  /* masks first */
       {"algorithm": "quantization", "initializer": {"range": {"num_init_samples": 8}}, "weights": {"bits": 8}}],
     "target_device": "TRIAL"})"),
            "");
}

TEST_F(CheckpointConfig, AChangedValueNamesItsPath) {
  const std::string msg = resume_error(edited(R"("sparsity_target": 0.5)", R"("sparsity_target": 0.7)"));
  EXPECT_NE(
      msg.find(
          "compression[0].params.sparsity_target: the checkpoint was saved with 0.5, the config has 0.7"),
      std::string::npos)
      << msg;
  EXPECT_NE(msg.find(path_), std::string::npos) << msg;
  EXPECT_NE(resume_error(edited(R"("bits": 8)", R"("bits": 6)"))
                .find("compression[1].weights.bits: the checkpoint was saved with 8, the config has 6"),
            std::string::npos);
  EXPECT_NE(
      resume_error(edited("[1, 3]", "[1, 4]"))
          .find(
              "compression[0].params.multistep_steps[1]: the checkpoint was saved with 3, the config has 4"),
      std::string::npos);
  EXPECT_NE(
      resume_error(edited("[1, 3]", "[1, 3, 5]"))
          .find("compression[0].params.multistep_steps: the checkpoint was saved with [1,3], the config "
                "has [1,3,5]"),
      std::string::npos);
}

TEST_F(CheckpointConfig, AnAddedOrRemovedKeyNamesItsPath) {
  EXPECT_NE(resume_error(
                edited(R"("sparsity_target": 0.5)", R"("sparsity_target": 0.5, "schedule": "exponential")"))
                .find("compression[0].params.schedule: the checkpoint was saved without it, the config has "
                      "\"exponential\""),
            std::string::npos);
  EXPECT_NE(
      resume_error(edited(R"("sparsity_init": 0.1,)", ""))
          .find(
              "compression[0].sparsity_init: the checkpoint was saved with 0.1, the config does not have it"),
      std::string::npos);
}

TEST_F(CheckpointConfig, TargetDeviceAndTheGlobalLrMultiplierMustMatch) {
  EXPECT_NE(resume_error(edited(R"("TRIAL")", R"("CPU")"))
                .find(R"(target_device: the checkpoint was saved with "TRIAL", the config has "CPU")"),
            std::string::npos);
  EXPECT_NE(resume_error(edited(R"("target_device": "TRIAL",)",
                                R"("target_device": "TRIAL", "compression_lr_multiplier": 2,)"))
                .find("compression_lr_multiplier: the checkpoint was saved without it, the config has 2"),
            std::string::npos);
}

TEST_F(CheckpointConfig, DefaultsAndTheSingleAlgorithmFormCompareByMeaning) {
  // Saved without target_device (ANY) and with `compression` as an object; resumed with "ANY" and
  // a one-element list.
  const std::string saved = R"({"input_info": {"sample_size": [1, 1, 12, 12]},
      "compression": {"algorithm": "magnitude_sparsity", "sparsity_init": 0.2}})";
  const Config config = Config::from_string(saved);
  auto r = create_compressed_model(net_, config);
  save_checkpoint(path_, r, config);
  EXPECT_EQ(resume_error(R"({"input_info": {"sample_size": [1, 1, 12, 12]}, "target_device": "ANY",
      "compression": [{"algorithm": "magnitude_sparsity", "sparsity_init": 0.2}]})"),
            "");
  const std::string msg = resume_error(R"({"input_info": {"sample_size": [1, 1, 12, 12]},
      "compression": {"algorithm": "magnitude_sparsity", "sparsity_init": 0.3}})");
  EXPECT_NE(msg.find("compression.sparsity_init: the checkpoint was saved with 0.2, the config has 0.3"),
            std::string::npos)
      << msg;
}

}  // namespace
}  // namespace nncf
