#pragma once

// Text form, parser, verifier and DOT dump of the IR.
//
// The text form round-trips: parse_graph(to_text(g)) prints back identically.
//
//   graph(%x : Tensor, %training : bool [training], %conv1.weight : Tensor [param],
//         %bn1.running_mean : Tensor [buffer]):
//     %1 = aten::conv2d(%x, %conv1.weight, None, [1, 1], [1, 1], [1, 1], 1)  # scope=conv1
//     %n : int = aten::size.int(%x, 0)  # scope=size_0
//     %2 : Tensor, %3 : Tensor = prim::ListUnpack(%l)  # scope=layer1/ListUnpack_0
//     return (%1)
//
// A value's type is omitted when it is "Tensor". Constants: None, true, false, 3, 3.0 (a double
// always shows a '.', 'e', "inf" or "nan"), "text" (C escapes), device("cpu"), [1, 2],
// [1.0, 2.5], [true, false]; empty lists: [] (int), []:float, []:bool.

#include <string>
#include <string_view>

#include "nncf/ir/graph.h"

namespace nncf::ir {

std::string to_text(const Graph& graph);

/// Parses the text form. Throws c10::Error naming line and column on malformed text, and runs
/// `verify` on the result.
Graph parse_graph(std::string_view text);

/// Checks the graph's invariants: every argument value is a graph input or produced by an
/// earlier node of this graph; use lists match the arguments; value names and scopes are unique
/// and non-empty; op names are qualified (`ns::name`); at most one Training input, of type bool;
/// Parameter/Buffer inputs are tensors; every output is a value of this graph.
/// Throws c10::Error naming the offending node (op and scope) or value.
void verify(const Graph& graph);

/// Graphviz DOT: one box per node labelled with op and scope, edges per value.
std::string to_dot(const Graph& graph);

}  // namespace nncf::ir
