#pragma once

// Output allocation shared by the fused kernels (private to the kernels layer).

#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace nncf::kernels::detail {

// A fresh large output is a fresh mmap, and with 4 KB pages the first touch of every page costs a
// fault: for the 51 MB benchmark tensor ~19 ms of a ~25 ms empty_like+fill, three times the loop
// itself. Outputs of at least kHugePageMinBytes are advised MADV_HUGEPAGE before the loops first
// write them (measured: empty_like + fill 24.9 ms -> 5.8 ms on Debian 12, THP in "madvise" mode).
// Harmless where it cannot apply (THP off, memory already touched, not Linux). LibTorch 2.x's CPU
// allocator does the same behind THP_MEM_ALLOC_ENABLE.
inline constexpr size_t kHugePage = size_t{1} << 21;
inline constexpr size_t kHugePageMinBytes = size_t{8} << 20;

inline at::Tensor empty_output(const at::Tensor& like) {
  at::Tensor out = at::empty_like(like, at::MemoryFormat::Contiguous);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (out.nbytes() >= kHugePageMinBytes) {
    const auto begin = reinterpret_cast<uintptr_t>(out.data_ptr());
    const uintptr_t first = (begin + kHugePage - 1) & ~(kHugePage - 1);
    const uintptr_t last = (begin + out.nbytes()) & ~(kHugePage - 1);
    if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);  // advice only
  }
#endif
  return out;
}

}  // namespace nncf::kernels::detail
