#pragma once

// The JSON nodes of an NNCF config, below the algorithms so that each algorithm parses its own
// section in its own folder (nncf::Config, in nncf/api/config.h, reads the top level).
//
// Every typed read checks the type and throws c10::Error naming the file and the JSON path:
// `cfg.json: compression[1].initializer.range.num_init_samples: expected >= 0, got -5`.

#include <c10/util/Exception.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace nncf {

/// A read-only view of one JSON value of a parsed config, with its JSON path
/// (`compression[1].initializer.range`) and the file it came from. Copies are cheap and share the
/// document. A member that is absent is a node with `exists() == false` that still knows its path.
/// Every typed read checks the type and throws c10::Error naming the path and what was found.
class ConfigNode {
 public:
  enum class Kind { Missing, Null, Bool, Integer, Number, String, Array, Object };

  /// A missing node at the root path.
  ConfigNode();

  Kind kind() const;
  bool exists() const { return kind() != Kind::Missing; }
  bool is_object() const { return kind() == Kind::Object; }
  bool is_array() const { return kind() == Kind::Array; }
  bool is_string() const { return kind() == Kind::String; }
  /// The JSON path, e.g. `compression[1].initializer`; empty for the root.
  const std::string& path() const;
  /// The file this node was parsed from; empty for configs parsed from a string.
  const std::string& file() const;

  /// The member `key` of an object (missing node when absent); fails if this is not an object.
  ConfigNode operator[](const std::string& key) const;
  /// Element `index` of an array; fails if this is not an array or the index is out of range.
  ConfigNode operator[](size_t index) const;
  bool has(const std::string& key) const;
  /// Number of elements (array) or members (object); 0 otherwise.
  size_t size() const;
  /// Member names of an object, in document order.
  std::vector<std::string> keys() const;
  /// Elements of an array (a non-array fails).
  std::vector<ConfigNode> elements() const;

  bool as_bool() const;
  /// An integer; a number with an integral value (`256.0`) is accepted. A value outside the
  /// range of int64_t fails (it is never wrapped or saturated).
  int64_t as_int() const;
  int64_t as_int(int64_t min, int64_t max) const;
  double as_double() const;
  double as_double(double min, double max) const;
  std::string as_string() const;
  /// A string that must be one of `allowed`; the error lists them and suggests the closest.
  std::string as_enum(const std::vector<std::string>& allowed) const;
  /// An enum value by its JSON spelling; `table` pairs every value with its name.
  template <typename E>
  E as_enum(const std::vector<std::pair<E, const char*>>& table) const {
    std::vector<std::string> names;
    for (const auto& entry : table) names.push_back(entry.second);
    const std::string v = as_enum(names);
    for (const auto& [e, name] : table) {
      if (v == name) return e;
    }
    fail("unreachable: '" + v + "' is in the table");
  }
  std::vector<int64_t> as_int_list() const;
  std::vector<double> as_double_list() const;
  /// A string or a list of strings.
  std::vector<std::string> as_string_list() const;
  /// Scopes: a string or a list of strings; entries starting with `{re}` must be valid
  /// (ECMAScript) regular expressions, the error names the bad one and its index.
  std::vector<std::string> as_scopes() const;

  /// Fails unless this is an object.
  void expect_object() const;
  /// Fails on the first member not in `known`, suggesting the closest known name.
  void check_keys(const std::vector<std::string>& known) const;
  /// Throws c10::Error "<file>: <path>: <message>".
  [[noreturn]] void fail(const std::string& message) const;

  /// The JSON text of this value (`indent` < 0: one line).
  std::string dump(int indent = -1) const;

  /// Parses JSON `text` (with `//` and `/* */` comments) into its root node. A syntax error names
  /// `source` (or `<string>`), the line and the column; a number past the range of a double names
  /// its JSON path. `source` is the file every node reports.
  static ConfigNode parse(const std::string& text, const std::string& source = "");

 private:
  struct Impl;  // the nlohmann document, the value, the path and the file
  explicit ConfigNode(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

/// Levenshtein distance between two strings (for "did you mean" hints).
size_t edit_distance(const std::string& a, const std::string& b);
/// `s` as a JSON string literal, for messages.
std::string json_quoted(const std::string& s);

/// One entry of `compression`: an algorithm section, not yet interpreted. Each algorithm parses it
/// into its own struct (`quantization::QuantizationConfig::parse`).
struct AlgorithmConfig {
  /// The `algorithm` value, e.g. `quantization`, `magnitude_sparsity`.
  std::string name;
  /// The section; `section.path()` is `compression` or `compression[i]`.
  ConfigNode section;
  /// The config's top-level `ignored_scopes` / `target_scopes`: NNCF appends them to every
  /// algorithm's own lists (nncf/config/extractors.py); validated as `ignored_scopes` /
  /// `target_scopes` at the root.
  std::vector<std::string> top_ignored_scopes;
  std::vector<std::string> top_target_scopes;
  const std::string& path() const { return section.path(); }
};

}  // namespace nncf
