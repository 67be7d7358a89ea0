#pragma once

// TorchScript export: a compressed model as a `.pt` file that any LibTorch program loads with
// `torch::jit::load` and runs -- no nncf-cpp library, no custom operator.
//
// The eval-mode graph becomes the module's `forward` (ops as captured, so the batch size stays
// free); weights are stored with every weight pre-op applied (sparsity masks, and weight
// quantizers, which leave them on their grid); activation quantizers become LibTorch's built-in
// `fake_quantize_per_tensor_affine` / `fake_quantize_per_channel_affine` with the module's current
// step and zero point. The result agrees with the CompressedModel's eval-mode output up to
// rounding at exact ties between two levels.

#include <string>

#include "nncf/runtime/compressed_model.h"

namespace nncf::exporting {

/// Writes `model` as a TorchScript module to `path` atomically. Throws c10::Error naming the node
/// or inserted module that cannot be expressed with LibTorch's built-in ops.
void export_torchscript(runtime::CompressedModel& model, const std::string& path);

}  // namespace nncf::exporting
