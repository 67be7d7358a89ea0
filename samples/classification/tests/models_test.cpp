// The sample's model zoo: shapes, torchvision's parameter counts and names, checkpoints, errors,
// and that nncf-cpp captures and compresses the models.

#include "models.h"
#include "sample_config.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "nncf/algorithms/scopes.h"
#include "nncf/algorithms/sparsity/controller.h"
#include "nncf/api/compression.h"
#include "nncf/capture/capture.h"

namespace nncf_sample {
namespace {

ModelOptions options(const std::string& name, double width = 0.25, bool small_input = true,
                     int64_t num_classes = 10, int64_t in_channels = 3) {
  ModelOptions o;
  o.name = name;
  o.width = width;
  o.small_input = small_input;
  o.num_classes = num_classes;
  o.in_channels = in_channels;
  return o;
}

int64_t count_parameters(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

// The message of the std::runtime_error that `f` throws ("" if none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

// A fresh folder under the system's temporary folder, removed with the fixture.
class Checkpoints : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("models_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

TEST(Models, OutputShapesForBothStems) {
  torch::manual_seed(0);
  for (const auto& name : model_names()) {
    for (bool small : {true, false}) {
      SCOPED_TRACE(name + (small ? " small_input" : ""));
      Classifier net = make_model(options(name, 0.25, small, 7));
      net->eval();
      torch::NoGradGuard no_grad;
      EXPECT_EQ(net->forward(torch::randn({2, 3, 32, 32})).sizes(), (std::vector<int64_t>{2, 7}));
      if (small) {
        Classifier gray = make_model(options(name, 0.25, true, 10, 1));
        gray->eval();
        EXPECT_EQ(gray->forward(torch::randn({2, 1, 28, 28})).sizes(), (std::vector<int64_t>{2, 10}));
      }
    }
  }
}

TEST(Models, ParameterCountsEqualTorchvision) {
  const std::pair<const char*, int64_t> expected[] = {{"resnet18", 11689512},
                                                      {"resnet34", 21797672},
                                                      {"resnet50", 25557032},
                                                      {"mobilenet_v2", 3504872},
                                                      {"vgg16_bn", 138365992}};
  for (const auto& [name, count] : expected) {
    Classifier net = make_model(options(name, 1.0, false, 1000));
    EXPECT_EQ(count_parameters(*net), count) << name;
  }
}

TEST(Models, WidthScalesChannelsWithAFloorOfEight) {
  auto channels = [](double width) {
    Classifier net = make_model(options("resnet18", width));
    return net->named_parameters()["conv1.weight"].size(0);
  };
  EXPECT_EQ(channels(1.0), 64);
  EXPECT_EQ(channels(0.25), 16);
  EXPECT_EQ(channels(0.3), 19);
  EXPECT_EQ(channels(0.05), 8);
}

TEST(Models, NamesFollowTorchvision) {
  auto names = [](const std::string& model, bool small_input) {
    std::set<std::string> out;
    Classifier net = make_model(options(model, 0.25, small_input));
    for (const auto& p : net->named_parameters()) out.insert(p.key());
    for (const auto& b : net->named_buffers()) out.insert(b.key());
    return out;
  };
  const auto resnet18 = names("resnet18", false);
  for (const char* n : {"conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight", "layer1.1.bn2.bias",
                        "layer2.0.downsample.0.weight", "layer2.0.downsample.1.running_var",
                        "layer4.1.conv2.weight", "fc.weight", "fc.bias"}) {
    EXPECT_EQ(resnet18.count(n), 1u) << n;
  }
  EXPECT_EQ(resnet18.count("layer1.0.downsample.0.weight"), 0u);
  // conv1/bn1 + 8 blocks of conv1, bn1, conv2, bn2 + 3 downsamples + fc; BatchNorm has 5 tensors.
  EXPECT_EQ(resnet18.size(), 122u);
  EXPECT_EQ(names("resnet50", false).count("layer1.0.downsample.1.weight"), 1u);
  EXPECT_EQ(names("resnet50", false).count("layer3.5.conv3.weight"), 1u);

  const auto mobilenet = names("mobilenet_v2", false);
  for (const char* n : {"features.0.0.weight", "features.0.1.running_mean", "features.1.conv.0.0.weight",
                        "features.1.conv.1.weight", "features.1.conv.2.bias", "features.2.conv.0.0.weight",
                        "features.2.conv.3.weight", "features.17.conv.3.bias", "features.18.0.weight",
                        "classifier.1.weight"}) {
    EXPECT_EQ(mobilenet.count(n), 1u) << n;
  }

  const auto vgg = names("vgg16_bn", false);
  for (const char* n :
       {"features.0.weight", "features.0.bias", "features.1.running_mean", "features.40.weight",
        "features.41.bias", "classifier.0.weight", "classifier.3.weight", "classifier.6.bias"}) {
    EXPECT_EQ(vgg.count(n), 1u) << n;
  }
  EXPECT_EQ(names("vgg16_bn", true).count("classifier.3.weight"), 1u);
  EXPECT_EQ(names("vgg16_bn", true).count("classifier.6.weight"), 0u);
}

TEST(Models, InitializationFollowsTorchvision) {
  torch::manual_seed(0);
  Classifier net = make_model(options("mobilenet_v2", 1.0, false, 1000));
  auto params = net->named_parameters();
  // kaiming normal, fan_out: std = sqrt(2 / (out_channels * k * k)).
  const auto w = params["features.0.0.weight"];
  EXPECT_NEAR(w.std().item<double>(), std::sqrt(2.0 / (32 * 9)), 0.02);
  EXPECT_TRUE(torch::equal(params["features.0.1.weight"], torch::ones({32})));
  EXPECT_NEAR(params["classifier.1.weight"].std().item<double>(), 0.01, 0.001);
  EXPECT_EQ(params["classifier.1.bias"].abs().sum().item<double>(), 0.0);
}

TEST(Models, BadOptionsAreRejected) {
  const std::string unknown = error_of([] { make_model(options("resnet19")); });
  EXPECT_NE(unknown.find("resnet19"), std::string::npos) << unknown;
  for (const auto& name : model_names()) EXPECT_NE(unknown.find(name), std::string::npos) << unknown;
  EXPECT_NE(error_of([] { make_model(options("resnet18", 1.0, true, 0)); }).find("num_classes"),
            std::string::npos);
  EXPECT_NE(error_of([] { make_model(options("resnet18", 0.0)); }).find("width"), std::string::npos);
  EXPECT_NE(error_of([] { make_model(options("resnet18", -1.0)); }).find("width"), std::string::npos);
  EXPECT_NE(error_of([] { make_model(options("resnet18", 1.0, true, 10, 0)); }).find("in_channels"),
            std::string::npos);
}

// A model whose BatchNorm statistics have moved away from their initial values.
Classifier trained(const std::string& name, uint64_t seed) {
  torch::manual_seed(seed);
  Classifier net = make_model(options(name));
  net->train();
  torch::NoGradGuard no_grad;
  net->forward(torch::randn({4, 3, 32, 32}) + 0.5);
  net->eval();
  return net;
}

TEST_F(Checkpoints, SaveThenLoadRestoresOutputsExactly) {
  for (const char* name : {"resnet18", "mobilenet_v2", "vgg11_bn"}) {
    SCOPED_TRACE(name);
    Classifier a = trained(name, 1), b = trained(name, 2);
    const auto x = torch::randn({2, 3, 32, 32});
    torch::NoGradGuard no_grad;
    ASSERT_FALSE(torch::equal(a->forward(x), b->forward(x)));
    const auto weight = b->named_parameters()[0].value();
    save_weights(*a, file("w.pt"));
    save_weights(*a, file("w.pt"));  // over an existing file
    load_weights(*b, file("w.pt"));
    EXPECT_TRUE(torch::equal(a->forward(x), b->forward(x)));
    EXPECT_TRUE(weight.is_same(b->named_parameters()[0].value())) << "loaded in place";
  }
  // Only the checkpoint is left in the folder, no temporary file.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), std::filesystem::directory_iterator()),
            1);
}

TEST_F(Checkpoints, LoadsWhatTorchSaveWrote) {
  Classifier a = trained("small_cnn", 1), b = trained("small_cnn", 2);
  torch::save(a, file("w.pt"));
  load_weights(*b, file("w.pt"));
  const auto x = torch::randn({2, 3, 32, 32});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(a->forward(x), b->forward(x)));
}

TEST_F(Checkpoints, MismatchesAreNamed) {
  Classifier narrow = make_model(options("resnet18", 0.25)), wide = make_model(options("resnet18", 0.5));
  const auto before = wide->named_parameters()["fc.weight"].clone();
  save_weights(*narrow, file("narrow.pt"));
  const std::string shape = error_of([&] { load_weights(*wide, file("narrow.pt")); });
  EXPECT_NE(shape.find("conv1.weight (expected [32, 3, 3, 3], got [16, 3, 3, 3])"), std::string::npos)
      << shape;
  EXPECT_NE(shape.find("narrow.pt"), std::string::npos) << shape;
  EXPECT_TRUE(torch::equal(wide->named_parameters()["fc.weight"], before)) << "nothing loaded";

  Classifier cnn = make_model(options("small_cnn"));
  save_weights(*cnn, file("cnn.pt"));
  const std::string other = error_of([&] { load_weights(*narrow, file("cnn.pt")); });
  EXPECT_NE(other.find("missing layer1.0.conv1.weight"), std::string::npos) << other;
  EXPECT_NE(other.find("unexpected bn2.weight"), std::string::npos) << other;
  EXPECT_NE(other.find("more"), std::string::npos) << other;
}

TEST_F(Checkpoints, MissingTruncatedAndGarbageFilesAreClearErrors) {
  Classifier net = make_model(options("small_cnn"));
  const std::string missing = error_of([&] { load_weights(*net, file("nope.pt")); });
  EXPECT_NE(missing.find("no such file"), std::string::npos) << missing;
  EXPECT_NE(missing.find("nope.pt"), std::string::npos) << missing;

  save_weights(*net, file("w.pt"));
  std::string bytes;
  {
    std::ifstream in(file("w.pt"), std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(file("half.pt"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  std::ofstream(file("junk.pt"), std::ios::binary) << "not a checkpoint";
  for (const char* name : {"half.pt", "junk.pt"}) {
    const std::string e = error_of([&] { load_weights(*net, file(name)); });
    EXPECT_NE(e.find(file(name)), std::string::npos) << e;
    EXPECT_NE(e.find("corrupt"), std::string::npos) << e;
  }
}

TEST_F(Checkpoints, AFailedSaveLeavesNoTrace) {
  Classifier net = make_model(options("small_cnn"));
  const std::string unwritable = error_of([&] { save_weights(*net, file("no/such/folder/w.pt")); });
  EXPECT_NE(unwritable.find("no/such/folder/w.pt"), std::string::npos) << unwritable;
  // The rename onto a folder fails after the temporary file was written: it is removed, and what
  // was at the target stays.
  std::filesystem::create_directories(dir_ / "taken" / "inside");
  const std::string taken = error_of([&] { save_weights(*net, file("taken")); });
  EXPECT_NE(taken.find("cannot rename"), std::string::npos) << taken;
  EXPECT_TRUE(std::filesystem::is_directory(dir_ / "taken" / "inside"));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), std::filesystem::directory_iterator()),
            1);
}

// nncf-cpp captures a zoo model through its Classifier holder; with no compression the
// CompressedModel computes exactly what the module does, and quantization builds and runs.
void expect_captures(const ModelOptions& o, const std::vector<int64_t>& input) {
  torch::manual_seed(0);
  Classifier net = make_model(o);
  std::string shape;
  for (auto d : input) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
  const std::string info = R"({"input_info": {"sample_size": [)" + shape + "]}, ";
  auto plain = nncf::create_compressed_model(net, nncf::Config::from_string(info + R"("compression": []})"));
  net->eval();
  plain.model->eval();
  const auto x = torch::randn(input);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(plain.model->forward(x), net->forward(x)));

  auto int8 = nncf::create_compressed_model(
      net, nncf::Config::from_string(info + R"("compression": {"algorithm": "quantization"}})"));
  EXPECT_FALSE(int8.model->hooks().empty());
  int8.model->eval();
  const auto y = int8.model->forward(x);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{input[0], o.num_classes}));
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
}

