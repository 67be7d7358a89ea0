#include "nncf/runtime/transformation.h"

namespace nncf::runtime {

void TransformationLayout::insert(std::vector<InsertionPoint> points, torch::nn::AnyModule module,
                                  std::string name, int priority) {
  insertions_.push_back({std::move(points), std::move(name), std::move(module), priority});
}

void TransformationLayout::merge(TransformationLayout other) {
  for (Hook& h : other.insertions_) insertions_.push_back(std::move(h));
}

void apply(CompressedModel& model, const TransformationLayout& layout) {
  if (layout.empty()) return;
  model->insert(layout.insertions());
}

}  // namespace nncf::runtime
