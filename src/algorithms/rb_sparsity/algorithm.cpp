#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>
#include <torch/types.h>

#include <iomanip>
#include <sstream>

#include <torch/autograd.h>
#include "nncf/algorithms/sparsity/builder.h"
#include "nncf/algorithms/sparsity/mask.h"

#include "nncf/kernels/rb_mask.h"

namespace nncf::sparsity {
namespace {

// ---- RB ---------------------------------------------------------------------------------------

// NNCF's scale of the density error in the loss.
constexpr double kRBLossScale = 0.05;

// The number of kept weights, [m > 0] summed, with the straight-through gradient of
// sigmoid(m) summed: d/dm = sigmoid'(m).
struct KeptCount : public torch::autograd::Function<KeptCount> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& m) {
    ctx->save_for_backward({m});
    return m.gt(0).sum().to(m.scalar_type());
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const torch::Tensor m = ctx->get_saved_variables()[0];
    return {kernels::rb_sigmoid_backward(grads[0], m)};  // one fused pass
  }
};

class RBSparsityController : public SparsityController {
 public:
  RBSparsityController(runtime::CompressedModel model, SparsityConfig config)
      : SparsityController(std::move(model), std::move(config)) {
    insert_masks([this](const torch::Tensor& w) {
      masks_.push_back(RBMask(w.sizes().vec()));
      return torch::nn::AnyModule(masks_.back());
    });
    level_ = config_.sparsity_init;
  }

  void set_sparsity_level(double level, bool run_bn) override {
    TORCH_CHECK(level >= 0 && level < 1, "nncf: ", config_.path, ": sparsity level must be in [0, 1), got ",
                level);
    level_ = level;
    if (run_bn) adapt_batchnorm();
  }

  void freeze() override {
    SparsityController::freeze();
    for (auto& m : masks_) m->set_frozen(true);
  }

  // Density with a straight-through gradient: the value counts kept weights ([m > 0]), the
  // gradient flows through sigmoid(m). Global: ((density - target) / 0.05)^2. Local: the sum of
  // the per-layer terms (NNCF's local form reads an attribute its masks do not have; this is the
  // per-layer analogue of the global loss).
  at::Tensor loss() const override {
    if (frozen_ || masks_.empty()) return at::zeros({});
    const double target = 1.0 - level_;
    if (config_.params.sparsity_level_setting_mode == LevelSettingMode::Global) {
      torch::Tensor kept = at::zeros({});
      int64_t total = 0;
      for (const auto& m : masks_) {
        kept = kept + KeptCount::apply(m->mask);
        total += m->mask.numel();
      }
      return ((kept / static_cast<double>(total) - target) / kRBLossScale).pow(2);
    }
    torch::Tensor loss = at::zeros({});
    for (const auto& m : masks_) {
      loss =
          loss +
          ((KeptCount::apply(m->mask) / static_cast<double>(m->mask.numel()) - target) / kRBLossScale).pow(2);
    }
    return loss;
  }

 protected:
  at::Tensor binary_mask(size_t i) const override { return masks_[i]->binary_mask(); }

  void add_statistics(Statistics& stats, StatisticsTable& layers) const override {
    layers.header.push_back("mean keep probability");
    double sum = 0;
    int64_t total = 0;
    for (size_t i = 0; i < masks_.size(); ++i) {
      const torch::Tensor p = masks_[i]->mask.detach().sigmoid();
      layers.rows[i].push_back(percent(p.mean().item<double>()));
      sum += p.sum().item<double>();
      total += p.numel();
    }
    stats.values[config_.algorithm + ".mean_sparse_prob"] =
        total ? 1.0 - sum / static_cast<double>(total) : 0.0;
  }

 private:
  std::vector<RBMask> masks_;
};

}  // namespace

extern const Algorithm kRBSparsity = {"rb_sparsity", &validate_sparsity,
                                      &make_sparsity_builder<RBSparsityController>};

}  // namespace nncf::sparsity
