#pragma once

// Transformation layouts: what an algorithm's builder wants done to a model, as data.
//
//   runtime::TransformationLayout layout;                     // a builder reads the model ...
//   layout.insert({InsertionPoint::weight("conv1.weight")}, AnyModule(mask), "conv1_weight|sparsity",
//                 priority::kSparsity);
//   merged.merge(std::move(layout));                          // ... the layouts of all algorithms merge
//   runtime::apply(model, merged);                            // ... and one transformer applies them
//
// A builder never changes the model: it returns its layout, and `apply` inserts the merged layouts
// of every algorithm with one compilation of the step list. Commands on one point run in
// ascending priority (nncf/algorithms/priorities.h says why the order is what it is); commands of
// equal priority keep the order in which they were merged.

#include <string>
#include <utility>
#include <vector>

#include "nncf/runtime/compressed_model.h"

namespace nncf::runtime {

class TransformationLayout {
 public:
  /// Inserts `module` at `points` (one module, registered once, run at every point).
  void insert(std::vector<InsertionPoint> points, torch::nn::AnyModule module, std::string name,
              int priority);
  /// Appends the commands of `other` after these.
  void merge(TransformationLayout other);
  const std::vector<Hook>& insertions() const { return insertions_; }
  bool empty() const { return insertions_.empty(); }

 private:
  std::vector<Hook> insertions_;
};

/// Applies `layout` to `model`: every insertion is validated (existing points, unique names)
/// before any is made, and the step list is compiled once. Throws c10::Error naming the first bad
/// command; the model is then unchanged.
void apply(CompressedModel& model, const TransformationLayout& layout);

}  // namespace nncf::runtime
