#pragma once

// The order in which the modules of several algorithms run on one point (a weight, an activation):
// ascending priority, one table for every algorithm (NNCF's TransformationPriority).
//
//  1. pruning masks first: a removed filter is removed before anything measures the weight;
//  2. sparsity masks next: magnitude thresholds and RB masks see the FP32 weight, not a quantized
//     one, and what they zero stays zero through the quantizer (zero is on every grid);
//  3. binarization and quantization last: they quantize the weight the model will really use, and
//     their ranges are initialized on masked weights.
// Range-initialization observers run just before the quantizers (priority 10), so they measure the
// tensor the quantizer will see: the masked weight, the activation after earlier modules.

namespace nncf::priority {

constexpr int kPruning = 2;
constexpr int kSparsity = 3;
constexpr int kBinarization = 11;
constexpr int kRangeObservation = 10;
constexpr int kQuantization = 11;

}  // namespace nncf::priority
