#include <c10/util/Exception.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <unordered_map>

#include "nncf/ir/printer.h"

namespace nncf::ir {

namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

// A recursive-descent parser of the text form written by to_text (see printer.h).
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Graph parse() {
    skip_space();
    expect_word("graph");
    expect('(');
    if (!try_consume(')')) {
      do {
        parse_input();
      } while (try_consume(','));
      expect(')');
    }
    expect(':');
    while (true) {
      skip_space();
      if (at_word("return")) break;
      parse_node();
    }
    expect_word("return");
    expect('(');
    if (!try_consume(')')) {
      do {
        graph_.add_output(parse_value_ref());
      } while (try_consume(','));
      expect(')');
    }
    skip_space();
    if (pos_ < text_.size()) fail("expected end of text after return");
    return std::move(graph_);
  }

 private:
  // ---- characters -----------------------------------------------------------------------
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool at_end() const { return pos_ >= text_.size(); }
  void advance() {
    if (text_[pos_] == '\n') {
      ++line_;
      line_start_ = pos_ + 1;
    }
    ++pos_;
  }

  [[noreturn]] void fail(const std::string& msg) const {
    std::string near = at_end() ? "end of text" : "'" + std::string(1, text_[pos_]) + "'";
    TORCH_CHECK(false, "line ", line_, ", col ", pos_ - line_start_ + 1, ": ", msg, " (at ", near, ")");
  }

  // Whitespace and `#` comments that are not a node's scope.
  void skip_space() {
    while (!at_end()) {
      if (std::isspace(static_cast<unsigned char>(peek()))) {
        advance();
      } else if (peek() == '#') {
        while (!at_end() && peek() != '\n') advance();
      } else {
        break;
      }
    }
  }
  // Spaces on the current line only.
  void skip_blanks() {
    while (!at_end() && (peek() == ' ' || peek() == '\t')) advance();
  }

  bool try_consume(char c) {
    skip_space();
    if (peek() != c || at_end()) return false;
    advance();
    return true;
  }
  void expect(char c) {
    if (!try_consume(c)) fail(std::string("expected '") + c + "'");
  }
  bool at_word(std::string_view w) const {
    return text_.substr(pos_, w.size()) == w &&
           (pos_ + w.size() >= text_.size() || !is_name_char(text_[pos_ + w.size()]));
  }
  void expect_word(std::string_view w) {
    skip_space();
    if (!at_word(w)) fail("expected '" + std::string(w) + "'");
    for (size_t i = 0; i < w.size(); ++i) advance();
  }

