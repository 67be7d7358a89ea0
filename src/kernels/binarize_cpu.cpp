// Binarization loops (see binarize_cpu.h). Compiled twice, with NNCF_FQ_ISA = baseline and avx2,
// and with -O3 -fno-trapping-math -ffp-contract=off (cmake/kernels.cmake).
//
// The per-row sums of the backward run in kLanes independent accumulators (a fixed-width inner
// loop GCC turns into vector adds without reassociating anything), folded into a double per row;
// the operator adds the rows up in a fixed order, so the gradients do not depend on the threads.

#include <cmath>

#include "binarize_cpu.h"

#ifndef NNCF_FQ_ISA
#error "compile with -DNNCF_FQ_ISA=<namespace>"
#endif

namespace nncf::kernels::cpu::NNCF_FQ_ISA {
namespace {

constexpr int64_t kLanes = 16;

template <typename T>
void forward_rows(const ActivationBinarizeArgs<T>& a, int64_t row_begin, int64_t row_end) {
  const T s = a.scale;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const T t = a.threshold[r % a.channels];
    const T* __restrict x = a.x + r * a.inner;
    T* __restrict out = a.out + r * a.inner;
    for (int64_t i = 0; i < a.inner; ++i) out[i] = x[i] > t ? s : T(0);
  }
}

// dx = g [0 <= x <= S];  dS += g ([x <= S] (out - x) / S + [x > S]);  dT -= g [0 < x < S],
// with out = S [x > t] recomputed (nncf-reference.md §3.4).
template <typename T>
void backward_rows(const ActivationBinarizeArgs<T>& a, int64_t row_begin, int64_t row_end) {
  const T s = a.scale, inv = T(1) / a.scale;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const T t = a.threshold[r % a.channels];
    const T* __restrict x = a.x + r * a.inner;
    const T* __restrict g = a.grad + r * a.inner;
    T* __restrict dx = a.out + r * a.inner;
    T acc_s[kLanes] = {}, acc_t[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= a.inner; i += kLanes) {
      for (int64_t l = 0; l < kLanes; ++l) {
        const T xv = x[i + l], gv = g[i + l];
        const T out = xv > t ? s : T(0);
        const bool below = xv <= s;
        dx[i + l] = (xv >= T(0) && below) ? gv : T(0);
        acc_s[l] += below ? gv * ((out - xv) * inv) : gv;
        acc_t[l] += (xv > T(0) && xv < s) ? gv : T(0);
      }
    }
    double sum_s = 0, sum_t = 0;
    for (; i < a.inner; ++i) {
      const T xv = x[i], gv = g[i];
      const T out = xv > t ? s : T(0);
      const bool below = xv <= s;
      dx[i] = (xv >= T(0) && below) ? gv : T(0);
      sum_s += static_cast<double>(below ? gv * ((out - xv) * inv) : gv);
      sum_t += static_cast<double>((xv > T(0) && xv < s) ? gv : T(0));
    }
    for (int64_t l = 0; l < kLanes; ++l) {
      sum_s += static_cast<double>(acc_s[l]);
      sum_t += static_cast<double>(acc_t[l]);
    }
    a.grad_scale[r] = sum_s;
    a.grad_threshold[r] = -sum_t;
  }
}

template <typename T>
void weight_rows(const T* w, T* out, T* scales, int64_t row_size, int64_t row_begin, int64_t row_end) {
  for (int64_t r = row_begin; r < row_end; ++r) {
    const T* __restrict in = w + r * row_size;
    T* __restrict o = out + r * row_size;
    double acc[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= row_size; i += kLanes)
      for (int64_t l = 0; l < kLanes; ++l) acc[l] += std::fabs(static_cast<double>(in[i + l]));
    double sum = 0;
    for (; i < row_size; ++i) sum += std::fabs(static_cast<double>(in[i]));
    for (int64_t l = 0; l < kLanes; ++l) sum += acc[l];
    const T scale = row_size > 0 ? static_cast<T>(sum / static_cast<double>(row_size)) : T(0);
    scales[r] = scale;
    for (int64_t j = 0; j < row_size; ++j) o[j] = in[j] > T(0) ? scale : -scale;
  }
}

}  // namespace

void activation_forward(const ActivationBinarizeArgs<float>& a, int64_t b, int64_t e) {
  forward_rows(a, b, e);
}
void activation_forward(const ActivationBinarizeArgs<double>& a, int64_t b, int64_t e) {
  forward_rows(a, b, e);
}
void activation_backward(const ActivationBinarizeArgs<float>& a, int64_t b, int64_t e) {
  backward_rows(a, b, e);
}
void activation_backward(const ActivationBinarizeArgs<double>& a, int64_t b, int64_t e) {
  backward_rows(a, b, e);
}
void weight_binarize(const float* w, float* out, float* scales, int64_t n, int64_t b, int64_t e) {
  weight_rows(w, out, scales, n, b, e);
}
void weight_binarize(const double* w, double* out, double* scales, int64_t n, int64_t b, int64_t e) {
  weight_rows(w, out, scales, n, b, e);
}

}  // namespace nncf::kernels::cpu::NNCF_FQ_ISA
