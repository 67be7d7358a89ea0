// Fake-quantize loops (see fake_quantize_cpu.h). Compiled twice, with NNCF_FQ_ISA = baseline and
// avx2, and with -O3 -fno-trapping-math -ffp-contract=off (cmake/kernels.cmake).
//
// What it takes for GCC to vectorise these (libtorch-recipes.md §4, checked with -fopt-info-vec):
// the loops live in block functions over __restrict pointers with by-value scalars (inline in a
// lambda they stay scalar); -fno-trapping-math lets the compares become selects; rounding is the
// add-and-subtract-2^23·1.5 trick (std::nearbyint does not vectorise at the baseline ISA); the
// gradient sums use K independent accumulators instead of `omp simd reduction`, which stayed scalar.
// -ffp-contract=off keeps every product rounded as the ATen reference rounds it, so forward outputs
// and dx are bit-identical to the reference.

#include "fake_quantize_cpu.h"

#include <algorithm>

#ifndef NNCF_FQ_ISA
#error "compile with -DNNCF_FQ_ISA=<namespace>"
#endif

namespace nncf::kernels::cpu::NNCF_FQ_ISA {
namespace {

// Elements per block whose float partial sums are added into a double: short enough that the
// float accumulators lose nothing that matters, long enough that the double adds are free.
constexpr int64_t kBlock = 4096;

template <typename T>
struct Round;
template <>
struct Round<float> {
  static constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23: exact for |v| < 2^22
};
template <>
struct Round<double> {
  static constexpr double kMagic = 6755399441055744.0;  // 1.5 * 2^52: exact for |v| < 2^51
};

// Round half to even (the FPU's default mode), like at::round. Only called on clamped values.
template <typename T>
inline T round_even(T v) {
  return (v + Round<T>::kMagic) - Round<T>::kMagic;
}

template <typename T>
inline T clamp(T v, T lo, T hi) {
  return std::min(std::max(v, lo), hi);
}

// Accumulators per gradient sum: two AVX2 registers' worth.
template <typename T>
constexpr int kAcc = 64 / sizeof(T);

template <typename T>
void sym_fwd_block(const T* __restrict x, T* __restrict y, int64_t n, T inv, T step, T lo, T hi) {
  for (int64_t i = 0; i < n; ++i) y[i] = round_even(clamp(x[i] * inv, lo, hi)) * step;
}

template <typename T>
inline T sym_bwd_elem(T x, T g, T* dx, T inv, T step, T rscale, T lo, T hi, T alpha) {
  const T v = x * inv;
  const T q = round_even(clamp(v, lo, hi));
  const bool above = v > hi;
  const bool below = v < lo;
  const bool inside = !(above | below);
  *dx = inside ? g : T(0);
  const T outside_grad = above ? T(1) : alpha;
  return g * (inside ? (q * step - x) * rscale : outside_grad);
}

template <typename T>
T sym_bwd_block(const T* __restrict x, const T* __restrict g, T* __restrict dx, int64_t n, T inv, T step,
                T rscale, T lo, T hi, T alpha) {
  constexpr int K = kAcc<T>;
  T acc[K] = {};
  int64_t i = 0;
  for (; i + K <= n; i += K) {
    for (int j = 0; j < K; ++j)
      acc[j] += sym_bwd_elem(x[i + j], g[i + j], dx + i + j, inv, step, rscale, lo, hi, alpha);
  }
  T sum = 0;
  for (; i < n; ++i) sum += sym_bwd_elem(x[i], g[i], dx + i, inv, step, rscale, lo, hi, alpha);
  for (int j = 0; j < K; ++j) sum += acc[j];
  return sum;
}

template <typename T>
void asym_fwd_block(const T* __restrict x, T* __restrict y, int64_t n, T low, T high, T inv, T step, T zp) {
  for (int64_t i = 0; i < n; ++i) y[i] = round_even((clamp(x[i], low, high) - low) * inv - zp) * step;
}

// The input-range part of one element's gradient; its input-low part is g outside the range.
template <typename T>
inline T asym_bwd_elem(T x, T g, T* dx, T low, T high, T inv, T step, T zp, T rrange) {
  const T out = round_even((clamp(x, low, high) - low) * inv - zp) * step;
  const bool above = x > high;
  const bool below = x < low;
  const bool inside = !(above | below);
  *dx = inside ? g : T(0);
  const T outside_grad = above ? g : T(0);
  return inside ? g * ((out - x) * rrange) : outside_grad;
}

template <typename T>
void asym_bwd_block(const T* __restrict x, const T* __restrict g, T* __restrict dx, int64_t n, T low, T high,
                    T inv, T step, T zp, T rrange, double& sum_low, double& sum_range) {
  constexpr int K = kAcc<T>;
  T acc_range[K] = {};
  T acc_low[K] = {};
  int64_t i = 0;
  for (; i + K <= n; i += K) {
    for (int j = 0; j < K; ++j) {
      acc_range[j] += asym_bwd_elem(x[i + j], g[i + j], dx + i + j, low, high, inv, step, zp, rrange);
    }
    // dinput_low = sum of g outside the range = sum of (g - dx), in a second pass over the block's
    // fresh dx (still in L1): a second accumulator set in the first loop kept it from vectorising.
    for (int j = 0; j < K; ++j) acc_low[j] += g[i + j] - dx[i + j];
  }
  T tail_low = 0, tail_range = 0;
  for (; i < n; ++i) {
    tail_range += asym_bwd_elem(x[i], g[i], dx + i, low, high, inv, step, zp, rrange);
    tail_low += g[i] - dx[i];
  }
  for (int j = 0; j < K; ++j) {
    tail_low += acc_low[j];
    tail_range += acc_range[j];
  }
  sum_low += tail_low;
  sum_range += tail_range;
}

template <typename T, typename Args, typename F>
void for_each_row(const Args& a, int64_t row_begin, int64_t row_end, F&& f) {
  for (int64_t r = row_begin; r < row_end; ++r) {
    const int64_t begin = r * a.row_len;
    const int64_t end = std::min(a.numel, begin + a.row_len);
    f(r, r % a.channels, begin, end);
  }
}

template <typename T>
void sym_forward(const SymmetricArgs<T>& a, int64_t row_begin, int64_t row_end) {
  for_each_row<T>(a, row_begin, row_end, [&](int64_t, int64_t c, int64_t b, int64_t e) {
    sym_fwd_block(a.x + b, a.out + b, e - b, a.inv[c], a.step[c], a.level_low, a.level_high);
  });
}

template <typename T>
void sym_backward(const SymmetricArgs<T>& a, int64_t row_begin, int64_t row_end) {
  for_each_row<T>(a, row_begin, row_end, [&](int64_t r, int64_t c, int64_t b, int64_t e) {
    double sum = 0;
    for (int64_t s = b; s < e; s += kBlock) {
      sum += sym_bwd_block(a.x + s, a.grad + s, a.out + s, std::min(kBlock, e - s), a.inv[c], a.step[c],
                           a.rscale[c], a.level_low, a.level_high, a.alpha);
    }
    a.partial[r] = sum;
  });
}

template <typename T>
void asym_forward(const AsymmetricArgs<T>& a, int64_t row_begin, int64_t row_end) {
  for_each_row<T>(a, row_begin, row_end, [&](int64_t, int64_t c, int64_t b, int64_t e) {
    asym_fwd_block(a.x + b, a.out + b, e - b, a.low[c], a.high[c], a.inv[c], a.step[c], a.zp[c]);
  });
}

template <typename T>
void asym_backward(const AsymmetricArgs<T>& a, int64_t row_begin, int64_t row_end) {
  for_each_row<T>(a, row_begin, row_end, [&](int64_t r, int64_t c, int64_t b, int64_t e) {
    double sum_low = 0, sum_range = 0;
    for (int64_t s = b; s < e; s += kBlock) {
      asym_bwd_block(a.x + s, a.grad + s, a.out + s, std::min(kBlock, e - s), a.low[c], a.high[c], a.inv[c],
                     a.step[c], a.zp[c], a.rrange[c], sum_low, sum_range);
    }
    a.partial_low[r] = sum_low;
    a.partial_range[r] = sum_range;
  });
}

}  // namespace

void symmetric_forward(const SymmetricArgs<float>& a, int64_t rb, int64_t re) {
  sym_forward(a, rb, re);
}
void symmetric_forward(const SymmetricArgs<double>& a, int64_t rb, int64_t re) {
  sym_forward(a, rb, re);
}
void symmetric_backward(const SymmetricArgs<float>& a, int64_t rb, int64_t re) {
  sym_backward(a, rb, re);
}
void symmetric_backward(const SymmetricArgs<double>& a, int64_t rb, int64_t re) {
  sym_backward(a, rb, re);
}
void asymmetric_forward(const AsymmetricArgs<float>& a, int64_t rb, int64_t re) {
  asym_forward(a, rb, re);
}
void asymmetric_forward(const AsymmetricArgs<double>& a, int64_t rb, int64_t re) {
  asym_forward(a, rb, re);
}
void asymmetric_backward(const AsymmetricArgs<float>& a, int64_t rb, int64_t re) {
  asym_backward(a, rb, re);
}
void asymmetric_backward(const AsymmetricArgs<double>& a, int64_t rb, int64_t re) {
  asym_backward(a, rb, re);
}

}  // namespace nncf::kernels::cpu::NNCF_FQ_ISA
