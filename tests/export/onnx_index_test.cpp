// ONNX export of advanced indexing (aten::index with a list of optional tensors), adaptive average
// pooling to any output size, roll, and of values computed from constants only (folded at export):
// small C++ modules are captured, exported with a symbolic batch and run in ONNX Runtime at another
// batch size, which must agree with our eval-mode output (max abs diff <= 1e-5).

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

using runtime::CompressedModel;

constexpr double kTolerance = 1e-5;

// Captures `net` on the first two rows of `x` (three rows), checks the capture has `op`, then
// compares it in ONNX Runtime on `x`.
template <typename Net>
std::map<std::string, int> capture_and_compare(Net& net, const std::string& name, const torch::Tensor& x,
                                               const std::string& op) {
  net->eval();
  capture::Captured cap = capture::capture_module(net, {x.narrow(0, 0, 2)});
  CompressedModel model(std::move(cap.graph), cap.tensors);
  const std::string text = ir::to_text(model->graph());
  EXPECT_NE(text.find(" " + op + "("), std::string::npos) << text;
  return testing::expect_ort_matches(model, name, x, kTolerance);
}

// ---- aten::index ----

using Indices = std::vector<c10::optional<torch::Tensor>>;

// x.index(indices) (None entries are full slices), each index tensor a buffer; then `after`
// (a permute that puts the batch first again where the indexing moved it).
struct IndexNetImpl : torch::nn::Module {
  std::vector<c10::optional<torch::Tensor>> indices;
  std::vector<int64_t> after;
  IndexNetImpl(const Indices& idx, std::vector<int64_t> permute = {}) : after(std::move(permute)) {
    for (size_t k = 0; k < idx.size(); ++k) {
      indices.push_back(idx[k]
                            ? c10::optional<torch::Tensor>(register_buffer("i" + std::to_string(k), *idx[k]))
                            : c10::nullopt);
    }
  }
  torch::Tensor forward(torch::Tensor x) {
    c10::List<c10::optional<at::Tensor>> list;
    for (const auto& i : indices) list.push_back(i);
    torch::Tensor y = x.index(list);
    return after.empty() ? y : y.permute(after);
  }
};
TORCH_MODULE(IndexNet);

const torch::Tensor kX = torch::arange(3 * 4 * 5 * 6, torch::kFloat).reshape({3, 4, 5, 6}).sin();
torch::Tensor longs(std::vector<int64_t> v, std::vector<int64_t> shape) {
  return torch::tensor(v, torch::kLong).reshape(shape);
}

TEST(OnnxIndex, OneIndexTensorWithNegativeEntries) {
  // x[:, i] with i of shape [2, 3]: a Gather on dim 1.
  IndexNet net(Indices{c10::nullopt, longs({0, -1, 2, -4, 1, 3}, {2, 3})});
  auto ops = capture_and_compare(net, "index_one", kX, "aten::index.Tensor");
  EXPECT_EQ(ops["Gather"], 1);
}

TEST(OnnxIndex, OneIndexTensorOnTheLastDim) {
  // x[:, :, :, i]: two leading None entries.
  IndexNet net(Indices{c10::nullopt, c10::nullopt, c10::nullopt, longs({5, -6, 0}, {3})});
  capture_and_compare(net, "index_last", kX, "aten::index.Tensor");
}

TEST(OnnxIndex, AdjacentIndexTensorsBroadcast) {
  // x[:, i, j] with i [2, 1] and j [3] (negative entries): the result is [N, 2, 3, 6].
  IndexNet net(Indices{c10::nullopt, longs({1, -1}, {2, 1}), longs({0, -2, 4}, {3})});
  capture_and_compare(net, "index_adjacent", kX, "aten::index.Tensor");
}

TEST(OnnxIndex, IndexTensorsSeparatedByNone) {
  // x[:, i, :, j] with i [2] and j [2]: the broadcast dims go first ([2, N, 5]); permuted back.
  IndexNet net(Indices{c10::nullopt, longs({3, -3}, {2}), c10::nullopt, longs({-1, 2}, {2})},
               std::vector<int64_t>{1, 0, 2});
  capture_and_compare(net, "index_separated", kX, "aten::index.Tensor");
}

