#include "nncf/api/config.h"

#include <gtest/gtest.h>

#include <c10/util/Exception.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "nncf/algorithms/quantization/config.h"
#include "nncf/api/algorithms.h"
#include "support/errors.h"

namespace nncf {
namespace {

namespace fs = std::filesystem;
using quantization::OverflowFix;
using quantization::Preset;
using quantization::QuantizationConfig;
using quantization::QuantizationMode;
using quantization::QuantizerGroup;
using quantization::RangeInitType;

// The corpus sits beside this file (tests/CMakeLists.txt is not ours to extend with a define).
fs::path corpus_dir() {
  return fs::path(__FILE__).parent_path() / "configs";
}
std::string good(const std::string& name) {
  return (corpus_dir() / "good" / name).string();
}

std::vector<fs::path> files_in(const std::string& sub) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(corpus_dir() / sub))
    if (e.path().extension() == ".json") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

using testing::error_of;

QuantizationConfig parse_quantization(const Config& config) {
  const AlgorithmConfig* section = config.find_algorithm("quantization");
  EXPECT_NE(section, nullptr);
  return QuantizationConfig::parse(*section);
}

TEST(ConfigCorpus, GoodFilesParse) {
  auto files = files_in("good");
  ASSERT_GE(files.size(), 8u);
  for (const auto& path : files) {
    SCOPED_TRACE(path.string());
    Config config = Config::from_file(path.string());
    EXPECT_EQ(config.source(), path.string());
    for (const auto& section : config.compression())
      if (section.name == "quantization" && !section.section["initializer"].has("precision"))
        QuantizationConfig::parse(section);
  }
}

// Each bad file's first line is `// expect: <fragment> | <fragment> ...`; the error of parsing
// it and asking for support must contain every fragment and the file's path.
TEST(ConfigCorpus, BadFilesFailNamingTheirPath) {
  auto files = files_in("bad");
  ASSERT_GE(files.size(), 20u);
  for (const auto& path : files) {
    SCOPED_TRACE(path.string());
    std::ifstream in(path);
    std::string first;
    std::getline(in, first);
    const std::string kPrefix = "// expect: ";
    ASSERT_EQ(first.rfind(kPrefix, 0), 0u) << "first line must say what the error names";
    std::string message = error_of([&] { Config::from_file(path.string()).require_supported(); });
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    std::string spec = first.substr(kPrefix.size());
    for (size_t start = 0; start <= spec.size();) {
      size_t bar = spec.find(" | ", start);
      std::string fragment = spec.substr(start, bar == std::string::npos ? std::string::npos : bar - start);
      EXPECT_NE(message.find(fragment), std::string::npos) << "missing `" << fragment << "` in: " << message;
      if (bar == std::string::npos) break;
      start = bar + 3;
    }
  }
}

TEST(Config, ResNet50Int8DefaultsAndSampleKeys) {
  Config config = Config::from_file(good("resnet50_imagenet_int8.json"));
  config.require_supported();
  EXPECT_EQ(config.target_device(), TargetDevice::Any);
  EXPECT_EQ(config.log_dir(), ".");
  ASSERT_EQ(config.input_info().size(), 1u);
  EXPECT_EQ(config.input_info()[0].sample_size, (std::vector<int64_t>{1, 3, 224, 224}));
  EXPECT_EQ(config.input_info()[0].type, c10::kFloat);
  EXPECT_EQ(config.input_info()[0].filler, InputFiller::Ones);
  EXPECT_TRUE(config.input_info()[0].keyword.empty());
  // Sample-level keys stay readable, uninterpreted.
  EXPECT_EQ(config.root()["batch_size"].as_int(), 85);
  EXPECT_EQ(config.root()["model"].as_string(), "resnet50");
  EXPECT_DOUBLE_EQ(config.root()["optimizer"]["base_lr"].as_double(), 1e-5);
  EXPECT_EQ(config.root()["optimizer"]["steps"].as_int_list(), (std::vector<int64_t>{5}));

  ASSERT_EQ(config.compression().size(), 1u);
  EXPECT_EQ(config.compression()[0].path(), "compression");
  QuantizationConfig q = parse_quantization(config);
  EXPECT_EQ(q.path, "compression");
  ASSERT_EQ(q.range_init.size(), 1u);
  EXPECT_FALSE(q.range_init_per_layer);
  EXPECT_EQ(q.range_init[0].num_init_samples, 850);
  EXPECT_EQ(q.range_init[0].type, RangeInitType::MixedMinMax);
  EXPECT_DOUBLE_EQ(q.range_init[0].min_percentile, 0.1);
  EXPECT_DOUBLE_EQ(q.range_init[0].max_percentile, 99.9);
  EXPECT_EQ(q.num_bn_adaptation_samples, 2000);
  EXPECT_EQ(q.preset, Preset::Performance);
  EXPECT_EQ(q.weights_mode(), QuantizationMode::Symmetric);
  EXPECT_EQ(q.activations_mode(), QuantizationMode::Symmetric);
  EXPECT_EQ(q.weights.bits, 8);
  EXPECT_FALSE(q.weights.per_channel.has_value());
  EXPECT_FALSE(q.activations.is_signed.has_value());
  EXPECT_TRUE(q.quantize_inputs);
  EXPECT_FALSE(q.quantize_outputs);
  EXPECT_FALSE(q.export_to_onnx_standard_ops);
  EXPECT_EQ(q.overflow_fix, OverflowFix::Enable);
  EXPECT_FALSE(q.staged.has_value());
  EXPECT_FALSE(q.compression_lr_multiplier.has_value());
  EXPECT_TRUE(q.ignored_scopes.empty());
  EXPECT_TRUE(q.weight_overrides.empty());
}

TEST(Config, MobileNetRangeInitAndBatchNormAdaptation) {
  QuantizationConfig q = parse_quantization(Config::from_file(good("mobilenet_v2_imagenet_int8.json")));
  EXPECT_EQ(q.range_init[0].num_init_samples, 2560);
  EXPECT_EQ(q.range_init[0].type, RangeInitType::MeanMinMax);
  EXPECT_EQ(q.num_bn_adaptation_samples, 4000);
}

TEST(Config, PerTensorTrial) {
  Config config = Config::from_file(good("mobilenet_v2_imagenet_int8_per_tensor.json"));
  EXPECT_EQ(config.target_device(), TargetDevice::Trial);
  QuantizationConfig q = parse_quantization(config);
  EXPECT_EQ(q.range_init[0].type, RangeInitType::MinMax);
  EXPECT_EQ(q.activations.is_signed, std::optional<bool>(true));
  EXPECT_EQ(q.weights.mode, std::optional<QuantizationMode>(QuantizationMode::Symmetric));
}

TEST(Config, MixedPresetAndExplicitFlags) {
  Config config = Config::from_file(good("resnet18_imagenet_mixed_preset.json"));
  EXPECT_EQ(config.target_device(), TargetDevice::Cpu);
  EXPECT_EQ(config.log_dir(), "runs/resnet18_mixed");
  QuantizationConfig q = parse_quantization(config);
  EXPECT_EQ(q.preset, Preset::Mixed);
  EXPECT_EQ(q.weights_mode(), QuantizationMode::Symmetric);
  EXPECT_EQ(q.activations_mode(), QuantizationMode::Asymmetric);
  EXPECT_EQ(q.overflow_fix, OverflowFix::FirstLayerOnly);
  EXPECT_TRUE(q.export_to_onnx_standard_ops);
  EXPECT_TRUE(q.quantize_outputs);
  EXPECT_FALSE(q.quantize_inputs);
  EXPECT_EQ(q.range_init[0].type, RangeInitType::Percentile);
  EXPECT_DOUBLE_EQ(q.range_init[0].min_percentile, 0.01);
  EXPECT_DOUBLE_EQ(q.range_init[0].max_percentile, 99.99);
  EXPECT_EQ(q.num_bn_adaptation_samples, 0);
}

TEST(Config, StagedPerLayerOverridesAndRegexScopes) {
  Config config = Config::from_file(good("resnet50_imagenet_staged_int8.json"));
  EXPECT_EQ(config.compression_lr_multiplier(), std::optional<double>(2.0));
  ASSERT_EQ(config.input_info().size(), 2u);
  EXPECT_EQ(config.input_info()[0].filler, InputFiller::Random);
  EXPECT_EQ(config.input_info()[1].type, c10::kLong);
  EXPECT_EQ(config.input_info()[1].filler, InputFiller::Zeros);
  EXPECT_EQ(config.input_info()[1].keyword, "labels");

  QuantizationConfig q = parse_quantization(config);
  EXPECT_TRUE(q.range_init_per_layer);
  ASSERT_EQ(q.range_init.size(), 2u);
  EXPECT_EQ(q.range_init[0].type, RangeInitType::MeanPercentile);
  EXPECT_EQ(q.range_init[0].target_quantizer_group,
            std::optional<QuantizerGroup>(QuantizerGroup::Activations));
  EXPECT_DOUBLE_EQ(q.range_init[0].min_percentile, 1.0);
  EXPECT_EQ(q.range_init[1].target_scopes, (std::vector<std::string>{"{re}.*conv.*"}));
  EXPECT_EQ(q.range_init[1].ignored_scopes, (std::vector<std::string>{"ResNet/NNCFLinear[fc]/linear_0"}));

  EXPECT_EQ(q.weights_mode(), QuantizationMode::Asymmetric);
  EXPECT_EQ(q.weights.bits, 4);
  EXPECT_EQ(q.weights.per_channel, std::optional<bool>(true));
  EXPECT_TRUE(q.weights.logarithm_scale);
  ASSERT_EQ(q.activations.unified_scale_ops.size(), 1u);
  EXPECT_EQ(q.activations.unified_scale_ops[0].size(), 2u);

  ASSERT_EQ(q.weight_overrides.size(), 1u);
  EXPECT_EQ(q.weight_overrides[0].scope, "ResNet/NNCFConv2d[conv1]/conv2d_0");
  EXPECT_EQ(q.weight_overrides[0].bits, std::optional<int64_t>(8));
  EXPECT_EQ(q.weight_overrides[0].per_channel, std::optional<bool>(false));
  ASSERT_EQ(q.activation_overrides.size(), 1u);
  EXPECT_EQ(q.activation_overrides[0].is_signed, std::optional<bool>(false));
  ASSERT_EQ(q.activation_overrides[0].range_init.size(), 1u);
  EXPECT_EQ(q.activation_overrides[0].range_init[0].type, RangeInitType::ThreeSigma);

  ASSERT_TRUE(q.staged.has_value());
  EXPECT_EQ(q.staged->batch_multiplier, std::optional<int64_t>(2));
  EXPECT_EQ(q.staged->activations_quant_start_epoch, 2);
  EXPECT_EQ(q.staged->weights_quant_start_epoch, 5);
  EXPECT_EQ(q.staged->lr_poly_drop_start_epoch, std::optional<int64_t>(20));
  EXPECT_EQ(q.staged->lr_poly_drop_duration_epochs, 10);
  EXPECT_DOUBLE_EQ(q.staged->base_lr, 3.1e-4);
  EXPECT_DOUBLE_EQ(q.staged->base_wd, 0.0);
  EXPECT_EQ(q.target_scopes, (std::vector<std::string>{"{re}ResNet/.*"}));
  EXPECT_EQ(q.compression_lr_multiplier, std::optional<double>(0.5));
}

TEST(Config, StagedDefaults) {
  Config config = Config::from_string(R"({"compression": {"algorithm": "quantization", "params": {}}})");
  QuantizationConfig q = parse_quantization(config);
  ASSERT_TRUE(q.staged.has_value());
  EXPECT_EQ(q.staged->activations_quant_start_epoch, 1);
  EXPECT_EQ(q.staged->weights_quant_start_epoch, 1);
  EXPECT_EQ(q.staged->lr_poly_drop_duration_epochs, 30);
  EXPECT_FALSE(q.staged->lr_poly_drop_start_epoch.has_value());
  EXPECT_DOUBLE_EQ(q.staged->base_lr, 1e-3);
  EXPECT_DOUBLE_EQ(q.staged->base_wd, 1e-5);
}

TEST(Config, ListCompressionKeepsOrderAndPaths) {
  Config config = Config::from_file(good("resnet50_imagenet_magnitude_sparsity_int8.json"));
  ASSERT_EQ(config.compression().size(), 2u);
  EXPECT_EQ(config.compression()[0].name, "magnitude_sparsity");
  EXPECT_EQ(config.compression()[0].path(), "compression[0]");
  EXPECT_EQ(config.compression()[1].path(), "compression[1]");
  QuantizationConfig q = parse_quantization(config);
  EXPECT_EQ(q.path, "compression[1]");
  EXPECT_EQ(q.ignored_scopes, (std::vector<std::string>{"{re}ResNet/Sequential\\[layer1\\]/.*"}));
  config.require_supported();  // both sections validate
}

TEST(Config, NotSupportedYetIsRecognizedNotIgnored) {
  Config hawq = Config::from_file(good("mobilenet_v2_imagenet_mixed_int_hawq.json"));
  EXPECT_EQ(hawq.target_device(), TargetDevice::Vpu);
  std::string message = error_of([&] { hawq.require_supported(); });
  EXPECT_NE(message.find("compression.initializer.precision: not supported yet"), std::string::npos)
      << message;

  Config aat = Config::from_file(good("resnet18_imagenet_pruning_accuracy_aware.json"));
  ASSERT_TRUE(aat.accuracy_aware_training().has_value());
  EXPECT_EQ(aat.compression()[0].name, "filter_pruning");
  message = error_of([&] { aat.require_supported(); });
  // Its filter_pruning section validates; accuracy-aware training is what is missing.
  find_algorithm("filter_pruning")->validate(aat.compression()[0]);
  EXPECT_NE(message.find("accuracy_aware_training: not supported yet"), std::string::npos) << message;
}

TEST(Config, NoCompression) {
  Config config = Config::from_file(good("no_compression.json"));
  EXPECT_TRUE(config.compression().empty());
  EXPECT_EQ(config.find_algorithm("quantization"), nullptr);
  config.require_supported();
}

TEST(Config, CommentsAllowed) {
  Config config = Config::from_string(R"(
    // line comment
    { /* block */ "target_device": "GPU", // trailing
      "compression": {"algorithm": "quantization", /* inline */ "preset": "mixed"} })");
  EXPECT_EQ(config.target_device(), TargetDevice::Gpu);
  EXPECT_EQ(parse_quantization(config).preset, Preset::Mixed);
}

TEST(Config, DidYouMean) {
  Config config =
      Config::from_string(R"({"compression": {"algorithm": "quantization", "quantize_input": false}})");
  std::string message = error_of([&] { parse_quantization(config); });
  EXPECT_NE(message.find("compression.quantize_input: unknown key; did you mean \"quantize_inputs\"?"),
            std::string::npos)
      << message;
  // Nothing close: the known keys are listed instead.
  config = Config::from_string(R"({"compression": {"algorithm": "quantization", "weights": {"xyzzy": 1}}})");
  message = error_of([&] { parse_quantization(config); });
  EXPECT_NE(message.find("compression.weights.xyzzy: unknown key; known keys: \"mode\""), std::string::npos)
      << message;
}

TEST(Config, EditDistance) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("range", "rnage"), 2u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("per_chanel", "per_channel"), 1u);
}

