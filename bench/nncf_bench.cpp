// nncf_bench <suite> [--json] [--rounds N]
//
// Runs one benchmark suite. With --json it prints one JSON object per metric and line:
//   {"metric": "executor.fwd_bwd_ratio.resnet18_b32", "value": 1.01, "unit": "x", "goal": 1.03,
//    "lower_is_better": true}
// and otherwise a readable table. Suites are listed explicitly below; an unknown suite lists them
// and exits with status 2.

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "bench_util.h"

namespace nncf::bench {
std::vector<Metric> run_executor(const Options& options);  // executor_bench.cpp
std::vector<Metric> run_qat(const Options& options);       // qat_bench.cpp
std::vector<Metric> run_sparsity(const Options& options);  // sparsity_bench.cpp
std::vector<Metric> run_export(const Options& options);    // export_bench.cpp
std::vector<Metric> run_pruning(const Options& options);   // pruning_bench.cpp
std::vector<Metric> run_binarization(const Options& options);  // binarization_bench.cpp
}  // namespace nncf::bench

namespace {

using nncf::bench::Metric;
using nncf::bench::Suite;

// The explicit list of suites; later issues append qat, sparsity, export.
const Suite kSuites[] = {
    {"executor", "CompressedModel (boxed interpreter) vs the eager C++ module: ResNet-18, fwd+bwd",
     nncf::bench::run_executor},
    {"qat",
     "fused fake quantize fwd+bwd (64x64x56x56 float) vs x.clone() and LibTorch's learnable op; "
     "INT8 QAT vs FP32 training step, ResNet-18 on Fashion-MNIST",
     nncf::bench::run_qat},
    {"sparsity", "magnitude and RB sparsity vs FP32 training step, ResNet-18 on Fashion-MNIST",
     nncf::bench::run_sparsity},
    {"export", "ONNX Runtime latency of the INT8 QDQ export vs the FP32 export, ResNet-18 on Fashion-MNIST",
     nncf::bench::run_export},
    {"pruning",
     "filter pruning at 50% FLOPs, shrunk: training step vs FP32 and ONNX Runtime latency vs the FP32 "
     "export, "
     "ResNet-18 on Fashion-MNIST",
     nncf::bench::run_pruning},
    {"binarization",
     "activation binarizer fwd+bwd (64x64x56x56 float) vs x.clone(); XNOR binarized vs FP32 training step, "
     "ResNet-18 on Fashion-MNIST",
     nncf::bench::run_binarization},
};

void usage(FILE* out) {
  std::fprintf(out, "usage: nncf_bench <suite> [--json] [--rounds N]\nsuites:\n");
  for (const Suite& s : kSuites) std::fprintf(out, "  %-10s %s\n", s.name, s.description);
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

void print_json(const Metric& m) {
  std::printf(
      "{\"metric\": \"%s\", \"value\": %s, \"unit\": \"%s\", \"goal\": %s, \"lower_is_better\": %s}\n",
      m.name.c_str(), json_number(m.value).c_str(), m.unit.c_str(),
      m.goal ? json_number(*m.goal).c_str() : "null", m.lower_is_better ? "true" : "false");
}

void print_table(const std::vector<Metric>& metrics) {
  std::printf("%-48s %12s %-5s %10s\n", "metric", "value", "unit", "goal");
  for (const Metric& m : metrics) {
    std::string goal = m.goal ? (m.lower_is_better ? "<= " : ">= ") + json_number(*m.goal) : "-";
    const char* verdict = !m.goal                                                         ? ""
                          : (m.lower_is_better ? m.value <= *m.goal : m.value >= *m.goal) ? "  ok"
                                                                                          : "  MISSED";
    std::printf("%-48s %12.4f %-5s %10s%s\n", m.name.c_str(), m.value, m.unit.c_str(), goal.c_str(), verdict);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const char* suite_name = nullptr;
  bool json = false;
  nncf::bench::Options options;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) {
      json = true;
    } else if (std::strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
      options.rounds = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (!suite_name && argv[i][0] != '-') {
      suite_name = argv[i];
    } else {
      std::fprintf(stderr, "nncf_bench: unexpected argument '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  const Suite* suite = nullptr;
  for (const Suite& s : kSuites) {
    if (suite_name && std::strcmp(s.name, suite_name) == 0) suite = &s;
  }
  if (!suite) {
    if (suite_name) std::fprintf(stderr, "nncf_bench: unknown suite '%s'\n", suite_name);
    usage(stderr);
    return 2;
  }

  // One intra-op thread: on shared 2-core machines more threads add noise, not speed (DESIGN §4).
  at::set_num_threads(1);
  try {
    std::vector<Metric> metrics = suite->run(options);
    if (json) {
      for (const Metric& m : metrics) print_json(m);
    } else {
      print_table(metrics);
    }
  } catch (const c10::Error& e) {
    // what() would add LibTorch's C++ backtrace; the message alone says what is wrong.
    std::fprintf(stderr, "nncf_bench %s: %s\n", suite->name, e.what_without_backtrace());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nncf_bench %s: %s\n", suite->name, e.what());
    return 1;
  }
  return 0;
}
