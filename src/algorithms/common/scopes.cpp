#include "nncf/algorithms/scopes.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>

#include <algorithm>
#include <cctype>

#include "nncf/ir/log.h"
#include "nncf/passes/nncf_names.h"

namespace nncf {

namespace {

constexpr const char* kRegex = "{re}";

bool is_regex(const std::string& entry) {
  return entry.find(kRegex) != std::string::npos;
}

// NNCF removes every `{re}` of an entry, wherever it stands.
std::string strip_regex_marks(std::string entry) {
  for (size_t at = entry.find(kRegex); at != std::string::npos; at = entry.find(kRegex, at))
    entry.erase(at, 4);
  return entry;
}

}  // namespace

std::vector<std::string> names_of(const ir::Node& node) {
  std::vector<std::string> names{node.scope()};
  if (node.nncf_name().empty()) return names;
  names.push_back(node.nncf_name());
  for (std::string& v : passes::nncf_name_variants(node.nncf_name())) names.push_back(std::move(v));
  return names;
}

bool is_nncf_spelling(const std::string& entry) {
  const std::string e = strip_regex_marks(entry);
  if (e.rfind("/nncf_model_input_", 0) == 0 || e.find('[') != std::string::npos) return true;
  // `Inception3/__add___0`: a class name (capitalized) before the first slash.
  const size_t slash = e.find('/');
  return slash != std::string::npos && slash > 0 && std::isupper(static_cast<unsigned char>(e[0])) &&
         e.find('.') == std::string::npos;
}

bool uses_nncf_spelling(const std::vector<ScopeList>& lists) {
  for (const ScopeList& l : lists)
    for (const std::string& e : *l.entries)
      if (is_nncf_spelling(e)) return true;
  return false;
}

ScopeMatcher::ScopeMatcher(const std::vector<std::string>& patterns) {
  for (const std::string& p : patterns) {
    if (!is_regex(p)) {
      exact_.push_back(p);
      continue;
    }
    try {
      regexes_.emplace_back(strip_regex_marks(p), std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      TORCH_CHECK(false, "nncf: scope pattern '", p, "' is not a valid regular expression: ", e.what());
    }
  }
}

bool ScopeMatcher::matches(const std::string& name) const {
  if (std::find(exact_.begin(), exact_.end(), name) != exact_.end()) return true;
  return std::any_of(regexes_.begin(), regexes_.end(),
                     [&](const std::regex& r) { return std::regex_search(name, r); });
}

bool ScopeMatcher::matches_any(const std::vector<std::string>& names) const {
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return matches(n); });
}

std::vector<std::string> check_scopes(const ir::Graph& graph, const std::vector<ScopeList>& lists,
                                      bool strict, const std::string& file) {
  std::vector<std::vector<std::string>> names;
  size_t data = 0;
  for (const ir::Value* in : graph.inputs()) {
    if (in->role() == ir::InputRole::Data) names.push_back({in->name(), passes::nncf_input_name(data++)});
  }
  for (const ir::Node* n : graph.nodes()) names.push_back(names_of(*n));

  std::vector<std::string> messages;
  for (const ScopeList& list : lists) {
    if (list.entries == nullptr) continue;
    for (const std::string& entry : *list.entries) {
      const ScopeMatcher m({entry});
      if (std::any_of(names.begin(), names.end(), [&](const auto& ns) { return m.matches_any(ns); }))
        continue;
      // The closest names in the entry's own spelling: nncf-cpp's scopes or NNCF's names.
      const bool nncf = is_nncf_spelling(entry);
      const std::string target = strip_regex_marks(entry);
      std::vector<std::pair<size_t, std::string>> close;
      for (const auto& ns : names) {
        if (nncf && ns.size() == 1) continue;  // an op NNCF does not trace
        const std::string& candidate = nncf ? ns[1] : ns[0];
        close.emplace_back(edit_distance(target, candidate), candidate);
      }
      std::sort(close.begin(), close.end());
      close.erase(std::unique(close.begin(), close.end()), close.end());
      std::vector<std::string> hints;
      for (size_t i = 0; i < close.size() && hints.size() < 3; ++i)
        hints.push_back("\"" + close[i].second + "\"");
      std::string message = c10::str(
          file, list.path, ": \"", entry, "\" matches no operation of the model",
          hints.empty() ? std::string() : c10::str("; the closest names are ", c10::Join(", ", hints)),
          ". `nncf-capture MODEL --scopes` lists every name (nncf-cpp's and NNCF's); \"validate_scopes\": "
          "false ",
          "in the section makes this a warning");
      TORCH_CHECK(!strict, "nncf: ", message);
      messages.push_back(std::move(message));
    }
  }
  return messages;
}

SectionScopes select_scopes(const ir::Graph& graph, const std::string& path,
                            const std::vector<std::string>& ignored, const std::vector<std::string>& target,
                            const std::vector<std::string>& top_ignored,
                            const std::vector<std::string>& top_target, bool validate) {
  const std::vector<ScopeList> lists = {{path + ".ignored_scopes", &ignored},
                                        {path + ".target_scopes", &target},
                                        {"ignored_scopes", &top_ignored},
                                        {"target_scopes", &top_target}};
  for (const std::string& m : check_scopes(graph, lists, validate)) log_warning_once(m);
  return {ScopeFilter(with_top_level(ignored, top_ignored), with_top_level(target, top_target)),
          uses_nncf_spelling(lists)};
}

}  // namespace nncf
