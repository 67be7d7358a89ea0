#include <memory>
#include <utility>

#include "nncf/algorithms/algorithm.h"
#include "nncf/algorithms/pruning/config.h"
#include "nncf/algorithms/pruning/controller.h"

namespace nncf::pruning {
namespace {

class FilterPruningBuilder : public AlgorithmBuilder {
 public:
  FilterPruningBuilder(FilterPruningConfig config, std::vector<c10::IValue> example_inputs)
      : config_(std::move(config)), example_inputs_(std::move(example_inputs)) {}

  runtime::TransformationLayout layout(const runtime::CompressedModel& model) override {
    controller_ = std::make_shared<FilterPruningController>(model, config_, example_inputs_);
    return controller_->take_layout();
  }
  std::shared_ptr<CompressionController> controller(runtime::CompressedModel) override { return controller_; }

 private:
  FilterPruningConfig config_;
  std::vector<c10::IValue> example_inputs_;
  std::shared_ptr<FilterPruningController> controller_;
};

void validate(const AlgorithmConfig& section) {
  FilterPruningConfig::parse(section);
}

std::unique_ptr<AlgorithmBuilder> make_builder(const AlgorithmConfig& section, const BuildContext& context) {
  return std::make_unique<FilterPruningBuilder>(FilterPruningConfig::parse(section), context.example_inputs);
}

}  // namespace

extern const Algorithm kFilterPruning = {"filter_pruning", &validate, &make_builder};

}  // namespace nncf::pruning
