// The `export` suite: what the INT8 QDQ export buys in ONNX Runtime. The ResNet-18 of
// resnet_fmnist.h is exported twice -- FP32, and INT8 (default placement, QuantizeLinear /
// DequantizeLinear, range-initialized) -- and ONNX Runtime runs both, one thread, interleaved,
// CPU-time medians (bench/ort_latency.js, through Node.js).
//
//   onnx.qdq_vs_fp32_latency_ratio.b1 / .b32   INT8 QDQ latency / FP32 latency (goal 0.5)
//   onnx.fp32_latency_ms.b1 / .b32, onnx.qdq_latency_ms.b1 / .b32       the medians behind them

#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "bench_util.h"
#include "nncf/api/compression.h"
#include "resnet_fmnist.h"

namespace nncf::bench {
namespace {

void export_model(const torch::Tensor& x, const std::string& compression, const std::string& path) {
  testing::ResNet18 net = make_resnet18_fmnist(x);
  auto config = Config::from_string(R"({"input_info": {"sample_size": [1, 1, 28, 28]}, "compression": )" +
                                    compression + "}");
  auto [ctrl, model] = create_compressed_model(net, config);
  ctrl->initialize(InitData([&](const InitData::Visitor& visit) { visit({x}); }));
  ctrl->export_model(path);
}

}  // namespace

std::vector<Metric> run_export(const Options& options) {
  const int rounds = options.rounds > 0 ? options.rounds : 15;
  torch::manual_seed(1);
  const torch::Tensor x = torch::randn({kResNetBatch, 1, 28, 28});
  const std::string dir = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
  const std::string fp32 = dir + "/nncf_bench_fp32.onnx", int8 = dir + "/nncf_bench_int8.onnx";
  export_model(x, "[]", fp32);
  export_model(x,
               R"({"algorithm": "quantization", "export_to_onnx_standard_ops": true,
                   "initializer": {"range": {"num_init_samples": 64},
                                   "batchnorm_adaptation": {"num_bn_adaptation_samples": 0}}})",
               int8);
  std::vector<Metric> metrics;
  for (int batch : {1, 32}) {
    const std::string out =
        run_command(c10::str(NNCF_NODE_EXECUTABLE, " ", NNCF_BENCH_DIR, "/ort_latency.js ", rounds, " 3 ",
                             batch, ":1,28,28 ", fp32, " ", int8));
    const auto j = nlohmann::json::parse(out);
    const std::string b = c10::str(".b", batch);
    metrics.push_back({"onnx.qdq_vs_fp32_latency_ratio" + b, j["ratios"][1].get<double>(), "x", 0.5, true});
    metrics.push_back(
        {"onnx.fp32_latency_ms" + b, j["median_ms"][0].get<double>(), "ms", std::nullopt, true});
    metrics.push_back({"onnx.qdq_latency_ms" + b, j["median_ms"][1].get<double>(), "ms", std::nullopt, true});
  }
  std::remove(fp32.c_str());
  std::remove(int8.c_str());
  return metrics;
}

}  // namespace nncf::bench
