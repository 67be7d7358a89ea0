#pragma once

// IR-text tests for passes, after OpenVINO's TransformationTestsF: a test names an input graph and
// the graph it expects as IR text, and registers the passes to run; the fixture parses, runs,
// verifies, compares the printed result, and checks that the rewrite is a fixed point (a second
// run changes nothing). A test that sets no expectation checks that the passes do not match.
//
//   TEST_F(MyPassTest, FoldsThing) {
//     input("graph(%x : Tensor):\n  ...");
//     expected("graph(%x : Tensor):\n  ...");
//     add_pass<MyPass>();
//   }  // TearDown runs and compares, unless the test called run() itself
//
// The free functions expect_rewrite / expect_no_match do the same in one call, for plain TESTs.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nncf/ir/printer.h"
#include "nncf/passes/pass.h"
#include "support/run_graph.h"

namespace nncf::testing {

/// Runs `passes` in order over `g` once; returns whether any changed it.
inline bool run_passes(const std::vector<passes::Pass*>& passes, ir::Graph& g) {
  bool changed = false;
  for (passes::Pass* p : passes) changed = p->run(g) || changed;
  return changed;
}

/// Parses `in`, runs `pass`, and checks that it reports a change, that the result verifies and
/// prints like `expected` (parsed and printed, so spacing does not matter) and, unless
/// `fixed_point` is false, that a second run reports no change. Returns the rewritten graph.
inline ir::Graph expect_rewrite(passes::Pass& pass, const std::string& in, const std::string& expected,
                                bool fixed_point = true) {
  ir::Graph g = ir::parse_graph(in);
  EXPECT_TRUE(pass.run(g)) << pass.name() << " did not match";
  ir::verify(g);
  EXPECT_EQ(ir::to_text(g), ir::to_text(ir::parse_graph(expected)));
  if (fixed_point) {
    const std::string once = ir::to_text(g);
    EXPECT_FALSE(pass.run(g)) << pass.name() << " changed its own result";
    EXPECT_EQ(ir::to_text(g), once);
  }
  return g;
}

/// Parses `in`, runs `pass`, and checks that it reports no change and left the graph as it was.
inline void expect_no_match(passes::Pass& pass, const std::string& in) {
  ir::Graph g = ir::parse_graph(in);
  EXPECT_FALSE(pass.run(g)) << pass.name() << " matched";
  EXPECT_EQ(ir::to_text(g), ir::to_text(ir::parse_graph(in)));
}

/// The fixture form. `graph` is the input once input() has parsed it, and the result after run().
class PassTest : public ::testing::Test {
 protected:
  /// Parses the input graph (and keeps its text for the numeric check).
  void input(const std::string& text) {
    input_text_ = text;
    graph = ir::parse_graph(text);
  }
  /// The graph the passes must produce; without it, they must not match.
  void expected(const std::string& text) { expected_text_ = text; }
  /// Also run input and result op by op on these tensors and compare the outputs.
  void check_numbers(std::map<std::string, at::Tensor> inputs) { numeric_inputs_ = std::move(inputs); }
  /// Skip the fixed-point check (for passes documented to need several runs).
  void skip_fixed_point() { fixed_point_ = false; }

  template <class P, class... Args>
  P& add_pass(Args&&... args) {
    passes_.push_back(std::make_unique<P>(std::forward<Args>(args)...));
    return static_cast<P&>(*passes_.back());
  }

  /// Runs the passes and checks the result (once; TearDown calls it when the test did not).
  void run() {
    ASSERT_FALSE(ran_) << "run() called twice";
    ran_ = true;
    ASSERT_FALSE(input_text_.empty()) << "no input graph";
    ASSERT_FALSE(passes_.empty()) << "no pass registered";
    std::vector<passes::Pass*> ps;
    for (auto& p : passes_) ps.push_back(p.get());
    const bool changed = run_passes(ps, graph);
    ir::verify(graph);
    const std::string after = ir::to_text(graph);
    if (!expected_text_) {
      EXPECT_FALSE(changed) << "the passes matched:\n" << after;
      EXPECT_EQ(after, ir::to_text(ir::parse_graph(input_text_)));
      return;
    }
    EXPECT_TRUE(changed) << "the passes did not match";
    EXPECT_EQ(after, ir::to_text(ir::parse_graph(*expected_text_)));
    if (fixed_point_) {
      EXPECT_FALSE(run_passes(ps, graph)) << "a second run changed the result";
      EXPECT_EQ(ir::to_text(graph), after);
    }
    if (numeric_inputs_) expect_same_numbers(input_text_, graph, *numeric_inputs_);
  }

  void TearDown() override {
    if (!ran_ && !HasFatalFailure()) run();
  }

  ir::Graph graph;

 private:
  std::string input_text_;
  std::optional<std::string> expected_text_;
  std::optional<std::map<std::string, at::Tensor>> numeric_inputs_;
  std::vector<std::unique_ptr<passes::Pass>> passes_;
  bool fixed_point_ = true;
  bool ran_ = false;
};

}  // namespace nncf::testing
