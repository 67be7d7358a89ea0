#pragma once

// Capture: turns a LibTorch model into an IR graph plus the tensors its inputs name.
//
// The model runs under the LibTorch tracer in train and in eval mode, each at two batch sizes,
// with every parameter and buffer registered as a named graph input, so the graph has no tensor
// constants. The traces of one mode must agree structurally; then
//   * integers that follow the batch size become `aten::size(x, 0)`,
//   * the `training` argument of batch_norm / dropout-like ops becomes the graph's `training`
//     input, and the `num_batches_tracked` update runs only in training,
//   * ops that only one mode runs (stochastic depth, an eval-only fast path) are marked
//     `train_only` / `eval_only` and joined by `prim::ModeSelect`,
//   * in-place ops become out-of-place where no reader can tell (keeping an `inplace` hint),
//   * op forms are canonicalized (`_convolution` -> `conv2d`, `t` + `addmm` -> `linear`).
// One more eval trace at larger non-batch sizes tells whether the graph holds at other input
// sizes; if not, the data inputs get the example's shape as a requirement the runtime checks.
// Buffers that the train-mode traces moved (BatchNorm running statistics) are restored.
//
// What cannot be captured faithfully -- data-dependent control flow, a difference between two
// traces of one mode that is not the batch size, a C++ number read from a tensor the inputs
// decide, an unsupported input or output type -- throws c10::Error naming the op.

#include <ATen/core/ivalue.h>
#include <torch/nn/module.h>

#include <c10/util/Exception.h>

#include <functional>
#include <type_traits>
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
/// Loads a TorchScript file; errors name the path (missing file, not a TorchScript archive).
torch::jit::Module load_torchscript(const std::string& path);

/// Loads a TorchScript file and captures it; the loaded module's tensors are owned by the result.
Captured capture_torchscript_file(const std::string& path, const std::vector<torch::Tensor>& example_inputs,
                                  const CaptureOptions& options = {});

// ---- implementation of the template -------------------------------------------------------------

namespace detail {
// Whether `m->forward(Tensor, ..., Tensor)` with N tensors compiles.
template <typename M, typename Seq, typename = void>
struct takes_tensors : std::false_type {};
template <typename M, size_t... I>
struct takes_tensors<M, std::index_sequence<I...>,
                     std::void_t<decltype(std::declval<M&>()->forward((void(I), std::declval<torch::Tensor>())...))>>
    : std::true_type {};

template <typename M, size_t... I>
c10::IValue call_forward(M& m, const std::vector<c10::IValue>& in, std::index_sequence<I...>) {
  return c10::IValue(m->forward(in[I].toTensor()...));
}

template <typename M, size_t N>
bool bind_forward(M& m, size_t n, Forward& f) {
  if constexpr (takes_tensors<M, std::make_index_sequence<N>>::value) {
    if (n == N) {
      f = [&m](const std::vector<c10::IValue>& in) { return call_forward(m, in, std::make_index_sequence<N>()); };
      return true;
    }
  }
  return false;
}
}  // namespace detail

template <typename ModuleHolder>
Captured capture_module(ModuleHolder& net, const std::vector<torch::Tensor>& example_inputs,
                        const CaptureOptions& options) {
  Forward fwd;
  const size_t n = example_inputs.size();
  const bool bound = detail::bind_forward<ModuleHolder, 1>(net, n, fwd) ||
                     detail::bind_forward<ModuleHolder, 2>(net, n, fwd) ||
                     detail::bind_forward<ModuleHolder, 3>(net, n, fwd) ||
                     detail::bind_forward<ModuleHolder, 4>(net, n, fwd);
  TORCH_CHECK(bound, "capture_module: the module's forward does not take ", n,
              " tensors (1 to 4 are supported); use capture() with a Forward");
  return capture(*net, fwd, example_inputs, options);
}

}  // namespace nncf::capture
