// results_table: the classification sample's results table from the summaries of its runs.
//
//   results_table OUT.md OUT.png runs/*/summary.json       (OUT.md "-": standard output)
//   results_table --finetune-key CONFIG.json               (the config's fine-tuning key)
//
// Writes a Markdown table -- model (with its width), compression, the accuracy of the FP32
// baseline, of the run's FP32 control (--fp32-control: the same fine-tuning without compression)
// and of the compressed model, the drop against the control and against the baseline, the nominal
// compression rate and the one the ONNX file achieves, the accuracy of the ONNX export in ONNX
// Runtime, config -- then a table of the FP32 controls, and the accuracy-vs-compression plot.
// A compression run's control is the control run with the same finetune_key (finetune_key.h).
// Accuracies are test accuracies of the epochs that each run selected on its validation split.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/finetune_key.h"
#include "common/report.h"

namespace {

std::string fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

double number(const nlohmann::json& run, const char* key, double fallback = -1) {
  const auto it = run.find(key);
  return it != run.end() && it->is_number() ? it->get<double>() : fallback;
}

std::string percent_or_dash(double v) {
  return v < 0 ? "—" : fixed(v, 2);
}

std::string rate_or_dash(double v) {
  return v <= 0 ? "—" : fixed(v, 2) + "x";
}

// model_params of a run: from its summary, or (summaries written before they had it) its config.
nlohmann::json model_params(const nlohmann::json& run) {
  if (run.contains("model_params")) return run["model_params"];
  std::ifstream in(run.value("config", std::string()));
  if (!in) return nlohmann::json::object();
  const nlohmann::json config =
      nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  return config.is_object() && config.contains("model_params") ? config["model_params"]
                                                               : nlohmann::json::object();
}

// "resnet18 (width 0.25)": the model's name does not say that its layers are narrower.
std::string model_label(const nlohmann::json& run) {
  std::string label = run["model"].get<std::string>();
  const nlohmann::json params = model_params(run);
  if (params.contains("width")) {
    const double width = params["width"].get<double>();
    if (width != 1) {
      std::ostringstream w;
      w << width;
      label += " (width " + w.str() + ")";
    }
  }
  return label;
}

std::string config_name(const nlohmann::json& run) {
  std::string config = run["config"].get<std::string>();
  return config.substr(config.find_last_of('/') + 1);
}

bool is_control(const nlohmann::json& run) {
  return run.value("fp32_control", false);
}

int print_finetune_key(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "results_table: cannot read " << path << "\n";
    return 1;
  }
  try {
    std::cout << nncf_sample::finetune_key(nlohmann::json::parse(in, nullptr, true, /*ignore_comments=*/true))
              << "\n";
  } catch (const std::exception& e) {
    std::cerr << "results_table: " << path << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--finetune-key") return print_finetune_key(argv[2]);
  if (argc < 4) {
    std::cerr << "usage: results_table OUT.md OUT.png SUMMARY.json...\n"
                 "       results_table --finetune-key CONFIG.json\n";
    return 2;
  }
  std::vector<nlohmann::json> runs, controls;
  for (int i = 3; i < argc; ++i) {
    std::ifstream in(argv[i]);
    if (!in) {
      std::cerr << "results_table: cannot read " << argv[i] << "\n";
      return 1;
    }
    try {
      nlohmann::json run = nlohmann::json::parse(in);
      (is_control(run) ? controls : runs).push_back(std::move(run));
    } catch (const std::exception& e) {
      std::cerr << "results_table: " << argv[i] << ": " << e.what() << "\n";
      return 1;
    }
  }
  std::map<std::string, const nlohmann::json*> control_of;  // by finetune_key
  for (const auto& c : controls) control_of[c.value("finetune_key", "")] = &c;
  // The FP32 row first, then by nominal compression rate.
  std::stable_sort(runs.begin(), runs.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a["compression_rate"].get<double>() < b["compression_rate"].get<double>();
  });
  std::ostringstream md;
  md << "| Model | Compression | FP32 baseline acc. (%) | FP32 control acc. (%) | Compressed acc. (%) | "
        "Drop vs control (pt) | Drop vs baseline (pt) | Rate, nominal | Rate, ONNX file | ONNX Runtime acc. "
        "(%) | "
        "Config |\n"
     << "|---|---|---|---|---|---|---|---|---|---|---|\n";
  std::vector<nncf_sample::CompressionPoint> points;
  double fp32 = -1;
  for (const auto& r : runs) {
    const std::string compression = r["compression"].get<std::string>();
    const double a = number(r, "fp32_accuracy"), c = number(r, "compressed_accuracy");
    const double rate = number(r, "compression_rate", 1);
    const auto control = control_of.find(r.value("finetune_key", ""));
    const double ctrl = compression.empty() || control == control_of.end()
                            ? -1
                            : number(*control->second, "compressed_accuracy");
    const std::string config = config_name(r);
    md << "| " << model_label(r) << " | " << (compression.empty() ? "none (FP32)" : compression) << " | "
       << fixed(a, 2) << " | " << percent_or_dash(ctrl) << " | " << fixed(c, 2) << " | "
       << (ctrl < 0 ? "—" : fixed(ctrl - c, 2)) << " | " << (compression.empty() ? "—" : fixed(a - c, 2))
       << " | " << fixed(rate, 2) << "x | "
       << rate_or_dash(number(r, "file_compression_rate", compression.empty() ? 1 : 0)) << " | "
       << percent_or_dash(number(r, "onnx_accuracy")) << " | `" << config << "` |\n";
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
  if (!controls.empty()) {
    md << "\nFP32 controls (the fine-tuning of these configs, without compression):\n\n"
       << "| Fine-tuning of | Epochs | Selected epoch | Control acc. (%) | Validation acc. (%) | "
          "ONNX Runtime acc. (%) |\n"
       << "|---|---|---|---|---|---|\n";
    for (const auto& c : controls) {
      std::string users;
      for (const auto& r : runs)
        if (!r["compression"].get<std::string>().empty() &&
            r.value("finetune_key", "") == c.value("finetune_key", ""))
          users += (users.empty() ? "`" : ", `") + config_name(r) + "`";
      md << "| " << (users.empty() ? "`" + config_name(c) + "`" : users) << " | "
         << (c.contains("epochs") ? std::to_string(c["epochs"].get<int64_t>()) : "—") << " | "
         << static_cast<int64_t>(number(c, "compressed_epoch")) << " | "
         << percent_or_dash(number(c, "compressed_accuracy")) << " | "
         << percent_or_dash(number(c, "compressed_val_accuracy")) << " | "
         << percent_or_dash(number(c, "onnx_accuracy")) << " |\n";
    }
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
  if (!points.empty() && !nncf_sample::plot_accuracy_vs_compression(
                             points, fp32, argv[2], "Fashion-MNIST test accuracy vs compression")) {
    return 1;
  }
  return 0;
}
