#pragma once

// The classification sample's configuration: the shared keys (common/config.h) and the sample's
// own.
//
//   "model": "resnet18",                                       // models.h model_names()
//   "model_params": {"small_input": true, "width": 0.25},      // nncf-cpp extension
//   "dataset": "fashion_mnist",                                // datasets.h (default fashion_mnist)
//   "num_classes": 10,
//
// Errors name the file and the JSON path (nncf::ConfigNode does).

#include <set>
#include <string>

#include "common/config.h"
#include "common/optimizer.h"
#include "models.h"

namespace nncf_sample {

struct SampleConfig : TrainingConfig {
  ModelOptions model;
};

/// The top-level keys the classification sample reads besides the shared ones.
std::set<std::string> classification_config_keys();
/// Reads and checks the classification keys of `config` (model, model_params, dataset,
/// num_classes), defaulting the dataset; throws c10::Error naming the file and JSON path.
ModelOptions read_classification_config(TrainingConfig& config);

/// Reads and checks a sample config; throws c10::Error naming the file and JSON path.
SampleConfig load_sample_config(const std::string& path);
/// The same from a JSON string (tests).
SampleConfig parse_sample_config(const std::string& json, const std::string& source = "");

}  // namespace nncf_sample