TEST(OnnxIndex, IndexTensorsOnTheTrailingDims) {
  // x[:, :, i, j] with i [4, 1] and j [1, 2].
  IndexNet net(Indices{c10::nullopt, c10::nullopt, longs({0, 1, -1, 3}, {4, 1}), longs({-6, 5}, {1, 2})});
  capture_and_compare(net, "index_trailing", kX, "aten::index.Tensor");
}

TEST(OnnxIndex, BoolMask) {
  // x[:, mask] with a bool mask over dim 1, and x[:, :, m2] with a 2-d mask over dims 2 and 3.
  IndexNet net(Indices{c10::nullopt, torch::tensor({true, false, true, true})});
  capture_and_compare(net, "index_mask", kX, "aten::index.Tensor");
  IndexNet net2(Indices{c10::nullopt, c10::nullopt, torch::rand({5, 6}).gt(0.5)});
  capture_and_compare(net2, "index_mask_2d", kX, "aten::index.Tensor");
}

// ---- adaptive average pooling to any size ----

struct AdaptiveAvgNetImpl : torch::nn::Module {
  torch::Tensor forward(torch::Tensor x) {
    // 5x6 -> 3x4 (not an even split), -> 7x9 (larger than the input), 1-d 6 -> 4.
    namespace F = torch::nn::functional;
    return torch::cat(
        {F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions({3, 4})).flatten(1),
         F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions({7, 9})).flatten(1),
         F::adaptive_avg_pool1d(x.flatten(1, 2), F::AdaptiveAvgPool1dFuncOptions(4)).flatten(1)},
        1);
  }
};
TORCH_MODULE(AdaptiveAvgNet);

TEST(OnnxIndex, AdaptiveAvgPoolingToAnySize) {
  AdaptiveAvgNet net;
  auto ops = capture_and_compare(net, "adaptive_avg", kX, "aten::adaptive_avg_pool2d");
  EXPECT_EQ(ops["AveragePool"], 0);
}

TEST(OnnxIndex, UnevenAdaptivePoolingOfUnknownSizeFails) {
  CompressedModel model(ir::parse_graph(R"IR(
graph(%x : Tensor):
  %p = aten::adaptive_avg_pool2d(%x, [3, 3])  # scope=pool
  return (%p)
)IR"),
                        std::map<std::string, torch::Tensor>{});
  const std::string e = testing::error_of([&] {
    export_onnx(model, ::testing::TempDir() + "/uneven.onnx", OnnxOptions{13, {}, {}, {{-1, 2, -1, 8}}});
  });
  EXPECT_NE(e.find("'pool' (aten::adaptive_avg_pool2d)"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown size"), std::string::npos) << e;
}

// ---- roll, and values computed from constants only ----

struct RollMaskNetImpl : torch::nn::Module {
  torch::Tensor forward(torch::Tensor x) {
    // Swin's shifted-window mask: written in place into slices of a new tensor, compared, filled.
    torch::Tensor mask = x.new_zeros({5, 6});
    mask.slice(0, 0, 2).slice(1, 0, 3).fill_(1.0);
    mask.slice(0, 2).slice(1, 3).fill_(2.0);
    torch::Tensor m = mask.unsqueeze(0) - mask.unsqueeze(1).sum(0, true);
    m = m.masked_fill(m != 0, -100.0).masked_fill(m == 0, 0.0);
    return torch::roll(x, {-2, 3}, {2, 3}) + m + torch::roll(x, {1}, {1});
  }
};
TORCH_MODULE(RollMaskNet);

TEST(OnnxIndex, RollAndConstantSubgraph) {
  RollMaskNet net;
  auto ops = capture_and_compare(net, "roll_mask", kX, "aten::roll");
  // The mask is computed at export: no in-place op, no comparison reaches the ONNX graph.
  EXPECT_EQ(ops["Equal"] + ops["Where"] + ops["ConstantOfShape"], 0);
}

}  // namespace
}  // namespace nncf::exporting
