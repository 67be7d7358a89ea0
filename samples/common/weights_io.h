#pragma once

// FP32 weights files of the samples' models (the baseline a compression run starts from).

#include <torch/nn/module.h>

#include <string>

namespace nncf_sample {

/// Saves every parameter and buffer of `model` to `path` in torch::save's layout, atomically
/// (temporary file in the same folder, fsync, rename): on failure an existing `path` is left as it
/// was. Throws std::runtime_error naming the file.
void save_weights(torch::nn::Module& model, const std::string& path);

/// Loads an FP32 checkpoint written by save_weights (or by torch::save of the same module) into
/// `model`, in place (the model's tensors are kept, so a CompressedModel sharing them sees the
/// new values) and all or nothing. Throws std::runtime_error naming the file and the missing,
/// unexpected or mis-shaped tensors, or for a missing, truncated or corrupt file.
void load_weights(torch::nn::Module& model, const std::string& path);

}  // namespace nncf_sample
