// RB-sparsity mask loops (see rb_mask_cpu.h). Compiled twice, with NNCF_FQ_ISA = baseline and
// avx2, and with -O3 -fno-trapping-math -ffp-contract=off (cmake/kernels.cmake).
//
// Note [RB mask math]
// The forward keeps w where z = m + logit(u) > 0 and the backward needs s = sigmoid(z). Both follow
// from a single exp, without a log: with a = (1 - u) * exp(-m),
//   z > 0  <=>  u / (1 - u) > exp(-m)  <=>  u > a,        s = u / (u + a).
// The float exp is a branch-free Cephes polynomial (~1 ulp), so GCC vectorises the loops at every
// ISA; with -ffp-contract=off the baseline and AVX2 builds give bit-identical results. Against the
// ATen reference (logit, add, sigmoid) the mask agrees except where |z| is within rounding of 0,
// and the gradients agree to a few ulp. Doubles take std::exp (scalar; not a training path).

#include <algorithm>
#include <cmath>
#include <cstring>

#include "rb_mask_cpu.h"

#ifndef NNCF_FQ_ISA
#error "compile with -DNNCF_FQ_ISA=<namespace>"
#endif

namespace nncf::kernels::cpu::NNCF_FQ_ISA {
namespace {

// Philox4x32-10 constants, as in ATen/core/PhiloxRNGEngine.h.
constexpr uint32_t kPhiloxA = 0x9E3779B9;
constexpr uint32_t kPhiloxB = 0xBB67AE85;
constexpr uint32_t kPhiloxSA = 0xD2511F53;
constexpr uint32_t kPhiloxSB = 0xCD9E8D57;
constexpr int kRounds = 10;
constexpr float kUMin = 1e-6f;
constexpr float kUMax = 1.0f - 1e-6f;

struct Keys {
  uint32_t k0[kRounds], k1[kRounds];
  uint32_t c2 = 0, c3 = 0;  // the high counter words: the call's offset
};

Keys make_keys(uint64_t seed, uint64_t offset) {
  Keys k;
  for (int r = 0; r < kRounds; ++r) {
    k.k0[r] = static_cast<uint32_t>(seed) + static_cast<uint32_t>(r) * kPhiloxA;
    k.k1[r] = static_cast<uint32_t>(seed >> 32) + static_cast<uint32_t>(r) * kPhiloxB;
  }
  k.c2 = static_cast<uint32_t>(offset);
  k.c3 = static_cast<uint32_t>(offset >> 32);
  return k;
}

inline float to_uniform(uint32_t x) {
  const float u = static_cast<float>(static_cast<int32_t>(x >> 8)) * 0x1p-24f;
  return std::min(std::max(u, kUMin), kUMax);
}

// Blocks whose low counter word runs lo, lo + 1, ... without wrapping (the caller splits at wraps,
// which keeps 64-bit arithmetic out of the vectorised loop).
void philox_blocks(const Keys& k, uint32_t lo, uint32_t hi, int64_t nblocks, float* __restrict u) {
  for (int64_t j = 0; j < nblocks; ++j) {
    uint32_t x0 = lo + static_cast<uint32_t>(j), x1 = hi, x2 = k.c2, x3 = k.c3;
#pragma GCC unroll 10
    for (int r = 0; r < kRounds; ++r) {
      const uint64_t p0 = uint64_t{kPhiloxSA} * x0;
      const uint64_t p1 = uint64_t{kPhiloxSB} * x2;
      x0 = static_cast<uint32_t>(p1 >> 32) ^ x1 ^ k.k0[r];
      x1 = static_cast<uint32_t>(p1);
      x2 = static_cast<uint32_t>(p0 >> 32) ^ x3 ^ k.k1[r];
      x3 = static_cast<uint32_t>(p0);
    }
    u[4 * j + 0] = to_uniform(x0);
    u[4 * j + 1] = to_uniform(x1);
    u[4 * j + 2] = to_uniform(x2);
    u[4 * j + 3] = to_uniform(x3);
  }
}

// Noise for elements [begin, begin + n) of the call, begin a multiple of 4 (Note [RB noise]);
// fills u up to the next multiple of 4.
void noise(const Keys& k, int64_t begin, int64_t n, float* u) {
  uint64_t block = static_cast<uint64_t>(begin) / 4;
  int64_t left = (n + 3) / 4;
  while (left > 0) {
    const uint32_t lo = static_cast<uint32_t>(block);
    const int64_t run = std::min<int64_t>(left, (int64_t{1} << 32) - static_cast<int64_t>(lo));
    philox_blocks(k, lo, static_cast<uint32_t>(block >> 32), run, u);
    u += 4 * run;
    block += static_cast<uint64_t>(run);
    left -= run;
  }
}

// exp(x) for float: Cephes' expf, branch-free. Inputs are clamped to [-87, 88], where 2^k stays a
// normal number (the callers' results saturate there anyway).
inline float exp_of(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23: round to nearest for |v| < 2^22
  const float k = (x * 1.44269504088896341f + kMagic) - kMagic;
  const float r = (x - k * 0.693359375f) - k * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * (r * r) + r + 1.0f;
  const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(k) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return y * scale;
}

inline double exp_of(double x) {
  return std::exp(x);
}

template <typename T>
void forward_block(const T* __restrict w, const T* __restrict m, const float* __restrict u, T* __restrict out,
                   int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T ui = u[i];
    const T a = (T(1) - ui) * exp_of(-m[i]);
    out[i] = w[i] * (ui > a ? T(1) : T(0));
  }
}

template <typename T>
void backward_block(const T* __restrict g, const T* __restrict w, const T* __restrict m,
                    const float* __restrict u, T* __restrict gw, T* __restrict gm, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T ui = u[i];
    const T a = (T(1) - ui) * exp_of(-m[i]);
    gw[i] = g[i] * (ui > a ? T(1) : T(0));
    const T s = ui / (ui + a);
    gm[i] = (g[i] * w[i]) * (T(1) - s) * s;  // at::sigmoid_backward's order
  }
}

