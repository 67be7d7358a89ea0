// A quantization config as a user writes it, through create_compressed_model: the range weight
// quantizers start with for every range type (NNCF: statistics of the whole weight, or of each
// channel), bit widths outside 2..8 and bit widths the target's HW config forbids (rejected with
// the JSON path), where the preset applies (not on VPU), and the warnings placement logs.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "nncf/algorithms/quantization/controller.h"
#include "nncf/algorithms/quantization/range_init.h"
#include "nncf/api/compression.h"
#include "nncf/ir/log.h"
#include "support/errors.h"
#include "support/models.h"

namespace nncf {
namespace {

using quantization::QuantizationController;
using quantization::QuantizationMode;
using quantization::QuantizerGroup;

Config config_of(const std::string& quantization, const std::string& target_device = "ANY") {
  return Config::from_string(R"({"input_info": {"sample_size": [2, 1, 12, 12]}, "target_device": ")" +
                             target_device + R"(", "compression": {"algorithm": "quantization")" +
                             quantization + "}}");
}

std::shared_ptr<QuantizationController> build(testing::SmallCNN& net, const Config& config) {
  auto result = create_compressed_model(net, config);
  auto q = std::dynamic_pointer_cast<QuantizationController>(result.ctrl);
  EXPECT_NE(q, nullptr);
  return q;
}

// The (min, max) NNCF's collectors give for a weight under `type`, computed with plain LibTorch
// ops over the whole weight (per tensor) or over each output channel (rows of `w2d`).
std::pair<torch::Tensor, torch::Tensor> reference_range(const std::string& type, const torch::Tensor& w2d,
                                                        bool symmetric) {
  if (type == "min_max" || type == "mean_min_max" || type == "mixed_min_max") {
    // One "batch" (the weight): plain minimum and maximum (|w| for the symmetric maximum).
    return {std::get<0>(w2d.min(1)), std::get<0>((symmetric ? w2d.abs() : w2d).max(1))};
  }
  if (type == "percentile" || type == "mean_percentile") {
    return {torch::quantile(w2d, 0.001, 1), torch::quantile(w2d, 0.999, 1)};
  }
  // threesigma: median +- 3 * 1.4826230 * median(|w - median|)
  const torch::Tensor median = torch::quantile(w2d, 0.5, 1, /*keepdim=*/true);
  const torch::Tensor mad = torch::quantile((w2d - median).abs(), 0.5, 1);
  const torch::Tensor m = median.squeeze(1);
  return {m - 3 * 1.4826230 * mad, m + 3 * 1.4826230 * mad};
}

TEST(QuantizationConfigWeights, EveryRangeTypeGivesNncfWeightRange) {
  for (const std::string type :
       {"mixed_min_max", "min_max", "mean_min_max", "threesigma", "percentile", "mean_percentile"}) {
    for (const bool per_channel : {false, true}) {
      for (const std::string mode : {"symmetric", "asymmetric"}) {
        const std::string where = type + (per_channel ? " per-channel " : " per-tensor ") + mode;
        torch::manual_seed(0);
        testing::SmallCNN net(testing::SmallCNNOptions().width(8));
        auto q = build(net, config_of(R"(, "weights": {"mode": ")" + mode + R"(", "per_channel": )" +
                                      (per_channel ? "true" : "false") + R"(},
            "initializer": {"range": {"type": ")" +
                                      type + R"(", "num_init_samples": 4},
                            "batchnorm_adaptation": {"num_bn_adaptation_samples": 0}})"));
        const torch::Tensor x = torch::randn({4, 1, 12, 12});
        q->initialize(InitData([&](const InitData::Visitor& visit) { visit({x}); }));
        size_t checked = 0;
        for (const auto& qz : q->quantizers()) {
          if (qz.spec.group != QuantizerGroup::Weights) continue;
          const torch::Tensor w = q->model()->tensor(qz.spec.weight).detach();
          const torch::Tensor w2d = per_channel ? w.reshape({w.size(0), -1}) : w.reshape({1, -1});
          auto [lo, hi] = reference_range(type, w2d, mode == "symmetric");
          if (mode == "symmetric") {
            const torch::Tensor scale = torch::maximum(lo.abs(), hi.abs()).clamp_min(0.1);
            EXPECT_TRUE(torch::allclose(qz.module->scale.reshape(-1), scale, 1e-5, 1e-7))
                << where << " " << qz.spec.id << ": scale " << qz.module->scale.reshape(-1) << " expected "
                << scale;
          } else {
            auto [low, range] = quantization::asymmetric_range(lo, hi);
            EXPECT_TRUE(torch::allclose(qz.module->input_low.reshape(-1), low, 1e-5, 1e-7))
                << where << " " << qz.spec.id << ": input_low " << qz.module->input_low.reshape(-1)
                << " expected " << low;
            EXPECT_TRUE(torch::allclose(qz.module->input_range.reshape(-1), range, 1e-5, 1e-7))
                << where << " " << qz.spec.id;
          }
          ++checked;
        }
        EXPECT_EQ(checked, 3u) << where;
      }
    }
  }
}

// The largest weight of a per-tensor quantizer is representable after init: nothing is clipped.
TEST(QuantizationConfigWeights, PerTensorWeightScaleIsTheLargestMagnitude) {
  torch::manual_seed(0);
  testing::SmallCNN net(testing::SmallCNNOptions().width(8));
  auto q = build(net, config_of(R"(, "weights": {"per_channel": false},
      "initializer": {"batchnorm_adaptation": {"num_bn_adaptation_samples": 0}})",
                                "TRIAL"));
  q->initialize(InitData([&](const InitData::Visitor& visit) { visit({torch::randn({4, 1, 12, 12})}); }));
  for (const auto& qz : q->quantizers()) {
    if (qz.spec.group != QuantizerGroup::Weights) continue;
    const float max_abs = q->model()->tensor(qz.spec.weight).abs().max().item<float>();
    EXPECT_FLOAT_EQ(qz.module->scale.item<float>(), std::max(max_abs, 0.1f)) << qz.spec.id;
  }
}

TEST(QuantizationConfigBits, RejectsBitsOutsideTwoToEightWithThePath) {
  testing::SmallCNN net(testing::SmallCNNOptions().width(4));
  for (const char* bits : {"1", "9", "16", "32", "0", "-3"}) {
    std::string e = testing::error_of(
        [&] { build(net, config_of(R"(, "weights": {"bits": )" + std::string(bits) + "}")); });
    EXPECT_NE(e.find("compression.weights.bits: expected in [2, 8], got " + std::string(bits)),
              std::string::npos)
        << e;
    e = testing::error_of(
        [&] { build(net, config_of(R"(, "activations": {"bits": )" + std::string(bits) + "}")); });
    EXPECT_NE(e.find("compression.activations.bits: expected in [2, 8], got " + std::string(bits)),
              std::string::npos)
        << e;
    e = testing::error_of([&] {
      build(net,
            config_of(R"(, "scope_overrides": {"weights": {"conv1": {"bits": )" + std::string(bits) + "}}}"));
    });
    EXPECT_NE(e.find("compression.scope_overrides.weights.conv1.bits: expected in [2, 8], got " +
                     std::string(bits)),
              std::string::npos)
        << e;
  }
  // Every width in 2..8 builds on TRIAL.
  for (int bits = 2; bits <= 8; ++bits) {
    auto q = build(net, config_of(R"(, "weights": {"bits": )" + std::to_string(bits) +
                                      R"(}, "activations": {"bits": )" + std::to_string(bits) + "}",
                                  "TRIAL"));
    for (const auto& qz : q->quantizers()) EXPECT_EQ(qz.spec.config.bits, bits) << qz.spec.id;
  }
}

TEST(QuantizationConfigBits, RejectsBitsTheTargetsHardwareConfigDoesNotAllow) {
  testing::SmallCNN net(testing::SmallCNNOptions().width(4));
  // CPU and GPU run 8-bit only.
  for (const char* device : {"CPU", "GPU"}) {
    std::string e = testing::error_of([&] { build(net, config_of(R"(, "weights": {"bits": 4})", device)); });
    EXPECT_NE(e.find("compression.weights.bits"), std::string::npos) << e;
    EXPECT_NE(e.find(std::string("target_device ") + device), std::string::npos) << e;
    EXPECT_NE(e.find("4-bit"), std::string::npos) << e;
    EXPECT_NE(e.find("TRIAL"), std::string::npos) << "the message says how to get 4 bits anyway: " << e;
    e = testing::error_of([&] { build(net, config_of(R"(, "activations": {"bits": 6})", device)); });
    EXPECT_NE(e.find("compression.activations.bits"), std::string::npos) << e;
    e = testing::error_of([&] {
      build(net, config_of(R"(, "scope_overrides": {"weights": {"conv2": {"bits": 4}}})", device));
    });
    EXPECT_NE(e.find("compression.scope_overrides.weights.conv2.bits"), std::string::npos) << e;
    EXPECT_NE(e.find("conv2|WEIGHT"), std::string::npos) << e;
  }
  // VPU allows 4-bit weights, not 3-bit ones, and 4-bit activations into convolutions but not
  // into pooling.
  auto vpu = build(net, config_of(R"(, "weights": {"bits": 4})", "VPU"));
  for (const auto& qz : vpu->quantizers())
    EXPECT_EQ(qz.spec.config.bits, qz.spec.group == QuantizerGroup::Weights ? 4 : 8) << qz.spec.id;
  std::string e = testing::error_of([&] { build(net, config_of(R"(, "weights": {"bits": 3})", "VPU")); });
  EXPECT_NE(e.find("compression.weights.bits"), std::string::npos) << e;
  EXPECT_NE(e.find("target_device VPU"), std::string::npos) << e;
  e = testing::error_of([&] { build(net, config_of(R"(, "activations": {"bits": 4})", "VPU")); });
  EXPECT_NE(e.find("compression.activations.bits"), std::string::npos) << e;
  EXPECT_NE(e.find("adaptive_avg_pool2d"), std::string::npos) << "names the pooling op: " << e;
  // A config file is named too.
  const std::string file = ::testing::TempDir() + "nncf_int4_cpu.json";
  {
    std::ofstream out(file);
    out << R"({"input_info": {"sample_size": [2, 1, 12, 12]}, "target_device": "CPU",
               "compression": {"algorithm": "quantization", "weights": {"bits": 4}}})";
  }
  e = testing::error_of([&] { build(net, Config::from_file(file)); });
  EXPECT_EQ(e.rfind("nncf: " + file +
                        ": compression.weights.bits: target_device CPU does not allow 4-bit weights at "
                        "conv1|WEIGHT",
                    0),
            0u)
      << e;
  std::remove(file.c_str());
  // TRIAL has no HW config, and ANY allows what the user configures.
  for (const char* device : {"TRIAL", "ANY"}) {
    auto q = build(net, config_of(R"(, "weights": {"bits": 4}, "activations": {"bits": 6})", device));
    for (const auto& qz : q->quantizers())
      EXPECT_EQ(qz.spec.config.bits, qz.spec.group == QuantizerGroup::Weights ? 4 : 6)
          << device << " " << qz.spec.id;
  }
}

