#include "nncf/algorithms/quantization/hw_config.h"

#include <c10/util/Exception.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

namespace nncf::quantization {
namespace {

// The texts of data/hw_configs/*.json as raw string literals (kCpuJson, kGpuJson, kVpuJson),
// generated at configure time by cmake/hw_configs.cmake.
#include "nncf_hw_configs.inc"

// ordered_json: "the first unknown key" is the first one the file has.
using Json = nlohmann::ordered_json;

std::string in_quotes(const std::string& s) {
  return "'" + s + "'";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Walks one document; every error names the source and the JSON path.
class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    TORCH_CHECK(false, source_, ": ", path.empty() ? "(top level)" : path, ": ", what);
  }

  const Json& object(const Json& v, const std::string& path, const std::vector<std::string>& keys) const {
    if (!v.is_object()) fail(path, "expected an object, got " + v.dump());
    for (const auto& item : v.items()) {
      if (std::find(keys.begin(), keys.end(), item.key()) == keys.end())
        fail(path, "unknown key " + in_quotes(item.key()) + " (expected one of " + join(keys) + ")");
    }
    return v;
  }

  std::string read_string(const Json& v, const std::string& path) const {
    if (!v.is_string()) fail(path, "expected a string, got " + v.dump());
    return v.get<std::string>();
  }

  int64_t read_integer(const Json& v, const std::string& path) const {
    if (!v.is_number_integer()) fail(path, "expected an integer, got " + v.dump());
    return v.get<int64_t>();
  }

  // A string or a non-empty list of strings.
  std::vector<std::string> read_strings(const Json& v, const std::string& path) const {
    if (v.is_string()) return {v.get<std::string>()};
    if (!v.is_array() || v.empty())
      fail(path, "expected a string or a non-empty list of strings, got " + v.dump());
    std::vector<std::string> out;
    for (size_t i = 0; i < v.size(); ++i)
      out.push_back(read_string(v[i], path + "[" + std::to_string(i) + "]"));
    return out;
  }

  // One alias of config.quantization, expanded: mode outer, granularity inner.
  std::vector<QConfig> alias(const Json& v, const std::string& path) const {
    object(v, path, {"bits", "mode", "granularity", "level_low", "level_high"});
    for (const char* key : {"bits", "mode", "granularity"})
      if (!v.contains(key)) fail(path, std::string("missing key '") + key + "'");
    QConfig base;
    base.bits = read_integer(v["bits"], path + ".bits");
    // What FakeQuantize can run.
    if (base.bits < 2 || base.bits > 8)
      fail(path + ".bits", "expected 2..8, got " + std::to_string(base.bits));

    std::vector<QuantizationMode> modes;
    for (const auto& m : read_strings(v["mode"], path + ".mode")) {
      if (m == "symmetric")
        modes.push_back(QuantizationMode::Symmetric);
      else if (m == "asymmetric")
        modes.push_back(QuantizationMode::Asymmetric);
      else
        fail(path + ".mode", "expected 'symmetric' or 'asymmetric', got " + in_quotes(m));
    }
    std::vector<bool> per_channel;
    for (const auto& g : read_strings(v["granularity"], path + ".granularity")) {
      if (g == "pertensor")
        per_channel.push_back(false);
      else if (g == "perchannel")
        per_channel.push_back(true);
      else
        fail(path + ".granularity", "expected 'pertensor' or 'perchannel', got " + in_quotes(g));
    }
    if (v.contains("level_low") || v.contains("level_high")) read_levels(v, path, modes, base);

    std::vector<QConfig> out;
    for (QuantizationMode mode : modes) {
      for (bool pc : per_channel) {
        QConfig c = base;
        c.mode = mode;
        c.per_channel = pc;
        out.push_back(c);
      }
    }
    return out;
  }

  // level_low/level_high fix the signedness and the narrow range of a symmetric grid; only the
  // grids FakeQuantize has are accepted: [-2^(b-1), 2^(b-1)-1], [-2^(b-1)+1, 2^(b-1)-1], [0, 2^b-1].
  void read_levels(const Json& v, const std::string& path, const std::vector<QuantizationMode>& modes,
                   QConfig& c) const {
    if (!v.contains("level_low") || !v.contains("level_high"))
      fail(path, "level_low and level_high go together, got only one of them");
    for (QuantizationMode m : modes)
      if (m != QuantizationMode::Symmetric) fail(path, "level_low/level_high apply to symmetric mode only");
    const int64_t low = read_integer(v["level_low"], path + ".level_low");
    const int64_t high = read_integer(v["level_high"], path + ".level_high");
    const int64_t half = int64_t{1} << (c.bits - 1);
    const bool full_signed = low == -half && high == half - 1;
    const bool narrow_signed = low == -(half - 1) && high == half - 1;
    const bool full_unsigned = low == 0 && high == 2 * half - 1;
    if (!full_signed && !narrow_signed && !full_unsigned) {
      fail(path, "level_low/level_high " + std::to_string(low) + ".." + std::to_string(high) +
                     " do not fit " + std::to_string(c.bits) + " bits (expected " + std::to_string(-half) +
                     ".." + std::to_string(half - 1) + " or " + std::to_string(-(half - 1)) + ".." +
                     std::to_string(half - 1) + " signed, 0.." + std::to_string(2 * half - 1) + " unsigned)");
    }
    c.is_signed = low < 0;
    c.narrow_range = narrow_signed;
  }

