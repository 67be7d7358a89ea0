#pragma once

// How quantization sees each op (private to the quantization algorithm): op families for the
// fused patterns, and NNCF's quantization traits, from the target's HW config or NNCF's defaults.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nncf/algorithms/quantization/hw_config.h"
#include "nncf/ir/graph.h"
#include "nncf/ir/metatype.h"

namespace nncf::quantization::detail {

using TensorShapes = std::map<std::string, std::vector<int64_t>>;

/// How an op treats quantization of its inputs.
enum class Trait {
  InputsQuantizable,  ///< its activation inputs get quantizers
  Agnostic,           ///< quantizers pass through it upstream
  NonQuantizable,     ///< stays in floating point; quantizers stop below it
  Concat,             ///< agnostic, one quantizer per input
  Structural,         ///< lists, sizes, mode selection: quantizers stop below it
};

/// NNCF's default traits (default_quantization.py): ops without a HW name, and `TRIAL`.
Trait default_trait(ir::Metatype m);

/// The OpenVINO op type of a node (`Convolution`, `DepthWiseConvolution`, ...; depthwise needs the
/// weight's shape), or "" for ops without one.
std::string hw_type(const ir::Node& n, const TensorShapes& shapes);

/// The trait of a node on target `hw` (nullptr = `TRIAL`) and, through `hw_op`, its HW entry
/// (nullptr = none): listed with activation configs = quantizable; listed without = agnostic unless
/// the default says otherwise; a HW name the file does not list = floating point.
Trait trait_of(const ir::Node& n, const HardwareConfig* hw, const TensorShapes& shapes,
               const HwOperation** hw_op = nullptr);

}  // namespace nncf::quantization::detail