// The widths each quantizer may take (what a mixed-precision search chooses from): CPU runs 8
// bits only; VPU 8/4/2-bit weights and 8/4-bit activations into convolutions, 8-bit into pooling;
// TRIAL anything in 2..8.
TEST(QuantizationAllowedBits, FollowTheTargetsHardwareConfig) {
  testing::SmallCNN net(testing::SmallCNNOptions().width(4));
  const auto cpu = build(net, config_of("", "CPU")), trial = build(net, config_of("", "TRIAL")),
             vpu = build(net, config_of("", "VPU"));
  for (const auto& qz : cpu->quantizers())
    EXPECT_EQ(qz.spec.allowed_bits, (std::vector<int64_t>{8})) << qz.spec.id;
  for (const auto& qz : trial->quantizers())
    EXPECT_EQ(qz.spec.allowed_bits, (std::vector<int64_t>{2, 3, 4, 5, 6, 7, 8})) << qz.spec.id;
  int pooled = 0;
  for (const auto& qz : vpu->quantizers()) {
    const auto& a = qz.spec.allowed_bits;
    const bool has4 = std::find(a.begin(), a.end(), 4) != a.end();
    EXPECT_TRUE(std::find(a.begin(), a.end(), 8) != a.end()) << qz.spec.id;
    EXPECT_TRUE(std::find(a.begin(), a.end(), 3) == a.end()) << qz.spec.id;
    bool feeds_pool = false;
    for (const auto& scope : qz.spec.consumer_scopes) feeds_pool |= scope.find("pool") != std::string::npos;
    if (qz.spec.group == QuantizerGroup::Weights) EXPECT_TRUE(has4) << qz.spec.id;
    if (feeds_pool) {
      EXPECT_FALSE(has4) << qz.spec.id;
      ++pooled;
    }
  }
  EXPECT_GE(pooled, 1);
}

