// results_table: the classification sample's results table from the summaries of its runs.
//
//   results_table OUT.md OUT.png runs/*/summary.json       (OUT.md "-": standard output)
//
// Writes a Markdown table -- model, compression, FP32 accuracy, compressed accuracy, drop,
// compression rate, accuracy of the ONNX export in ONNX Runtime, config -- and the
// accuracy-vs-compression plot.

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "report.h"

namespace {

std::string fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string percent_or_dash(double v) {
  return v < 0 ? "—" : fixed(v, 2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: results_table OUT.md OUT.png SUMMARY.json...\n";
    return 2;
  }
  std::vector<nlohmann::json> runs;
  for (int i = 3; i < argc; ++i) {
    std::ifstream in(argv[i]);
    if (!in) {
      std::cerr << "results_table: cannot read " << argv[i] << "\n";
      return 1;
    }
    try {
      runs.push_back(nlohmann::json::parse(in));
    } catch (const std::exception& e) {
      std::cerr << "results_table: " << argv[i] << ": " << e.what() << "\n";
      return 1;
    }
  }
  // The FP32 row first, then by compression rate.
  std::stable_sort(runs.begin(), runs.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a["compression_rate"].get<double>() < b["compression_rate"].get<double>();
  });
  std::ostringstream md;
  md << "| Model | Compression | FP32 acc. (%) | Compressed acc. (%) | Drop (pt) | Compression rate | "
        "ONNX Runtime acc. (%) | Config |\n"
     << "|---|---|---|---|---|---|---|---|\n";
  std::vector<nncf_sample::CompressionPoint> points;
  double fp32 = -1;
  for (const auto& r : runs) {
    const std::string compression = r["compression"].get<std::string>();
    const double a = r["fp32_accuracy"].get<double>(), c = r["compressed_accuracy"].get<double>();
    const double rate = r["compression_rate"].get<double>();
    std::string config = r["config"].get<std::string>();
    config = config.substr(config.find_last_of('/') + 1);
    md << "| " << r["model"].get<std::string>() << " | " << (compression.empty() ? "none (FP32)" : compression)
       << " | " << fixed(a, 2) << " | " << fixed(c, 2) << " | " << (compression.empty() ? "—" : fixed(a - c, 2))
       << " | " << fixed(rate, 2) << "x | " << percent_or_dash(r["onnx_accuracy"].get<double>()) << " | `"
       << config << "` |\n";
    if (compression.empty()) {
      fp32 = a;
    } else {
      std::string label = config.substr(0, config.find(".json"));
      const std::string prefix = "resnet18_fmnist_";
      if (label.rfind(prefix, 0) == 0) label = label.substr(prefix.size());
      points.push_back({label, rate, c});
    }
    if (fp32 < 0) fp32 = a;
  }
  if (std::string(argv[1]) == "-") {
    std::cout << md.str();
  } else {
    std::ofstream out(argv[1]);
    out << md.str();
    if (!out) {
      std::cerr << "results_table: cannot write " << argv[1] << "\n";
      return 1;
    }
  }
  if (!points.empty() &&
      !nncf_sample::plot_accuracy_vs_compression(points, fp32, argv[2], "Fashion-MNIST test accuracy vs compression")) {
    return 1;
  }
  return 0;
}
