#pragma once

// Sparsity algorithms (nncf-reference.md §3.5–3.7): masks on the weights of every conv, linear,
// matmul and embedding op that the section's scopes consider, inserted as weight pre-ops before any
// quantizer on the same weight (priority 3 < 11), so thresholds and quantizers see the right
// tensors.
//
//  * magnitude_sparsity: binary masks from weight importance (|w| or |w| / ||W||_2) against a
//    threshold at the scheduled level, global (one threshold over all layers) or local (per layer).
//  * rb_sparsity: trainable mask logits with a stochastic binary mask and a loss that drives the
//    density to the scheduled target.
//  * const_sparsity: keeps the zeros the weights already have.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nncf/algorithms/controller.h"
#include "nncf/algorithms/sparsity/config.h"
#include "nncf/runtime/compressed_model.h"
#include "nncf/runtime/transformation.h"

namespace nncf::sparsity {

class SparsityScheduler;

/// One sparsified weight.
struct SparsifiedWeight {
  std::string weight;               ///< the parameter's name
  std::vector<std::string> scopes;  ///< ops that use it
  std::string name;                 ///< the mask module's name under `nncf_hooks`
  std::string nncf_name;            ///< NNCF's name of the first op that uses it (may be empty)
};

class SparsityController : public CompressionController {
 public:
  std::string name() const override { return config_.algorithm; }
  /// Keeps the data for set_sparsity_level(level, true); runs nothing (NNCF's sparsity has no
  /// data-driven initialization, and BN adaptation runs only when set_sparsity_level asks for it).
  void initialize(const InitData& data) override;
  using CompressionController::initialize;
  at::Tensor loss() const override;
  CompressionScheduler& scheduler() override { return *scheduler_; }
  /// As NNCF: global mode compares the schedule's current level with its target level (the last
  /// multistep level, `sparsity_target` otherwise): at or above it fully compressed, else 0
  /// uncompressed, else partially. The schedule's level, not the masks': masks frozen before the
  /// target keep their level and the compression still completes with the schedule. Local mode
  /// (no schedule) and const sparsity are fully compressed.
  CompressionStage compression_stage() const override;
  Statistics statistics() const override;
  std::map<std::string, c10::IValue> state() const override;
  void load_state(const std::map<std::string, c10::IValue>& state) override;

  /// Sets the target level (fraction of zeros): magnitude recomputes its masks (unless frozen),
  /// RB retargets its loss. `run_batchnorm_adaptation` then runs one BN-adaptation pass of
  /// `initializer.batchnorm_adaptation.num_bn_adaptation_samples` on the data given to
  /// initialize() (nothing when the section is absent); it throws c10::Error when no data was
  /// given. The scheduler calls this without BN adaptation (NNCF), so per-step level updates cost
  /// no extra passes.
  virtual void set_sparsity_level(double level, bool run_batchnorm_adaptation = false);
  /// Masks stop changing (magnitude: no recomputation; RB: deterministic masks, zero loss).
  virtual void freeze();
  bool frozen() const { return frozen_; }
  /// The level last set (the scheduler's).
  double sparsity_level() const { return level_; }
  /// The fraction of zeros the masks hold now, over all sparsified weights.
  double current_sparsity() const;

  const SparsityConfig& config() const { return config_; }
  const std::vector<SparsifiedWeight>& weights() const { return weights_; }
  runtime::CompressedModel& model() { return model_; }
  /// The masks to insert (taken once, by the builder; the constructor inserts nothing).
  runtime::TransformationLayout take_layout() { return std::move(layout_); }

 protected:
  SparsityController(runtime::CompressedModel model, SparsityConfig config);
  /// Adds one mask per weight to the layout; `make` builds the module for a weight tensor.
  void insert_masks(const std::function<torch::nn::AnyModule(const torch::Tensor&)>& make);
  /// The binary mask currently applied to weight `i` (as float, the weight's shape).
  virtual at::Tensor binary_mask(size_t i) const = 0;
  /// Extra per-layer columns and values for statistics.
  virtual void add_statistics(Statistics& stats, StatisticsTable& layers) const { (void)stats, (void)layers; }
  /// One BN-adaptation pass on the initialize() data, for set_sparsity_level(level, true).
  void adapt_batchnorm();
  /// `v` as a percentage with two decimals.
  static std::string percent(double v);

  runtime::CompressedModel model_;
  SparsityConfig config_;
  std::vector<SparsifiedWeight> weights_;
  std::unique_ptr<CompressionScheduler> scheduler_;
  /// scheduler_ when it is a level schedule (global mode), else nullptr.
  const SparsityScheduler* level_scheduler_ = nullptr;
  InitData init_data_;
  double level_ = 0.0;
  bool frozen_ = false;
  /// The config named layers in NNCF's spelling: statistics do too.
  bool nncf_spelling_ = false;
  runtime::TransformationLayout layout_;
};

}  // namespace nncf::sparsity
