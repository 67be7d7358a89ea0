// The built-in HW configs against the values of NNCF 2.4's files, and the parser's errors, each
// naming the source and the JSON path.

#include "nncf/algorithms/quantization/hw_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/errors.h"

namespace nncf::quantization {

// GoogleTest prints QConfigs in failure messages with this (found by argument-dependent lookup).
void PrintTo(const QConfig& config, std::ostream* os) {
  *os << to_string(config);
}

namespace {

using testing::error_of;
using ::testing::HasSubstr;

QConfig make(int64_t bits, QuantizationMode mode, bool per_channel,
             std::optional<bool> is_signed = std::nullopt, bool narrow_range = false) {
  QConfig c;
  c.bits = bits;
  c.mode = mode;
  c.per_channel = per_channel;
  c.is_signed = is_signed;
  c.narrow_range = narrow_range;
  return c;
}

constexpr auto kSym = QuantizationMode::Symmetric;
constexpr auto kAsym = QuantizationMode::Asymmetric;

const HwOperation& op(const HardwareConfig& config, const std::string& type) {
  const HwOperation* found = config.find(type);
  if (found == nullptr)
    throw std::runtime_error(type + " is not in the " + config.target_device() + " config");
  return *found;
}

TEST(HwConfig, QConfigToStringAndEquality) {
  EXPECT_EQ(to_string(make(8, kSym, false)), "8-bit symmetric per-tensor");
  EXPECT_EQ(to_string(make(4, kAsym, true, true, true)), "4-bit asymmetric per-channel signed narrow-range");
  EXPECT_EQ(to_string(make(8, kSym, false, false)), "8-bit symmetric per-tensor unsigned");
  EXPECT_EQ(make(8, kSym, true, true), make(8, kSym, true, true));
  EXPECT_NE(make(8, kSym, true, true), make(8, kSym, true));
  EXPECT_NE(make(8, kSym, true), make(8, kSym, true, std::nullopt, true));
  EXPECT_NE(make(8, kSym, true), make(4, kSym, true));
}

TEST(HwConfig, CpuConvolution) {
  const HardwareConfig& cpu = HardwareConfig::for_device("CPU");
  EXPECT_EQ(cpu.target_device(), "CPU");
  const HwOperation& conv = op(cpu, "Convolution");
  EXPECT_EQ(conv.activations, (std::vector<QConfig>{make(8, kSym, false), make(8, kAsym, false)}));
  // q8_w_sym (level -128..127: signed, full range) then q8_w_asym, each per-channel first.
  EXPECT_EQ(conv.weights, (std::vector<QConfig>{make(8, kSym, true, true), make(8, kSym, false, true),
                                                make(8, kAsym, true), make(8, kAsym, false)}));
  EXPECT_EQ(to_string(conv.weights.front()), "8-bit symmetric per-channel signed");
  EXPECT_FALSE(conv.unified_scales);
  EXPECT_FALSE(conv.adjust_padding);
  for (const char* type : {"ConvolutionBackpropData", "MatMul"}) {
    EXPECT_EQ(op(cpu, type).activations, conv.activations) << type;
    EXPECT_EQ(op(cpu, type).weights, conv.weights) << type;
  }
}

TEST(HwConfig, CpuOtherOperations) {
  const HardwareConfig& cpu = HardwareConfig::for_device("CPU");
  const std::vector<QConfig> q8_a = {make(8, kSym, false), make(8, kAsym, false)};
  // [q8_a_ch, q8_a]: q8_a adds nothing that q8_a_ch does not already have.
  EXPECT_EQ(op(cpu, "DepthWiseConvolution").activations,
            (std::vector<QConfig>{make(8, kSym, true), make(8, kSym, false), make(8, kAsym, true),
                                  make(8, kAsym, false)}));
  for (const char* type : {"Add", "Multiply", "LogicalNot", "FloorMod", "AvgPool", "NormalizeL2", "MVN"}) {
    EXPECT_EQ(op(cpu, type).activations, q8_a) << type;
    EXPECT_TRUE(op(cpu, type).weights.empty()) << type;
    EXPECT_FALSE(op(cpu, type).unified_scales) << type;
  }
  for (const char* type : {"MaxPool", "Reshape", "Transpose", "Embedding", "EmbeddingBag"}) {
    EXPECT_TRUE(op(cpu, type).activations.empty()) << type;
    EXPECT_TRUE(op(cpu, type).weights.empty()) << type;
  }
  EXPECT_TRUE(op(cpu, "Concat").unified_scales);
  EXPECT_TRUE(op(cpu, "Concat").activations.empty());
  EXPECT_EQ(cpu.find("Softmax"), nullptr);
  EXPECT_EQ(cpu.operations().size(), 47u);
}

TEST(HwConfig, DeviceNames) {
  const HardwareConfig& cpu = HardwareConfig::for_device("CPU");
  EXPECT_EQ(&HardwareConfig::for_device("ANY"), &cpu);
  EXPECT_EQ(&HardwareConfig::for_device("CPU_SPR"), &cpu);
  EXPECT_EQ(HardwareConfig::for_device("GPU").target_device(), "GPU");
  EXPECT_EQ(HardwareConfig::for_device("VPU").target_device(), "VPU");
  EXPECT_EQ(&HardwareConfig::for_device("NPU"), &HardwareConfig::for_device("VPU"));
  EXPECT_THAT(error_of([] { HardwareConfig::for_device("FPGA"); }),
              HasSubstr("unknown target_device 'FPGA'"));
  EXPECT_THAT(error_of([] { HardwareConfig::for_device("TRIAL"); }), HasSubstr("'TRIAL'"));
  EXPECT_THAT(error_of([] { HardwareConfig::for_device("cpu"); }), HasSubstr("'cpu'"));
}

TEST(HwConfig, Gpu) {
  const HardwareConfig& gpu = HardwareConfig::for_device("GPU");
  EXPECT_EQ(op(gpu, "DepthWiseConvolution").activations,
            (std::vector<QConfig>{make(8, kSym, true), make(8, kSym, false), make(8, kAsym, true),
                                  make(8, kAsym, false)}));
  EXPECT_EQ(op(gpu, "Convolution").weights, op(HardwareConfig::for_device("CPU"), "Convolution").weights);
  EXPECT_EQ(gpu.find("NormalizeL2"), nullptr);
  EXPECT_EQ(gpu.find("ReduceL2"), nullptr);
  EXPECT_TRUE(op(gpu, "Concat").unified_scales);
  EXPECT_EQ(gpu.operations().size(), 45u);
}

TEST(HwConfig, Vpu) {
  const HardwareConfig& vpu = HardwareConfig::for_device("VPU");
  const HwOperation& conv = op(vpu, "Convolution");
  EXPECT_TRUE(conv.adjust_padding);
  EXPECT_FALSE(op(vpu, "MatMul").adjust_padding);
  // q8_tn is asymmetric first; q4_tn is 4-bit symmetric.
  EXPECT_EQ(conv.activations,
            (std::vector<QConfig>{make(8, kAsym, false), make(8, kSym, false), make(4, kSym, false)}));
  EXPECT_EQ(conv.weights,
            (std::vector<QConfig>{make(8, kSym, true), make(8, kSym, false), make(4, kSym, true),
                                  make(4, kSym, false), make(2, kSym, true), make(2, kSym, false)}));
  EXPECT_EQ(op(vpu, "DepthWiseConvolution").weights,
            (std::vector<QConfig>{make(8, kSym, true), make(4, kSym, true), make(2, kSym, true)}));
  for (const char* type : {"Add", "Multiply", "Maximum", "Minimum", "Subtract", "Divide", "Concat"})
    EXPECT_TRUE(op(vpu, type).unified_scales) << type;
  EXPECT_FALSE(op(vpu, "Convolution").unified_scales);
  EXPECT_EQ(op(vpu, "Add").activations, (std::vector<QConfig>{make(8, kAsym, false), make(8, kSym, false)}));
}

// A small valid document; the error cases below each break one thing in it.
const char* kValid = R"({
  "target_device": "TEST",
  "config": {"quantization": {
    "q8": {"bits": 8, "mode": "symmetric", "granularity": "pertensor"},
    "q4_narrow": {"bits": 4, "mode": "symmetric", "granularity": ["perchannel"], "level_low": -7, "level_high": 7},
    "q4_u": {"bits": 4, "mode": "symmetric", "granularity": "pertensor", "level_low": 0, "level_high": 15}
  }},
  // comments are allowed
  "operations": [
    {"type": "Convolution", "quantization": {"activations": "q8", "weights": ["q4_narrow", "q8"]}},
    {"type": "Add", "quantization": {"activations": ["q4_u"]}, "attributes": {"scales": "unified"}},
    {"type": "Reshape"}
  ]
})";

