#pragma once

#include "nncf/passes/pass.h"

namespace nncf::passes {

/// Rewrites the generic convolution ops that tracing records into their specific forms:
///
///   aten::_convolution(x, w, b, stride, padding, dilation, transposed, output_padding, groups,
///                      benchmark, deterministic, cudnn_enabled[, allow_tf32])
///   aten::convolution(x, w, b, stride, padding, dilation, transposed, output_padding, groups)
///     -> aten::conv{1,2,3}d(x, w, b, stride, padding, dilation, groups)                  (not transposed)
///     -> aten::conv_transpose{1,2,3}d(x, w, b, stride, padding, output_padding, groups, dilation)
///        (the 2-d and 3-d schemas are named `aten::conv_transpose2d.input`, `...3d.input`)
///
/// The dimension is the length of `stride`. A node is left as it is unless stride, padding,
/// dilation, transposed, output_padding and groups are all constants. The new node keeps the scope
/// and the output name of the one it replaces.
class CanonicalizeConvolution : public Pass {
 public:
  const char* name() const override { return "CanonicalizeConvolution"; }
  bool run(ir::Graph& graph) override;
};

}  // namespace nncf::passes
