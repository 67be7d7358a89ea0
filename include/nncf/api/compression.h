#pragma once

// nncf::create_compressed_model: a model and an NNCF config in, a controller and a trainable
// CompressedModel out.
//
//   auto config = nncf::Config::from_file("int8.json");
//   auto [ctrl, model] = nncf::create_compressed_model(net, config);        // a C++ module
//   auto [ctrl, model] = nncf::create_compressed_model("model.pt", config); // a TorchScript file
//   ctrl->initialize(*train_loader);
//
// The model is captured (nncf/capture) on example inputs -- the caller's, or made from the
// config's `input_info` -- and each algorithm of `compression` is built onto it. The user's
// parameters are shared, not copied: training the CompressedModel trains them.

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "nncf/algorithms/controller.h"
#include "nncf/api/config.h"
#include "nncf/capture/capture.h"
#include "nncf/runtime/compressed_model.h"

namespace nncf {

struct CompressionResult {
  std::shared_ptr<CompressionController> ctrl;
  runtime::CompressedModel model{nullptr};
};

/// Example inputs from `input_info` (its filler; `random` is standard normal, seeded from the
/// global generator). Throws c10::Error when the config has no `input_info`.
std::vector<at::Tensor> example_inputs(const Config& config);

/// Builds the compression of `config` onto a captured model. `example_inputs` (one batch) are
/// used where an algorithm needs a forward pass at build time; empty = from `input_info`, if any.
/// Throws c10::Error for an algorithm nncf-cpp cannot build yet, and for errors in its section,
/// naming the JSON path.
CompressionResult create_compressed_model(capture::Captured captured, const Config& config,
                                          const std::vector<at::Tensor>& example_inputs = {});

/// A TorchScript file (traced or scripted); example inputs from `input_info` unless given.
CompressionResult create_compressed_model(const std::string& torchscript_path, const Config& config,
                                          const std::vector<at::Tensor>& example_inputs = {});

/// A C++ module whose forward takes 1 to 4 tensors; example inputs from `input_info` unless given.
template <typename ModuleHolder,
          typename = std::enable_if_t<!std::is_convertible_v<ModuleHolder&, std::string> &&
                                      !std::is_same_v<std::decay_t<ModuleHolder>, capture::Captured>>>
CompressionResult create_compressed_model(ModuleHolder& net, const Config& config,
                                          std::vector<at::Tensor> inputs = {}) {
  if (inputs.empty()) inputs = example_inputs(config);
  return create_compressed_model(capture::capture_module(net, inputs), config, inputs);
}

}  // namespace nncf
