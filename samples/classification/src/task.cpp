#include "task.h"

#include <c10/util/StringUtil.h>
#include <torch/nn/functional/loss.h>

#include "datasets.h"
#include "pipeline.h"
#include "sample_config.h"

namespace nncf_sample {
namespace {

class TopOneAccuracy : public Metric {
 public:
  void add(const torch::Tensor& output, const torch::Tensor& target) override {
    correct_ += output.argmax(1).eq(target).sum().item<int64_t>();
    seen_ += target.size(0);
  }
  double value() const override {
    return seen_ ? 100.0 * static_cast<double>(correct_) / static_cast<double>(seen_) : 0;
  }

 private:
  int64_t correct_ = 0, seen_ = 0;
};

}  // namespace

std::set<std::string> ClassificationTask::config_keys() const {
  return classification_config_keys();
}

void ClassificationTask::read_config(TrainingConfig& config) const {
  read_classification_config(config);
}

std::string ClassificationTask::default_data_dir(const TrainingConfig& config) const {
  if (config.dataset == "fashion_mnist") return "/usr/share/datasets/fashion-mnist";
  return c10::str("data/", config.dataset);
}

std::unique_ptr<ExampleSet> ClassificationTask::open_data(const TrainingConfig& config,
                                                          const std::string& root, bool train, bool augment,
                                                          int64_t limit) const {
  DatasetOptions d;
  d.name = config.dataset;
  d.root = root;
  d.channels = config.sample_size[1];
  if (config.dataset == "image_folder" || config.dataset == "imagenet") d.image_size = config.sample_size[2];
  d.train = train;
  d.augment = augment;
  d.limit = limit;
  return open_dataset(d);
}

SampleModel ClassificationTask::make_model(const TrainingConfig& config) const {
  TrainingConfig c = config;
  return sample_model(nncf_sample::make_model(read_classification_config(c)));
}

torch::Tensor ClassificationTask::loss(const torch::Tensor& output, const torch::Tensor& target) const {
  return torch::nn::functional::cross_entropy(output, target);
}

std::unique_ptr<Metric> ClassificationTask::metric() const {
  return std::make_unique<TopOneAccuracy>();
}

RunSummary run(const RunOptions& options) {
  return run(options, ClassificationTask());
}

}  // namespace nncf_sample
