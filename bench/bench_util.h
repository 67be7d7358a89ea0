#pragma once

// Shared pieces of the nncf_bench suites: metrics, CPU-time clocks, interleaved timing.
//
// DESIGN.md §4: one intra-op thread, CPU-time medians, and every comparison a ratio measured in
// the same process. Variants run interleaved (A, B, A, B, ...) so that drifting load on a shared
// machine hits them alike.

#include <c10/util/Exception.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nncf::bench {

/// One reported number. `goal` is absent for informational metrics.
struct Metric {
  std::string name;  ///< stable once published, e.g. "executor.fwd_bwd_ratio.resnet18_b32"
  double value = 0;
  std::string unit;  ///< "x", "ms", "us"
  std::optional<double> goal;
  bool lower_is_better = true;
};

/// Options every suite receives from the command line.
struct Options {
  int rounds = 0;  ///< timed rounds per variant; 0: the suite's default
};

/// A named suite: runs and returns its metrics.
struct Suite {
  const char* name;
  const char* description;
  std::vector<Metric> (*run)(const Options&);
};

/// CPU time of this process, in milliseconds (all threads; benches run with one).
inline double cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// CPU-time samples (ms per call of each variant) over interleaved rounds: `warmup` untimed
/// rounds, then `rounds` rounds; in each round every variant runs `iters` times back to back.
/// Result: samples[variant][round].
inline std::vector<std::vector<double>> interleaved(const std::vector<std::function<void()>>& variants,
                                                    int warmup, int rounds, int iters = 1) {
  std::vector<std::vector<double>> samples(variants.size());
  for (int r = 0; r < warmup + rounds; ++r) {
    for (size_t v = 0; v < variants.size(); ++v) {
      double t0 = cpu_ms();
      for (int i = 0; i < iters; ++i) variants[v]();
      double ms = (cpu_ms() - t0) / iters;
      if (r >= warmup) samples[v].push_back(ms);
    }
  }
  return samples;
}

/// Median over rounds of `a[r] / b[r]`: each ratio compares two runs taken moments apart, which
/// is steadier under changing load than a ratio of medians.
inline double median_ratio(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> r;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) r.push_back(a[i] / b[i]);
  return median(std::move(r));
}

/// Runs a shell command and returns its standard output; throws c10::Error when it fails.
inline std::string run_command(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  TORCH_CHECK(pipe, "nncf_bench: cannot run ", command);
  std::string out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe.get())) out.append(buf, n);
  const int status = pclose(pipe.release());
  TORCH_CHECK(status == 0, "nncf_bench: `", command, "` failed (status ", status, "): ", out);
  return out;
}

}  // namespace nncf::bench