template <typename T>
void forward_tiles(const RBMaskArgs<T>& a, int64_t tile_begin, int64_t tile_end) {
  alignas(64) float u[kRBTile];
  const Keys k = make_keys(a.seed, a.offset);
  for (int64_t t = tile_begin; t < tile_end; ++t) {
    const int64_t b = t * kRBTile, n = std::min(kRBTile, a.numel - b);
    noise(k, b, n, u);
    forward_block(a.w + b, a.logits + b, u, a.out + b, n);
  }
}

template <typename T>
void backward_tiles(const RBMaskArgs<T>& a, int64_t tile_begin, int64_t tile_end) {
  alignas(64) float u[kRBTile];
  const Keys k = make_keys(a.seed, a.offset);
  for (int64_t t = tile_begin; t < tile_end; ++t) {
    const int64_t b = t * kRBTile, n = std::min(kRBTile, a.numel - b);
    noise(k, b, n, u);
    backward_block(a.grad + b, a.w + b, a.logits + b, u, a.out + b, a.grad_logits + b, n);
  }
}

template <typename T>
void sigmoid_backward_block(const T* __restrict m, T g, T* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T s = T(1) / (T(1) + exp_of(-m[i]));
    out[i] = g * (T(1) - s) * s;
  }
}

}  // namespace

void rb_mask_forward(const RBMaskArgs<float>& a, int64_t tb, int64_t te) {
  forward_tiles(a, tb, te);
}
void rb_mask_forward(const RBMaskArgs<double>& a, int64_t tb, int64_t te) {
  forward_tiles(a, tb, te);
}
void rb_mask_backward(const RBMaskArgs<float>& a, int64_t tb, int64_t te) {
  backward_tiles(a, tb, te);
}
void rb_mask_backward(const RBMaskArgs<double>& a, int64_t tb, int64_t te) {
  backward_tiles(a, tb, te);
}

void sigmoid_backward(const float* logits, float grad, float* out, int64_t begin, int64_t end) {
  sigmoid_backward_block(logits + begin, grad, out + begin, end - begin);
}
void sigmoid_backward(const double* logits, double grad, double* out, int64_t begin, int64_t end) {
  sigmoid_backward_block(logits + begin, grad, out + begin, end - begin);
}

}  // namespace nncf::kernels::cpu::NNCF_FQ_ISA
