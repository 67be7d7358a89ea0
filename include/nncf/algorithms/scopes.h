#pragma once

// Scope matching for `ignored_scopes` / `target_scopes` (NNCF 2.x semantics): an entry is either an
// exact scope (`layer1.0.conv1`) or, prefixed with `{re}`, a regular expression (ECMAScript) that
// matches when it is found anywhere in the scope (`{re}layer[12]\..*conv`).

#include <cstddef>
#include <regex>
#include <string>
#include <vector>

namespace nncf {

/// Edit distance (insertions, deletions, substitutions) between two strings: the "did you mean"
/// of config keys and of scopes that match nothing.
size_t edit_distance(const std::string& a, const std::string& b);

class ScopeMatcher {
 public:
  ScopeMatcher() = default;
  /// Throws c10::Error naming the entry when a `{re}` pattern is not a valid regular expression.
  explicit ScopeMatcher(const std::vector<std::string>& patterns);

  bool empty() const { return exact_.empty() && regexes_.empty(); }
  bool matches(const std::string& scope) const;

 private:
  std::vector<std::string> exact_;
  std::vector<std::regex> regexes_;
};

/// `ignored_scopes` / `target_scopes` of one section together: a scope is considered when the
/// target list is empty or matches it, and the ignored list does not.
class ScopeFilter {
 public:
  ScopeFilter() = default;
  ScopeFilter(const std::vector<std::string>& ignored, const std::vector<std::string>& target)
      : ignored_(ignored), target_(target) {}

  bool considers(const std::string& scope) const {
    return (target_.empty() || target_.matches(scope)) && !ignored_.matches(scope);
  }

 private:
  ScopeMatcher ignored_;
  ScopeMatcher target_;
};

}  // namespace nncf
