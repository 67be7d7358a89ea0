#include "nncf/algorithms/scopes.h"

#include <c10/util/Exception.h>

#include <algorithm>

namespace nncf {

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

ScopeMatcher::ScopeMatcher(const std::vector<std::string>& patterns) {
  static const std::string kRegex = "{re}";
  for (const std::string& p : patterns) {
    if (p.compare(0, kRegex.size(), kRegex) != 0) {
      exact_.push_back(p);
      continue;
    }
    try {
      regexes_.emplace_back(p.substr(kRegex.size()), std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      TORCH_CHECK(false, "nncf: scope pattern '", p, "' is not a valid regular expression: ", e.what());
    }
  }
}

bool ScopeMatcher::matches(const std::string& scope) const {
  if (std::find(exact_.begin(), exact_.end(), scope) != exact_.end()) return true;
  return std::any_of(regexes_.begin(), regexes_.end(),
                     [&](const std::regex& r) { return std::regex_search(scope, r); });
}

}  // namespace nncf
