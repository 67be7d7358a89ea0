#pragma once

// Which instruction-set build of the CPU kernel loops runs (private to the kernels layer).
//
// Note [ISA choice]: the kernel loops are compiled twice (cmake/kernels.cmake), for baseline
// x86-64 and for AVX2+FMA, each in its own namespace; an operator picks one per call. The choice
// lives here, once, so that every kernel family agrees on what the CPU can do: the CPU is probed a
// single time (AVX2 and FMA both, because the AVX2 build is compiled with -mfma), and a family that
// cannot use its AVX2 loops says so once, loudly, naming itself -- never a silent slow fallback. Each
// family keeps its own test switch, so a test can force one family to baseline and leave the other.

#include <atomic>
#include <mutex>
#include <string>
#include <utility>

namespace nncf::kernels::detail {

/// Whether this build has AVX2 loops and this CPU runs them (probed once).
bool cpu_runs_avx2_kernels();

/// The ISA choice of one kernel family (fake quantization, RB masks).
class IsaChoice {
 public:
  /// `family` names the kernels in warnings ("fake quantization"); `cost` says what the baseline
  /// build costs (", about 2x slower backward"), or "".
  IsaChoice(std::string family, std::string cost) : family_(std::move(family)), cost_(std::move(cost)) {}

  /// Whether to run the AVX2 loops: not when a test forced the baseline, nor where the build or the
  /// CPU lacks them (a warning, once per family).
  bool use_avx2();
  /// Tests only: forces the baseline loops (or not); returns the previous setting.
  bool force_baseline(bool on) { return forced_.exchange(on); }

 private:
  std::string family_, cost_;
  std::atomic<bool> forced_{false};
  std::once_flag warned_;
};

}  // namespace nncf::kernels::detail
