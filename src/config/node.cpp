#include "nncf/config/node.h"

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

std::string json_quoted(const std::string& s) {
  return Json(s).dump();
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = up;
    }
  }
  return row[b.size()];
}

namespace {

bool is_identifier(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
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

ConfigNode ConfigNode::parse(const std::string& text, const std::string& source) {
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
  auto impl = std::make_shared<Impl>();
  impl->document = document;
  impl->value = document.get();
  if (!source.empty()) impl->file = std::make_shared<const std::string>(source);

  return ConfigNode(impl);
}

}  // namespace nncf
