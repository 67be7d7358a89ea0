#include "nncf/passes/canonicalize_convolution.h"

#include <optional>

namespace nncf::passes {

namespace {

using ir::Arg;
using ir::Constant;

// Argument positions shared by aten::_convolution and aten::convolution.
enum ConvArg { kX, kW, kB, kStride, kPadding, kDilation, kTransposed, kOutputPadding, kGroups };

bool is_const(const Arg& a, Constant::Kind kind) {
  return a.is_constant() && a.constant().kind() == kind;
}

bool is_generic_convolution(const ir::Node* n) {
  if (n->outputs().size() != 1) return false;
  size_t args = n->inputs().size();
  if (n->op() == "aten::_convolution") return args == 12 || args == 13;
  if (n->op() == "aten::convolution") return args == 9;
  return false;
}

// The specific op and its arguments, or nullopt when the node cannot be canonicalized.
std::optional<std::pair<std::string, std::vector<Arg>>> rewrite(const ir::Node* n) {
  const auto& in = n->inputs();
  if (!is_const(in[kStride], Constant::Kind::IntList) || !is_const(in[kPadding], Constant::Kind::IntList) ||
      !is_const(in[kDilation], Constant::Kind::IntList) || !is_const(in[kTransposed], Constant::Kind::Bool) ||
      !is_const(in[kOutputPadding], Constant::Kind::IntList) || !is_const(in[kGroups], Constant::Kind::Int)) {
    return std::nullopt;
  }
  size_t dims = in[kStride].constant().to_int_list().size();
  if (dims < 1 || dims > 3) return std::nullopt;
  std::string d = std::to_string(dims) + "d";
  if (in[kTransposed].constant().to_bool()) {
    // The 2-d and 3-d schemas carry an overload name (a Python-level function once took theirs).
    std::string overload = dims == 1 ? "" : ".input";
    return std::make_pair("aten::conv_transpose" + d + overload,
                          std::vector<Arg>{in[kX], in[kW], in[kB], in[kStride], in[kPadding],
                                           in[kOutputPadding], in[kGroups], in[kDilation]});
  }
  return std::make_pair("aten::conv" + d, std::vector<Arg>{in[kX], in[kW], in[kB], in[kStride], in[kPadding],
                                                           in[kDilation], in[kGroups]});
}

}  // namespace

bool CanonicalizeConvolution::run(ir::Graph& graph) {
  std::vector<ir::Node*> candidates;
  for (ir::Node* n : graph.nodes()) {
    if (is_generic_convolution(n)) candidates.push_back(n);
  }
  bool changed = false;
  for (ir::Node* old : candidates) {
    auto replacement = rewrite(old);
    if (!replacement) continue;
    ir::Value* out = old->output();
    // The new output takes the old name; the duplicate lives only until `old` is erased.
    ir::Node* conv = graph.create_node(replacement->first, std::move(replacement->second), {out->type()},
                                       old->scope(), old, {out->name()});
    conv->set_runs_in(old->runs_in());
    conv->set_module(old->module());
    out->replace_all_uses_with(conv->output());
    graph.erase_node(old);
    changed = true;
  }
  return changed;
}

}  // namespace nncf::passes
