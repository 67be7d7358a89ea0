#pragma once

// The fine-tuning setup of a sample config, as a short key: configs with equal keys fine-tune
// identically (model, data, epochs, optimizer, schedule, seed, validation split, ...) and differ at
// most in what they compress, so one FP32 control (pipeline.h, --fp32-control) serves them all.
// Header-only (nlohmann/json), for the sample and for results_table.

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace nncf_sample {

/// FNV-1a (64 bits, 16 hex digits) of `config` without `compression` and `target_device` (which
/// only steers compression), dumped canonically (nlohmann sorts object keys). Comments and
/// formatting of the file do not matter. The staged `params` of quantization and binarization
/// sections stay in: they steer the optimizer (learning-rate drop, weight decay, batch multiplier),
/// which the control follows too.
inline std::string finetune_key(nlohmann::json config) {
  if (config.is_object()) {
    nlohmann::json staged = nlohmann::json::array();
    if (config.contains("compression")) {
      nlohmann::json sections = config["compression"];
      if (sections.is_object()) sections = nlohmann::json::array({sections});
      for (const auto& s : sections) {
        if (!s.is_object() || !s.contains("params")) continue;
        const std::string name = s.value("algorithm", "");
        if (name == "quantization" || name == "binarization") staged.push_back(s["params"]);
      }
    }
    config.erase("compression");
    config.erase("target_device");
    if (!staged.empty()) config["staged_params"] = staged;
  }
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char ch : config.dump()) {
    h ^= ch;
    h *= 0x100000001b3ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace nncf_sample
