#pragma once

// A sample's configuration: one JSON file in NNCF's sample style. The keys every sample shares are
// read here; each sample reads its own (Task::config_keys, Task::read_config); `compression` (and
// `input_info`) go to nncf-cpp unchanged.
//
//   {
//     "model": "resnet18", "model_params": {...},                 // the sample's
//     "dataset": "fashion_mnist",                                  // the sample's
//     "input_info": {"sample_size": [1, 1, 28, 28]},
//     "batch_size": 128, "batch_size_val": 256,
//     "epochs": 3,                                                 // compression fine-tuning
//     "optimizer": {"type": "adam", "base_lr": 1e-4, "weight_decay": 0,
//                   "schedule_type": "multistep", "steps": [2], "gamma": 0.1},
//     "fp32": {"epochs": 8, "optimizer": {...}},                   // baseline training when no
//                                                                  // pretrained weights are given
//     "val_split": {"num_samples": 5000, "seed": 0},               // held out of the training set
//     "seed": 0,
//     "compression": {"algorithm": "quantization", ...}
//   }
//
// `val_split` (nncf-cpp extension; NNCF's samples select on a separate validation set): that many
// training examples, drawn by a permutation seeded with `seed` alone (data.h train_val_split), are
// held out of training; the best epoch (FP32 and compressed) is the one with the best metric on
// them, and the test set is only measured. Default: a tenth of the training set, seed 0;
// `num_samples: 0` trains on every example and selects on the test set (the run says so).
//
// Errors name the file and the JSON path (nncf::ConfigNode does).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/optimizer.h"
#include "nncf/api/config.h"

namespace nncf_sample {

class Task;

struct TrainingConfig {
  std::string path;
  nncf::Config nncf;
  std::string model_name;            ///< `model`
  std::string dataset;               ///< `dataset` (the sample checks and defaults it)
  std::vector<int64_t> sample_size;  ///< input_info.sample_size: [1, C, H, W]
  int64_t batch_size = 128;
  int64_t batch_size_val = 0;  ///< evaluation batch; 0: batch_size
  std::optional<uint64_t> seed;
  int64_t epochs = 1;
  OptimizerConfig optimizer;
  int64_t fp32_epochs = 0;
  OptimizerConfig fp32_optimizer;
  /// val_split.num_samples; -1: a tenth of the training set.
  int64_t val_samples = -1;
  uint64_t val_seed = 0;  ///< val_split.seed
  /// The file's JSON text (comments and all), for the FP32 control (fp32_control_config).
  std::string text;
  /// The compression algorithms, e.g. "quantization" or "magnitude_sparsity+quantization"; empty
  /// for an FP32 config.
  std::string compression_name() const;
};

/// Reads and checks a config: the shared keys, then the sample's (task.read_config); throws
/// c10::Error naming the file (`source`) and the JSON path.
TrainingConfig parse_training_config(const std::string& json, const std::string& source, const Task& task);
/// The same from a file.
TrainingConfig load_training_config(const std::string& path, const Task& task);
/// The FP32 control of `config`: the same config without its `compression` section, so that a run
/// of it fine-tunes exactly as the compression run does (epochs, optimizer, schedule, data order)
/// with nothing compressed.
TrainingConfig fp32_control_config(const TrainingConfig& config, const Task& task);
/// A file's text; throws c10::Error naming it when it cannot be read.
std::string read_text_file(const std::string& path, const std::string& what);

}  // namespace nncf_sample