TEST(HwConfig, ParsesInlineDocument) {
  HardwareConfig config = HardwareConfig::parse(kValid, "test.json");
  EXPECT_EQ(config.target_device(), "TEST");
  ASSERT_EQ(config.operations().size(), 3u);
  EXPECT_EQ(config.operations()[0].weights,
            (std::vector<QConfig>{make(4, kSym, true, true, true), make(8, kSym, false)}));
  EXPECT_EQ(config.operations()[1].activations, (std::vector<QConfig>{make(4, kSym, false, false)}));
  EXPECT_TRUE(config.operations()[1].unified_scales);
  EXPECT_EQ(config.find("Reshape"), &config.operations()[2]);
}

std::string replaced(const std::string& from, const std::string& to) {
  std::string text = kValid;
  const size_t pos = text.find(from);
  if (pos == std::string::npos) throw std::runtime_error("not in kValid: " + from);
  return text.replace(pos, from.size(), to);
}

std::string parse_error(const std::string& text) {
  return error_of([&] { HardwareConfig::parse(text, "bad.json"); });
}

TEST(HwConfig, RejectsUnknownAlias) {
  EXPECT_THAT(parse_error(replaced(R"(["q4_narrow", "q8"])", R"(["q4_narrow", "q8_w_symm"])")),
              HasSubstr("bad.json: operations[0].quantization.weights[1]: unknown alias 'q8_w_symm'"));
  EXPECT_THAT(parse_error(replaced(R"("activations": "q8")", R"("activations": "q16")")),
              HasSubstr("bad.json: operations[0].quantization.activations: unknown alias 'q16'"));
}