// initializer.precision, manual: bitwidth_per_scope sets exactly the quantizers it names (by the
// ids in either spelling), the rest keep their widths; the HW config binds on other targets than
// ANY; bad entries name their JSON path.
TEST(QuantizationManualPrecision, BitwidthPerScopeSetsExactlyTheNamedQuantizers) {
  testing::SmallCNN net(testing::SmallCNNOptions().width(4));
  auto plain = build(net, config_of(""));
  std::string conv2_nncf, activation_id;
  for (const auto& qz : plain->quantizers()) {
    if (qz.spec.group == QuantizerGroup::Weights && qz.spec.id == "conv2|WEIGHT")
      conv2_nncf = qz.spec.nncf_id;
    if (qz.spec.group == QuantizerGroup::Activations && activation_id.empty()) activation_id = qz.spec.id;
  }
  ASSERT_FALSE(conv2_nncf.empty());
  ASSERT_NE(conv2_nncf, "conv2|WEIGHT");  // NNCF's spelling differs
  ASSERT_FALSE(activation_id.empty());
  auto manual = [&](const std::string& entries, const std::string& device = "ANY") {
    return config_of(
        R"(, "initializer": {"precision": {"type": "manual", "bitwidth_per_scope": [)" + entries + "]}}",
        device);
  };
  auto q = build(net, manual(R"([4, ")" + conv2_nncf + R"("], [6, ")" + activation_id + R"("])"));
  int changed = 0;
  for (const auto& qz : q->quantizers()) {
    const bool is_conv2 = qz.spec.id == "conv2|WEIGHT", is_act = qz.spec.id == activation_id;
    const int64_t expected = is_conv2 ? 4 : is_act ? 6 : 8;
    EXPECT_EQ(qz.spec.config.bits, expected) << qz.spec.id;
    // The overflow fix (ANY) trains 8-bit weights on 7 bits, and leaves the 4-bit one alone.
    const bool half = qz.spec.group == QuantizerGroup::Weights && expected == 8;
    EXPECT_EQ(qz.spec.half_range, half) << qz.spec.id;
    EXPECT_EQ(qz.module->bits(), half ? 7 : expected) << qz.spec.id;
    changed += is_conv2 || is_act;
  }
  EXPECT_EQ(changed, 2);
  // nncf-cpp's spelling selects the same quantizer.
  q = build(net, manual(R"([4, "conv2|WEIGHT"])"));
  for (const auto& qz : q->quantizers())
    EXPECT_EQ(qz.spec.config.bits, qz.spec.id == "conv2|WEIGHT" ? 4 : 8) << qz.spec.id;
  // VPU allows 4-bit weights, not 3-bit ones.
  q = build(net, manual(R"([4, "conv2|WEIGHT"])", "VPU"));
  std::string e =
      testing::error_of([&] { build(net, manual(R"([8, "conv1|WEIGHT"], [3, "conv2|WEIGHT"])", "VPU")); });
  EXPECT_NE(e.find("compression.initializer.precision.bitwidth_per_scope[1]: 3-bit"), std::string::npos) << e;
  EXPECT_NE(e.find("VPU's HW config allows"), std::string::npos) << e;
  e = testing::error_of([&] { build(net, manual(R"([4, "conv9|WEIGHT"])")); });
  EXPECT_NE(e.find("compression.initializer.precision.bitwidth_per_scope[0]: no quantizer \"conv9|WEIGHT\""),
            std::string::npos)
      << e;
  // An op's name is not a quantizer id (it would select both groups' quantizers).
  e = testing::error_of([&] { build(net, manual(R"([4, "conv2"])")); });
  EXPECT_NE(e.find("no quantizer \"conv2\""), std::string::npos) << e;
  e = testing::error_of([&] { build(net, manual(R"([4, "conv2|WEIGHT"], [6, ")" + conv2_nncf + R"("])")); });
  EXPECT_NE(e.find("bitwidth_per_scope[1]: quantizer conv2|WEIGHT already gets 4 bits from "
                   "compression.initializer.precision.bitwidth_per_scope[0]"),
            std::string::npos)
      << e;
  e = testing::error_of([&] { build(net, manual(R"([9, "conv2|WEIGHT"])")); });
  EXPECT_NE(e.find("bitwidth_per_scope[0][0]"), std::string::npos) << e;
  e = testing::error_of([&] { build(net, manual(R"(["conv2|WEIGHT", 4])")); });
  EXPECT_NE(e.find("bitwidth_per_scope[0][0]"), std::string::npos) << e;
  e = testing::error_of(
      [&] { build(net, config_of(R"(, "initializer": {"precision": {"type": "autoq"}})")); });
  EXPECT_NE(e.find("compression.initializer.precision.type: not supported: AutoQ"), std::string::npos) << e;
}

