#pragma once

// Several algorithms on one model (`compression` given as a list): the composite controller sums
// the losses, fans scheduler steps out to every child, merges statistics and combines the stages
// (all equal: that stage; otherwise partially compressed).

#include <memory>
#include <vector>

#include "nncf/algorithms/controller.h"

namespace nncf {

class CompositeController : public CompressionController {
 public:
  explicit CompositeController(std::vector<std::shared_ptr<CompressionController>> children);

  std::string name() const override;
  /// Each child's initialize(), those that measure compressed activations
  /// (initializes_on_compressed_activations) last.
  void initialize(const InitData& data) override;
  bool initializes_on_compressed_activations() const override {
    for (const auto& c : children_)
      if (c->initializes_on_compressed_activations()) return true;
    return false;
  }
  using CompressionController::initialize;
  at::Tensor loss() const override;
  CompressionScheduler& scheduler() override { return scheduler_; }
  Statistics statistics() const override;
  CompressionStage compression_stage() const override;
  /// Each child's state under `<index>.<algorithm>.`.
  std::map<std::string, c10::IValue> state() const override;
  void load_state(const std::map<std::string, c10::IValue>& state) override;
  void attach_optimizer(torch::optim::Optimizer* optimizer) override {
    for (const auto& c : children_) c->attach_optimizer(optimizer);
  }
  double learning_rate_multiplier(double epoch) const override {
    double m = 1.0;
    for (const auto& c : children_) m *= c->learning_rate_multiplier(epoch);
    return m;
  }
  bool weight_decay_enabled(double epoch) const override {
    for (const auto& c : children_)
      if (!c->weight_decay_enabled(epoch)) return false;
    return true;
  }

  const std::vector<std::shared_ptr<CompressionController>>& children() const { return children_; }
  /// The first child of type T, or nullptr.
  template <typename T>
  std::shared_ptr<T> find() const {
    for (const auto& c : children_) {
      if (auto t = std::dynamic_pointer_cast<T>(c)) return t;
    }
    return nullptr;
  }

 private:
  class Scheduler : public CompressionScheduler {
   public:
    explicit Scheduler(CompositeController& owner) : owner_(owner) {}
    void step(std::optional<int64_t> next_step) override;
    void epoch_step(std::optional<int64_t> next_epoch) override;

   private:
    CompositeController& owner_;
  };

  std::vector<std::shared_ptr<CompressionController>> children_;
  Scheduler scheduler_{*this};
};

}  // namespace nncf
