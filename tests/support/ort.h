#pragma once

// ONNX Runtime as the tests' oracle for exported ONNX models. ORT runs in Node.js (npm's
// onnxruntime-node, installed by scripts/install-deps.sh) through tests/support/ort_run.js.
//
// Where things are: `node` and the onnxruntime-node folder come from CMake (compile definitions
// NNCF_NODE_EXECUTABLE, NNCF_ORT_RUN_JS, NNCF_ORT_DIR); the environment variables NNCF_NODE and
// NNCF_ORT_DIR override them.

#include <ATen/ATen.h>

#include <string>
#include <utility>
#include <vector>

namespace nncf::testing {

/// True when node and onnxruntime-node are installed where the tests look for them.
bool onnxruntime_available();

/// Why onnxruntime_available() is false (what is missing and how to install it); "" when it is true.
std::string onnxruntime_missing_reason();

/// Runs the ONNX model at `onnx_path` in ONNX Runtime (CPU, one intra-op thread) on named `inputs`
/// and returns its outputs in the model's output order, as CPU tensors.
///
/// `optimization` is ORT's graph optimization level: "all", "extended", "basic" or "disabled".
/// Inputs may be float, double, int64, int32, int8, uint8 or bool, of any layout and device.
/// Throws c10::Error with ORT's message when the session cannot be created or run (an unknown op, a
/// wrong input name or shape), and with onnxruntime_missing_reason() when ORT is not installed:
/// tests fail, they never skip, without their oracle.
std::vector<at::Tensor> run_onnxruntime(const std::string& onnx_path,
                                        const std::vector<std::pair<std::string, at::Tensor>>& inputs,
                                        const std::string& optimization = "all");

/// The model's input and output names as ORT sees them, in order.
struct OnnxRuntimeSignature {
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
};
OnnxRuntimeSignature onnxruntime_signature(const std::string& onnx_path);

}  // namespace nncf::testing