TEST(QuantizationPreset, AppliesOnAnyCpuGpuAndExplicitlyOnTrialButNotOnVpu) {
  testing::SmallCNN net(testing::SmallCNNOptions().width(4));
  auto activation_modes = [&](const std::string& extra, const std::string& device) {
    std::set<QuantizationMode> modes;
    for (const auto& qz : build(net, config_of(extra, device))->quantizers()) {
      if (qz.spec.group == QuantizerGroup::Activations)
        modes.insert(qz.spec.config.mode);
      else
        EXPECT_EQ(qz.spec.config.mode, QuantizationMode::Symmetric) << device << " " << qz.spec.id;
    }
    return modes;
  };
  const std::set<QuantizationMode> sym{QuantizationMode::Symmetric}, asym{QuantizationMode::Asymmetric};
  // The default preset (performance) is symmetric on ANY/CPU/GPU; mixed makes activations asymmetric.
  for (const char* device : {"ANY", "CPU", "GPU"}) {
    EXPECT_EQ(activation_modes("", device), sym) << device;
    EXPECT_EQ(activation_modes(R"(, "preset": "mixed")", device), asym) << device;
  }
  // VPU: no preset, even an explicit one; its HW config's first choice (asymmetric) wins.
  EXPECT_EQ(activation_modes("", "VPU"), asym);
  EXPECT_EQ(activation_modes(R"(, "preset": "performance")", "VPU"), asym);
  // Explicit modes always apply.
  EXPECT_EQ(activation_modes(R"(, "activations": {"mode": "symmetric"})", "VPU"), sym);
  // TRIAL: the preset only when given; without one, NNCF's default (symmetric).
  EXPECT_EQ(activation_modes("", "TRIAL"), sym);
  EXPECT_EQ(activation_modes(R"(, "preset": "mixed")", "TRIAL"), asym);
}

