#include "nncf/ir/printer.h"

#include <c10/util/Exception.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

namespace nncf::ir {

namespace {

bool is_plain_name(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// C escapes; other control bytes as three-digit octal, which (unlike \x) has a fixed length.
void print_quoted(std::ostream& os, const std::string& s) {
  os << '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        os << "\\\"";
        break;
      case '\\':
        os << "\\\\";
        break;
      case '\n':
        os << "\\n";
        break;
      case '\t':
        os << "\\t";
        break;
      case '\r':
        os << "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\%03o", c);
          os << buf;
        } else {
          os << static_cast<char>(c);
        }
    }
  }
  os << '"';
}

void print_name(std::ostream& os, const Value* v) {
  os << '%';
  if (is_plain_name(v->name())) {
    os << v->name();
  } else {
    print_quoted(os, v->name());
  }
}

// The shortest of %.15g .. %.17g that reads back to the same bits, always showing it is a double.
std::string format_double(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[40];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, d);
    double back = 0;
    std::from_chars(buf, buf + std::strlen(buf), back);
    if (back == d) break;
  }
  std::string s(buf);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

template <typename T, typename F>
void print_list(std::ostream& os, const std::vector<T>& items, const char* empty_suffix, F print_item) {
  os << '[';
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) os << ", ";
    print_item(items[i]);
  }
  os << ']';
  if (items.empty()) os << empty_suffix;
}

void print_constant(std::ostream& os, const Constant& c) {
  switch (c.kind()) {
    case Constant::Kind::None:
      os << "None";
      break;
    case Constant::Kind::Bool:
      os << (c.to_bool() ? "true" : "false");
      break;
    case Constant::Kind::Int:
      os << c.to_int();
      break;
    case Constant::Kind::Double:
      os << format_double(c.to_double());
      break;
    case Constant::Kind::String:
      print_quoted(os, c.to_string());
      break;
    case Constant::Kind::Device:
      os << "device(";
      print_quoted(os, c.to_string());
      os << ')';
      break;
    case Constant::Kind::IntList:
      print_list(os, c.to_int_list(), "", [&](int64_t v) { os << v; });
      break;
    case Constant::Kind::DoubleList:
      print_list(os, c.to_double_list(), ":float", [&](double v) { os << format_double(v); });
      break;
    case Constant::Kind::BoolList:
      print_list(os, c.to_bool_list(), ":bool", [&](bool v) { os << (v ? "true" : "false"); });
      break;
  }
}

void print_typed(std::ostream& os, const Value* v, bool always_show_type) {
  print_name(os, v);
  if (always_show_type || !v->is_tensor()) os << " : " << v->type();
}

}  // namespace

std::string to_text(const Graph& graph) {
  std::ostringstream os;
  os << "graph(";
  for (size_t i = 0; i < graph.inputs().size(); ++i) {
    const Value* in = graph.inputs()[i];
    if (i > 0) os << ", ";
    print_typed(os, in, /*always_show_type=*/true);
    if (in->role() != InputRole::Data) os << " [" << to_string(in->role()) << ']';
    if (!in->shape().empty()) {
      os << " [shape=";
      for (size_t k = 0; k < in->shape().size(); ++k) os << (k ? "," : "") << in->shape()[k];
      os << ']';
    }
  }
  os << "):\n";
  for (const Node* n : graph.nodes()) {
    os << "  ";
    for (size_t i = 0; i < n->outputs().size(); ++i) {
      if (i > 0) os << ", ";
      print_typed(os, n->output(i), /*always_show_type=*/false);
    }
    if (!n->outputs().empty()) os << " = ";
    os << n->qualified_op() << '(';
    for (size_t i = 0; i < n->inputs().size(); ++i) {
      if (i > 0) os << ", ";
      const Arg& a = n->input(i);
      if (a.is_value()) {
        print_name(os, a.value());
      } else {
        print_constant(os, a.constant());
      }
    }
    os << ')';
    if (n->inplace_hint()) os << " inplace";
    if (n->runs_in() != RunsIn::Always) os << ' ' << to_string(n->runs_in());
    if (!n->scope().empty()) os << "  # scope=" << n->scope();
    if (!n->nncf_name().empty()) os << (n->scope().empty() ? "  # " : " ") << "nncf=" << n->nncf_name();
    os << '\n';
  }
  os << "  return (";
  for (size_t i = 0; i < graph.outputs().size(); ++i) {
    if (i > 0) os << ", ";
    print_name(os, graph.outputs()[i]);
  }
  os << ")\n";
  return os.str();
}

}  // namespace nncf::ir
