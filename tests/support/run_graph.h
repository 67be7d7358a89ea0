#pragma once

// A numeric oracle for rewrites that must preserve meaning: runs an IR graph op by op through the
// c10 dispatcher, independently of the runtime's CompressedModel.

#include <ATen/core/dispatch/Dispatcher.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "nncf/ir/printer.h"

namespace nncf::testing {

inline c10::IValue to_ivalue(const ir::Constant& c) {
  using K = ir::Constant::Kind;
  switch (c.kind()) {
    case K::None:
      return {};
    case K::Bool:
      return c.to_bool();
    case K::Int:
      return c.to_int();
    case K::Double:
      return c.to_double();
    case K::String:
      return c.to_string();
    case K::Device:
      return c10::Device(c.to_string());
    case K::IntList:
      return c.to_int_list();
    case K::DoubleList:
      return c.to_double_list();
    case K::BoolList: {
      c10::List<bool> list;
      for (bool b : c.to_bool_list()) list.push_back(b);
      return list;
    }
  }
  return {};
}

// Runs a graph op by op through the dispatcher: the numeric oracle for "the rewrite preserves
// meaning".
inline std::vector<at::Tensor> run_graph(const ir::Graph& g, const std::map<std::string, at::Tensor>& inputs) {
  std::unordered_map<const ir::Value*, c10::IValue> env;
  for (const ir::Value* in : g.inputs()) env[in] = inputs.at(in->name());
  for (const ir::Node* n : g.nodes()) {
    auto op = c10::Dispatcher::singleton().findSchemaOrThrow(n->op().c_str(), n->overload().c_str());
    std::vector<c10::IValue> stack;
    for (const ir::Arg& a : n->inputs())
      stack.push_back(a.is_value() ? env.at(a.value()) : to_ivalue(a.constant()));
    op.callBoxed(&stack);
    for (size_t i = 0; i < n->outputs().size(); ++i) env[n->output(i)] = stack.at(i);
  }
  std::vector<at::Tensor> out;
  for (const ir::Value* v : g.outputs()) out.push_back(env.at(v).toTensor());
  return out;
}

inline void expect_same_numbers(const std::string& before, const ir::Graph& after,
                         const std::map<std::string, at::Tensor>& inputs) {
  auto a = run_graph(ir::parse_graph(before), inputs);
  auto b = run_graph(after, inputs);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::allclose(a[i], b[i])) << "output " << i;
}

}  // namespace nncf::testing
