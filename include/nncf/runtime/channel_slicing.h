#pragma once

// What an inserted module implements so that a structural rewrite (filter pruning's shrink) can
// keep it in step with the tensor it runs on: when that tensor loses channels along `dim`, the
// module keeps only the state of the `kept` channels. A module on a shrunk tensor that holds
// per-channel state and does not implement this interface stops the rewrite (with its name).

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace nncf::runtime {

class ChannelSliceable {
 public:
  virtual ~ChannelSliceable() = default;
  /// `kept`: int64 indices, ascending, into `dim` of the tensor the module runs on.
  virtual void keep_channels(int64_t dim, const at::Tensor& kept) = 0;
};

/// Replaces `t`'s data (in place: the same tensor object, so optimizers and modules holding it
/// see the new shape) by its `index_select(dim, kept)`; its gradient, if any, likewise. No-op for
/// an undefined tensor.
void keep_channels_of(at::Tensor& t, int64_t dim, const at::Tensor& kept);

}  // namespace nncf::runtime
