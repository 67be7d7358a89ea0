#pragma once

// The builder the three sparsity algorithms share (magnitude_sparsity, rb_sparsity and
// const_sparsity each have their folder and their entry in the algorithm table): the section is
// parsed into a SparsityConfig, the controller is made on the model (it reads the weights) and
// hands over its masks as a layout.

#include <memory>
#include <utility>

#include "nncf/algorithms/algorithm.h"
#include "nncf/algorithms/sparsity/config.h"
#include "nncf/algorithms/sparsity/controller.h"

namespace nncf::sparsity {

template <typename Controller>
class SparsityBuilder : public AlgorithmBuilder {
 public:
  explicit SparsityBuilder(SparsityConfig config) : config_(std::move(config)) {}

  runtime::TransformationLayout layout(const runtime::CompressedModel& model) override {
    controller_ = std::make_shared<Controller>(model, config_);
    return controller_->take_layout();
  }
  std::shared_ptr<CompressionController> controller(runtime::CompressedModel) override { return controller_; }

 private:
  SparsityConfig config_;
  std::shared_ptr<Controller> controller_;
};

inline void validate_sparsity(const AlgorithmConfig& section) {
  SparsityConfig::parse(section);
}

template <typename Controller>
std::unique_ptr<AlgorithmBuilder> make_sparsity_builder(const AlgorithmConfig& section,
                                                        const BuildContext& context) {
  SparsityConfig config = SparsityConfig::parse(section);
  if (!config.compression_lr_multiplier) config.compression_lr_multiplier = context.compression_lr_multiplier;
  return std::make_unique<SparsityBuilder<Controller>>(std::move(config));
}

}  // namespace nncf::sparsity
