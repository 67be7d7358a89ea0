#pragma once

// Filter pruning (nncf-reference.md §3.8) that really shrinks the model.
//
// The builder finds the channel-dependency groups (passes/channel_groups.h), keeps those the
// config allows, and masks each kept group's filters with FilterMask weight pre-ops: every
// producer's weight and bias, the depthwise convolutions that pass the channels on, and (with
// prune_batch_norms) the BatchNorms' scale and shift, so a masked channel is exactly zero where it
// leaves the group's last normalization. Levels come from the schedule (or set_pruning_level).
//
// shrink() then removes the masked channels physically, in place: each tensor keeps its identity
// (the same at::Tensor object, resized), so the model object, its named_parameters() and an
// optimizer's parameter groups stay valid; the optimizer's per-parameter state (SGD momentum,
// Adam/AdamW moments, RMSprop averages, Adagrad sums) is sliced alongside, and every inserted
// module on a shrunk tensor keeps its kept channels (runtime/channel_slicing.h). With an
// optimizer attached (attach_optimizer), the shrink happens by itself when the schedule freezes.
//
//   auto r = nncf::create_compressed_model(net, config);
//   auto* pruning = dynamic_cast<nncf::pruning::FilterPruningController*>(r.ctrl.get());
//   torch::optim::SGD opt(r.model->parameters(), options);
//   pruning->attach_optimizer(&opt);          // or call pruning->shrink(&opt) when you like
//
// Masked channels are exactly zero after an activation f with f(0) = 0 (ReLU-likes), so shrinking
// changes no output there. Where f(0) != 0, or without prune_batch_norms, a removed channel still
// feeds a constant into its consumers: shrink() measures what each consumer's removed input
// channels carry (the model run in eval mode on the example inputs and on random ones) and folds
// it into the consumer's bias, or into the running mean of the BatchNorm that follows a consumer
// without one. The fold is exact for linear layers and unpadded convolutions; where it cannot be
// (zero padding at the borders, a transposed convolution, a value that is not constant, nowhere
// to fold) the statistics table "shrink approximations" names the layer and why.

#include <torch/optim/optimizer.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "nncf/algorithms/controller.h"
#include "nncf/algorithms/pruning/config.h"
#include "nncf/algorithms/pruning/mask.h"
#include "nncf/algorithms/pruning/scheduler.h"
#include "nncf/passes/channel_groups.h"
#include "nncf/runtime/compressed_model.h"
#include "nncf/runtime/transformation.h"

namespace nncf::pruning {

/// One layer whose filters a group removes.
struct PrunedLayer {
  std::string scope;      ///< the op
  std::string nncf_name;  ///< NNCF's name of the op (may be empty)
  std::string weight;     ///< its weight parameter
  std::string bias;       ///< its bias parameter, or empty
  int64_t dim = 0;        ///< the weight's output-channel axis
};

/// Channels pruned together.
struct PruningGroup {
  std::vector<PrunedLayer> layers;
  int64_t channels_before = 0;  ///< in the model as built
  int64_t channels_now = 0;     ///< after the shrinks so far
  /// The kept channels: 0/1 over channels_now.
  at::Tensor keep;
  at::Tensor kept() const { return keep; }
  /// Where the group's channels sit in the masked tensors (a BatchNorm after a concatenation
  /// holds several groups side by side).
  struct Segment {
    std::string tensor;
    int64_t offset = 0;
  };
  std::vector<Segment> segments;
};

/// A group the config or the analysis leaves alone.
struct SkippedGroup {
  std::vector<std::string> layers;  ///< producer scopes
  std::vector<std::string> reasons;
};

/// A weighted op's NNCF FLOPs and parameters as built, and the groups whose channels scale them.
struct OpCost {
  int64_t flops = 0, params = 0;
  int out_group = -1;                              ///< the group of its output channels (-1: none)
  int64_t out_channels = 0;                        ///< as built
  int64_t in_columns = 0;                          ///< weight input columns as built (0: inputs not pruned)
  std::vector<std::pair<int, int64_t>> in_groups;  ///< (group, columns per channel)
};

class FilterPruningController : public CompressionController {
 public:
  /// The channels one shrink removes: tensor -> dim -> indices.
  using Plan = std::map<std::string, std::map<int64_t, std::set<int64_t>>>;