TEST(ModelsCapture, ResNet18CapturesAndCompresses) {
  expect_captures(options("resnet18", 0.25, true, 10, 1), {1, 1, 28, 28});
}

TEST(ModelsCapture, MobileNetV2CapturesAndCompresses) {
  expect_captures(options("mobilenet_v2", 0.5, true, 10, 3), {1, 3, 32, 32});
}

// NNCF's names of the zoo's C++ modules: the class names are torchvision's, so the names of the
// layers equal those NNCF gives torchvision's models (written here from NNCF's reference graphs and
// sample configs). Where the C++ forward runs an op functionally rather than through a registered
// module (ResNet's relu and pools) or out of place (`relu`, `+`), the name is the one NNCF gives
// that call in that module (`ResNet/relu_0`, `BasicBlock[0]/__add___0`).
std::set<std::string> nncf_names_of(Classifier& net, const std::vector<int64_t>& input) {
  torch::manual_seed(0);
  nncf::capture::Captured cap = nncf::capture::capture_module(net, {torch::randn(input)});
  std::set<std::string> names;
  for (const nncf::ir::Node* n : cap.graph.nodes())
    for (const std::string& name : nncf::names_of(*n)) names.insert(name);
  return names;
}

TEST(ModelsNncfNames, ResNetLayersAreNamedAsInNncf) {
  Classifier r18 = make_model(options("resnet18", 0.25, false));
  const std::set<std::string> names = nncf_names_of(r18, {1, 3, 64, 64});
  for (const char* expected : {
           "ResNet/NNCFConv2d[conv1]/conv2d_0", "ResNet/NNCFBatchNorm2d[bn1]/batch_norm_0", "ResNet/relu_0",
           "ResNet/max_pool2d_0", "ResNet/Sequential[layer1]/BasicBlock[0]/NNCFConv2d[conv1]/conv2d_0",
           "ResNet/Sequential[layer1]/BasicBlock[0]/NNCFBatchNorm2d[bn2]/batch_norm_0",
           "ResNet/Sequential[layer1]/BasicBlock[0]/relu_0", "ResNet/Sequential[layer1]/BasicBlock[0]/relu_1",
           "ResNet/Sequential[layer1]/BasicBlock[0]/__add___0",
           "ResNet/Sequential[layer1]/BasicBlock[1]/NNCFConv2d[conv2]/conv2d_0",
           "ResNet/Sequential[layer2]/BasicBlock[0]/Sequential[downsample]/NNCFBatchNorm2d[1]/batch_norm_0",
           "ResNet/Sequential[layer4]/BasicBlock[0]/Sequential[downsample]/NNCFConv2d[0]/conv2d_0",
           "ResNet/adaptive_avg_pool2d_0", "ResNet/flatten_0", "ResNet/NNCFLinear[fc]/linear_0",
           "ResNet/Sequential[layer1]/BasicBlock[0]/Conv2d[conv1]/conv2d_0",  // NNCF 1.x
       })
    EXPECT_TRUE(names.count(expected)) << "no op is named " << expected;

  Classifier r50 = make_model(options("resnet50", 0.25, false));
  const std::set<std::string> names50 = nncf_names_of(r50, {1, 3, 64, 64});
  for (const char* expected : {
           "ResNet/Sequential[layer1]/Bottleneck[0]/NNCFConv2d[conv3]/conv2d_0",
           "ResNet/Sequential[layer1]/Bottleneck[0]/Sequential[downsample]/NNCFConv2d[0]/conv2d_0",
           "ResNet/Sequential[layer3]/Bottleneck[5]/NNCFBatchNorm2d[bn3]/batch_norm_0",
       })
    EXPECT_TRUE(names50.count(expected)) << "no op is named " << expected;
}

