#pragma once

// Internal interface between the binarization operators (binarize.cpp) and their loops
// (binarize_cpu.cpp). Like fake_quantize_cpu.h: plain pointers, no LibTorch, the same source
// compiled for baseline x86-64 and for AVX2+FMA (cmake/kernels.cmake), picked at run time.
//
// Layouts: activations are contiguous [outer, channels, inner] (NCHW with inner = H * W), one
// threshold per channel; weights are contiguous [rows, row_size] with one scale per row (XNOR: a
// row is an output channel; DoReFa: the whole tensor is one row).

#include <cstdint>

namespace nncf::kernels::cpu {

template <typename T>
struct ActivationBinarizeArgs {
  const T* x = nullptr;
  const T* grad = nullptr;           ///< backward only
  const T* threshold = nullptr;      ///< per channel: T_c * S, the switching point
  T scale = 0;                       ///< S, the output level
  T* out = nullptr;                  ///< forward: the output; backward: dx
  double* grad_scale = nullptr;      ///< backward: one partial sum of dS per row (outer * channels)
  double* grad_threshold = nullptr;  ///< backward: one partial sum of dT per row
  int64_t channels = 0, inner = 0;
};

// Loops over rows [row_begin, row_end) of `outer * channels` rows of `inner` elements.
// weight_abs_mean: scales[r] = mean |w| of row r; weight_binarize: out = (w > 0 ? 1 : -1) * scale.
#define NNCF_BIN_DECLARE_LOOPS(ns)                                                                        \
  namespace ns {                                                                                          \
  void activation_forward(const ActivationBinarizeArgs<float>& a, int64_t row_begin, int64_t row_end);    \
  void activation_forward(const ActivationBinarizeArgs<double>& a, int64_t row_begin, int64_t row_end);   \
  void activation_backward(const ActivationBinarizeArgs<float>& a, int64_t row_begin, int64_t row_end);   \
  void activation_backward(const ActivationBinarizeArgs<double>& a, int64_t row_begin, int64_t row_end);  \
  void weight_binarize(const float* w, float* out, float* scales, int64_t row_size, int64_t row_begin,    \
                       int64_t row_end);                                                                  \
  void weight_binarize(const double* w, double* out, double* scales, int64_t row_size, int64_t row_begin, \
                       int64_t row_end);                                                                  \
  }

NNCF_BIN_DECLARE_LOOPS(baseline)
NNCF_BIN_DECLARE_LOOPS(avx2)

#undef NNCF_BIN_DECLARE_LOOPS

}  // namespace nncf::kernels::cpu
