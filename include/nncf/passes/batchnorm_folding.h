#pragma once

// BatchNorm folding: which eval-mode batch norms fold into the layer before them, and the
// arithmetic of the fold.

#include <ATen/core/Tensor.h>

#include <optional>
#include <vector>

#include "nncf/ir/graph.h"

namespace nncf::passes {

/// A batch_norm whose input is the output of `layer`, a conv (or a linear) it folds into.
struct FoldableBatchNorm {
  const ir::Node* layer = nullptr;
  const ir::Node* batch_norm = nullptr;
};

/// An eval-mode batch norm as a per-channel affine map, bn(y) = y * scale + shift along dim 1, with
/// scale = gamma / sqrt(var + eps) and shift = beta - mean * scale; both in double, one per channel.
struct BatchNormAffine {
  at::Tensor scale, shift;

  /// `weight` (output channels on dim 0) times `scale`, in `weight`'s dtype: the folded layer's
  /// weight.
  at::Tensor fold_weight(const at::Tensor& weight) const;
  /// bias * scale + shift (shift alone for no bias), in double: the folded layer's bias.
  at::Tensor fold_bias(const std::optional<at::Tensor>& bias) const;
};

/// Finds the batch norms that fold into the layer before them:
///
///   %y = aten::conv{1,2,3}d(%x, %w, %b or None, ...)
///   %z = aten::batch_norm(%y, %gamma or None, %beta or None, %mean, %var, %training or false, _, eps, _)
///
/// where the weight, the bias and every batch_norm tensor are Parameter or Buffer inputs of the
/// graph (running statistics required), eps is a constant, neither node runs in training only, and
/// `%y` has no use but the batch_norm outside training-only nodes and is no graph output. The
/// batch norm then computes with its running statistics in eval mode, so
/// `bn(conv(x, w, b)) == conv(x, w * scale, b * scale + shift)` (BatchNormAffine).
///
/// With `into_linear`, a batch_norm after `aten::linear` folds too. That is right only when the
/// linear's output is [N, features] (BatchNorm1d over features); after a linear with a [N, C, L]
/// output it normalizes over C, not over the features, and the IR carries no ranks: set it only
/// when the caller knows them.
///
/// The pass knows nothing of inserted modules: a caller that inserts some drops the folds they
/// would see through.
class BatchNormFolding {
 public:
  explicit BatchNormFolding(bool into_linear = false) : into_linear_(into_linear) {}

  /// The foldable batch norms of `graph`, in graph order.
  std::vector<FoldableBatchNorm> run(const ir::Graph& graph) const;

  /// The affine map of a batch norm with these tensors (any floating dtype; computed in double);
  /// gamma defaults to ones and beta to zeros.
  static BatchNormAffine affine(const at::Tensor& mean, const at::Tensor& var,
                                const std::optional<at::Tensor>& gamma, const std::optional<at::Tensor>& beta,
                                double eps);

 private:
  bool into_linear_;
};

}  // namespace nncf::passes
