#pragma once

// Internal interface between the RB-sparsity mask operators (rb_mask.cpp) and their loops
// (rb_mask_cpu.cpp). Like fake_quantize_cpu.h: plain pointers, no LibTorch, the same source
// compiled for baseline x86-64 and for AVX2+FMA (cmake/kernels.cmake), picked at run time.
//
// Note [RB noise]
// Element i of a call keyed by (seed, offset) uses lane i % 4 of the Philox4x32-10 block with key
// = seed and counter = {i / 4 (64 bits), offset (64 bits)}: exactly the stream of
// at::Philox4_32(seed, /*subsequence=*/offset, /*offset=*/i / 4), whose 32-bit outputs come in
// lane order. The draw x becomes u = clamp((x >> 8) * 2^-24, 1e-6, 1 - 1e-6). Each element's noise
// depends only on (seed, offset, i), so the backward recomputes it instead of saving it, and the
// results do not depend on how the work is split between threads. Work is cut into tiles of
// kTile elements (a multiple of 4, so a tile starts a Philox block).

#include <cstdint>

namespace nncf::kernels::cpu {

constexpr int64_t kRBTile = 1024;

template <typename T>
struct RBMaskArgs {
  const T* w = nullptr;
  const T* logits = nullptr;
  const T* grad = nullptr;   ///< backward only
  T* out = nullptr;          ///< forward: w * keep; backward: grad_w
  T* grad_logits = nullptr;  ///< backward only
  int64_t numel = 0;
  uint64_t seed = 0, offset = 0;
};

// One set of loops per instruction set; each processes tiles [tile_begin, tile_end).
// sigmoid_backward: out[i] = grad * s * (1 - s), s = sigmoid(logits[i]), elements [begin, end).
#define NNCF_RB_DECLARE_LOOPS(ns)                                                                    \
  namespace ns {                                                                                     \
  void rb_mask_forward(const RBMaskArgs<float>& a, int64_t tile_begin, int64_t tile_end);            \
  void rb_mask_forward(const RBMaskArgs<double>& a, int64_t tile_begin, int64_t tile_end);           \
  void rb_mask_backward(const RBMaskArgs<float>& a, int64_t tile_begin, int64_t tile_end);           \
  void rb_mask_backward(const RBMaskArgs<double>& a, int64_t tile_begin, int64_t tile_end);          \
  void sigmoid_backward(const float* logits, float grad, float* out, int64_t begin, int64_t end);    \
  void sigmoid_backward(const double* logits, double grad, double* out, int64_t begin, int64_t end); \
  }

NNCF_RB_DECLARE_LOOPS(baseline)
NNCF_RB_DECLARE_LOOPS(avx2)

#undef NNCF_RB_DECLARE_LOOPS

}  // namespace nncf::kernels::cpu
