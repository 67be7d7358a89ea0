// End-to-end equivalence of captured TorchScript files (torchvision models, traced and scripted,
// written by tests/support/make_torchscript.py) with the loaded module's own forward; and the
// rejection of scripted models with control flow that no trace describes.

#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "support/equivalence.h"

namespace nncf::testing {
namespace {

constexpr int64_t kExampleSize = 32;  // make_torchscript.py's SIZE

/// Finds `file` in $NNCF_TEST_MODELS_DIR. Missing files fail the test: they are written by the
/// `make_torchscript_models` CTest fixture.
::testing::AssertionResult model_path(const std::string& file, std::string* path) {
  const char* dir = std::getenv("NNCF_TEST_MODELS_DIR");
  if (dir == nullptr || *dir == '\0')
    return ::testing::AssertionFailure()
           << "NNCF_TEST_MODELS_DIR is not set; run the tests through ctest, whose "
              "make_torchscript_models fixture writes the TorchScript files";
  *path = std::string(dir) + "/" + file;
  if (!std::ifstream(*path).good())
    return ::testing::AssertionFailure()
           << *path << " is missing; run the tests through ctest (the "
           << "make_torchscript_models fixture runs tests/support/make_torchscript.py)";
  return ::testing::AssertionSuccess();
}

std::vector<torch::Tensor> images(int64_t batch, int64_t seed) {
  torch::manual_seed(seed);
  return {torch::randn({batch, 3, kExampleSize, kExampleSize})};
}

class TorchScriptModelTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchScriptModelTest, CaptureIsEquivalent) {
  const std::string file = GetParam() + ".pt";
  std::string path;
  ASSERT_TRUE(model_path(file, &path));
  torch::jit::Module module = torch::jit::load(path);
  module.eval();
  const std::vector<torch::Tensor> example = images(2, 0), inputs = images(5, 1);
  expect_capture_equivalent(
      file, subject(module), [&] { return capture::capture_torchscript(module, example); }, inputs);
}

INSTANTIATE_TEST_SUITE_P(Torchvision, TorchScriptModelTest,
                         ::testing::Values("resnet18_traced", "resnet18_scripted", "mobilenet_v2_traced",
                                           "mobilenet_v2_scripted", "squeezenet1_1_traced",
                                           "squeezenet1_1_scripted", "densenet121_traced",
                                           "densenet121_scripted", "googlenet_traced", "googlenet_scripted",
                                           "shufflenet_v2_x0_5_traced", "shufflenet_v2_x0_5_scripted",
                                           "mobilenet_v3_small_traced", "mobilenet_v3_small_scripted",
                                           "efficientnet_b0_traced", "efficientnet_b0_scripted", "vit_tiny_traced",
                                           "vit_tiny_scripted", "mode_branch_scripted"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// capture_torchscript_file loads the module itself: same graph as capturing the loaded module, and
// its tensors hold the file's values.
TEST(TorchScriptFileTest, MatchesCaptureOfLoadedModule) {
  std::string path;
  ASSERT_TRUE(model_path("resnet18_scripted.pt", &path));
  const std::vector<torch::Tensor> example = images(2, 0);
  capture::Captured from_file = capture::capture_torchscript_file(path, example);
  torch::jit::Module module = torch::jit::load(path);
  module.eval();
  capture::Captured from_module = capture::capture_torchscript(module, example);
  const std::string a = ir::to_text(from_file.graph), b = ir::to_text(from_module.graph);
  EXPECT_TRUE(a == b) << first_difference(a, b);

  ASSERT_EQ(from_file.tensors.size(), from_module.tensors.size());
  for (const auto& [name, t] : from_module.tensors) {
    auto it = from_file.tensors.find(name);
    ASSERT_NE(it, from_file.tensors.end()) << name;
    EXPECT_TRUE(it->second.equal(t)) << name;
    EXPECT_FALSE(it->second.is_same(t)) << name;
  }

  runtime::CompressedModel model(std::move(from_file.graph), from_file.tensors);
  model->eval();
  const torch::Tensor x = images(5, 1)[0];
  torch::NoGradGuard no_grad;
  torch::jit::GraphOptimizerEnabledGuard no_opt(false);
  EXPECT_LE(rel_diff(model->forward(x), module.forward({x}).toTensor()), kTolerance);
}

// Scripted models that no trace describes: capture must refuse them, saying why.
//   control_flow: `if x.sum() > 0` and a loop over x.size(0) (refused for reading a tensor value)
//   batch_loop:   a loop over x.size(0) only (the traces at batch 7 and 11 differ in length)
class RejectedModelTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RejectedModelTest, CaptureThrowsNamingControlFlow) {
  std::string path;
  ASSERT_TRUE(model_path(GetParam() + "_scripted.pt", &path));
  const torch::Tensor x = torch::randn({2, 3, 8, 8});
  // The file itself is fine: the module runs, in both modes.
  torch::jit::Module module = torch::jit::load(path);
  for (const bool training : {true, false}) {
    module.train(training);
    ASSERT_EQ(module.forward({x}).toTensor().sizes(), (std::vector<int64_t>{2, 4, 8, 8}));
  }
  try {
    capture::capture_torchscript_file(path, {x});
    FAIL() << "capture_torchscript_file accepted " << GetParam() << ", which no trace describes";
  } catch (const c10::Error& e) {
    const std::string msg = e.what_without_backtrace();
    std::cout << "[ rejected ] " << GetParam() << ": " << msg << "\n";
    EXPECT_NE(msg.find("control flow"), std::string::npos)
        << "the message does not name control flow: " << msg;
  }
}

INSTANTIATE_TEST_SUITE_P(Scripted, RejectedModelTest,
                         ::testing::Values("control_flow", "batch_loop"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace nncf::testing
