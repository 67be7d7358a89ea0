#include "nncf/algorithms/scopes.h"

#include <c10/util/Exception.h>

#include <algorithm>

namespace nncf {

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
