#pragma once

// Internal interface between the fake-quantize operators (fake_quantize.cpp) and their loops
// (fake_quantize_cpu.cpp). The loops know nothing of LibTorch: plain pointers and per-channel
// parameter arrays, so the same source compiles twice (baseline x86-64 and AVX2+FMA, see
// cmake/kernels.cmake) and the operator picks one at run time.
//
// Note [Rows]
// The contiguous input is cut into rows: row r covers elements [r * row_len, min(numel, (r + 1) *
// row_len)) and uses channel r % channels. Per channel along an axis: row_len = the product of the
// sizes after the axis, channels = the axis size. Per tensor: channels = 1 and row_len is a fixed
// chunk. Rows are the unit of parallel work, and each row writes its partial gradient sums to its
// own slot, so results do not depend on the thread count.

#include <cstdint>

namespace nncf::kernels::cpu {

template <typename T>
struct SymmetricArgs {
  const T* x = nullptr;
  const T* grad = nullptr;    ///< backward only
  T* out = nullptr;           ///< forward: the output; backward: dx
  double* partial = nullptr;  ///< backward: one dscale sum per row
  int64_t numel = 0, row_len = 1, channels = 1;
  const T* inv = nullptr;                      ///< per channel: level_high / scale
  const T* step = nullptr;                     ///< per channel: scale / level_high
  const T* rscale = nullptr;                   ///< per channel: 1 / scale
  T level_low = 0, level_high = 0, alpha = 0;  ///< alpha = level_low / level_high
};

template <typename T>
struct AsymmetricArgs {
  const T* x = nullptr;
  const T* grad = nullptr;
  T* out = nullptr;
  double* partial_low = nullptr;    ///< backward: one dinput_low sum per row
  double* partial_range = nullptr;  ///< backward: one dinput_range sum per row
  int64_t numel = 0, row_len = 1, channels = 1;
  const T* low = nullptr;     ///< per channel (tuned) input_low
  const T* high = nullptr;    ///< low + range
  const T* inv = nullptr;     ///< (levels - 1) / range
  const T* step = nullptr;    ///< range / (levels - 1)
  const T* zp = nullptr;      ///< round(-low * inv)
  const T* rrange = nullptr;  ///< 1 / range
};

// One set of loops per instruction set; each processes rows [row_begin, row_end).
#define NNCF_FQ_DECLARE_LOOPS(ns)                                                                \
  namespace ns {                                                                                 \
  void symmetric_forward(const SymmetricArgs<float>& a, int64_t row_begin, int64_t row_end);     \
  void symmetric_forward(const SymmetricArgs<double>& a, int64_t row_begin, int64_t row_end);    \
  void symmetric_backward(const SymmetricArgs<float>& a, int64_t row_begin, int64_t row_end);    \
  void symmetric_backward(const SymmetricArgs<double>& a, int64_t row_begin, int64_t row_end);   \
  void asymmetric_forward(const AsymmetricArgs<float>& a, int64_t row_begin, int64_t row_end);   \
  void asymmetric_forward(const AsymmetricArgs<double>& a, int64_t row_begin, int64_t row_end);  \
  void asymmetric_backward(const AsymmetricArgs<float>& a, int64_t row_begin, int64_t row_end);  \
  void asymmetric_backward(const AsymmetricArgs<double>& a, int64_t row_begin, int64_t row_end); \
  }

NNCF_FQ_DECLARE_LOOPS(baseline)
NNCF_FQ_DECLARE_LOOPS(avx2)

#undef NNCF_FQ_DECLARE_LOOPS

}  // namespace nncf::kernels::cpu
