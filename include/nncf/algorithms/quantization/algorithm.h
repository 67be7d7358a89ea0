#pragma once

// Quantization's builder (its entry in the algorithm table is `quantization::kAlgorithm`): it
// places quantizers on the graph (placement.h), makes one FakeQuantize per quantizer and inserts
// them at priority::kQuantization.

#include <memory>
#include <string>
#include <vector>

#include "nncf/algorithms/algorithm.h"
#include "nncf/algorithms/quantization/config.h"
#include "nncf/algorithms/quantization/controller.h"

namespace nncf::quantization {

/// Builds quantization onto `model` on its own (without the other algorithms of a config):
/// places quantizers per `config` for `target_device` (`ANY`, `CPU`, `GPU`, `VPU`, `NPU`,
/// `CPU_SPR`, `TRIAL`) and inserts them. `example_inputs` (one batch) are needed only when an
/// activation quantizer is per-channel, to learn its channel count.
std::shared_ptr<QuantizationController> build_quantization(
    runtime::CompressedModel model, QuantizationConfig config, const std::string& target_device,
    const std::vector<c10::IValue>& example_inputs = {});

}  // namespace nncf::quantization