TEST(ModelsNncfNames, MobileNetV2LayersAreNamedAsInNncf) {
  Classifier net = make_model(options("mobilenet_v2", 0.5, false));
  const std::set<std::string> names = nncf_names_of(net, {1, 3, 64, 64});
  for (const char* expected : {
           "MobileNetV2/Sequential[features]/Conv2dNormActivation[0]/NNCFConv2d[0]/conv2d_0",
           "MobileNetV2/Sequential[features]/Conv2dNormActivation[0]/NNCFBatchNorm2d[1]/batch_norm_0",
           "MobileNetV2/Sequential[features]/Conv2dNormActivation[0]/ReLU6[2]/hardtanh_0",
           "MobileNetV2/Sequential[features]/InvertedResidual[1]/Sequential[conv]/Conv2dNormActivation[0]/"
           "NNCFConv2d[0]/conv2d_0",
           "MobileNetV2/Sequential[features]/InvertedResidual[1]/Sequential[conv]/NNCFConv2d[1]/conv2d_0",
           "MobileNetV2/Sequential[features]/InvertedResidual[2]/Sequential[conv]/NNCFConv2d[2]/conv2d_0",
           "MobileNetV2/Sequential[features]/InvertedResidual[3]/__add___0",
           "MobileNetV2/Sequential[features]/InvertedResidual[10]/Sequential[conv]/NNCFBatchNorm2d[3]/"
           "batch_norm_0",
           "MobileNetV2/Sequential[features]/Conv2dNormActivation[18]/ReLU6[2]/hardtanh_0",
           "MobileNetV2/adaptive_avg_pool2d_0",
           "MobileNetV2/flatten_0",
           "MobileNetV2/Sequential[classifier]/Dropout[0]/dropout_0",
           "MobileNetV2/Sequential[classifier]/NNCFLinear[1]/linear_0",
           // torchvision < 0.13's class name, which NNCF's sample configs use.
           "MobileNetV2/Sequential[features]/ConvBNActivation[0]/NNCFConv2d[0]/conv2d_0",
       })
    EXPECT_TRUE(names.count(expected)) << "no op is named " << expected;
}

