// Capture of C++ modules: generalization over batch size and mode, canonical op forms, and the
// refusals that keep a captured graph from being silently wrong.

#include <gtest/gtest.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include "nncf/capture/capture.h"
#include "nncf/ir/printer.h"
#include "nncf/runtime/compressed_model.h"

namespace {
using nncf::capture::capture_module;
namespace nn = torch::nn;

// conv -> bn -> relu_ -> view(B, -1) -> linear -> dropout, with a switch for each way a forward
// can defeat tracing.
struct ProbeNetImpl : nn::Module {
  enum class Quirk { None, ReadsItem, EvalSkipsOp, BatchFloat, BatchLoop, ScaledBatch };
  explicit ProbeNetImpl(Quirk q = Quirk::None) : quirk(q) {
    conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(3, 4, 3).padding(1)));
    bn = register_module("bn", nn::BatchNorm2d(4));
    fc = register_module("fc", nn::Linear(4 * 6 * 6, 5));
    drop = register_module("drop", nn::Dropout(0.3));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = bn(conv(x)).relu_();
    switch (quirk) {
      case Quirk::ReadsItem:
        if (x.mean().item<float>() > 100) x = x * 2;
        break;
      case Quirk::EvalSkipsOp:
        if (is_training()) x = x * 0.5;
        break;
      case Quirk::BatchFloat:
        x = x * (1.0 / static_cast<double>(x.size(0)));
        break;
      case Quirk::BatchLoop:
        for (int64_t i = 0; i < x.size(0); ++i) x = x + 1;
        break;
      default:
        break;
    }
    if (quirk == Quirk::ScaledBatch) {
      x = x.reshape({x.size(0) * 2, -1}).reshape({x.size(0), -1});
    } else {
      x = x.view({x.size(0), -1});
    }
    return drop(fc(x));
  }
  Quirk quirk;
  nn::Conv2d conv{nullptr};
  nn::BatchNorm2d bn{nullptr};
  nn::Linear fc{nullptr};
  nn::Dropout drop{nullptr};
};
TORCH_MODULE(ProbeNet);
using Quirk = ProbeNetImpl::Quirk;

