#pragma once

// One check shared by the ONNX op tests: export a captured model with a symbolic batch, run it in
// ONNX Runtime and compare with our eval-mode output.

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "nncf/export/onnx.h"
#include "nncf/runtime/compressed_model.h"
#include "support/ort.h"

namespace nncf::testing {

/// Exports `model` (input "input", batch dimension symbolic) to a temporary file, runs it in ONNX
/// Runtime on `x` and expects the output to be within `tolerance` (max abs) of our eval-mode output.
/// ONNX inputs are float, so integer inputs (embedding indices) go to ONNX Runtime as floats.
/// Returns the exported ONNX op types and their counts.
inline std::map<std::string, int> expect_ort_matches(runtime::CompressedModel& model, const std::string& name,
                                                     const torch::Tensor& x, double tolerance) {
  std::map<std::string, int> ops;
  const std::string path = ::testing::TempDir() + "/nncf_ort_compare_" + name + ".onnx";
  std::vector<int64_t> shape = x.sizes().vec();
  shape[0] = -1;
  exporting::export_onnx(model, path, exporting::OnnxOptions{13, {"input"}, {}, {shape}});
  onnx::ModelProto proto;
  {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(proto.ParseFromIstream(&in)) << path;
  }
  for (const auto& n : proto.graph().node()) ++ops[n.op_type()];
  torch::Tensor ours;
  {
    torch::NoGradGuard no_grad;
    model->eval();
    ours = model->forward(std::vector<c10::IValue>{x}).toTensor();
  }
  const std::vector<at::Tensor> theirs = run_onnxruntime(path, {{"input", x.to(torch::kFloat)}});
  std::remove(path.c_str());
  EXPECT_EQ(theirs.size(), 1u) << name;
  if (theirs.size() != 1) return ops;
  EXPECT_EQ(theirs[0].sizes(), ours.sizes()) << name;
  if (theirs[0].sizes() != ours.sizes()) return ops;
  const double diff = (theirs[0] - ours).abs().max().item<double>();
  EXPECT_LE(diff, tolerance) << name;
  std::printf("[ ORT      ] %s: max abs diff %.3g (|y| max %.3g)\n", name.c_str(), diff,
              ours.abs().max().item<double>());
  return ops;
}

}  // namespace nncf::testing
