#pragma once

// The classification task of the shared pipeline (common/task.h): the datasets of datasets.h, the
// models of models.h, cross-entropy, and top-1 accuracy.

#include "common/task.h"

namespace nncf_sample {

class ClassificationTask : public Task {
 public:
  std::string name() const override { return "classification"; }
  std::string metric_name() const override { return "acc"; }
  std::set<std::string> config_keys() const override;
  void read_config(TrainingConfig& config) const override;
  /// Debian's Fashion-MNIST for fashion_mnist, data/<dataset> otherwise.
  std::string default_data_dir(const TrainingConfig& config) const override;
  std::unique_ptr<ExampleSet> open_data(const TrainingConfig& config, const std::string& root, bool train,
                                        bool augment, int64_t limit) const override;
  SampleModel make_model(const TrainingConfig& config) const override;
  torch::Tensor loss(const torch::Tensor& output, const torch::Tensor& target) const override;
  /// Top-1 accuracy: the argmax of the logits [N, classes] against the labels [N].
  std::unique_ptr<Metric> metric() const override;
};

}  // namespace nncf_sample
