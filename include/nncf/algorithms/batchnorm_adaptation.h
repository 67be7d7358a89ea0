#pragma once

// BatchNorm adaptation (NNCF, nncf-reference.md §3.9): forward passes without gradients with
// BatchNorm normalizing by batch statistics and updating its running statistics, while every other
// op runs in eval mode. Compression changes activation statistics; this re-estimates them.

#include <cstdint>

#include "nncf/algorithms/controller.h"
#include "nncf/runtime/compressed_model.h"

namespace nncf {

/// Runs batches of `data` until `samples` samples have passed (ceil(samples / batch) batches);
/// restores the model's mode. Does nothing for `samples <= 0` or a model without BatchNorm.
void run_batchnorm_adaptation(runtime::CompressedModel& model, const InitData& data, int64_t samples);

/// The batch size of a forward's inputs: dim 0 of the first tensor with dimensions, else 1.
int64_t batch_size_of(const std::vector<c10::IValue>& inputs);

}  // namespace nncf