std::string capture_error(Quirk q) {
  ProbeNet net(q);
  try {
    capture_module(net, {torch::randn({2, 3, 6, 6})});
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return "";
}

TEST(Capture, GeneralizesBatchAndMode) {
  ProbeNet net;
  auto cap = capture_module(net, {torch::randn({2, 3, 6, 6})});
  const std::string text = nncf::ir::to_text(cap.graph);
  EXPECT_NE(text.find("aten::size.int(%x, 0)"), std::string::npos) << text;
  EXPECT_NE(text.find("%training"), std::string::npos) << text;
  // Canonical forms: conv2d / linear / out-of-place relu, nothing the tracer wrote raw.
  EXPECT_NE(text.find("aten::conv2d("), std::string::npos) << text;
  EXPECT_NE(text.find("aten::linear("), std::string::npos) << text;
  EXPECT_NE(text.find("aten::relu("), std::string::npos) << text;
  // relu_ ran in place on a fresh value: out-of-place with the hint that it may run in place.
  EXPECT_NE(text.find(" inplace  # scope=relu_0"), std::string::npos) << text;
  for (const char* raw : {"aten::_convolution", "aten::addmm", "aten::relu_", "aten::t("}) {
    EXPECT_EQ(text.find(raw), std::string::npos) << raw << " left in\n" << text;
  }
  // No batch size of a trace survives as a constant.
  EXPECT_EQ(text.find("[7, "), std::string::npos) << text;
  EXPECT_EQ(text.find("[11, "), std::string::npos) << text;
  // Every parameter and buffer is a named input.
  EXPECT_EQ(cap.tensors.size(), net->named_parameters().size() + net->named_buffers().size());
  EXPECT_NE(cap.graph.find_input("bn.running_mean"), nullptr);
  EXPECT_EQ(cap.graph.find_input("bn.running_mean")->role(), nncf::ir::InputRole::Buffer);
  EXPECT_EQ(cap.graph.find_input("fc.weight")->role(), nncf::ir::InputRole::Parameter);
}

TEST(Capture, ScopesNameParameterOwnersAndBlocks) {
  ProbeNet net;
  auto cap = capture_module(net, {torch::randn({2, 3, 6, 6})});
  std::map<std::string, std::string> op_of;
  for (const nncf::ir::Node* n : cap.graph.nodes()) op_of[n->scope()] = n->op();
  EXPECT_EQ(op_of["conv"], "aten::conv2d");
  EXPECT_EQ(op_of["bn"], "aten::batch_norm");
  EXPECT_EQ(op_of["fc"], "aten::linear");
  EXPECT_EQ(op_of["relu_0"], "aten::relu");
}

TEST(Capture, ScaledBatchBecomesSizeTimesFactor) {
  ProbeNet net(Quirk::ScaledBatch);
  auto cap = capture_module(net, {torch::randn({2, 3, 6, 6})});
  const std::string text = nncf::ir::to_text(cap.graph);
  EXPECT_NE(text.find("aten::mul.int("), std::string::npos) << text;
  // And it computes the same thing at a batch size none of the traces used.
  nncf::runtime::CompressedModel model(std::move(cap.graph), cap.tensors);
  net->eval();
  model->eval();
  auto x = torch::randn({5, 3, 6, 6});
  EXPECT_TRUE(torch::allclose(model->forward(x), net->forward(x), 1e-6, 1e-6));
}

// Upsamples to a size computed in C++ from the input: frozen into the trace.
struct UpsampleNetImpl : nn::Module {
  explicit UpsampleNetImpl(bool fixed) : fixed(fixed) {
    conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(3, 4, 3).padding(1)));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = conv(x);
    if (!fixed) return torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
    return torch::upsample_nearest2d(x, {x.size(2) * 2, x.size(3) * 2});
  }
  bool fixed;
  nn::Conv2d conv{nullptr};
};
TORCH_MODULE(UpsampleNet);

TEST(Capture, RequiresTheExampleShapeOnlyWhenTheTraceDependsOnIt) {
  UpsampleNet free_net(false), fixed_net(true);
  auto free_cap = capture_module(free_net, {torch::randn({2, 3, 8, 8})});
  auto fixed_cap = capture_module(fixed_net, {torch::randn({2, 3, 8, 8})});
  EXPECT_TRUE(free_cap.graph.inputs()[0]->shape().empty());
  // The channel count is free: no other count runs at all, in the model or in the graph.
  EXPECT_EQ(fixed_cap.graph.inputs()[0]->shape(), (std::vector<int64_t>{-1, -1, 8, 8}));
  // The fully convolutional one runs at other sizes, and right.
  nncf::runtime::CompressedModel model(std::move(free_cap.graph), free_cap.tensors);
  auto x = torch::randn({3, 3, 20, 12});
  EXPECT_TRUE(torch::allclose(model->forward(x), free_net->forward(x), 1e-6, 1e-6));
  // The other one refuses them rather than upsample to the traced size.
  nncf::runtime::CompressedModel fixed_model(std::move(fixed_cap.graph), fixed_cap.tensors);
  EXPECT_EQ(fixed_model->forward(torch::randn({5, 3, 8, 8})).sizes(), (std::vector<int64_t>{5, 4, 16, 16}));
  try {
    fixed_model->forward(torch::randn({5, 3, 16, 16}));
    ADD_FAILURE() << "a shape the capture froze was accepted";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("[-1, -1, 8, 8]"), std::string::npos) << e.what();
  }
}