  FilterPruningController(runtime::CompressedModel model, FilterPruningConfig config,
                          std::vector<c10::IValue> example_inputs);

  std::string name() const override { return "filter_pruning"; }
  /// Keeps the data; runs BatchNorm adaptation when the section configures it.
  void initialize(const InitData& data) override;
  using CompressionController::initialize;
  at::Tensor loss() const override;
  CompressionScheduler& scheduler() override { return scheduler_; }
  Statistics statistics() const override;
  /// Level 0: uncompressed; the target level reached and the masks frozen: fully; else partially.
  CompressionStage compression_stage() const override;
  std::map<std::string, c10::IValue> state() const override;
  /// Restores the level, the freeze and the scheduler; shrinks this (freshly built) model to the
  /// channel counts saved, so that the checkpoint's tensors fit (which channels does not matter:
  /// every tensor is then loaded).
  void load_state(const std::map<std::string, c10::IValue>& state) override;

  /// Masks the least important filters for `level` (of the filters, or of the FLOPs with
  /// pruning_flops_target), counted against the model as built. No-op once frozen.
  void set_pruning_level(double level);
  double pruning_level() const { return level_; }
  void freeze();
  bool frozen() const { return frozen_; }

  /// Removes the masked channels physically (see the header comment); slices `optimizer`'s state
  /// when given. Atomic: an optimizer state or an inserted module that cannot be sliced is an
  /// error naming it, and nothing changes. A no-op when nothing is masked.
  void shrink(torch::optim::Optimizer* optimizer = nullptr) { shrink(optimizer, /*fold=*/true); }
  /// The optimizer to slice when the schedule's freeze shrinks the model (nullptr: the model stays
  /// masked until shrink() is called).
  void attach_optimizer(torch::optim::Optimizer* optimizer) override { optimizer_ = optimizer; }

  const std::vector<PruningGroup>& groups() const { return groups_; }
  const std::vector<SkippedGroup>& skipped() const { return skipped_; }
  /// NNCF's FLOPs (conv, linear and matmul multiply-adds times 2) of the model as built, and with
  /// the current masks and shrinks; 0 when the model's input shapes are unknown.
  int64_t flops_before() const { return flops_before_; }
  int64_t flops_now() const;
  /// Parameter elements of the model as built, and with the masked channels removed.
  int64_t params_before() const { return params_before_; }
  int64_t params_now() const;

  runtime::CompressedModel& model() { return model_; }
  runtime::TransformationLayout take_layout() { return std::move(layout_); }

 private:
  /// What a shrink adds to one tensor (a consumer's bias, or a BatchNorm's running mean).
  struct Fold {
    std::string tensor;
    at::Tensor delta;
  };
  void shrink(torch::optim::Optimizer* optimizer, bool fold);
  // The constants that the channels `plan` removes feed into `consumers` (conv, transposed conv
  // and linear nodes), measured by running the model; adds (layer, why) to `notes` where a fold
  // cannot keep the outputs exactly.
  std::vector<Fold> folds_for(const Plan& plan, const std::vector<const ir::Node*>& consumers,
                              std::vector<std::pair<std::string, std::string>>& notes);
  std::vector<int64_t> removed_for(double level) const;
  // The segments of every group in the masked tensors, from an analysis of the current model.
  void find_segments(const passes::ChannelGroups& analysis);
  // Writes every group's `keep` into the masks.
  void write_masks();
  int64_t flops_with(const std::vector<int64_t>& removed) const;
  std::vector<at::Tensor> importances() const;

  runtime::CompressedModel model_;
  FilterPruningConfig config_;
  PruningScheduler scheduler_;
  std::vector<PruningGroup> groups_;
  std::vector<SkippedGroup> skipped_;
  std::vector<OpCost> costs_;
  std::map<std::string, FilterMask> masks_;  // by masked tensor
  int64_t flops_before_ = 0, params_before_ = 0;
  double level_ = 0.0;
  bool frozen_ = false;
  bool nncf_spelling_ = false;
  torch::optim::Optimizer* optimizer_ = nullptr;
  InitData init_data_;
  std::vector<c10::IValue> example_inputs_;
  std::vector<std::pair<std::string, std::string>> approximations_;  // layer, why
  runtime::TransformationLayout layout_;
};

}  // namespace nncf::pruning
