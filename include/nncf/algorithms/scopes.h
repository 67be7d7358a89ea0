#pragma once

// Scope matching for `ignored_scopes` / `target_scopes` and every other config entry that names a
// location (NNCF 2.x semantics, nncf/common/scopes.py): an entry is either an exact name or, when it
// contains `{re}`, a regular expression (ECMAScript, `{re}` removed) that matches when it is found
// anywhere in the name (Python's re.search).
//
// A node answers to several names, and an entry may use any of them (names_of): nncf-cpp's scope
// (`layer1.0.conv1`, `layer1.0/relu_0`), NNCF's name
// (`ResNet/Sequential[layer1]/BasicBlock[0]/NNCFConv2d[conv1]/conv2d_0`, passes/nncf_names.h) and
// that name as other NNCF versions spelled it (`BatchNorm2d[bn1]`, `ConvBNActivation[0]`).

#include <cstddef>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "nncf/ir/graph.h"

namespace nncf {

/// Edit distance (insertions, deletions, substitutions) between two strings: the "did you mean"
/// of config keys and of scopes that match nothing.
size_t edit_distance(const std::string& a, const std::string& b);

/// Every name a config entry may use for `node`: its scope, its NNCF name and that name's other
/// NNCF spellings (empty NNCF name: the scope only).
std::vector<std::string> names_of(const ir::Node& node);

/// Whether `entry` is written in NNCF's spelling (`Class[attr]/.../op_N`, `/nncf_model_input_N`)
/// rather than nncf-cpp's (`layer1.0.conv1`): it names a class before its first `/` or `[`.
bool is_nncf_spelling(const std::string& entry);

class ScopeMatcher {
 public:
  ScopeMatcher() = default;
  /// Throws c10::Error naming the entry when a `{re}` pattern is not a valid regular expression.
  explicit ScopeMatcher(const std::vector<std::string>& patterns);

  bool empty() const { return exact_.empty() && regexes_.empty(); }
  bool matches(const std::string& name) const;
  /// Whether any of the names of one location matches.
  bool matches_any(const std::vector<std::string>& names) const;

 private:
  std::vector<std::string> exact_;
  std::vector<std::regex> regexes_;
};

/// `ignored_scopes` / `target_scopes` of one section together: a location is considered when the
/// target list is empty or matches one of its names, and the ignored list matches none.
class ScopeFilter {
 public:
  ScopeFilter() = default;
  ScopeFilter(const std::vector<std::string>& ignored, const std::vector<std::string>& target)
      : ignored_(ignored), target_(target) {}

  bool considers(const std::string& name) const { return considers_any({name}); }
  bool considers_any(const std::vector<std::string>& names) const {
    return (target_.empty() || target_.matches_any(names)) && !ignored_.matches_any(names);
  }
  bool considers(const ir::Node& node) const { return considers_any(names_of(node)); }

 private:
  ScopeMatcher ignored_;
  ScopeMatcher target_;
};

/// A section's list with the config's top-level list appended: how NNCF applies top-level
/// `ignored_scopes` / `target_scopes` to every algorithm (AlgorithmConfig::top_ignored_scopes).
inline std::vector<std::string> with_top_level(std::vector<std::string> section,
                                               const std::vector<std::string>& top) {
  section.insert(section.end(), top.begin(), top.end());
  return section;
}

/// A list of scope entries and where the config holds it (`compression[0].ignored_scopes`).
struct ScopeList {
  std::string path;
  const std::vector<std::string>* entries = nullptr;
};

/// Whether any entry of `lists` is in NNCF's spelling: statistics tables then name layers and
/// quantizers as NNCF does.
bool uses_nncf_spelling(const std::vector<ScopeList>& lists);

/// NNCF's `validate_scopes`: every entry of `lists` must match some op of `graph` (or a data input,
/// `/nncf_model_input_0`). An entry that matches none throws c10::Error naming the entry, its
/// path and the closest names, spelled as the entry is; with `strict` false the same message is
/// returned instead (one per entry) for the caller to warn with. `file` prefixes the paths.
std::vector<std::string> check_scopes(const ir::Graph& graph, const std::vector<ScopeList>& lists,
                                      bool strict, const std::string& file = {});

/// One algorithm section's scope selection: its own `ignored_scopes` / `target_scopes` at
/// `path` with the config's top-level lists appended, checked against `graph` (check_scopes; with
/// `validate` false the messages are logged as warnings), the filter and the spelling.
struct SectionScopes {
  ScopeFilter filter;
  bool nncf_spelling = false;
};
SectionScopes select_scopes(const ir::Graph& graph, const std::string& path,
                            const std::vector<std::string>& ignored, const std::vector<std::string>& target,
                            const std::vector<std::string>& top_ignored,
                            const std::vector<std::string>& top_target, bool validate);

}  // namespace nncf