// The ignored scope of NNCF's mobilenet_v2_imagenet_rb_sparsity_int8.json, unchanged, selects the
// stem conv of the C++ model, and only it.
TEST(ModelsNncfNames, NncfSampleConfigScopeSelectsTheCppStemConv) {
  torch::manual_seed(0);
  Classifier net = make_model(options("mobilenet_v2", 0.5, false));
  auto r = nncf::create_compressed_model(net, nncf::Config::from_string(R"({
    "input_info": {"sample_size": [1, 3, 64, 64]},
    "compression": {"algorithm": "magnitude_sparsity",
      "ignored_scopes": ["{re}MobileNetV2/Sequential\\[features\\]/ConvBNActivation\\[0\\]/NNCFConv2d\\[0\\]/.*"]}
  })"));
  auto* sparsity = dynamic_cast<nncf::sparsity::SparsityController*>(r.ctrl.get());
  ASSERT_NE(sparsity, nullptr);
  std::set<std::string> sparsified;
  for (const auto& w : sparsity->weights()) sparsified.insert(w.weight);
  EXPECT_EQ(sparsified.count("features.0.0.weight"), 0u);
  EXPECT_EQ(sparsified.count("features.1.conv.0.0.weight"), 1u);
  EXPECT_EQ(sparsified.size(), 53u - 1u);  // 52 convs and the classifier, less the stem
}

// Every config the sample ships parses and compresses the model it names (a typo in a key, a scope
// that matches nothing, an algorithm pair that does not combine fails here, not an hour into
// scripts/results.sh).
TEST(ShippedConfigs, EachBuildsOnItsModel) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(NNCF_SAMPLE_CONFIGS))
    if (e.path().extension() == ".json") files.push_back(e.path());
  ASSERT_GE(files.size(), 10u);
  for (const auto& f : files) {
    SCOPED_TRACE(f.filename().string());
    const SampleConfig config = load_sample_config(f.string());
    torch::manual_seed(0);
    Classifier net = make_model(config.model);
    const nncf::Config nncf_config = nncf::Config::from_string(config.text, config.path);
    auto r = nncf::create_compressed_model(net, nncf_config);
    ASSERT_NE(r.ctrl, nullptr);
    EXPECT_EQ(r.ctrl->statistics().values.empty(), nncf_config.compression().empty());
  }
}

}  // namespace
}  // namespace nncf_sample