// Placement warnings reach the user's log sink, each once; silencing the log silences them.
TEST(QuantizationLog, PlacementWarningsReachTheSinkOnce) {
  std::vector<std::string> messages;
  LogSink previous = set_log_sink([&](LogLevel level, const std::string& m) {
    if (level == LogLevel::Warning) messages.push_back(m);
  });
  reset_log_once();
  testing::SmallCNN net(testing::SmallCNNOptions().width(4));
  // A scope that matches nothing, a 4-bit choice that ANY allows beyond the CPU HW config.
  const Config config =
      config_of(R"(, "ignored_scopes": ["conv3", "{re}^head\\."], "validate_scopes": false, "weights": {"bits": 4})");
  auto q = build(net, config);
  build(net, config);  // the same warnings again: not repeated
  auto count = [&](const std::string& text) {
    return std::count_if(messages.begin(), messages.end(),
                         [&](const std::string& m) { return m.find(text) != std::string::npos; });
  };
  EXPECT_EQ(count(R"(compression.ignored_scopes: "conv3" matches no operation of the model)"), 1)
      << messages.size();
  EXPECT_EQ(count(R"(the closest names are "conv1")"), 1);
  EXPECT_EQ(count(R"(compression.ignored_scopes: "{re}^head\." matches no operation)"), 1);
  EXPECT_EQ(count("target_device ANY follows the CPU HW config, which does not allow 4-bit"), 1);
  EXPECT_EQ(messages.size(), 3u) << c10::Join("\n", messages);
  // The setup lists the same warnings (the HW one per quantizer).
  EXPECT_EQ(q->setup().warnings.size(), 2u + 3u) << q->setup().to_string();

  // Silenced: nothing arrives, and the warnings come back once the level allows them.
  messages.clear();
  reset_log_once();
  const LogLevel level = set_log_level(LogLevel::Off);
  build(net, config);
  EXPECT_TRUE(messages.empty());
  set_log_level(LogLevel::Error);
  build(net, config);
  EXPECT_TRUE(messages.empty());
  set_log_level(level);
  build(net, config);
  EXPECT_EQ(messages.size(), 3u);
  set_log_sink(std::move(previous));
}

