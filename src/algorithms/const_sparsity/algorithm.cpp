#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>
#include <torch/types.h>

#include <iomanip>
#include <sstream>

#include "nncf/algorithms/sparsity/builder.h"
#include "nncf/algorithms/sparsity/mask.h"

namespace nncf::sparsity {
namespace {

// ---- const ------------------------------------------------------------------------------------

class ConstSparsityController : public SparsityController {
 public:
  ConstSparsityController(runtime::CompressedModel model, SparsityConfig config)
      : SparsityController(std::move(model), std::move(config)) {
    insert_masks([this](const torch::Tensor& w) {
      masks_.push_back(BinaryMask(w.sizes().vec()));
      torch::NoGradGuard no_grad;
      masks_.back()->mask.copy_(w.detach().ne(0).to(masks_.back()->mask.scalar_type()));
      return torch::nn::AnyModule(masks_.back());
    });
    level_ = current_sparsity();
    frozen_ = true;
  }

  void set_sparsity_level(double, bool) override {
    TORCH_CHECK(false, "nncf: ", config_.path,
                ": const_sparsity keeps the model's zeros; its level cannot be set");
  }
  CompressionStage compression_stage() const override { return CompressionStage::FullyCompressed; }

 protected:
  at::Tensor binary_mask(size_t i) const override { return masks_[i]->mask; }

 private:
  std::vector<BinaryMask> masks_;
};

}  // namespace

extern const Algorithm kConstSparsity = {"const_sparsity", &validate_sparsity,
                                         &make_sparsity_builder<ConstSparsityController>};

}  // namespace nncf::sparsity