TEST(HwConfig, RejectsBadAliasFields) {
  EXPECT_THAT(
      parse_error(replaced(R"("mode": "symmetric", "granularity": "pertensor"})",
                           R"("mode": ["symmetric", "symetric"], "granularity": "pertensor"})")),
      HasSubstr(
          "bad.json: config.quantization.q8.mode: expected 'symmetric' or 'asymmetric', got 'symetric'"));
  EXPECT_THAT(
      parse_error(replaced(R"("granularity": ["perchannel"])", R"("granularity": ["per_channel"])")),
      HasSubstr("bad.json: config.quantization.q4_narrow.granularity: expected 'pertensor' or 'perchannel'"));
  EXPECT_THAT(parse_error(replaced(R"("bits": 8)", R"("bits": 16)")),
              HasSubstr("bad.json: config.quantization.q8.bits: expected 2..8, got 16"));
  EXPECT_THAT(parse_error(replaced(R"("bits": 8)", R"("bits": "8")")),
              HasSubstr("bad.json: config.quantization.q8.bits: expected an integer, got \"8\""));
  EXPECT_THAT(parse_error(replaced(R"("bits": 8, )", "")),
              HasSubstr("bad.json: config.quantization.q8: missing key 'bits'"));
  EXPECT_THAT(parse_error(replaced(R"("bits": 8)", R"("bits": 8, "signed": true)")),
              HasSubstr("bad.json: config.quantization.q8: unknown key 'signed'"));
}

TEST(HwConfig, RejectsLevelsThatDoNotFitBits) {
  EXPECT_THAT(
      parse_error(replaced(R"("level_low": -7)", R"("level_low": -128)")),
      HasSubstr("bad.json: config.quantization.q4_narrow: level_low/level_high -128..7 do not fit 4 bits "
                "(expected -8..7 or -7..7 signed, 0..15 unsigned)"));
  EXPECT_THAT(parse_error(replaced(R"("level_high": 15)", R"("level_high": 16)")),
              HasSubstr("bad.json: config.quantization.q4_u: level_low/level_high 0..16 do not fit 4 bits"));
  EXPECT_THAT(parse_error(replaced(R"(, "level_high": 7)", "")),
              HasSubstr("bad.json: config.quantization.q4_narrow: level_low and level_high go together"));
  EXPECT_THAT(
      parse_error(replaced(R"("bits": 4, "mode": "symmetric", "granularity": ["perchannel"])",
                           R"("bits": 4, "mode": "asymmetric", "granularity": ["perchannel"])")),
      HasSubstr(
          "bad.json: config.quantization.q4_narrow: level_low/level_high apply to symmetric mode only"));
}

TEST(HwConfig, RejectsBadOperations) {
  EXPECT_THAT(parse_error(replaced(R"({"type": "Reshape"})", R"({"quantization": {}})")),
              HasSubstr("bad.json: operations[2]: missing key 'type'"));
  EXPECT_THAT(parse_error(replaced(R"({"type": "Reshape"})", R"({"type": "Convolution"})")),
              HasSubstr("bad.json: operations[2].type: duplicate type 'Convolution' (also operations[0])"));
  EXPECT_THAT(parse_error(replaced(R"("scales": "unified")", R"("scales": "shared")")),
              HasSubstr("bad.json: operations[1].attributes.scales: expected 'unified', got 'shared'"));
  EXPECT_THAT(parse_error(replaced(R"("scales": "unified")", R"("scale": "unified")")),
              HasSubstr("bad.json: operations[1].attributes: unknown key 'scale'"));
  EXPECT_THAT(
      parse_error(replaced(R"("activations": ["q4_u"])", R"("activations": [])")),
      HasSubstr("bad.json: operations[1].quantization.activations: expected a string or a non-empty list"));
  EXPECT_THAT(parse_error(replaced(R"("target_device": "TEST",)", "")),
              HasSubstr("bad.json: (top level): missing key 'target_device'"));
}

TEST(HwConfig, RejectsSyntaxErrors) {
  std::string e = parse_error(replaced(R"({"type": "Reshape"})", R"({"type": "Reshape",})"));
  EXPECT_THAT(e, HasSubstr("bad.json: invalid JSON: "));
  EXPECT_THAT(e, HasSubstr("line 12"));
  EXPECT_THAT(parse_error(""), HasSubstr("bad.json: invalid JSON"));
}

}  // namespace
}  // namespace nncf::quantization
