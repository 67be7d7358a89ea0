#include "common/summary.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "nncf/runtime/files.h"

namespace nncf_sample {
namespace {

// NaN (not measured) as JSON null.
nlohmann::json json_number(double v) {
  return std::isnan(v) ? nlohmann::json() : nlohmann::json(v);
}

}  // namespace

void write_summary(const RunSummary& s, const std::string& path, const std::string& config_text,
                   const std::string& what) {
  const nlohmann::json config = nlohmann::json::parse(config_text, nullptr, true, /*ignore_comments=*/true);
  nlohmann::json params = config.value("model_params", nlohmann::json::object());
  if (!params.contains("width")) params["width"] = s.model_width;
  const nlohmann::json j = {{"model", s.model},
                            {"dataset", s.dataset},
                            {"config", s.config},
                            {"compression", s.compression},
                            {"fp32_control", s.fp32_control},
                            {"epochs", s.epochs},
                            {"finetune_key", s.finetune_key},
                            {"selection", s.selection},
                            {"val_samples", s.val_samples},
                            {"fp32_accuracy", s.fp32_accuracy},
                            {"fp32_val_accuracy", json_number(s.fp32_val_accuracy)},
                            {"fp32_epoch", s.fp32_epoch},
                            {"compressed_accuracy", s.compressed_accuracy},
                            {"compressed_val_accuracy", json_number(s.compressed_val_accuracy)},
                            {"compressed_epoch", s.compressed_epoch},
                            {"compression_rate", s.compression_rate},
                            {"file_compression_rate", s.file_compression_rate},
                            {"model_params", params},
                            {"onnx_accuracy", s.onnx_accuracy},
                            {"onnx_path", s.onnx_path}};
  nncf::runtime::write_file_atomically(path, j.dump(2) + "\n", what);
}

}  // namespace nncf_sample