TEST(Config, RegexScopesValidated) {
  Config ok = Config::from_string(
      R"({"compression": {"algorithm": "quantization", "target_scopes": ["{re}.*\\[layer[12]\\].*", "Net/fc"]}})");
  EXPECT_EQ(parse_quantization(ok).target_scopes.size(), 2u);
  Config bad = Config::from_string(
      R"({"compression": {"algorithm": "quantization", "ignored_scopes": "{re}(conv"}})", "inline.json");
  std::string message = error_of([&] { parse_quantization(bad); });
  EXPECT_NE(message.find("inline.json: compression.ignored_scopes: invalid regular expression \"(conv\""),
            std::string::npos)
      << message;
}

TEST(Config, MissingFileNamesThePath) {
  std::string message = error_of([] { Config::from_file("/nonexistent/dir/int8.json"); });
  EXPECT_NE(message.find("/nonexistent/dir/int8.json"), std::string::npos) << message;
}

TEST(Config, SyntaxErrorNamesLineAndColumn) {
  std::string message = error_of([] { Config::from_string("{\n  \"a\": 1,\n  \"b\": ]\n}", "x.json"); });
  EXPECT_NE(message.find("x.json:3:8: invalid JSON"), std::string::npos) << message;
}

TEST(Config, IntegralNumbersAcceptedAsIntegers) {
  Config config = Config::from_string(
      R"({"compression": {"algorithm": "quantization", "initializer": {"range": {"num_init_samples": 256.0}}}})");
  EXPECT_EQ(parse_quantization(config).range_init[0].num_init_samples, 256);
  config = Config::from_string(
      R"({"compression": {"algorithm": "quantization", "initializer": {"range": {"num_init_samples": 2.5}}}})");
  std::string message = error_of([&] { parse_quantization(config); });
  EXPECT_NE(message.find("compression.initializer.range.num_init_samples: expected an integer, got 2.5"),
            std::string::npos)
      << message;
}

// Numbers an int64 cannot hold are errors naming the path, never a wrapped or saturated value:
// nlohmann stores 2^63 and above as unsigned, and integers past 2^64 (or written with an
// exponent) as doubles, which converted unchecked to int64 are undefined behaviour.
TEST(Config, OutOfRangeIntegersFailNamingThePath) {
  for (const char* number : {"18446744073709551615", "9223372036854775808", "18446744073709551616", "1e300",
                             "-1e20", "9.3e18", "-9223372036854775809.5e3"}) {
    SCOPED_TRACE(number);
    Config config = Config::from_string(std::string(R"({"batch_size": )") + number + "}", "n.json");
    std::string message = error_of([&] { config.root()["batch_size"].as_int(); });
    EXPECT_NE(message.find("n.json: batch_size: expected an integer in [-9223372036854775808, "
                           "9223372036854775807], got "),
              std::string::npos)
        << message;
  }
  // The limits themselves are integers.
  Config limits = Config::from_string(R"({"a": 9223372036854775807, "b": -9223372036854775808,
                                          "c": -9.223372036854775808e18, "d": 4611686018427387904.0})");
  EXPECT_EQ(limits.root()["a"].as_int(), INT64_MAX);
  EXPECT_EQ(limits.root()["b"].as_int(), INT64_MIN);
  EXPECT_EQ(limits.root()["c"].as_int(), INT64_MIN);
  EXPECT_EQ(limits.root()["d"].as_int(), int64_t{1} << 62);
  // Through a section parser: the bound check sees the number as written, not a wrapped one.
  Config section = Config::from_string(
      R"({"compression": {"algorithm": "magnitude_sparsity", "params": {"patience": 18446744073709551615}}})");
  std::string message = error_of([&] { section.require_supported(); });
  EXPECT_NE(message.find("compression.params.patience: expected an integer in [-9223372036854775808, "
                         "9223372036854775807], got 18446744073709551615 (integer)"),
            std::string::npos)
      << message;
}

