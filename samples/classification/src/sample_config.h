#pragma once

// The classification sample's configuration: one JSON file in NNCF's sample style. The sample-level
// keys are read here; `compression` (and `input_info`) go to nncf-cpp unchanged.
//
//   {
//     "model": "resnet18",
//     "model_params": {"small_input": true, "width": 0.25},      // nncf-cpp extension
//     "dataset": "fashion_mnist",
//     "input_info": {"sample_size": [1, 1, 28, 28]},
//     "num_classes": 10,
//     "batch_size": 128,
//     "epochs": 3,                                                 // compression fine-tuning
//     "optimizer": {"type": "adam", "base_lr": 1e-4, "weight_decay": 0,
//                   "schedule_type": "multistep", "steps": [2], "gamma": 0.1},
//     "fp32": {"epochs": 8, "optimizer": {...}},                   // baseline training when no
//                                                                  // pretrained checkpoint is given
//     "val_split": {"num_samples": 5000, "seed": 0},               // held out of the training set
//     "compression": {"algorithm": "quantization", ...}
//   }
//
// `val_split` (nncf-cpp extension; NNCF's samples select on a separate validation set): that many
// training images, drawn by a permutation seeded with `seed` alone (datasets.h train_val_split), are
// held out of training; the best epoch (FP32 and compressed) is the one with the best accuracy on
// them, and the test set is only measured. Default: a tenth of the training set, seed 0;
// `num_samples: 0` trains on every image and selects on the test set (the run says so).
//
// Errors name the file and the JSON path (nncf::ConfigNode does).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "models.h"
#include "nncf/api/config.h"

namespace nncf_sample {

struct OptimizerConfig {
  std::string type = "sgd";  ///< sgd | adam | adamw
  double base_lr = 0.1;
  double weight_decay = 0;
  double momentum = 0.9;  ///< sgd
  bool nesterov = false;  ///< sgd
  /// none | multistep (steps, gamma) | step (step_size, gamma) | exponential (gamma) | cosine |
  /// poly (power) | plateau (gamma, patience, threshold, cooldown, min_lr; on the test accuracy)
  std::string schedule_type = "multistep";
  std::vector<int64_t> steps;
  int64_t step_size = 30;
  double gamma = 0.1;
  double power = 0.9;
  int64_t patience = 10;
  double threshold = 1e-4;
  int64_t cooldown = 0;
  double min_lr = 0;

  /// The learning rate of `epoch` (0-based) of `epochs` for the stateless schedules (plateau: base_lr).
  double lr_at(int64_t epoch, int64_t epochs) const;
};

/// The learning rate epoch by epoch. `plateau` (PyTorch's ReduceLROnPlateau in "max" mode with a
/// relative threshold) multiplies the rate by gamma when the test accuracy has not improved for
/// `patience` epochs; its state is saved with checkpoints so a resumed run continues it.
class LrSchedule {
 public:
  LrSchedule(OptimizerConfig config, int64_t epochs);
  /// The rate for `epoch`, about to run.
  double lr(int64_t epoch) const;
  /// The test accuracy after an epoch.
  void observe(double accuracy);
  std::map<std::string, double> state() const;
  void load_state(const std::map<std::string, double>& state);

 private:
  OptimizerConfig c_;
  int64_t epochs_;
  double current_, best_ = -1;
  int64_t bad_epochs_ = 0, cooldown_left_ = 0;
};

struct SampleConfig {
  std::string path;
  nncf::Config nncf;
  ModelOptions model;
  std::string dataset = "fashion_mnist";
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

/// Reads and checks a sample config; throws c10::Error naming the file and JSON path.
SampleConfig load_sample_config(const std::string& path);
/// The same from a JSON string (tests).
SampleConfig parse_sample_config(const std::string& json, const std::string& source = "");
/// The FP32 control of `config`: the same config without its `compression` section, so that a run
/// of it fine-tunes exactly as the compression run does (epochs, optimizer, schedule, data order)
/// with nothing compressed.
SampleConfig fp32_control_config(const SampleConfig& config);

}  // namespace nncf_sample
