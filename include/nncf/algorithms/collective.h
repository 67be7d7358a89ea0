#pragma once

// The distributed seam: how an algorithm reduces statistics and shares decisions across the
// processes of a distributed fine-tuning. nncf::BuildContext and nncf::InitData carry an optional
// Collective; without one (nullptr) everything is local, and single-process behaviour does not
// depend on this interface. An implementation over a c10d process group lives in the distributed
// layer.

#include <ATen/core/Tensor.h>

namespace nncf {

class Collective {
 public:
  virtual ~Collective() = default;
  /// The number of processes and this one's rank.
  virtual int world_size() const = 0;
  virtual int rank() const = 0;
  /// Elementwise sum over all processes, in place.
  virtual void all_reduce_sum(at::Tensor& tensor) = 0;
  /// Elementwise min / max over all processes, in place (range statistics).
  virtual void all_reduce_min(at::Tensor& tensor) = 0;
  virtual void all_reduce_max(at::Tensor& tensor) = 0;
  /// Rank `root`'s tensor on every process, in place (masks, mixed-precision decisions).
  virtual void broadcast(at::Tensor& tensor, int root = 0) = 0;
};

}  // namespace nncf