// A scope in every place the section accepts one is checked, and a matching one is not reported.
TEST(QuantizationLog, EveryScopeListOfTheSectionIsChecked) {
  std::vector<std::string> messages;
  LogSink previous = set_log_sink([&](LogLevel, const std::string& m) { messages.push_back(m); });
  reset_log_once();
  testing::SmallCNN net(testing::SmallCNNOptions().width(4));
  build(net,
        config_of(
            R"(, "target_scopes": ["{re}.*"], "validate_scopes": false,
      "weights": {"ignored_scopes": "fc", "target_scopes": ["x1"]},
      "activations": {"ignored_scopes": ["x2"], "unified_scale_ops": [["x3", "conv2"]]},
      "scope_overrides": {"weights": {"x4": {"bits": 8}}, "activations": {"conv1": {"bits": 8}}},
      "initializer": {"range": [{"type": "min_max", "target_scopes": ["x5"]}]})"));
  set_log_sink(std::move(previous));
  const std::vector<std::string> paths = {"compression.weights.target_scopes: \"x1\"",
                                          "compression.activations.ignored_scopes: \"x2\"",
                                          "compression.activations.unified_scale_ops[0]: \"x3\"",
                                          "compression.scope_overrides.weights.x4: \"x4\"",
                                          "compression.initializer.range[0].target_scopes: \"x5\""};
  for (const std::string& p : paths) {
    EXPECT_EQ(std::count_if(messages.begin(), messages.end(),
                            [&](const std::string& m) { return m.rfind(p, 0) == 0; }),
              1)
        << p << "\n"
        << c10::Join("\n", messages);
  }
  EXPECT_EQ(messages.size(), paths.size()) << c10::Join("\n", messages);
}

// NNCF's validate_scopes (default true): an ignored/target entry that matches no op is an error
// naming the entry and its path.
TEST(QuantizationLog, UnmatchedIgnoredScopeIsAnErrorByDefault) {
  testing::SmallCNN net(testing::SmallCNNOptions().width(4));
  try {
    build(net, config_of(R"(, "ignored_scopes": ["conv3"])"));
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    const std::string m = e.what_without_backtrace();
    EXPECT_NE(m.find(R"(compression.ignored_scopes: "conv3" matches no operation)"), std::string::npos) << m;
    EXPECT_NE(m.find(R"("conv1")"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace nncf
