#pragma once

// The samples' training and evaluation loops, and the evaluation of an ONNX export in ONNX Runtime.

#include <torch/optim/optimizer.h>

#include <functional>
#include <string>

#include "common/data.h"
#include "common/report.h"
#include "common/task.h"

namespace nncf {
class CompressionController;
}

namespace nncf_sample {

struct EpochResult {
  double loss = 0;
  double accuracy = 0;  ///< the task's metric, percent
};

/// The task's metric and mean loss of `forward` (in eval mode: the caller's job) on every batch of
/// `loader`, without gradients, with a progress bar.
EpochResult evaluate(const Forward& forward, const Loader& loader, const Task& task,
                     const std::string& label);

/// Called before each batch with its index and the epoch's number of batches (where the staged
/// schedule's learning-rate and weight-decay requests are applied).
using BatchStart = std::function<void(int64_t batch, int64_t batches)>;

/// One epoch of training: the task's loss plus the compression loss of `ctrl` (if any), whose
/// scheduler steps before each batch. `max_batches` > 0 stops early. `on_batch` (if set) sees each
/// batch's loss and metric, the metric as a count of hits among the batch's examples (e.g.
/// StepLog::observer()). `accumulate` > 1 (a staged schedule's batch_multiplier) steps the
/// optimizer once per that many batches on the mean of their gradients (the epoch's last group
/// may be shorter).
EpochResult train_epoch(const Forward& forward, torch::optim::Optimizer& optimizer, const Loader& loader,
                        const Task& task, nncf::CompressionController* ctrl, const std::string& label,
                        int64_t max_batches, const BatchObserver& on_batch = nullptr,
                        const BatchStart& before_batch = nullptr, int64_t accumulate = 1);

/// The task's metric (percent) of the ONNX model at `onnx` on `dataset` (no augmentation) in ONNX
/// Runtime, through Node.js and samples/common/ort_eval.js, which returns the model's first output;
/// `why_not` is set and -1 returned when Node.js or onnxruntime-node is not installed. Throws when
/// ONNX Runtime fails on the model.
double onnxruntime_metric(const std::string& onnx, const ExampleSet& dataset, const Task& task,
                          std::string& why_not);

}  // namespace nncf_sample