// A number past the range of a double is refused by the JSON parser; the error is a c10::Error
// naming the file and the JSON path, like every other config error.
TEST(Config, NumberOverflowNamesThePath) {
  std::string message = error_of([] {
    Config::from_string(R"({"compression": [{"algorithm": "magnitude_sparsity",
                            "params": {"multistep_steps": [1, 2e999]}}]})",
                        "o.json");
  });
  EXPECT_NE(message.find("o.json: compression[0].params.multistep_steps[1]: number out of the range of a "
                         "double: 2e999"),
            std::string::npos)
      << message;
  message = error_of([] { Config::from_string(R"({"target_device": "CPU", "x y": -1e400})", "o.json"); });
  EXPECT_NE(message.find("o.json: [\"x y\"]: number out of the range of a double: -1e400"), std::string::npos)
      << message;
}

TEST(Config, EnumsToString) {
  EXPECT_STREQ(to_string(TargetDevice::CpuSpr), "CPU_SPR");
  EXPECT_STREQ(to_string(InputFiller::Random), "random");
  EXPECT_STREQ(quantization::to_string(Preset::Mixed), "mixed");
  EXPECT_STREQ(quantization::to_string(OverflowFix::FirstLayerOnly), "first_layer_only");
  EXPECT_STREQ(quantization::to_string(RangeInitType::ThreeSigma), "threesigma");
  EXPECT_STREQ(quantization::to_string(QuantizerGroup::Weights), "weights");
}

