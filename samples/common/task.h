#pragma once

// What a sample adds to the shared pipeline (pipeline.h): its dataset, its model, its loss and its
// metric. Everything else -- config keys, optimizer and schedules, the training loop with the
// controller calls, checkpoints and exact resume, logs and plots, the ONNX export and its
// evaluation in ONNX Runtime -- is shared (samples/common).
//
//   class SegmentationTask : public nncf_sample::Task { ... };
//   int main(int argc, char** argv) { return nncf_sample::sample_main(argc, argv, SegmentationTask()); }

#include <torch/nn/module.h>
#include <torch/types.h>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/data.h"
#include "nncf/capture/capture.h"

namespace nncf_sample {

struct TrainingConfig;

using Forward = std::function<torch::Tensor(const torch::Tensor&)>;

/// A model as the pipeline handles it: its parameters and buffers (train/eval, weights files), its
/// forward, and its capture for nncf::create_compressed_model.
struct SampleModel {
  std::shared_ptr<torch::nn::Module> module;
  Forward forward;
  std::function<nncf::capture::Captured(const std::vector<at::Tensor>&)> capture;
};

/// A SampleModel of a module holder whose forward takes one tensor.
template <typename Holder>
SampleModel sample_model(Holder net) {
  SampleModel m;
  m.module = net.ptr();
  m.forward = [net](const torch::Tensor& x) mutable { return net->forward(x); };
  m.capture = [net](const std::vector<at::Tensor>& inputs) mutable {
    return nncf::capture::capture_module(net, inputs);
  };
  return m;
}

/// The metric a sample reports and selects epochs by, accumulated over batches; higher is better.
class Metric {
 public:
  virtual ~Metric() = default;
  /// One batch: the model's output and the stacked targets (Loader::batch).
  virtual void add(const torch::Tensor& output, const torch::Tensor& target) = 0;
  /// The value over every batch added so far, in percent; 0 before the first.
  virtual double value() const = 0;
};

class Task {
 public:
  virtual ~Task() = default;
  /// The sample's name, e.g. "classification": messages, the default log folder's parent.
  virtual std::string name() const = 0;
  /// The metric's short name in progress lines and logs, e.g. "acc" or "mIoU".
  virtual std::string metric_name() const = 0;

  /// The top-level config keys this sample reads besides the shared ones (config.h); others are
  /// errors.
  virtual std::set<std::string> config_keys() const = 0;
  /// Reads and checks this sample's part of a config (its keys in config.nncf.root(): the model's
  /// name and parameters, the dataset's name), defaulting what is missing (e.g. config.dataset);
  /// throws c10::Error naming the file and the JSON path.
  virtual void read_config(TrainingConfig& config) const = 0;

  /// Where the dataset of `config` lives when --data is not given.
  virtual std::string default_data_dir(const TrainingConfig& config) const = 0;
  /// The dataset of `config` at `root`: its training split (augmented or not) or its test split;
  /// `limit` > 0 keeps only that many examples. Throws std::runtime_error naming what is missing.
  virtual std::unique_ptr<ExampleSet> open_data(const TrainingConfig& config, const std::string& root,
                                                bool train, bool augment, int64_t limit) const = 0;

  /// The model of `config`, initialized from torch's global generator.
  virtual SampleModel make_model(const TrainingConfig& config) const = 0;
  /// The training loss of a batch (the compression loss is added by the loop).
  virtual torch::Tensor loss(const torch::Tensor& output, const torch::Tensor& target) const = 0;
  virtual std::unique_ptr<Metric> metric() const = 0;
};

}  // namespace nncf_sample
