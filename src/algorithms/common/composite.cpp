#include "nncf/algorithms/composite.h"

#include <ATen/ops/zeros.h>
#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>

namespace nncf {

CompositeController::CompositeController(std::vector<std::shared_ptr<CompressionController>> children)
    : children_(std::move(children)) {
  TORCH_CHECK(!children_.empty(), "nncf::CompositeController: no algorithms");
}

std::string CompositeController::name() const {
  std::vector<std::string> names;
  for (const auto& c : children_) names.push_back(c->name());
  return c10::Join("+", names);
}

void CompositeController::initialize(const InitData& data) {
  for (const bool late : {false, true}) {
    for (const auto& c : children_) {
      if (c->initializes_on_compressed_activations() == late) c->initialize(data);
    }
  }
}

at::Tensor CompositeController::loss() const {
  at::Tensor total = at::zeros({});
  for (const auto& c : children_) total = total + c->loss();
  return total;
}

Statistics CompositeController::statistics() const {
  Statistics stats;
  for (const auto& c : children_) stats.merge(c->statistics());
  return stats;
}

CompressionStage CompositeController::compression_stage() const {
  const CompressionStage first = children_.front()->compression_stage();
  for (const auto& c : children_) {
    if (c->compression_stage() != first) return CompressionStage::PartiallyCompressed;
  }
  return first;
}

std::map<std::string, c10::IValue> CompositeController::state() const {
  std::map<std::string, c10::IValue> s;
  for (size_t i = 0; i < children_.size(); ++i) {
    for (const auto& [k, v] : children_[i]->state()) s[c10::str(i, ".", children_[i]->name(), ".", k)] = v;
  }
  for (const auto& [k, v] : scheduler_.state()) s["scheduler." + k] = v;
  return s;
}

void CompositeController::load_state(const std::map<std::string, c10::IValue>& s) {
  for (size_t i = 0; i < children_.size(); ++i) {
    const std::string prefix = c10::str(i, ".", children_[i]->name(), ".");
    std::map<std::string, c10::IValue> mine;
    for (const auto& [k, v] : s) {
      if (k.rfind(prefix, 0) == 0) mine[k.substr(prefix.size())] = v;
    }
    children_[i]->load_state(mine);
  }
  std::map<std::string, double> sched;
  for (const auto& [k, v] : s) {
    if (k.rfind("scheduler.", 0) == 0) sched[k.substr(10)] = v.toDouble();
  }
  scheduler_.CompressionScheduler::load_state(sched);
}

void CompositeController::Scheduler::step(std::optional<int64_t> next_step) {
  CompressionScheduler::step(next_step);
  for (const auto& c : owner_.children_) c->scheduler().step(next_step);
}

void CompositeController::Scheduler::epoch_step(std::optional<int64_t> next_epoch) {
  CompressionScheduler::epoch_step(next_epoch);
  for (const auto& c : owner_.children_) c->scheduler().epoch_step(next_epoch);
}

}  // namespace nncf