  // `activations` / `weights`: an alias or a list of aliases, concatenated in order, repeats dropped.
  std::vector<QConfig> configs(const Json& v, const std::string& path) const {
    std::vector<std::string> names = read_strings(v, path);
    std::vector<QConfig> out;
    for (size_t i = 0; i < names.size(); ++i) {
      auto it = aliases_.find(names[i]);
      if (it == aliases_.end()) {
        std::vector<std::string> known;
        for (const auto& a : aliases_) known.push_back(a.first);
        fail(v.is_array() ? path + "[" + std::to_string(i) + "]" : path,
             "unknown alias " + in_quotes(names[i]) + " (config.quantization has " + join(known) + ")");
      }
      for (const QConfig& c : it->second)
        if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
    }
    return out;
  }

  HwOperation operation(const Json& v, const std::string& path) const {
    object(v, path, {"type", "quantization", "attributes"});
    HwOperation op;
    if (!v.contains("type")) fail(path, "missing key 'type'");
    op.type = read_string(v["type"], path + ".type");
    if (op.type.empty()) fail(path + ".type", "expected a non-empty string");
    if (v.contains("quantization")) {
      const std::string q = path + ".quantization";
      object(v["quantization"], q, {"activations", "weights"});
      if (v["quantization"].contains("activations"))
        op.activations = configs(v["quantization"]["activations"], q + ".activations");
      if (v["quantization"].contains("weights"))
        op.weights = configs(v["quantization"]["weights"], q + ".weights");
    }
    if (v.contains("attributes")) {
      const std::string a = path + ".attributes";
      const Json& attributes = object(v["attributes"], a, {"scales", "adjust_padding"});
      if (attributes.contains("scales")) {
        const std::string scales = read_string(attributes["scales"], a + ".scales");
        if (scales != "unified") fail(a + ".scales", "expected 'unified', got " + in_quotes(scales));
        op.unified_scales = true;
      }
      if (attributes.contains("adjust_padding")) {
        if (!attributes["adjust_padding"].is_boolean())
          fail(a + ".adjust_padding", "expected a boolean, got " + attributes["adjust_padding"].dump());
        op.adjust_padding = attributes["adjust_padding"].get<bool>();
      }
    }
    return op;
  }

  void document(const Json& root, std::string& target_device, std::vector<HwOperation>& operations) {
    object(root, "", {"target_device", "config", "operations"});
    for (const char* key : {"target_device", "config", "operations"})
      if (!root.contains(key)) fail("", std::string("missing key '") + key + "'");
    target_device = read_string(root["target_device"], "target_device");

    const Json& config = object(root["config"], "config", {"quantization"});
    if (config.contains("quantization")) {
      const Json& quantization = config["quantization"];
      if (!quantization.is_object())
        fail("config.quantization", "expected an object, got " + quantization.dump());
      for (const auto& item : quantization.items())
        aliases_[item.key()] = alias(item.value(), "config.quantization." + item.key());
    }

    const Json& ops = root["operations"];
    if (!ops.is_array()) fail("operations", "expected a list, got " + ops.dump());
    std::map<std::string, size_t> seen;
    for (size_t i = 0; i < ops.size(); ++i) {
      const std::string path = "operations[" + std::to_string(i) + "]";
      HwOperation op = operation(ops[i], path);
      auto [it, inserted] = seen.emplace(op.type, i);
      if (!inserted)
        fail(path + ".type", "duplicate type " + in_quotes(op.type) + " (also operations[" +
                                 std::to_string(it->second) + "])");
      operations.push_back(std::move(op));
    }
  }

 private:
  std::string source_;
  std::map<std::string, std::vector<QConfig>> aliases_;
};

}  // namespace

bool QConfig::operator==(const QConfig& other) const {
  return bits == other.bits && mode == other.mode && per_channel == other.per_channel &&
         is_signed == other.is_signed && narrow_range == other.narrow_range;
}

std::string to_string(const QConfig& config) {
  std::string s = std::to_string(config.bits) + "-bit " + to_string(config.mode) +
                  (config.per_channel ? " per-channel" : " per-tensor");
  if (config.is_signed.has_value()) s += *config.is_signed ? " signed" : " unsigned";
  if (config.narrow_range) s += " narrow-range";
  return s;
}

HardwareConfig HardwareConfig::parse(const std::string& json_text, const std::string& source) {
  Json root;
  try {
    root = Json::parse(json_text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const Json::parse_error& e) {
    // e.what() reads "[json.exception.parse_error.101] parse error at line 3, column 5: ...".
    std::string what = e.what();
    const auto pos = what.find("] ");
    TORCH_CHECK(false, source, ": invalid JSON: ", pos == std::string::npos ? what : what.substr(pos + 2));
  }
  HardwareConfig config;
  Parser(source).document(root, config.target_device_, config.operations_);
  return config;
}

const HardwareConfig& HardwareConfig::for_device(const std::string& target_device) {
  // Parsed on first use; a broken built-in file is a build error caught by the tests.
  if (target_device == "ANY" || target_device == "CPU" || target_device == "CPU_SPR") {
    static const HardwareConfig cpu = parse(kCpuJson, "cpu.json");
    return cpu;
  }
  if (target_device == "GPU") {
    static const HardwareConfig gpu = parse(kGpuJson, "gpu.json");
    return gpu;
  }
  if (target_device == "VPU" || target_device == "NPU") {
    static const HardwareConfig vpu = parse(kVpuJson, "vpu.json");
    return vpu;
  }
  TORCH_CHECK(false, "unknown target_device '", target_device,
              "' (expected ANY, CPU, CPU_SPR, GPU, VPU or NPU; TRIAL has no HW config)");
}

const HwOperation* HardwareConfig::find(const std::string& type) const {
  for (const HwOperation& op : operations_)
    if (op.type == type) return &op;
  return nullptr;
}

}  // namespace nncf::quantization
