// ONNX export of transposed convolutions, embeddings, group/instance norm, resizing, padding and
// adaptive max pooling: small C++ modules are captured, exported with a symbolic batch and run in
// ONNX Runtime at another batch size, which must agree with our eval-mode output (max abs diff <=
// 1e-4); forms ONNX opset 13 cannot express fail naming node, op and scope.

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <map>

#include "nncf/capture/capture.h"
#include "nncf/export/onnx.h"
#include "nncf/ir/printer.h"
#include "support/errors.h"
#include "support/ort.h"
#include "support/ort_compare.h"

namespace nncf::exporting {
namespace {

namespace F = torch::nn::functional;
using runtime::CompressedModel;

constexpr double kTolerance = 1e-4;

struct Exported {
  std::string captured;            ///< the captured graph as IR text
  std::map<std::string, int> ops;  ///< ONNX op types and their counts
};

// Captures `net` on the first two rows of `x` (three rows), then compares it in ONNX Runtime on `x`.
template <typename Net>
Exported expect_ort_matches(Net& net, const std::string& name, const torch::Tensor& x) {
  net->eval();
  capture::Captured cap = capture::capture_module(net, {x.narrow(0, 0, 2)});
  CompressedModel model(std::move(cap.graph), cap.tensors);
  Exported result{ir::to_text(model->graph()), {}};
  result.ops = testing::expect_ort_matches(model, name, x, kTolerance);
  return result;
}

// Whether the captured graph calls `op` (any overload).
bool has(const Exported& e, const std::string& op) {
  return e.captured.find(" " + op + "(") != std::string::npos ||
         e.captured.find(" " + op + ".") != std::string::npos;
}

// Each output flattened past the batch and concatenated: one output for several forms.
torch::Tensor joined(const std::vector<torch::Tensor>& ys) {
  std::vector<torch::Tensor> flat;
  for (const auto& y : ys) flat.push_back(y.flatten(1));
  return torch::cat(flat, 1);
}

// [N, C, H, W] -> [N, C, H * W], for the 1-d forms.
torch::Tensor rank3(const torch::Tensor& x) {
  return x.reshape({-1, x.size(1), x.size(2) * x.size(3)});
}

// ---- transposed convolutions ----

struct ConvTransposeNetImpl : torch::nn::Module {
  torch::nn::ConvTranspose1d c1{
      torch::nn::ConvTranspose1dOptions(4, 3, 3).stride(2).padding(1).output_padding(1).dilation(2)};
  torch::nn::ConvTranspose2d c2{torch::nn::ConvTranspose2dOptions(4, 6, {3, 2})
                                    .stride({2, 1})
                                    .padding({1, 0})
                                    .output_padding({1, 0})
                                    .groups(2)};
  torch::nn::ConvTranspose3d c3{torch::nn::ConvTranspose3dOptions(4, 2, 2).stride(2).bias(false)};
  ConvTransposeNetImpl() {
    register_module("c1", c1);
    register_module("c2", c2);
    register_module("c3", c3);
  }
  torch::Tensor forward(torch::Tensor x) { return joined({c1(rank3(x)), c2(x), c3(x.unsqueeze(2))}); }
};
TORCH_MODULE(ConvTransposeNet);

TEST(OnnxMoreOps, ConvTranspose) {
  torch::manual_seed(1);
  ConvTransposeNet net;
  Exported e = expect_ort_matches(net, "conv_transpose", torch::randn({3, 4, 6, 5}));
  EXPECT_TRUE(has(e, "aten::conv_transpose1d")) << e.captured;
  EXPECT_TRUE(has(e, "aten::conv_transpose2d.input")) << e.captured;
  EXPECT_TRUE(has(e, "aten::conv_transpose3d.input")) << e.captured;
  EXPECT_EQ(e.ops["ConvTranspose"], 3);
}

// ---- embedding ----

struct EmbeddingNetImpl : torch::nn::Module {
  torch::nn::Embedding emb{torch::nn::EmbeddingOptions(20, 8).padding_idx(0)};
  EmbeddingNetImpl() { register_module("emb", emb); }
  torch::Tensor forward(torch::Tensor ids) { return emb(ids); }
};
TORCH_MODULE(EmbeddingNet);

TEST(OnnxMoreOps, Embedding) {
  torch::manual_seed(2);
  EmbeddingNet net;
  Exported e = expect_ort_matches(net, "embedding", torch::randint(0, 20, {3, 5}, torch::kLong));
  EXPECT_TRUE(has(e, "aten::embedding")) << e.captured;
  EXPECT_EQ(e.ops["Gather"], 1);
}

// ---- normalization ----

struct NormNetImpl : torch::nn::Module {
  torch::nn::GroupNorm gn{torch::nn::GroupNormOptions(3, 6)};
  torch::nn::GroupNorm gn_plain{torch::nn::GroupNormOptions(2, 6).affine(false)};
  torch::nn::InstanceNorm2d in{torch::nn::InstanceNorm2dOptions(6).affine(true)};
  torch::nn::InstanceNorm2d in_running{torch::nn::InstanceNorm2dOptions(6).track_running_stats(true)};
  torch::nn::LayerNorm ln{torch::nn::LayerNormOptions({5})};
  NormNetImpl() {
    register_module("gn", gn);
    register_module("gn_plain", gn_plain);
    register_module("in", in);
    register_module("in_running", in_running);
    register_module("ln", ln);
    torch::NoGradGuard no_grad;
    for (auto& p : parameters()) p.uniform_(0.5, 1.5);
    in_running->running_mean.normal_(0, 0.3);
    in_running->running_var.uniform_(0.5, 1.5);
  }
  torch::Tensor forward(torch::Tensor x) {
    return joined({gn(x), gn_plain(x * 2), in(x), in_running(x), ln(x),
                   F::group_norm(rank3(x), F::GroupNormFuncOptions(2))});
  }
};
TORCH_MODULE(NormNet);

TEST(OnnxMoreOps, GroupAndInstanceNorm) {
  torch::manual_seed(3);
  NormNet net;
  Exported e = expect_ort_matches(net, "norms", torch::randn({3, 6, 4, 5}) * 3 + 1);
  EXPECT_TRUE(has(e, "aten::group_norm")) << e.captured;
  EXPECT_TRUE(has(e, "aten::instance_norm")) << e.captured;
  EXPECT_EQ(e.ops["InstanceNormalization"], 1);
  EXPECT_EQ(e.ops["BatchNormalization"], 1) << "instance_norm with running statistics in eval mode";
}

// ---- resizing ----

struct ResizeNetImpl : torch::nn::Module {
  torch::Tensor forward(torch::Tensor x) {
    using O = F::InterpolateFuncOptions;
    return joined({
        F::interpolate(x, O().scale_factor(std::vector<double>{2, 3}).mode(torch::kNearest)),
        F::interpolate(x, O().size(std::vector<int64_t>{7, 9}).mode(torch::kNearest)),
        F::interpolate(x, O().size(std::vector<int64_t>{3, 4}).mode(torch::kNearest)),
        F::interpolate(x,
                       O().size(std::vector<int64_t>{8, 9}).mode(torch::kNearestExact).align_corners(false)),
        F::interpolate(
            x, O().scale_factor(std::vector<double>{2, 2}).mode(torch::kBilinear).align_corners(false)),
        F::interpolate(x, O().size(std::vector<int64_t>{3, 4}).mode(torch::kBilinear).align_corners(false)),
        F::interpolate(x, O().size(std::vector<int64_t>{8, 11}).mode(torch::kBilinear).align_corners(true)),
        F::interpolate(rank3(x),
                       O().size(std::vector<int64_t>{45}).mode(torch::kLinear).align_corners(false)),
        F::interpolate(
            x.unsqueeze(2),
            O().scale_factor(std::vector<double>{2, 2, 2}).mode(torch::kTrilinear).align_corners(false)),
        F::interpolate(rank3(x), O().scale_factor(std::vector<double>{2}).mode(torch::kNearest)),
        torch::upsample_nearest2d(x, {10, 12}),
    });
  }
};
TORCH_MODULE(ResizeNet);

TEST(OnnxMoreOps, Resize) {
  torch::manual_seed(4);
  ResizeNet net;
  Exported e = expect_ort_matches(net, "resize", torch::randn({3, 3, 5, 6}));
  for (const char* op :
       {"aten::upsample_nearest2d", "aten::_upsample_nearest_exact2d", "aten::upsample_bilinear2d",
        "aten::upsample_linear1d", "aten::upsample_trilinear3d", "aten::upsample_nearest1d"}) {
    EXPECT_TRUE(has(e, op)) << op << "\n" << e.captured;
  }
  EXPECT_EQ(e.ops["Resize"], 11);
}

// ---- padding ----

struct PadNetImpl : torch::nn::Module {
  torch::nn::ReflectionPad2d reflect{torch::nn::ReflectionPad2dOptions({2, 1, 1, 2})};
  torch::nn::ReplicationPad2d replicate{torch::nn::ReplicationPad2dOptions({1, 1, 2, 0})};
  torch::nn::ZeroPad2d zero{torch::nn::ZeroPad2dOptions({0, 1, 1, 0})};
  torch::nn::ConstantPad2d constant{torch::nn::ConstantPad2dOptions({1, 2, 3, 0}, -1.5)};
  PadNetImpl() {
    register_module("reflect", reflect);
    register_module("replicate", replicate);
    register_module("zero", zero);
    register_module("constant", constant);
  }
  torch::Tensor forward(torch::Tensor x) {
    using O = F::PadFuncOptions;
    return joined({
        reflect(x),
        replicate(x),
        zero(x),
        constant(x),
        F::pad(x, O({1, 2}).value(0.5)),
        F::pad(x, O({1, 2, 0, 1})),
        F::pad(x, O({2, 1, 1, 2}).mode(torch::kReflect)),
        F::pad(x, O({1, 1, 2, 0}).mode(torch::kReplicate)),
        F::pad(rank3(x), O({3, 1}).mode(torch::kReflect)),
        torch::constant_pad_nd(x, {1, 1, 1, 1, 1, 0}, 2.0),
    });
  }
};
TORCH_MODULE(PadNet);

TEST(OnnxMoreOps, Pad) {
  torch::manual_seed(5);
  PadNet net;
  Exported e = expect_ort_matches(net, "pad", torch::randn({3, 3, 5, 6}));
  // The C++ frontend's pad (and the padding modules) capture as _pad_enum.
  EXPECT_TRUE(has(e, "aten::_pad_enum")) << e.captured;
  EXPECT_TRUE(has(e, "aten::constant_pad_nd")) << e.captured;
  EXPECT_EQ(e.ops["Pad"], 10);
}

// ---- adaptive max pooling ----

struct AdaptiveMaxNetImpl : torch::nn::Module {
  torch::nn::AdaptiveMaxPool2d global{torch::nn::AdaptiveMaxPool2dOptions(1)};
  torch::nn::AdaptiveMaxPool2d even{torch::nn::AdaptiveMaxPool2dOptions({4, 3})};
  AdaptiveMaxNetImpl() {
    register_module("global", global);
    register_module("even", even);
  }
  torch::Tensor forward(torch::Tensor x) {
    return joined({global(x), even(x), F::adaptive_max_pool2d(x, F::AdaptiveMaxPool2dFuncOptions({2, 6}))});
  }
};
TORCH_MODULE(AdaptiveMaxNet);

TEST(OnnxMoreOps, AdaptiveMaxPool) {
  torch::manual_seed(6);
  AdaptiveMaxNet net;
  Exported e = expect_ort_matches(net, "adaptive_max_pool", torch::randn({3, 3, 8, 6}));
  EXPECT_TRUE(has(e, "aten::adaptive_max_pool2d")) << e.captured;
  EXPECT_EQ(e.ops["GlobalMaxPool"], 1);
  EXPECT_EQ(e.ops["MaxPool"], 2);
}

// ---- forms that TorchScript models (traced or scripted in Python) capture as ----

// Python's F.pad is aten::pad or the mode-specific ops; F.interpolate with scale factors is the
// `.vec` overload; a convolution the canonicalization leaves alone stays aten::_convolution.
TEST(OnnxMoreOps, TorchScriptForms) {
  torch::manual_seed(7);
  CompressedModel model(
      ir::parse_graph(R"IR(
graph(%x : Tensor, %w : Tensor [param], %b : Tensor [param]):
  %p1 = aten::pad(%x, [1, 2, 0, 1], "reflect", None)  # scope=pad_reflect
  %p2 = aten::pad(%x, [2, 2, 1, 0], "replicate", None)  # scope=pad_replicate
  %p3 = aten::pad(%x, [1, 0, 0, 2], "constant", 0.25)  # scope=pad_constant
  %p4 = aten::reflection_pad2d(%x, [1, 1, 2, 0])  # scope=reflection
  %p5 = aten::replication_pad2d(%x, [0, 3, 1, 1])  # scope=replication
  %p6 = aten::constant_pad_nd(%x, [1, 1], 2)  # scope=constant
  %u1 = aten::upsample_nearest2d.vec(%x, None, [2.0, 3.0])  # scope=up_nearest
  %u2 = aten::upsample_bilinear2d.vec(%x, None, true, [2.0, 2.0])  # scope=up_corners
  %u3 = aten::upsample_bilinear2d.vec(%x, None, false, [1.5, 1.5])  # scope=up_half_pixel
  %u4 = aten::upsample_nearest2d.vec(%x, [9, 4], None)  # scope=up_sized
  %c = aten::_convolution(%x, %w, %b, [2, 1], [1, 0], [1, 2], true, [1, 0], 1, false, false, true, true)  # scope=deconv
  %f1 = aten::flatten.using_ints(%p1, 1, -1)  # scope=f1
  %f2 = aten::flatten.using_ints(%p2, 1, -1)  # scope=f2
  %f3 = aten::flatten.using_ints(%p3, 1, -1)  # scope=f3
  %f4 = aten::flatten.using_ints(%p4, 1, -1)  # scope=f4
  %f5 = aten::flatten.using_ints(%p5, 1, -1)  # scope=f5
  %f6 = aten::flatten.using_ints(%p6, 1, -1)  # scope=f6
  %f7 = aten::flatten.using_ints(%u1, 1, -1)  # scope=f7
  %f8 = aten::flatten.using_ints(%u2, 1, -1)  # scope=f8
  %f9 = aten::flatten.using_ints(%u3, 1, -1)  # scope=f9
  %f10 = aten::flatten.using_ints(%u4, 1, -1)  # scope=f10
  %f11 = aten::flatten.using_ints(%c, 1, -1)  # scope=f11
  %l : Tensor[] = prim::ListConstruct(%f1, %f2, %f3, %f4, %f5, %f6, %f7, %f8, %f9, %f10, %f11)  # scope=list
  %y = aten::cat(%l, 1)  # scope=cat
  return (%y)
)IR"),
      std::map<std::string, torch::Tensor>{{"w", torch::randn({3, 2, 3, 2})}, {"b", torch::randn({2})}});
  auto ops = testing::expect_ort_matches(model, "torchscript_forms", torch::randn({3, 3, 5, 6}), kTolerance);
  EXPECT_EQ(ops["Pad"], 6);
  EXPECT_EQ(ops["Resize"], 4);
  EXPECT_EQ(ops["ConvTranspose"], 1);
}

// ---- what cannot be exported ----

std::string export_error(const char* ir_text, std::vector<int64_t> shape) {
  CompressedModel model(ir::parse_graph(ir_text), std::map<std::string, torch::Tensor>{});
  return testing::error_of([&] {
    export_onnx(model, ::testing::TempDir() + "/nncf_more_ops_bad.onnx", OnnxOptions{13, {}, {}, {shape}});
  });
}

TEST(OnnxMoreOps, UnsupportedFormsNameNodeOpAndScope) {
  std::string e = export_error(R"IR(
graph(%x : Tensor):
  %v : Tensor, %i : Tensor = aten::adaptive_max_pool2d(%x, [1, 1])  # scope=head.pool
  %y = aten::add.Tensor(%v, %i, 1)  # scope=head.add
  return (%y)
)IR",
                               {-1, 3, 8, 8});
  EXPECT_NE(e.find("'head.pool' (aten::adaptive_max_pool2d)"), std::string::npos) << e;
  EXPECT_NE(e.find("indices output is used"), std::string::npos) << e;