TEST(Config, SectionsOutliveTheConfigAndMissingKeysKeepTheirPath) {
  AlgorithmConfig section = [] {
    Config config = Config::from_string(
        R"({"compression": [{"algorithm": "quantization", "preset": "mixed"}]})", "a.json");
    return config.compression()[0];
  }();
  EXPECT_EQ(QuantizationConfig::parse(section).preset, Preset::Mixed);
  // Reading through a missing member fails at the first missing level.
  EXPECT_FALSE(section.section["initializer"].exists());
  EXPECT_EQ(section.section["initializer"].path(), "compression[0].initializer");
  std::string message = error_of([&] { section.section["initializer"]["range"]; });
  EXPECT_NE(message.find("a.json: compression[0].initializer: expected an object, got nothing"),
            std::string::npos)
      << message;
  message = error_of([&] { section.section["preset"].as_int(); });
  EXPECT_NE(message.find("a.json: compression[0].preset: expected an integer, got \"mixed\" (string)"),
            std::string::npos)
      << message;
}

TEST(Config, ParseRejectsOtherAlgorithms) {
  Config config = Config::from_string(R"({"compression": {"algorithm": "rb_sparsity"}})");
  std::string message = error_of([&] { QuantizationConfig::parse(config.compression()[0]); });
  EXPECT_NE(message.find("compression.algorithm: expected \"quantization\""), std::string::npos) << message;
}

}  // namespace
}  // namespace nncf
