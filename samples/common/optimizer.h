#pragma once

// The samples' optimizers and learning-rate schedules, as the `optimizer` section of a sample
// config describes them (NNCF's sample keys).

#include <torch/optim/optimizer.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "nncf/config/node.h"

namespace nncf_sample {

struct OptimizerConfig {
  std::string type = "sgd";  ///< sgd | adam | adamw
  double base_lr = 0.1;
  double weight_decay = 0;
  double momentum = 0.9;  ///< sgd
  bool nesterov = false;  ///< sgd
  /// none | multistep (steps, gamma) | step (step_size, gamma) | exponential (gamma) | cosine |
  /// poly (power) | plateau (gamma, patience, threshold, cooldown, min_lr; on the selection metric)
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

/// Reads an `optimizer` section over `defaults` (schedule parameters beside schedule_type or in
/// schedule_params, as NNCF's samples write them); throws c10::Error naming the file and JSON path.
OptimizerConfig parse_optimizer(const nncf::ConfigNode& node, OptimizerConfig defaults);

/// The learning rate epoch by epoch. `plateau` (PyTorch's ReduceLROnPlateau in "max" mode with a
/// relative threshold) multiplies the rate by gamma when the metric has not improved for
/// `patience` epochs; its state is saved with checkpoints so a resumed run continues it.
class LrSchedule {
 public:
  LrSchedule(OptimizerConfig config, int64_t epochs);
  /// The rate for `epoch`, about to run.
  double lr(int64_t epoch) const;
  /// The selection metric after an epoch.
  void observe(double accuracy);
  std::map<std::string, double> state() const;
  void load_state(const std::map<std::string, double>& state);

 private:
  OptimizerConfig c_;
  int64_t epochs_;
  double current_, best_ = -1;
  int64_t bad_epochs_ = 0, cooldown_left_ = 0;
};

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerConfig& config,
                                                        const std::vector<torch::Tensor>& parameters);
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);
/// Sets every parameter group's weight decay (SGD, Adam, AdamW).
void set_weight_decay(torch::optim::Optimizer& optimizer, double weight_decay);

/// Fails on members of `node` that are not in `known`: a typo in a config must not be ignored.
void check_keys(const nncf::ConfigNode& node, const std::set<std::string>& known);

}  // namespace nncf_sample