  e = export_error(R"IR(
graph(%x : Tensor):
  %v : Tensor, %i : Tensor = aten::adaptive_max_pool2d(%x, [3, 3])  # scope=pool
  return (%v)
)IR",
                   {-1, 3, 8, 8});
  EXPECT_NE(e.find("'pool' (aten::adaptive_max_pool2d)"), std::string::npos) << e;
  EXPECT_NE(e.find("not an even split"), std::string::npos) << e;

  e = export_error(R"IR(
graph(%x : Tensor):
  %y = aten::upsample_bicubic2d(%x, [16, 16], false, None, None)  # scope=decoder.up
  return (%y)
)IR",
                   {-1, 3, 8, 8});
  EXPECT_NE(e.find("'decoder.up' (aten::upsample_bicubic2d)"), std::string::npos) << e;
  EXPECT_NE(e.find("no ONNX conversion"), std::string::npos) << e;

  e = export_error(R"IR(
graph(%x : Tensor):
  %y = aten::_pad_enum(%x, [1, 1, 1, 1], 2, None)  # scope=wrap
  return (%y)
)IR",
                   {-1, 3, 8, 8});
  EXPECT_NE(e.find("'wrap' (aten::_pad_enum)"), std::string::npos) << e;
  EXPECT_NE(e.find("padding mode 'circular'"), std::string::npos) << e;
}

}  // namespace
}  // namespace nncf::exporting