// Mutates a value through a view while the base is still read afterwards.
struct ViewMutationNetImpl : nn::Module {
  ViewMutationNetImpl() { conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(3, 4, 3).padding(1))); }
  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor y = conv(x);
    torch::Tensor half = y.narrow(1, 0, 2);
    half.relu_();  // writes into y
    return y * 2;
  }
  nn::Conv2d conv{nullptr};
};
TORCH_MODULE(ViewMutationNet);

TEST(Capture, KeepsInPlaceOpsThatOtherReadersSee) {
  ViewMutationNet net;
  auto cap = capture_module(net, {torch::randn({2, 3, 6, 6})});
  const std::string text = nncf::ir::to_text(cap.graph);
  EXPECT_NE(text.find("aten::relu_("), std::string::npos) << text;
  nncf::runtime::CompressedModel model(std::move(cap.graph), cap.tensors);
  auto x = torch::randn({5, 3, 6, 6});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(model->forward(x), net->forward(x)));
}

// Pads to a multiple of 8, a size computed in C++: doubling the input would keep the padding.
struct PadTo8NetImpl : nn::Module {
  PadTo8NetImpl() { conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(3, 2, 3))); }
  torch::Tensor forward(torch::Tensor x) {
    const int64_t ph = (8 - x.size(2) % 8) % 8, pw = (8 - x.size(3) % 8) % 8;
    return conv(torch::constant_pad_nd(x, {0, pw, 0, ph})).mean({2, 3});
  }
  nn::Conv2d conv{nullptr};
};
TORCH_MODULE(PadTo8Net);

TEST(Capture, ProbesEachDimensionWithAnOddChange) {
  PadTo8Net net;
  auto cap = capture_module(net, {torch::randn({2, 3, 16, 16})});
  EXPECT_EQ(cap.graph.inputs()[0]->shape(), (std::vector<int64_t>{-1, -1, 16, 16}));
}

// Keeps a tensor outside its parameters and buffers and changes it in place.
struct HiddenStateNetImpl : nn::Module {
  HiddenStateNetImpl() { conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(3, 4, 1))); }
  torch::Tensor forward(torch::Tensor x) {
    hidden.add_(1);
    return conv(x).mean({2, 3}) * hidden;
  }
  nn::Conv2d conv{nullptr};
  torch::Tensor hidden = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f});
};
TORCH_MODULE(HiddenStateNet);

TEST(Capture, RefusesWritesToTensorsOutsideTheModelState) {
  HiddenStateNet net;
  try {
    capture_module(net, {torch::randn({2, 3, 4, 4})});
    ADD_FAILURE() << "captured a forward that changes an unregistered tensor";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("register it as a buffer"), std::string::npos) << e.what();
  }
}

// A module on a value that a later op changes in place: the module's view must not change.
struct KeepImpl : nn::Module {
  torch::Tensor forward(const torch::Tensor& x) {
    kept = x;
    return x;
  }
  torch::Tensor kept;
};
TORCH_MODULE(Keep);

struct ReluAfterUseNetImpl : nn::Module {
  ReluAfterUseNetImpl() { conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(3, 4, 1))); }
  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor y = conv(x);
    torch::Tensor a = y + 1;
    y.relu_();
    return a + y;
  }
  nn::Conv2d conv{nullptr};
};
TORCH_MODULE(ReluAfterUseNet);

