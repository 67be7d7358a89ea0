#pragma once

// Quantization-aware training: the controller that initializes, schedules and reports the
// FakeQuantize modules the quantization builder (algorithm.h) placed into a CompressedModel.
//
//   auto ctrl = nncf::quantization::build_quantization(model, config, "CPU", example_inputs);
//   ctrl->initialize(*train_loader);        // range init, then BatchNorm adaptation
//   ... train `model` with any torch::optim optimizer ...

#include <torch/nn/modules/container/any.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nncf/algorithms/controller.h"
#include "nncf/algorithms/quantization/config.h"
#include "nncf/algorithms/quantization/fake_quantize.h"
#include "nncf/algorithms/quantization/placement.h"
#include "nncf/runtime/compressed_model.h"

namespace nncf::quantization {

/// One inserted quantizer.
struct Quantizer {
  QuantizerSpec spec;
  /// The module's name under `nncf_hooks`.
  std::string name;
  FakeQuantize module{nullptr};
};

class QuantizationController : public CompressionController {
 public:
  /// The controller of `quantizers`, placed by `setup` and already inserted into `model` (the
  /// quantization builder, nncf/algorithms/quantization/algorithm.h, makes and inserts them).
  QuantizationController(runtime::CompressedModel model, QuantizationConfig config, std::string target_device,
                         QuantizerSetup setup, std::vector<Quantizer> quantizers);
  ~QuantizationController() override;

  std::string name() const override { return "quantization"; }
  /// Range initialization (`initializer.range`) then BatchNorm adaptation
  /// (`initializer.batchnorm_adaptation`); on a resumed controller (after load_state) neither: it
  /// only takes the data. The data is kept for the staged scheduler, which re-initializes ranges
  /// when it enables a group of quantizers; it must outlive the controller when `params` (staged
  /// quantization) is configured. A staged scheduler with such a range init still ahead and no
  /// data fails at its first step()/epoch_step(), naming ctrl->initialize(loader).
  void initialize(const InitData& data) override;
  using CompressionController::initialize;
  /// Range initialization alone: statistics of the floating-point model (all quantizers off) in
  /// eval mode, without gradients; quantizers keep their state where no entry applies.
  void init_range(const InitData& data);
  /// `samples` forward passes' worth of batches with BatchNorm in training mode and everything
  /// else in eval mode, without gradients (NNCF's BN adaptation).
  void run_batchnorm_adaptation(const InitData& data, int64_t samples);

  at::Tensor loss() const override;
  CompressionScheduler& scheduler() override;
  Statistics statistics() const override;
  CompressionStage compression_stage() const override;
  /// With staged `params`: the poly learning-rate drop and the weight-decay switch (see
  /// staged_lr_multiplier); otherwise 1 and true.
  double learning_rate_multiplier(double epoch) const override {
    return config_.staged ? staged_lr_multiplier(*config_.staged, epoch) : 1.0;
  }
  bool weight_decay_enabled(double epoch) const override {
    return !config_.staged || staged_weight_decay_enabled(*config_.staged, epoch);
  }
  /// The quantizers' ids and the scheduler position. After load_state, initialize() only keeps
  /// the data (the ranges come from the checkpoint).
  std::map<std::string, c10::IValue> state() const override;
  void load_state(const std::map<std::string, c10::IValue>& state) override;

  void enable_weight_quantization() { set_enabled(QuantizerGroup::Weights, true); }
  void disable_weight_quantization() { set_enabled(QuantizerGroup::Weights, false); }
  void enable_activation_quantization() { set_enabled(QuantizerGroup::Activations, true); }
  void disable_activation_quantization() { set_enabled(QuantizerGroup::Activations, false); }
  void set_enabled(QuantizerGroup group, bool enabled);

  const QuantizerSetup& setup() const { return setup_; }
  const std::vector<Quantizer>& quantizers() const { return quantizers_; }
  const QuantizationConfig& config() const { return config_; }
  runtime::CompressedModel& model() { return model_; }
  /// The data given to initialize(), if any (the staged scheduler re-runs range init on it).
  const InitData& init_data() const { return init_data_; }

 private:
  class Scheduler;

  runtime::CompressedModel model_;
  QuantizationConfig config_;
  std::string target_device_;
  QuantizerSetup setup_;
  std::vector<Quantizer> quantizers_;
  InitData init_data_;
  std::unique_ptr<CompressionScheduler> scheduler_;
  bool resumed_ = false;
};

}  // namespace nncf::quantization
