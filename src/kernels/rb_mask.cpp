// The RB mask operators: schemas, CPU kernels (checks, outputs, the parallel loop over the
// ISA-specific tile loops of rb_mask_cpu.cpp) and C++ entry points. References are in
// rb_mask_reference.cpp; the math is in the header's comment.

#include "nncf/kernels/rb_mask.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/library.h>

#include <algorithm>
#include <mutex>

#include "isa.h"
#include "output.h"
#include "rb_mask_cpu.h"

namespace nncf::kernels {
namespace {

// Elements per parallel task, as for fake quantization (kGrainSize in fake_quantize.cpp): 2^16
// elements are ~0.1 ms of work here, far above the per-task overhead.
constexpr int64_t kGrainTiles = (int64_t{1} << 16) / cpu::kRBTile;

// Note [ISA choice] in isa.h.
detail::IsaChoice& isa() {
  static detail::IsaChoice choice("RB sparsity masking", "");
  return choice;
}

bool use_avx2() {
  return isa().use_avx2();
}

void check_inputs(const at::Tensor& w, const at::Tensor& logits) {
  TORCH_CHECK(w.device().is_cpu() && logits.device().is_cpu(), "nncf rb mask: expected CPU tensors, got ",
              w.device(), " and ", logits.device());
  TORCH_CHECK(w.scalar_type() == at::kFloat || w.scalar_type() == at::kDouble,
              "nncf rb mask: expected float or double weights, got ", w.scalar_type());
  TORCH_CHECK(logits.scalar_type() == w.scalar_type(), "nncf rb mask: logits must have the weights' dtype ",
              w.scalar_type(), ", got ", logits.scalar_type());
  TORCH_CHECK(w.sizes() == logits.sizes(), "nncf rb mask: logits must have the weights' shape ", w.sizes(),
              ", got ", logits.sizes());
}

template <typename T>
void run_tiles(void (*fn)(const cpu::RBMaskArgs<T>&, int64_t, int64_t), const cpu::RBMaskArgs<T>& args) {
  const int64_t tiles = (args.numel + cpu::kRBTile - 1) / cpu::kRBTile;
  at::parallel_for(0, tiles, kGrainTiles, [&](int64_t b, int64_t e) { fn(args, b, e); });
}

at::Tensor rb_mask_forward_cpu(const at::Tensor& w_in, const at::Tensor& logits_in, int64_t seed,
                               int64_t offset) {
  check_inputs(w_in, logits_in);
  const at::Tensor w = w_in.contiguous(), logits = logits_in.contiguous();
  at::Tensor out = detail::empty_output(w);
  AT_DISPATCH_FLOATING_TYPES(w.scalar_type(), "nncf::rb_mask_forward", [&] {
    cpu::RBMaskArgs<scalar_t> a;
    a.w = w.data_ptr<scalar_t>();
    a.logits = logits.data_ptr<scalar_t>();
    a.out = out.data_ptr<scalar_t>();
    a.numel = w.numel();
    a.seed = static_cast<uint64_t>(seed);
    a.offset = static_cast<uint64_t>(offset);
    void (*fn)(const cpu::RBMaskArgs<scalar_t>&, int64_t, int64_t) = cpu::baseline::rb_mask_forward;
    if (use_avx2()) fn = cpu::avx2::rb_mask_forward;
    run_tiles(fn, a);
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor> rb_mask_backward_cpu(const at::Tensor& grad_in, const at::Tensor& w_in,
                                                        const at::Tensor& logits_in, int64_t seed,
                                                        int64_t offset) {
  check_inputs(w_in, logits_in);
  TORCH_CHECK(grad_in.sizes() == w_in.sizes() && grad_in.scalar_type() == w_in.scalar_type(),
              "nncf rb mask: grad must have the weights' shape and dtype, got ", grad_in.sizes(), " ",
              grad_in.scalar_type());
  const at::Tensor grad = grad_in.contiguous(), w = w_in.contiguous(), logits = logits_in.contiguous();
  at::Tensor grad_w = detail::empty_output(w), grad_logits = detail::empty_output(w);
  AT_DISPATCH_FLOATING_TYPES(w.scalar_type(), "nncf::rb_mask_backward", [&] {
    cpu::RBMaskArgs<scalar_t> a;
    a.grad = grad.data_ptr<scalar_t>();
    a.w = w.data_ptr<scalar_t>();
    a.logits = logits.data_ptr<scalar_t>();
    a.out = grad_w.data_ptr<scalar_t>();
    a.grad_logits = grad_logits.data_ptr<scalar_t>();
    a.numel = w.numel();
    a.seed = static_cast<uint64_t>(seed);
    a.offset = static_cast<uint64_t>(offset);
    void (*fn)(const cpu::RBMaskArgs<scalar_t>&, int64_t, int64_t) = cpu::baseline::rb_mask_backward;
    if (use_avx2()) fn = cpu::avx2::rb_mask_backward;
    run_tiles(fn, a);
  });
  return {grad_w, grad_logits};
}

at::Tensor rb_sigmoid_backward_cpu(const at::Tensor& grad, const at::Tensor& logits_in) {
  TORCH_CHECK(grad.numel() == 1, "nncf rb sigmoid backward: expected a one-element grad, got ", grad.sizes());
  check_inputs(logits_in, logits_in);
  const at::Tensor logits = logits_in.contiguous();
  at::Tensor out = detail::empty_output(logits);
  AT_DISPATCH_FLOATING_TYPES(logits.scalar_type(), "nncf::rb_sigmoid_backward", [&] {
    const scalar_t* m = logits.data_ptr<scalar_t>();
    scalar_t* o = out.data_ptr<scalar_t>();
    const scalar_t g = grad.item<scalar_t>();
    void (*fn)(const scalar_t*, scalar_t, scalar_t*, int64_t, int64_t) = cpu::baseline::sigmoid_backward;
    if (use_avx2()) fn = cpu::avx2::sigmoid_backward;
    at::parallel_for(0, logits.numel(), kGrainTiles * cpu::kRBTile,
                     [&](int64_t b, int64_t e) { fn(m, g, o, b, e); });
  });
  return out;
}

const c10::TypedOperatorHandle<at::Tensor(const at::Tensor&, const at::Tensor&, int64_t, int64_t)>& fwd_op() {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("nncf::rb_mask_forward", "")
                             .typed<at::Tensor(const at::Tensor&, const at::Tensor&, int64_t, int64_t)>();
  return op;
}

using BwdSig = std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                                  int64_t, int64_t);
const c10::TypedOperatorHandle<BwdSig>& bwd_op() {
  static const auto op =
      c10::Dispatcher::singleton().findSchemaOrThrow("nncf::rb_mask_backward", "").typed<BwdSig>();
  return op;
}

const c10::TypedOperatorHandle<at::Tensor(const at::Tensor&, const at::Tensor&)>& sigmoid_bwd_op() {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("nncf::rb_sigmoid_backward", "")
                             .typed<at::Tensor(const at::Tensor&, const at::Tensor&)>();
  return op;
}

}  // namespace

namespace detail {
bool force_baseline_rb_isa(bool on) {
  return isa().force_baseline(on);
}
}  // namespace detail

int64_t rb_mask_seed() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return static_cast<int64_t>(gen.get<at::CPUGeneratorImpl>()->random64());
}

at::Tensor rb_mask_forward(const at::Tensor& w, const at::Tensor& logits, int64_t seed, int64_t offset) {
  return fwd_op().call(w, logits, seed, offset);
}

std::tuple<at::Tensor, at::Tensor> rb_mask_backward(const at::Tensor& grad, const at::Tensor& w,
                                                    const at::Tensor& logits, int64_t seed, int64_t offset) {
  return bwd_op().call(grad, w, logits, seed, offset);
}

at::Tensor rb_sigmoid_backward(const at::Tensor& grad, const at::Tensor& logits) {
  return sigmoid_bwd_op().call(grad, logits);
}

}  // namespace nncf::kernels

TORCH_LIBRARY_FRAGMENT(nncf, m) {
  m.def("rb_mask_forward(Tensor w, Tensor logits, int seed, int offset) -> Tensor");
  m.def("rb_mask_backward(Tensor grad, Tensor w, Tensor logits, int seed, int offset) -> (Tensor, Tensor)");
  m.def("rb_sigmoid_backward(Tensor grad, Tensor logits) -> Tensor");
}

TORCH_LIBRARY_IMPL(nncf, CPU, m) {
  m.impl("rb_mask_forward", TORCH_FN(nncf::kernels::rb_mask_forward_cpu));
  m.impl("rb_mask_backward", TORCH_FN(nncf::kernels::rb_mask_backward_cpu));
  m.impl("rb_sigmoid_backward", TORCH_FN(nncf::kernels::rb_sigmoid_backward_cpu));
}
