// The IR-text pass fixture (support/pass_test.h), on LinearFusion.

#include "support/pass_test.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "nncf/passes/linear_fusion.h"

namespace nncf::testing {
namespace {

const char* kAddmm =
    "graph(%x : Tensor, %fc.weight : Tensor [param], %fc.bias : Tensor [param]):\n"
    "  %wt = aten::t(%fc.weight)  # scope=t_0\n"
    "  %y = aten::addmm(%fc.bias, %x, %wt, 1, 1)  # scope=fc\n"
    "  return (%y)\n";
const char* kLinear =
    "graph(%x : Tensor, %fc.weight : Tensor [param], %fc.bias : Tensor [param]):\n"
    "  %y = aten::linear(%x, %fc.weight, %fc.bias)  # scope=fc\n"
    "  return (%y)\n";

class PassFixtureTest : public PassTest {};

TEST_F(PassFixtureTest, RewriteComparedInTearDown) {
  input(kAddmm);
  expected(kLinear);
  add_pass<passes::LinearFusion>();
  torch::manual_seed(0);
  check_numbers(
      {{"x", torch::randn({3, 4})}, {"fc.weight", torch::randn({5, 4})}, {"fc.bias", torch::randn({5})}});
}

TEST_F(PassFixtureTest, RunLeavesTheResultInGraph) {
  input(kAddmm);
  expected(kLinear);
  add_pass<passes::LinearFusion>();
  run();
  EXPECT_EQ(graph.find_node("fc")->metatype(), ir::Metatype::Linear);
}

TEST_F(PassFixtureTest, NoExpectationMeansNoMatch) {
  input(kLinear);
  add_pass<passes::LinearFusion>();
}

TEST(PassTestFunctions, RewriteAndNoMatch) {
  passes::LinearFusion fusion;
  const ir::Graph g = expect_rewrite(fusion, kAddmm, kLinear);
  EXPECT_EQ(g.num_nodes(), 1u);
  expect_no_match(fusion, kLinear);
}

TEST(PassTestFunctions, FailuresAreReported) {
  passes::LinearFusion fusion;
  ::testing::TestPartResultArray failures;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
    expect_no_match(fusion, kAddmm);           // matches, and changes the graph
    expect_rewrite(fusion, kLinear, kLinear);  // does not match
  }
  ASSERT_EQ(failures.size(), 3);
  EXPECT_NE(std::string(failures.GetTestPartResult(0).message()).find("LinearFusion matched"),
            std::string::npos);
  EXPECT_NE(std::string(failures.GetTestPartResult(2).message()).find("LinearFusion did not match"),
            std::string::npos);
}

}  // namespace
}  // namespace nncf::testing
