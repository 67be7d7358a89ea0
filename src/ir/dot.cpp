#include <sstream>
#include <unordered_map>

#include "nncf/ir/printer.h"

namespace nncf::ir {

namespace {

// A DOT string literal body: quotes and backslashes escaped, newlines as DOT's centred `\n`.
std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string to_dot(const Graph& graph) {
  std::ostringstream os;
  std::unordered_map<const Value*, std::string> source;  // DOT node id that produces each value
  os << "digraph G {\n";
  for (size_t i = 0; i < graph.inputs().size(); ++i) {
    const Value* in = graph.inputs()[i];
    std::string id = "in" + std::to_string(i);
    source[in] = id;
    std::string label = in->name();
    if (in->role() != InputRole::Data) label += std::string(" [") + to_string(in->role()) + "]";
    os << "  " << id << " [shape=ellipse, label=\"" << escape(label) << "\"];\n";
  }
  auto edge = [&](const Value* v, const std::string& to) {
    auto it = source.find(v);
    if (it == source.end()) return;  // a value of another graph: verify() reports it, the dump skips it
    os << "  " << it->second << " -> " << to;
    if (!v->is_tensor()) os << " [label=\"" << escape(v->name()) << "\"]";
    os << ";\n";
  };
  size_t k = 0;
  for (const Node* n : graph.nodes()) {
    std::string id = "n" + std::to_string(k++);
    os << "  " << id << " [shape=box, label=\"" << escape(n->qualified_op() + "\n" + n->scope()) << "\"];\n";
    for (const Arg& a : n->inputs()) {
      if (a.is_value()) edge(a.value(), id);  // constants are not drawn
    }
    for (const Value* out : n->outputs()) source[out] = id;
  }
  os << "  return [shape=doublecircle, label=\"return\"];\n";
  for (const Value* out : graph.outputs()) edge(out, "return");
  os << "}\n";
  return os.str();
}

}  // namespace nncf::ir