  // ---- tokens ---------------------------------------------------------------------------
  std::string parse_quoted() {
    if (peek() != '"') fail("expected '\"'");
    advance();
    std::string out;
    while (true) {
      if (at_end() || peek() == '\n') fail("unterminated string");
      char c = peek();
      advance();
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_end()) fail("unterminated string");
      char e = peek();
      advance();
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '\'':
          out += '\'';
          break;
        default: {
          if (e < '0' || e > '7') fail(std::string("unknown escape '\\") + e + "'");
          int v = e - '0';
          for (int i = 0; i < 2 && peek() >= '0' && peek() <= '7'; ++i) {
            v = v * 8 + (peek() - '0');
            advance();
          }
          if (v > 255) fail("octal escape out of range");
          out += static_cast<char>(v);
        }
      }
    }
  }

  // `%name` or `%"any name"`.
  std::string parse_name() {
    skip_space();
    if (peek() != '%') fail("expected '%'");
    advance();
    if (peek() == '"') return parse_quoted();
    size_t start = pos_;
    while (!at_end() && is_name_char(peek())) advance();
    if (pos_ == start) fail("expected a value name");
    return std::string(text_.substr(start, pos_ - start));
  }

  // A type is a balanced token: it ends at a top-level ',', '=' or ')'.
  std::string parse_type() {
    skip_space();
    size_t start = pos_;
    int depth = 0;
    while (!at_end() && peek() != '\n') {
      char c = peek();
      if (depth == 0 && (c == ',' || c == '=' || c == ')')) break;
      if (c == '(' || c == '[') ++depth;
      if (c == ')' || c == ']') --depth;
      advance();
    }
    std::string type(text_.substr(start, pos_ - start));
    while (!type.empty() && std::isspace(static_cast<unsigned char>(type.back()))) type.pop_back();
    if (type.empty()) fail("expected a type");
    if (depth != 0) fail("unbalanced brackets in type '" + type + "'");
    return type;
  }

  Value* parse_value_ref() {
    skip_space();
    size_t line = line_, col = pos_ - line_start_ + 1;
    std::string name = parse_name();
    auto it = values_.find(name);
    TORCH_CHECK(it != values_.end(), "line ", line, ", col ", col, ": undefined value %", name);
    return it->second;
  }

  void define(const std::string& name, size_t line, size_t col) {
    TORCH_CHECK(values_.count(name) == 0, "line ", line, ", col ", col, ": redefinition of %", name);
  }

  // ---- constants ------------------------------------------------------------------------
  // A number token: int64 unless it shows a '.', an exponent, inf or nan.
  Constant parse_number() {
    size_t start = pos_;
    if (peek() == '-' || peek() == '+') advance();
    while (!at_end() &&
           (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '.' ||
            ((peek() == '-' || peek() == '+') && (text_[pos_ - 1] == 'e' || text_[pos_ - 1] == 'E')))) {
      advance();
    }
    std::string tok(text_.substr(start, pos_ - start));
    std::string body = tok[0] == '-' || tok[0] == '+' ? tok.substr(1) : tok;
    bool negative = tok[0] == '-';
    if (body == "inf") return Constant::real(negative ? -INFINITY : INFINITY);
    if (body == "nan") return Constant::real(std::numeric_limits<double>::quiet_NaN());
    const char* b = tok.data() + (tok[0] == '+' ? 1 : 0);
    const char* e = tok.data() + tok.size();
    if (tok.find_first_of(".eE") == std::string::npos) {
      int64_t v = 0;
      auto r = std::from_chars(b, e, v);
      if (r.ec == std::errc::result_out_of_range) fail("integer out of range: " + tok);
      if (r.ec != std::errc() || r.ptr != e) fail("malformed number '" + tok + "'");
      return Constant::integer(v);
    }
    double v = 0;
    auto r = std::from_chars(b, e, v);
    if (r.ec != std::errc() || r.ptr != e) fail("malformed number '" + tok + "'");
    return Constant::real(v);
  }

  Constant parse_list() {
    advance();  // '['
    std::vector<Constant> items;
    if (!try_consume(']')) {
      do {
        skip_space();
        items.push_back(parse_constant());
      } while (try_consume(','));
      expect(']');
    }
    if (items.empty()) {
      if (peek() != ':') return Constant::int_list({});
      advance();
      if (at_word("float")) {
        expect_word("float");
        return Constant::double_list({});
      }
      if (at_word("bool")) {
        expect_word("bool");
        return Constant::bool_list({});
      }
      fail("expected 'float' or 'bool' after '[]:'");
    }
    bool all_bool = true, all_int = true, all_number = true;
    for (const Constant& c : items) {
      all_bool &= c.kind() == Constant::Kind::Bool;
      all_int &= c.kind() == Constant::Kind::Int;
      all_number &= c.kind() == Constant::Kind::Int || c.kind() == Constant::Kind::Double;
    }
    if (all_bool) {
      std::vector<bool> v;
      for (const Constant& c : items) v.push_back(c.to_bool());
      return Constant::bool_list(std::move(v));
    }
    if (all_int) {
      std::vector<int64_t> v;
      for (const Constant& c : items) v.push_back(c.to_int());
      return Constant::int_list(std::move(v));
    }
    if (all_number) {
      std::vector<double> v;
      for (const Constant& c : items) {
        v.push_back(c.kind() == Constant::Kind::Int ? static_cast<double>(c.to_int()) : c.to_double());
      }
      return Constant::double_list(std::move(v));
    }
    fail("a list constant holds only ints, floats or bools");
  }

  Constant parse_constant() {
    char c = peek();
    if (c == '"') return Constant::string(parse_quoted());
    if (c == '[') return parse_list();
    if (c == '-' || c == '+' || std::isdigit(static_cast<unsigned char>(c)) || at_word("inf") ||
        at_word("nan")) {
      return parse_number();
    }
    if (at_word("None")) {
      expect_word("None");
      return Constant::none();
    }
    if (at_word("true")) {
      expect_word("true");
      return Constant::boolean(true);
    }
    if (at_word("false")) {
      expect_word("false");
      return Constant::boolean(false);
    }
    if (at_word("device")) {
      expect_word("device");
      expect('(');
      skip_space();
      std::string d = parse_quoted();
      expect(')');
      return Constant::device(std::move(d));
    }
    fail("expected a value or a constant");
  }

  // ---- graph structure ------------------------------------------------------------------
  void parse_input() {
    skip_space();
    size_t line = line_, col = pos_ - line_start_ + 1;
    std::string name = parse_name();
    define(name, line, col);
    expect(':');
    std::string type = parse_type();
    std::vector<int64_t> shape;
    const std::string shape_tag = " [shape=";
    if (size_t at = type.rfind(shape_tag); at != std::string::npos && type.back() == ']') {
      std::stringstream dims(type.substr(at + shape_tag.size(), type.size() - at - shape_tag.size() - 1));
      std::string dim;
      while (std::getline(dims, dim, ',')) {
        char* end = nullptr;
        const long long d = std::strtoll(dim.c_str(), &end, 10);
        if (dim.empty() || *end != '\0' || d < -1) fail("bad dimension '" + dim + "' in the shape of %" + name);
        shape.push_back(d);
      }
      type.resize(at);
    }
    InputRole role = InputRole::Data;
    for (InputRole r : {InputRole::Training, InputRole::Parameter, InputRole::Buffer}) {
      std::string tag = std::string(" [") + to_string(r) + "]";
      if (type.size() > tag.size() && type.compare(type.size() - tag.size(), tag.size(), tag) == 0) {
        role = r;
        type.resize(type.size() - tag.size());
        while (!type.empty() && type.back() == ' ') type.pop_back();
      }
    }
    values_[name] = graph_.add_input(name, type, role);
    values_[name]->set_shape(std::move(shape));
  }

  void parse_node() {
    std::vector<std::string> names, types;
    std::vector<std::pair<size_t, size_t>> where;
    if (peek() == '%') {
      do {
        skip_space();
        where.emplace_back(line_, pos_ - line_start_ + 1);
        names.push_back(parse_name());
        define(names.back(), where.back().first, where.back().second);
        types.push_back(try_consume(':') ? parse_type() : "Tensor");
      } while (try_consume(','));
      expect('=');
    }
    skip_space();
    size_t start = pos_;
    while (!at_end() && (is_name_char(peek()) || peek() == ':')) advance();
    if (pos_ == start) fail("expected an operator name");
    std::string op(text_.substr(start, pos_ - start));
    std::vector<Arg> args;
    expect('(');
    if (!try_consume(')')) {
      do {
        skip_space();
        if (peek() == '%') {
          args.emplace_back(parse_value_ref());
        } else {
          args.emplace_back(parse_constant());
        }
      } while (try_consume(','));
      expect(')');
    }
    // Flags after the arguments: `inplace`, then `train_only` or `eval_only`.
    auto flag = [&](std::string_view word) {
      skip_blanks();
      if (text_.substr(pos_, word.size()) != word) return false;
      for (size_t i = 0; i < word.size(); ++i) advance();
      return true;
    };
    const bool inplace = flag("inplace");
    RunsIn runs_in = RunsIn::Always;
    if (flag(to_string(RunsIn::Training))) {
      runs_in = RunsIn::Training;
    } else if (flag(to_string(RunsIn::Eval))) {
      runs_in = RunsIn::Eval;
    }
    // `# scope=S nncf=N`, either part optional.
    std::string scope, nncf_name;
    skip_blanks();
    if (peek() == '#') {
      constexpr std::string_view kScope = "scope=", kNncf = "nncf=";
      advance();
      while (!at_end() && peek() == ' ') advance();
      size_t s = pos_;
      while (!at_end() && peek() != '\n') advance();
      std::string_view rest = text_.substr(s, pos_ - s);
      if (!rest.empty() && rest.back() == '\r') rest.remove_suffix(1);
      const bool tagged = rest.substr(0, kScope.size()) == kScope || rest.substr(0, kNncf.size()) == kNncf;
      if (!tagged) fail("expected '# scope=' or '# nncf=' after a node");
      if (rest.substr(0, kScope.size()) == kScope) {
        // A scope runs to ` nncf=` or to the end of the line.
        rest.remove_prefix(kScope.size());
        const size_t tag = rest.find(" nncf=");
        scope = std::string(rest.substr(0, tag));
        rest = tag == std::string_view::npos ? std::string_view() : rest.substr(tag + 1);
      }
      if (rest.substr(0, kNncf.size()) == kNncf) nncf_name = std::string(rest.substr(kNncf.size()));
    }
    Node* n = graph_.create_node(op, std::move(args), types, std::move(scope), nullptr, names);
    n->set_nncf_name(std::move(nncf_name));
    n->set_inplace_hint(inplace);
    n->set_runs_in(runs_in);
    for (size_t i = 0; i < names.size(); ++i) {
      define(names[i], where[i].first, where[i].second);  // outputs may not shadow each other
      values_[names[i]] = n->output(i);
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  size_t line_ = 1;
  size_t line_start_ = 0;
  Graph graph_;
  std::unordered_map<std::string, Value*> values_;
};

}  // namespace

Graph parse_graph(std::string_view text) {
  Graph g = Parser(text).parse();
  verify(g);
  return g;
}

}  // namespace nncf::ir
