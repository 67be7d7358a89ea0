#pragma once

// Binarization (nncf-reference.md §2.5, §3.4): every selected 2-D convolution gets a
// WeightBinarizer on its weight and an ActivationBinarizer on its input (binarizer.h). The staged
// schedule (`params`) switches the activation binarizers on at activations_quant_start_epoch and
// the weight binarizers at weights_quant_start_epoch (NNCF's defaults: epoch 1 each), running
// BatchNorm adaptation then when the initializer asks for it; the controller also says what the
// schedule asks of the optimizer (learning_rate_multiplier, weight_decay_enabled), which the
// training loop applies.
//
//   auto r = nncf::create_compressed_model(net, config);
//   r.ctrl->initialize(loader);                       // activation scales, data for BN adaptation
//   for (int64_t epoch = 0; epoch < epochs; ++epoch) {
//     r.ctrl->scheduler().epoch_step();
//     for (size_t i = 0; i < batches; ++i) {
//       const double e = epoch + static_cast<double>(i) / batches;
//       set_lr(base_lr * r.ctrl->learning_rate_multiplier(e));
//       set_weight_decay(r.ctrl->weight_decay_enabled(e) ? wd : 0.0);
//       ...
//
// Which convolutions: every aten::conv2d that the scopes select (NNCF binarizes Conv2d modules
// only). NNCF does not leave out the first convolution or the downsampling branches by itself:
// its shipped configs list them in ignored_scopes, and so must a config here.

#include <memory>
#include <string>
#include <vector>

#include "nncf/algorithms/binarization/binarizer.h"
#include "nncf/algorithms/binarization/config.h"
#include "nncf/algorithms/controller.h"
#include "nncf/runtime/compressed_model.h"
#include "nncf/runtime/transformation.h"

namespace nncf::binarization {

/// One binarized convolution.
struct BinarizedConv {
  std::string scope;      ///< the op
  std::string nncf_name;  ///< NNCF's name of the op (may be empty)
  std::string weight;     ///< its weight parameter
  WeightBinarizer weights;
  ActivationBinarizer activations;
};

class BinarizationController : public CompressionController {
 public:
  BinarizationController(runtime::CompressedModel model, BinarizationConfig config);
  ~BinarizationController() override;

  std::string name() const override { return "binarization"; }
  /// Sets the activation scales from the data when initializer.range.num_init_samples asks for it,
  /// and keeps the data for the BatchNorm adaptations of the schedule.
  void initialize(const InitData& data) override;
  /// The activation scales come from the binarizers' inputs as the other algorithms make them.
  bool initializes_on_compressed_activations() const override { return true; }
  using CompressionController::initialize;
  at::Tensor loss() const override;
  CompressionScheduler& scheduler() override;
  Statistics statistics() const override;
  /// Uncompressed with nothing binarized, fully with weights and activations, else partially.
  CompressionStage compression_stage() const override;
  std::map<std::string, c10::IValue> state() const override;
  void load_state(const std::map<std::string, c10::IValue>& state) override;
  double learning_rate_multiplier(double epoch) const override {
    return quantization::staged_lr_multiplier(config_.staged, epoch);
  }
  bool weight_decay_enabled(double epoch) const override {
    return quantization::staged_weight_decay_enabled(config_.staged, epoch);
  }

  void enable_activation_binarization(bool on = true);
  void enable_weight_binarization(bool on = true);
  const std::vector<BinarizedConv>& layers() const { return layers_; }
  const BinarizationConfig& config() const { return config_; }
  runtime::TransformationLayout take_layout() { return std::move(layout_); }

 private:
  class Scheduler;
  void adapt_batchnorm();

  runtime::CompressedModel model_;
  BinarizationConfig config_;
  std::vector<BinarizedConv> layers_;
  bool nncf_spelling_ = false;
  InitData init_data_;
  runtime::TransformationLayout layout_;
  std::unique_ptr<Scheduler> scheduler_;
};

}  // namespace nncf::binarization
