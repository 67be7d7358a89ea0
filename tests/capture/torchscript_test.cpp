// End-to-end equivalence of captured TorchScript files (torchvision models, traced and scripted,
// written by tests/support/make_torchscript.py) with the loaded module's own forward; and the
// rejection of scripted models with control flow that no trace describes.

#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>
#include <ostream>
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

std::vector<torch::Tensor> images(int64_t batch, int64_t seed, int64_t size = kExampleSize) {
  torch::manual_seed(seed);
  return {torch::randn({batch, 3, size, size})};
}

// A file of make_torchscript.py and the spatial size it was traced at.
struct ModelFile {
  std::string name;
  int64_t size = kExampleSize;  ///< make_torchscript.py's SIZE, or its SIZES entry
};

// gtest prints a parameter by its name.
void PrintTo(const ModelFile& f, std::ostream* os) {
  *os << f.name;
}

class TorchScriptModelTest : public ::testing::TestWithParam<ModelFile> {};

TEST_P(TorchScriptModelTest, CaptureIsEquivalent) {
  const std::string file = GetParam().name + ".pt";
  const int64_t size = GetParam().size;
  std::string path;
  ASSERT_TRUE(model_path(file, &path));
  torch::jit::Module module = torch::jit::load(path);
  module.eval();
  const std::vector<torch::Tensor> example = images(2, 0, size), inputs = images(5, 1, size);
  expect_capture_equivalent(
      file, subject(module), [&] { return capture::capture_torchscript(module, example); }, inputs);
}

std::string model_name(const ::testing::TestParamInfo<ModelFile>& info) {
  return info.param.name;
}

// swin_t: relative position bias through aten::index, shifted windows (roll, an attention mask
// written in place); regnet_x_400mf: grouped convs; mnasnet0_5: the smallest of the models the
// README names beyond this list (scripts/check-torchvision-capture.sh checks all of them).
INSTANTIATE_TEST_SUITE_P(
    Torchvision, TorchScriptModelTest,
    ::testing::Values(ModelFile{"resnet18_traced"}, ModelFile{"resnet18_scripted"},
                      ModelFile{"mobilenet_v2_traced"}, ModelFile{"mobilenet_v2_scripted"},
                      ModelFile{"squeezenet1_1_traced"}, ModelFile{"squeezenet1_1_scripted"},
                      ModelFile{"densenet121_traced"}, ModelFile{"densenet121_scripted"},
                      ModelFile{"googlenet_traced"}, ModelFile{"googlenet_scripted"},
                      ModelFile{"shufflenet_v2_x0_5_traced"}, ModelFile{"shufflenet_v2_x0_5_scripted"},
                      ModelFile{"mobilenet_v3_small_traced"}, ModelFile{"mobilenet_v3_small_scripted"},
                      ModelFile{"efficientnet_b0_traced"}, ModelFile{"efficientnet_b0_scripted"},
                      ModelFile{"vit_tiny_traced"}, ModelFile{"vit_tiny_scripted"},
                      ModelFile{"swin_t_traced"}, ModelFile{"swin_t_scripted"},
                      ModelFile{"regnet_x_400mf_traced"}, ModelFile{"regnet_x_400mf_scripted"},
                      ModelFile{"mnasnet0_5_traced"}, ModelFile{"mnasnet0_5_scripted"},
                      ModelFile{"mode_branch_scripted"}),
    model_name);

// The torchvision models the README names as checked beyond the suite, traced and scripted: too
// slow for every run, so disabled here. scripts/check-torchvision-capture.sh writes their files
// (make_torchscript.py NAME...) and runs them (--gtest_also_run_disabled_tests).
INSTANTIATE_TEST_SUITE_P(
    DISABLED_ByHand, TorchScriptModelTest,
    ::testing::Values(ModelFile{"swin_t_traced"}, ModelFile{"swin_t_scripted"},
                      ModelFile{"convnext_tiny_traced"}, ModelFile{"convnext_tiny_scripted"},
                      ModelFile{"inception_v3_traced", 75}, ModelFile{"inception_v3_scripted", 75},
                      ModelFile{"regnet_x_400mf_traced"}, ModelFile{"regnet_x_400mf_scripted"},
                      ModelFile{"resnext50_32x4d_traced"}, ModelFile{"resnext50_32x4d_scripted"},
                      ModelFile{"mnasnet0_5_traced"}, ModelFile{"mnasnet0_5_scripted"},
                      ModelFile{"alexnet_traced", 64}, ModelFile{"alexnet_scripted", 64},
                      ModelFile{"vgg11_bn_traced", 64}, ModelFile{"vgg11_bn_scripted", 64}),
    model_name);

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

INSTANTIATE_TEST_SUITE_P(Scripted, RejectedModelTest, ::testing::Values("control_flow", "batch_loop"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace nncf::testing
