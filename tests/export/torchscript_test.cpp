// TorchScript export: a program linked only with LibTorch (tests/support/ts_consumer.cpp) loads the
// exported compressed model and reproduces its eval-mode output.

#include "nncf/export/torchscript.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "nncf/algorithms/quantization/controller.h"
#include "nncf/api/compression.h"
#include "support/errors.h"
#include "support/models.h"

namespace nncf::exporting {
namespace {

std::string temp(const std::string& name) {
  return ::testing::TempDir() + "/nncf_ts_" + name;
}

// Runs the exported file in the LibTorch-only consumer program.
torch::Tensor run_consumer(const std::string& model, const torch::Tensor& x) {
  const std::string in = temp("in.pkl"), out = temp("out.pkl");
  const std::vector<char> bytes = torch::pickle_save(x);
  std::ofstream(in, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  const std::string cmd = std::string(NNCF_TS_CONSUMER) + " " + model + " " + in + " " + out;
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream f(out, std::ios::binary);
  const std::vector<char> result((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::remove(in.c_str());
  std::remove(out.c_str());
  return torch::pickle_load(result).toTensor();
}

void expect_reproduced(CompressionResult& r, const torch::Tensor& x, const std::string& name) {
  const std::string path = temp(name + ".pt");
  export_torchscript(r.model, path);
  r.model->eval();
  torch::Tensor ours;
  {
    torch::NoGradGuard no_grad;
    ours = r.model->forward(x);
  }
  const torch::Tensor theirs = run_consumer(path, x);
  std::remove(path.c_str());
  ASSERT_EQ(theirs.sizes(), ours.sizes());
  // Built-in fake quantize computes x / step + zero_point where the nncf:: ops compute
  // (x - low) * levels / range: an element that lands next to a half level may round to the other
  // level, and the flips add up over the layers: close, not equal.
  EXPECT_LE((theirs - ours).abs().max().item<float>(), 0.05f * ours.abs().max().item<float>()) << name;
  EXPECT_TRUE(theirs.argmax(1).eq(ours.argmax(1)).all().item<bool>()) << name;
}

Config config_of(const std::string& compression, const std::string& shape) {
  return Config::from_string(R"({"input_info": {"sample_size": )" + shape + R"(}, "compression": )" +
                             compression + "}");
}

TEST(TorchScriptExport, QuantizedAndSparseCppModelRunsWithoutNncf) {
  torch::manual_seed(0);
  testing::SmallCNN net(testing::SmallCNNOptions().width(8));
  auto r = create_compressed_model(
      net,
      config_of(
          R"([{"algorithm": "magnitude_sparsity", "sparsity_init": 0.5}, {"algorithm": "quantization"}])",
          "[1, 1, 12, 12]"));
  const torch::Tensor x = torch::randn({16, 1, 12, 12});
  r.ctrl->initialize(InitData([&](const InitData::Visitor& visit) { visit({x}); }));
  // Another batch size than the one captured: the batch stays free.
  expect_reproduced(r, torch::randn({5, 1, 12, 12}), "smallcnn");
}

TEST(TorchScriptExport, TorchvisionModelsAsymmetricAndPerChannel) {
  const char* dir = std::getenv("NNCF_TEST_MODELS_DIR");
  ASSERT_NE(dir, nullptr) << "NNCF_TEST_MODELS_DIR is set by CTest";
  for (const char* name : {"resnet18_traced", "mobilenet_v2_scripted"}) {
    torch::manual_seed(0);
    auto r = create_compressed_model(std::string(dir) + "/" + name + ".pt",
                                     config_of(R"({"algorithm": "quantization", "preset": "mixed",
                      "initializer": {"batchnorm_adaptation": {"num_bn_adaptation_samples": 0}}})",
                                               "[1, 3, 32, 32]"));
    const torch::Tensor x = torch::randn({4, 3, 32, 32});
    r.ctrl->initialize(InitData([&](const InitData::Visitor& visit) { visit({x}); }));
    expect_reproduced(r, x, name);
  }
}

TEST(TorchScriptExport, NonQuantizerActivationModulesAreRefused) {
  testing::SmallCNN net(testing::SmallCNNOptions().width(4));
  auto cap = capture::capture_module(net, {torch::randn({2, 1, 12, 12})});
  runtime::CompressedModel model(std::move(cap.graph), cap.tensors);
  model->insert(runtime::InsertionPoint::post_op("conv1"), torch::nn::AnyModule(torch::nn::ReLU()), "odd");
  const std::string msg = testing::error_of([&] { export_torchscript(model, temp("odd.pt")); });
  EXPECT_NE(msg.find("'odd'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("conv1"), std::string::npos) << msg;
}

}  // namespace
}  // namespace nncf::exporting
