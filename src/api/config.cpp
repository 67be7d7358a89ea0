#include "nncf/api/config.h"

#include <c10/util/Exception.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>

#include "nncf/algorithms/quantization/config.h"
#include "nncf/algorithms/sparsity/config.h"

namespace nncf {

// ordered_json keeps members in document order, so "the first unknown key" is the first one the
// user wrote, not the alphabetically first.
using Json = nlohmann::ordered_json;

struct ConfigNode::Impl {
  std::shared_ptr<const Json> document;
  const Json* value = nullptr;  // nullptr: a missing member
  std::string path;
  std::shared_ptr<const std::string> file;
};

namespace {

bool is_identifier(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

std::string json_quoted(const std::string& s) {
  return Json(s).dump();
}

// A short rendering of a value for "got ..." in messages.
std::string describe(const Json* v) {
  if (v == nullptr) return "nothing (the key is missing)";
  std::string text = v->dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  const char* type = v->is_boolean()                                     ? "boolean"
                     : v->is_number_integer() || v->is_number_unsigned() ? "integer"
                     : v->is_number()                                    ? "number"
                     : v->is_string()                                    ? "string"
                     : v->is_array()                                     ? "array"
                     : v->is_object()                                    ? "object"
                                                                         : "null";
  return text + " (" + type + ")";
}

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = SIZE_MAX;
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_distance) best_distance = d, best = c;
  }
  // A suggestion farther than this is noise rather than a typo.
  return best_distance <= std::max<size_t>(2, word.size() / 2) ? best : "";
}

std::string join_quoted(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + json_quoted(s);
  return out;
}

// Follows the parser's events to know the JSON path of the value being parsed, for errors the
// parser raises without a position (a number that overflows a double).
class JsonPathTracker {
 public:
  bool operator()(int /*depth*/, nlohmann::json::parse_event_t event, Json& parsed) {
    using E = nlohmann::json::parse_event_t;
    switch (event) {
      case E::object_start:
      case E::array_start:
        frames_.push_back({event == E::array_start, "", 0});
        break;
      case E::key:
        frames_.back().key = parsed.get<std::string>();
        break;
      case E::object_end:
      case E::array_end:
        frames_.pop_back();
        if (!frames_.empty()) ++frames_.back().count;
        break;
      case E::value:
        if (!frames_.empty()) ++frames_.back().count;
        break;
    }
    return true;  // keep everything
  }

  /// The path of the value after the last one parsed, spelt as ConfigNode spells paths.
  std::string path() const {
    std::string p;
    for (const Frame& f : frames_) {
      if (f.array) {
        p += "[" + std::to_string(f.count) + "]";
      } else {
        p += is_identifier(f.key) ? (p.empty() ? f.key : "." + f.key) : "[" + json_quoted(f.key) + "]";
      }
    }
    return p;
  }

 private:
  struct Frame {
    bool array;
    std::string key;  // objects: the current member
    size_t count;     // arrays: the elements parsed so far
  };
  std::vector<Frame> frames_;
};

}  // namespace

// ---- ConfigNode ---------------------------------------------------------------------------------

