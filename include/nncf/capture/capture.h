#pragma once

// Capture: turns a LibTorch model into an IR graph plus the tensors its inputs name.
//
// The model runs under the LibTorch tracer three times -- in train mode at two batch sizes, and in
// eval mode -- with every parameter and buffer registered as a named graph input, so the graph has
// no tensor constants. The three traces must agree structurally; then
//   * integers that follow the batch size become `aten::size(x, 0)`,
//   * the `training` argument of batch_norm / dropout-like ops becomes the graph's `training`
//     input, and the `num_batches_tracked` update runs only in training,
//   * in-place ops become out-of-place where alias analysis proves it safe,
//   * op forms are canonicalized (`_convolution` -> `conv2d`, `t` + `addmm` -> `linear`).
// Buffers that the train-mode traces moved (BatchNorm running statistics) are restored.
//
// What cannot be captured faithfully -- data-dependent control flow, a difference between the
// traces that is not the batch size or the training flag, a Python number read from a tensor,
// an unsupported input type -- throws c10::Error naming the op and its scope.

#include <ATen/core/ivalue.h>
#include <torch/nn/module.h>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "nncf/ir/graph.h"

namespace torch::jit {
struct Module;
}

namespace nncf::capture {

/// A captured model: the graph and the tensors of its Parameter/Buffer inputs, by name.
struct Captured {
  ir::Graph graph;
  std::map<std::string, torch::Tensor> tensors;
};

struct CaptureOptions {
  /// The two batch sizes of the train-mode traces. Odd, different and unlikely to coincide with
  /// channel counts or kernel sizes, so that batch-dependent integers are recognized.
  int64_t batch_a = 7;
  int64_t batch_b = 11;
  /// Names of the Data inputs (default: x, or x0, x1, ... for several).
  std::vector<std::string> input_names;
};

using Forward = std::function<c10::IValue(const std::vector<c10::IValue>&)>;

/// Captures `forward` run over `module`'s parameters and buffers. `example_inputs` are tensors
/// whose dim 0 is the batch; their rows are repeated to build the trace batches. The module's
/// train/eval mode and its buffers are left as they were.
Captured capture(torch::nn::Module& module, const Forward& forward,
                 const std::vector<torch::Tensor>& example_inputs, const CaptureOptions& options = {});

/// Captures a C++-frontend module holder whose `forward` takes tensors:
///   auto cap = nncf::capture::capture_module(net, {torch::randn({2, 3, 32, 32})});
template <typename ModuleHolder>
Captured capture_module(ModuleHolder& net, const std::vector<torch::Tensor>& example_inputs,
                        const CaptureOptions& options = {});

/// Captures a TorchScript module (traced or scripted).
Captured capture_torchscript(torch::jit::Module& module, const std::vector<torch::Tensor>& example_inputs,
                             const CaptureOptions& options = {});
/// Loads a TorchScript file and captures it; the loaded module's tensors are owned by the result.
Captured capture_torchscript_file(const std::string& path, const std::vector<torch::Tensor>& example_inputs,
                                  const CaptureOptions& options = {});

// ---- implementation of the template -------------------------------------------------------------

namespace detail {
template <typename R>
c10::IValue to_ivalue(R&& r) {
  return c10::IValue(std::forward<R>(r));
}
template <typename M, size_t... I>
c10::IValue call_forward(M& m, const std::vector<c10::IValue>& in, std::index_sequence<I...>) {
  return to_ivalue(m->forward(in[I].toTensor()...));
}
template <typename M, size_t N>
Forward make_forward(M& m) {
  return [&m](const std::vector<c10::IValue>& in) {
    return call_forward(m, in, std::make_index_sequence<N>());
  };
}
}  // namespace detail

template <typename ModuleHolder>
Captured capture_module(ModuleHolder& net, const std::vector<torch::Tensor>& example_inputs,
                        const CaptureOptions& options) {
  Forward fwd;
  switch (example_inputs.size()) {
    case 1: fwd = detail::make_forward<ModuleHolder, 1>(net); break;
    case 2: fwd = detail::make_forward<ModuleHolder, 2>(net); break;
    case 3: fwd = detail::make_forward<ModuleHolder, 3>(net); break;
    case 4: fwd = detail::make_forward<ModuleHolder, 4>(net); break;
    default: TORCH_CHECK(false, "capture_module: forward with ", example_inputs.size(),
                         " inputs is not supported (1 to 4); use capture() with a Forward");
  }
  return capture(*net, fwd, example_inputs, options);
}

}  // namespace nncf::capture
