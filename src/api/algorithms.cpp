#include "nncf/api/algorithms.h"

namespace nncf {

// Each entry is a constant-initialized aggregate defined in its algorithm's folder; the table is
// an explicit list, so there is no registration by static initializers and no order to depend on.
namespace quantization {
extern const Algorithm kAlgorithm;
}
namespace sparsity {
extern const Algorithm kMagnitudeSparsity;
extern const Algorithm kRBSparsity;
extern const Algorithm kConstSparsity;
}  // namespace sparsity
namespace pruning {
extern const Algorithm kFilterPruning;
}
namespace binarization {
extern const Algorithm kBinarization;
}

const std::vector<const Algorithm*>& algorithm_table() {
  static const std::vector<const Algorithm*> kTable = {
      &quantization::kAlgorithm, &sparsity::kMagnitudeSparsity, &sparsity::kRBSparsity,
      &sparsity::kConstSparsity, &pruning::kFilterPruning,      &binarization::kBinarization,
  };
  return kTable;
}

const Algorithm* find_algorithm(const std::string& name) {
  for (const Algorithm* a : algorithm_table()) {
    if (name == a->name) return a;
  }
  return nullptr;
}

}  // namespace nncf