ConfigNode::ConfigNode() : impl_(std::make_shared<Impl>()) {}
ConfigNode::ConfigNode(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

ConfigNode::Kind ConfigNode::kind() const {
  const Json* v = impl_->value;
  if (v == nullptr) return Kind::Missing;
  if (v->is_null()) return Kind::Null;
  if (v->is_boolean()) return Kind::Bool;
  if (v->is_number_integer() || v->is_number_unsigned()) return Kind::Integer;
  if (v->is_number()) return Kind::Number;
  if (v->is_string()) return Kind::String;
  if (v->is_array()) return Kind::Array;
  return Kind::Object;
}

const std::string& ConfigNode::path() const {
  return impl_->path;
}

const std::string& ConfigNode::file() const {
  static const std::string kNone;
  return impl_->file ? *impl_->file : kNone;
}

void ConfigNode::fail(const std::string& message) const {
  std::string where = impl_->path.empty() ? "<root>" : impl_->path;
  if (!file().empty()) where = file() + ": " + where;
  C10_THROW_ERROR(Error, c10::str(where, ": ", message));
}

void ConfigNode::expect_object() const {
  if (!is_object()) fail("expected an object, got " + describe(impl_->value));
}

ConfigNode ConfigNode::operator[](const std::string& key) const {
  expect_object();
  auto child = std::make_shared<Impl>(*impl_);
  auto it = impl_->value->find(key);
  child->value = it == impl_->value->end() ? nullptr : &*it;
  const std::string& p = impl_->path;
  child->path = is_identifier(key) ? (p.empty() ? key : p + "." + key) : p + "[" + json_quoted(key) + "]";
  return ConfigNode(std::move(child));
}

ConfigNode ConfigNode::operator[](size_t index) const {
  if (!is_array()) fail("expected an array, got " + describe(impl_->value));
  if (index >= impl_->value->size())
    fail("index " + std::to_string(index) + " out of range for " + std::to_string(size()) + " elements");
  auto child = std::make_shared<Impl>(*impl_);
  child->value = &(*impl_->value)[index];
  child->path = impl_->path + "[" + std::to_string(index) + "]";
  return ConfigNode(std::move(child));
}

bool ConfigNode::has(const std::string& key) const {
  return is_object() && impl_->value->contains(key);
}

size_t ConfigNode::size() const {
  return is_array() || is_object() ? impl_->value->size() : 0;
}

std::vector<std::string> ConfigNode::keys() const {
  expect_object();
  std::vector<std::string> out;
  for (auto it = impl_->value->begin(); it != impl_->value->end(); ++it) out.push_back(it.key());
  return out;
}

std::vector<ConfigNode> ConfigNode::elements() const {
  if (!is_array()) fail("expected an array, got " + describe(impl_->value));
  std::vector<ConfigNode> out;
  for (size_t i = 0; i < size(); ++i) out.push_back((*this)[i]);
  return out;
}

bool ConfigNode::as_bool() const {
  if (kind() != Kind::Bool) fail("expected a boolean, got " + describe(impl_->value));
  return impl_->value->get<bool>();
}

int64_t ConfigNode::as_int() const {
  // nlohmann holds a non-negative integer as uint64 and an integer past 64 bits (or one written
  // with a fraction or an exponent) as a double; either may be outside int64, and converting an
  // out-of-range double to int64 is undefined behaviour. So check the range before converting.
  const Json* v = impl_->value;
  const auto out_of_range = [&] {
    fail("expected an integer in [" + std::to_string(INT64_MIN) + ", " + std::to_string(INT64_MAX) +
         "], got " + describe(v));
  };
  switch (kind()) {
    case Kind::Integer:
      if (v->is_number_unsigned()) {
        const auto u = v->get<uint64_t>();
        if (u > static_cast<uint64_t>(INT64_MAX)) out_of_range();
        return static_cast<int64_t>(u);
      }
      return v->get<int64_t>();
    case Kind::Number: {
      const double d = v->get<double>();
      if (std::trunc(d) != d) break;  // also NaN and infinities
      // -2^63 and 2^63 are exact doubles; every integral double in [-2^63, 2^63) fits.
      constexpr double kTwo63 = 9223372036854775808.0;
      if (!(d >= -kTwo63 && d < kTwo63)) out_of_range();
      return static_cast<int64_t>(d);
    }
    default:
      break;
  }
  fail("expected an integer, got " + describe(v));
}

int64_t ConfigNode::as_int(int64_t min, int64_t max) const {
  int64_t v = as_int();
  if (v < min || v > max) {
    if (max == INT64_MAX) fail("expected >= " + std::to_string(min) + ", got " + std::to_string(v));
    fail("expected in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " + std::to_string(v));
  }
  return v;
}

double ConfigNode::as_double() const {
  Kind k = kind();
  if (k != Kind::Integer && k != Kind::Number) fail("expected a number, got " + describe(impl_->value));
  return impl_->value->get<double>();
}

double ConfigNode::as_double(double min, double max) const {
  double v = as_double();
  if (!(v >= min && v <= max)) {
    std::ostringstream os;
    os << (max == HUGE_VAL ? "expected >= " : "expected in [") << min;
    if (max != HUGE_VAL) os << ", " << max << "]";
    os << ", got " << v;
    fail(os.str());
  }
  return v;
}

std::string ConfigNode::as_string() const {
  if (!is_string()) fail("expected a string, got " + describe(impl_->value));
  return impl_->value->get<std::string>();
}

std::string ConfigNode::as_enum(const std::vector<std::string>& allowed) const {
  std::string v = as_string();
  if (std::find(allowed.begin(), allowed.end(), v) != allowed.end()) return v;
  std::string hint = closest(v, allowed);
  fail("expected one of " + join_quoted(allowed) + ", got " + json_quoted(v) +
       (hint.empty() ? "" : "; did you mean " + json_quoted(hint) + "?"));
}

std::vector<int64_t> ConfigNode::as_int_list() const {
  std::vector<int64_t> out;
  for (const auto& e : elements()) out.push_back(e.as_int());
  return out;
}

std::vector<double> ConfigNode::as_double_list() const {
  std::vector<double> out;
  for (const auto& e : elements()) out.push_back(e.as_double());
  return out;
}

std::vector<std::string> ConfigNode::as_string_list() const {
  if (is_string()) return {as_string()};
  if (!is_array()) fail("expected a string or a list of strings, got " + describe(impl_->value));
  std::vector<std::string> out;
  for (const auto& e : elements()) out.push_back(e.as_string());
  return out;
}

std::vector<std::string> ConfigNode::as_scopes() const {
  std::vector<std::string> scopes = as_string_list();
  for (size_t i = 0; i < scopes.size(); ++i) {
    const std::string& s = scopes[i];
    if (s.rfind("{re}", 0) != 0) continue;
    try {
      std::regex(s.substr(4), std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      ConfigNode where = is_array() ? (*this)[i] : *this;
      where.fail("invalid regular expression " + json_quoted(s.substr(4)) + ": " + e.what());
    }
  }
  return scopes;
}

void ConfigNode::check_keys(const std::vector<std::string>& known) const {
  for (const auto& key : keys()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string hint = closest(key, known);
    (*this)[key].fail("unknown key" + (hint.empty() ? "; known keys: " + join_quoted(known)
                                                    : "; did you mean " + json_quoted(hint) + "?"));
  }
}

std::string ConfigNode::dump(int indent) const {
  return impl_->value ? impl_->value->dump(indent) : "";
}

// ---- names ---------------------------------------------------------------------------------------

const std::vector<std::string>& known_algorithm_names() {
  static const std::vector<std::string> kNames = {
      "quantization", "magnitude_sparsity",     "rb_sparsity",      "const_sparsity", "filter_pruning",
      "binarization", "knowledge_distillation", "movement_sparsity"};
  return kNames;
}

const std::vector<std::string>& supported_algorithm_names() {
  static const std::vector<std::string> kNames = {"quantization", "magnitude_sparsity", "rb_sparsity",
                                                  "const_sparsity"};
  return kNames;
}

namespace {

const std::vector<std::pair<TargetDevice, const char*>> kDevices = {
    {TargetDevice::Any, "ANY"},    {TargetDevice::Cpu, "CPU"}, {TargetDevice::Gpu, "GPU"},
    {TargetDevice::Vpu, "VPU"},    {TargetDevice::Npu, "NPU"}, {TargetDevice::CpuSpr, "CPU_SPR"},
    {TargetDevice::Trial, "TRIAL"}};
const std::vector<std::pair<InputFiller, const char*>> kFillers = {
    {InputFiller::Zeros, "zeros"}, {InputFiller::Ones, "ones"}, {InputFiller::Random, "random"}};
const std::vector<std::pair<c10::ScalarType, const char*>> kInputTypes = {
    {c10::kFloat, "float"}, {c10::kDouble, "double"}, {c10::kHalf, "half"}, {c10::kLong, "long"},
    {c10::kInt, "int"},     {c10::kByte, "uint8"},    {c10::kBool, "bool"}};

template <typename E>
const char* enum_name(E e, const std::vector<std::pair<E, const char*>>& table) {
  for (const auto& [value, name] : table)
    if (value == e) return name;
  TORCH_INTERNAL_ASSERT(false, "unknown enum value ", static_cast<int>(e));
}

InputInfo parse_input_info(const ConfigNode& node) {
  node.check_keys({"sample_size", "type", "filler", "keyword"});
  InputInfo info;
  ConfigNode size = node["sample_size"];
  if (!size.exists()) size.fail("required key is missing");
  info.sample_size = size.as_int_list();
  for (size_t i = 0; i < info.sample_size.size(); ++i) size[i].as_int(0, INT64_MAX);
  if (node.has("type")) info.type = node["type"].as_enum(kInputTypes);
  if (node.has("filler")) info.filler = node["filler"].as_enum(kFillers);
  if (node.has("keyword")) info.keyword = node["keyword"].as_string();
  return info;
}

}  // namespace

const char* to_string(TargetDevice device) {
  return enum_name(device, kDevices);
}
const char* to_string(InputFiller filler) {
  return enum_name(filler, kFillers);
}

// ---- Config --------------------------------------------------------------------------------------

Config Config::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TORCH_CHECK(in.good(), path, ": cannot open the config file");
  std::stringstream text;
  text << in.rdbuf();
  TORCH_CHECK(!in.bad(), path, ": cannot read the config file");
  return from_string(text.str(), path);
}

Config Config::from_string(const std::string& text, const std::string& source) {
  auto document = std::make_shared<Json>();
  JsonPathTracker tracker;
  try {
    *document = Json::parse(text, std::ref(tracker), /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const nlohmann::json::out_of_range& e) {
    // The only out_of_range the parser throws: a number past the range of a double (`1e400`).
    std::string what = e.what();
    auto quote = what.find('\'');
    std::string number = quote == std::string::npos ? what : what.substr(quote + 1, what.size() - quote - 2);
    std::string where = tracker.path().empty() ? "<root>" : tracker.path();
    TORCH_CHECK(false, source.empty() ? "" : source + ": ", where,
                ": number out of the range of a double: ", number);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    size_t line = 1, column = 1, end = std::min<size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
    for (size_t i = 0; i < end; ++i) text[i] == '\n' ? (++line, column = 1) : ++column;
    std::string what = e.what();
    auto colon = what.find(": ", what.find("parse error"));
    TORCH_CHECK(false, source.empty() ? "<string>" : source, ":", line, ":", column,
                ": invalid JSON: ", colon == std::string::npos ? what : what.substr(colon + 2));
  }
  auto impl = std::make_shared<ConfigNode::Impl>();
  impl->document = document;
  impl->value = document.get();
  if (!source.empty()) impl->file = std::make_shared<const std::string>(source);

  Config config;
  config.root_ = ConfigNode(impl);
  const ConfigNode& root = config.root_;
  root.expect_object();
  // The root is open (samples keep their own keys there), so a misspelt framework key would be
  // silently kept; refuse keys within two edits of one we read.
  static const std::vector<std::string> kTopLevel = {"input_info",
                                                     "target_device",
                                                     "compression",
                                                     "log_dir",
                                                     "compression_lr_multiplier",
                                                     "disable_shape_matching",
                                                     "scopes_without_shape_matching",
                                                     "accuracy_aware_training"};
  for (const auto& key : root.keys()) {
    if (std::find(kTopLevel.begin(), kTopLevel.end(), key) != kTopLevel.end()) continue;
    for (const auto& known : kTopLevel)
      if (edit_distance(key, known) <= 2)
        root[key].fail("unknown key; did you mean " + json_quoted(known) + "?");
  }

  if (root.has("input_info")) {
    ConfigNode info = root["input_info"];
    if (info.is_array()) {
      for (const auto& e : info.elements()) config.input_info_.push_back(parse_input_info(e));
    } else {
      config.input_info_.push_back(parse_input_info(info));
    }
  }
  if (root.has("target_device")) config.target_device_ = root["target_device"].as_enum(kDevices);
  if (root.has("log_dir")) config.log_dir_ = root["log_dir"].as_string();
  if (root.has("compression_lr_multiplier"))
    config.compression_lr_multiplier_ = root["compression_lr_multiplier"].as_double();
  if (root.has("disable_shape_matching"))
    config.disable_shape_matching_ = root["disable_shape_matching"].as_bool();
  if (root.has("scopes_without_shape_matching"))
    config.scopes_without_shape_matching_ = root["scopes_without_shape_matching"].as_scopes();
  if (root.has("accuracy_aware_training")) {
    ConfigNode aat = root["accuracy_aware_training"];
    aat.expect_object();
    aat["mode"].as_enum({"adaptive_compression_level", "early_exit"});
    config.accuracy_aware_training_ = aat;
  }
  if (root.has("compression")) {
    ConfigNode compression = root["compression"];
    std::vector<ConfigNode> sections =
        compression.is_array() ? compression.elements() : std::vector<ConfigNode>{compression};
    for (const auto& section : sections) {
      section.expect_object();
      ConfigNode algorithm = section["algorithm"];
      if (!algorithm.exists()) algorithm.fail("required key is missing");
      config.compression_.push_back({algorithm.as_enum(known_algorithm_names()), section});
    }
  }
  return config;
}

const AlgorithmConfig* Config::find_algorithm(const std::string& name) const {
  for (const auto& section : compression_)
    if (section.name == name) return &section;
  return nullptr;
}

void Config::require_supported() const {
  for (const auto& section : compression_) {
    if (section.name == "quantization") {
      quantization::QuantizationConfig::parse(section);
    } else if (section.name == "magnitude_sparsity" || section.name == "rb_sparsity" ||
               section.name == "const_sparsity") {
      sparsity::SparsityConfig::parse(section);
    } else {
      section.section.fail("not supported yet: algorithm " + json_quoted(section.name) +
                           " (nncf-cpp builds " + join_quoted(supported_algorithm_names()) + ")");
    }
  }
  if (accuracy_aware_training_) accuracy_aware_training_->fail("not supported yet: accuracy-aware training");
}

}  // namespace nncf