TEST(Capture, InPlaceRunsNeverChangeWhatAnInsertedModuleSaw) {
  ReluAfterUseNet net;
  auto cap = capture_module(net, {torch::randn({2, 3, 4, 4})});
  const nncf::ir::Node* add = nullptr;
  for (const nncf::ir::Node* n : cap.graph.nodes()) {
    if (n->op() == "aten::add" && add == nullptr) add = n;
  }
  ASSERT_NE(add, nullptr);
  nncf::runtime::CompressedModel model(std::move(cap.graph), cap.tensors);
  Keep keep;
  model->insert(nncf::runtime::InsertionPoint::pre_op(add->scope(), 0), nn::AnyModule(keep), "keep");
  auto x = torch::randn({5, 3, 4, 4});
  EXPECT_TRUE(torch::allclose(model->forward(x), net->forward(x), 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(keep->kept, net->conv->forward(x), 1e-6, 1e-6)) << "relu_ ran on the kept value";
}

TEST(Capture, LeavesModelStateAsItWas) {
  ProbeNet net;
  net->eval();
  std::vector<torch::Tensor> before;
  for (const auto& b : net->buffers()) before.push_back(b.clone());
  torch::manual_seed(3);
  capture_module(net, {torch::randn({2, 3, 6, 6})});
  const float after_capture = torch::rand({1}).item<float>();
  torch::manual_seed(3);
  torch::randn({2, 3, 6, 6});
  EXPECT_EQ(after_capture, torch::rand({1}).item<float>()) << "capture consumed random numbers";
  EXPECT_FALSE(net->is_training());
  auto buffers = net->buffers();
  for (size_t i = 0; i < buffers.size(); ++i) EXPECT_TRUE(torch::equal(buffers[i], before[i])) << i;
}

TEST(Capture, RejectsReadingTensorValues) {
  const std::string e = capture_error(Quirk::ReadsItem);
  EXPECT_NE(e.find("aten::item"), std::string::npos) << e;
  EXPECT_NE(e.find("data-dependent control flow"), std::string::npos) << e;
}

TEST(Capture, OpsThatOnlyRunInOneModeRunOnlyThere) {
  ProbeNet net(Quirk::EvalSkipsOp);
  auto cap = capture_module(net, {torch::randn({2, 3, 6, 6})});
  EXPECT_NE(nncf::ir::to_text(cap.graph).find("aten::mul.Scalar(%"), std::string::npos);
  nncf::runtime::CompressedModel model(std::move(cap.graph), cap.tensors);
  torch::NoGradGuard no_grad;
  auto x = torch::randn({5, 3, 6, 6});
  net->eval();
  model->eval();
  EXPECT_TRUE(torch::allclose(model->forward(x), net->forward(x), 1e-6, 1e-6));
  net->train();
  model->train();
  std::vector<torch::Tensor> saved;
  for (const auto& b : net->buffers()) saved.push_back(b.clone());
  torch::manual_seed(4);
  const torch::Tensor want = net->forward(x);
  for (size_t i = 0; i < saved.size(); ++i) net->buffers()[i].copy_(saved[i]);
  torch::manual_seed(4);
  EXPECT_TRUE(torch::allclose(model->forward(x), want, 1e-6, 1e-6));
}

TEST(Capture, RejectsFloatsComputedFromTheBatchSize) {
  const std::string e = capture_error(Quirk::BatchFloat);
  EXPECT_NE(e.find("changes with the batch size"), std::string::npos) << e;
  EXPECT_NE(e.find("aten::mul"), std::string::npos) << e;
}

TEST(Capture, RejectsLoopsOverTheBatch) {
  const std::string e = capture_error(Quirk::BatchLoop);
  EXPECT_NE(e.find("at batch size 7 and at batch size 11"), std::string::npos) << e;
}

TEST(Capture, RejectsBadExampleInputs) {
  ProbeNet net;
  EXPECT_THROW(capture_module(net, {}), c10::Error);
  EXPECT_THROW(capture_module(net, {torch::tensor(1.0f)}), c10::Error);
  nncf::capture::Forward returns_int = [](const std::vector<c10::IValue>&) { return c10::IValue(int64_t{3}); };
  try {
    nncf::capture::capture(*net, returns_int, {torch::randn({2, 3})});
    ADD_FAILURE() << "a forward returning an int was captured";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("must return tensors"), std::string::npos) << e.what();
  }
}

TEST(Capture, MissingTorchScriptFileNamesThePath) {
  try {
    nncf::capture::capture_torchscript_file("/nonexistent/model.pt", {torch::randn({1, 3})});
    ADD_FAILURE() << "no error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.pt"), std::string::npos) << e.what();
  }
}

}  // namespace
