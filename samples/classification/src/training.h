#pragma once

// Training and evaluation loops of the classification sample, and its ONNX Runtime check.

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "datasets.h"
#include "report.h"
#include "sample_config.h"

namespace nncf {
class CompressionController;
}

namespace nncf_sample {

using Forward = std::function<torch::Tensor(const torch::Tensor&)>;

struct EpochResult {
  double loss = 0;
  double accuracy = 0;  ///< percent
};

/// Top-1 accuracy and mean cross-entropy of `forward` (in eval mode: the caller's job) on every
/// batch of `loader`, without gradients, with a progress bar.
EpochResult evaluate(const Forward& forward, const Loader& loader, const std::string& label);

/// One epoch of training: cross-entropy plus the compression loss of `ctrl` (if any), whose
/// scheduler steps before each batch. `max_batches` > 0 stops early. `on_batch` (if set) sees each
/// batch's loss and accuracy (e.g. StepLog::observer()).
EpochResult train_epoch(const Forward& forward, torch::optim::Optimizer& optimizer, const Loader& loader,
                        nncf::CompressionController* ctrl, const std::string& label, int64_t max_batches,
                        const BatchObserver& on_batch = nullptr);

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerConfig& config,
                                                        const std::vector<torch::Tensor>& parameters);
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

/// Accuracy (percent) of the ONNX model at `onnx` on `dataset` (no augmentation) in ONNX Runtime,
/// through Node.js and samples/classification/ort_eval.js; `why_not` is set and -1 returned when
/// Node.js or onnxruntime-node is not installed. Throws when ONNX Runtime fails on the model.
double onnxruntime_accuracy(const std::string& onnx, const Dataset& dataset, std::string& why_not);

}  // namespace nncf_sample
