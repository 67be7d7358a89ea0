#pragma once

// The reference network of the runtime tests: the IR of a small conv-bn-relu-pool-linear model, the
// eager C++ module it was written from, and small modules to insert.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <string>

#include "nncf/ir/printer.h"
#include "nncf/runtime/compressed_model.h"

namespace nncf::runtime::testnet {

using Tensors = std::map<std::string, torch::Tensor>;

// conv -> batch_norm -> relu, + the conv output again, then a view whose shape is built at runtime
// from aten::size and prim::ListConstruct. The BatchNorm's num_batches_tracked is an unused buffer
// so that the graph's state matches RefNet's exactly.
inline constexpr const char* kNet = R"IR(
graph(%x : Tensor, %training : bool [training], %conv1.weight : Tensor [param],
      %conv1.bias : Tensor [param], %bn1.weight : Tensor [param], %bn1.bias : Tensor [param],
      %bn1.running_mean : Tensor [buffer], %bn1.running_var : Tensor [buffer],
      %bn1.num_batches_tracked : Tensor [buffer]):
  %c = aten::conv2d(%x, %conv1.weight, %conv1.bias, [1, 1], [1, 1], [1, 1], 1)  # scope=conv1
  %b = aten::batch_norm(%c, %bn1.weight, %bn1.bias, %bn1.running_mean, %bn1.running_var, %training, 0.1, 1e-05, true)  # scope=bn1
  %r = aten::relu(%b)  # scope=relu
  %s = aten::add.Tensor(%r, %c, 1)  # scope=add
  %n : int = aten::size.int(%x, 0)  # scope=size
  %shape : int[] = prim::ListConstruct(%n, -1)  # scope=shape
  %y = aten::view(%s, %shape)  # scope=view
  return (%y)
)IR";

// The same computation written as a C++-frontend module, with the same dotted names.
struct RefNetImpl : torch::nn::Module {
  RefNetImpl() {
    conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).padding(1)));
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(4));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor c = conv1(x);
    return (torch::relu(bn1(c)) + c).view({x.size(0), -1});
  }
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
};
TORCH_MODULE(RefNet);

// Copies of a module's state, so that the compressed model and the reference train separately.
inline std::map<std::string, torch::Tensor> cloned_state(torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value().detach().clone().requires_grad_(true);
  for (const auto& b : m.named_buffers()) out[b.key()] = b.value().clone();
  return out;
}

inline CompressedModel make_net(RefNet& ref) {
  return CompressedModel(ir::parse_graph(kNet), cloned_state(*ref));
}

// Inserted modules used by the hook tests.
struct ScaleImpl : torch::nn::Module {
  explicit ScaleImpl(double s) : s(s) {}
  torch::Tensor forward(const torch::Tensor& x) {
    ++calls;
    return x * s;
  }
  double s;
  int calls = 0;
};
TORCH_MODULE(Scale);

struct AddOneImpl : torch::nn::Module {
  torch::Tensor forward(const torch::Tensor& x) { return x + 1; }
};
TORCH_MODULE(AddOne);

struct LearnedScaleImpl : torch::nn::Module {
  LearnedScaleImpl() { scale = register_parameter("scale", torch::tensor(2.0)); }
  torch::Tensor forward(const torch::Tensor& x) { return x * scale; }
  torch::Tensor scale;
};
TORCH_MODULE(LearnedScale);

inline void expect_same(const torch::Tensor& a, const torch::Tensor& b, const std::string& what) {
  ASSERT_TRUE(a.defined() && b.defined()) << what;
  EXPECT_TRUE(torch::equal(a, b)) << what << ": max diff " << (a - b).abs().max().item<double>();
}

// A parameter read by two ops.
inline constexpr const char* kSharedWeight = R"IR(
graph(%x : Tensor, %w : Tensor [param]):
  %a = aten::mul.Tensor(%x, %w)  # scope=mul
  %b = aten::add.Tensor(%a, %w, 1)  # scope=add
  return (%b)
)IR";

// Keeps what it is given, to check later that nothing wrote to it.
struct KeepImpl : torch::nn::Module {
  torch::Tensor forward(const torch::Tensor& x) {
    kept = x;
    return x;
  }
  torch::Tensor kept;
};
TORCH_MODULE(Keep);

}  // namespace nncf::runtime::testnet
