#include "isa.h"

#include <c10/util/Exception.h>

namespace nncf::kernels::detail {

bool cpu_runs_avx2_kernels() {
#if defined(NNCF_KERNELS_HAVE_AVX2)
  static const bool supported = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return supported;
#else
  return false;
#endif
}

bool IsaChoice::use_avx2() {
  if (forced_.load(std::memory_order_relaxed)) return false;
  const bool avx2 = cpu_runs_avx2_kernels();
  if (!avx2) {
    std::call_once(warned_, [&] {
#if defined(NNCF_KERNELS_HAVE_AVX2)
      TORCH_WARN("nncf: this CPU lacks AVX2/FMA; ", family_, " runs its baseline x86-64 build", cost_);
#else
      TORCH_WARN("nncf: ", family_, " was built without its AVX2 kernels (not an x86-64 build); ",
                 "it runs the portable build");
#endif
    });
  }
  return avx2;
}

}  // namespace nncf::kernels::detail
