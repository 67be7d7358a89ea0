#pragma once

// Hutchinson's estimator of the average Hessian trace of each parameter tensor (HAWQ-v2,
// nncf-reference.md §3.3): for Rademacher v (+-1 entries, one tensor per parameter),
// E[v^T H v] = tr(H). One iteration draws v, accumulates H v over the batches (two backward
// passes per batch: the gradient with its graph, then the gradient of <gradient, v>), weighting
// each batch by its size, and takes sum(v * Hv) / numel per parameter; the estimate is the running
// mean over iterations, stopped when the relative change of its sum over parameters falls below
// `tolerance` or after `max_iterations`.
//
// NNCF starts each iteration's accumulator from an N(0, 1) tensor rather than zeros, which adds
// noise of order 1 / samples to every estimate; here it starts from zeros. NNCF's stopping test
// divides by the previous total without its absolute value (fixed later in NNCF); here by its
// absolute value.

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace nncf::quantization {

struct HutchinsonOptions {
  int64_t max_iterations = 200;  ///< NNCF's `iter_number`
  double tolerance = 1e-4;       ///< NNCF's `tolerance`
  uint64_t seed = 0;             ///< the Rademacher draws: equal seeds give equal traces
};

struct HutchinsonResult {
  std::vector<double> traces;  ///< average trace (trace / numel) per parameter
  int64_t iterations = 0;
  bool converged = false;  ///< stopped by `tolerance` rather than `max_iterations`
};

/// `loss(b)` returns the loss of batch b (0 <= b < batch_sizes.size()) computed from `params`
/// (each must require grad); `batch_sizes[b]` weights it. Throws, naming the parameter, when a
/// loss does not depend on a parameter or the loss is not a scalar.
HutchinsonResult hutchinson_traces(const std::vector<at::Tensor>& params,
                                   const std::function<at::Tensor(size_t)>& loss,
                                   const std::vector<int64_t>& batch_sizes, const HutchinsonOptions& options);

}  // namespace nncf::quantization
