#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>
#include <torch/types.h>

#include <iomanip>
#include <sstream>

#include "nncf/algorithms/sparsity/builder.h"
#include "nncf/algorithms/sparsity/mask.h"

namespace nncf::sparsity {
namespace {

// ---- magnitude --------------------------------------------------------------------------------

class MagnitudeSparsityController : public SparsityController {
 public:
  MagnitudeSparsityController(runtime::CompressedModel model, SparsityConfig config)
      : SparsityController(std::move(model), std::move(config)) {
    insert_masks([this](const torch::Tensor& w) {
      masks_.push_back(BinaryMask(w.sizes().vec()));
      return torch::nn::AnyModule(masks_.back());
    });
    thresholds_.assign(weights_.size(), std::nullopt);
    if (config_.sparsity_init > 0) set_sparsity_level(config_.sparsity_init, false);
  }

  void set_sparsity_level(double level, bool run_bn) override {
    TORCH_CHECK(level >= 0 && level < 1, "nncf: ", config_.path, ": sparsity level must be in [0, 1), got ",
                level);
    if (frozen_) {  // frozen masks do not change; an explicit BN adaptation still runs (NNCF)
      if (run_bn) adapt_batchnorm();
      return;
    }
    level_ = level;
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> importance;
    for (const auto& w : weights_) {
      torch::Tensor t = model_->tensor(w.weight).detach().abs().to(torch::kFloat);
      if (config_.params.weight_importance == WeightImportance::NormedAbs) {
        const double norm = t.norm().item<double>();
        if (norm > 0) t = t / norm;
      }
      importance.push_back(std::move(t));
    }
    // NNCF: threshold = sorted(importance)[int((N - 1) * level)], mask = importance > threshold.
    // At level 0 that would still drop the smallest element; nncf-cpp keeps every weight.
    auto threshold_of = [&](const torch::Tensor& flat) -> std::optional<double> {
      if (level <= 0 || flat.numel() == 0) return std::nullopt;
      const int64_t k = static_cast<int64_t>(static_cast<double>(flat.numel() - 1) * level);
      return std::get<0>(flat.kthvalue(k + 1)).item<double>();
    };
    std::optional<double> global;
    if (config_.params.sparsity_level_setting_mode == LevelSettingMode::Global) {
      std::vector<torch::Tensor> flat;
      for (const auto& t : importance) flat.push_back(t.reshape(-1));
      global = threshold_of(torch::cat(flat));
    }
    for (size_t i = 0; i < weights_.size(); ++i) {
      const std::optional<double> thr = config_.params.sparsity_level_setting_mode == LevelSettingMode::Global
                                            ? global
                                            : threshold_of(importance[i].reshape(-1));
      thresholds_[i] = thr;
      masks_[i]->mask.copy_(thr ? importance[i].gt(*thr).to(masks_[i]->mask.scalar_type())
                                : torch::ones_like(masks_[i]->mask));
    }
    if (run_bn) adapt_batchnorm();
  }

 protected:
  at::Tensor binary_mask(size_t i) const override { return masks_[i]->mask; }

  void add_statistics(Statistics& stats, StatisticsTable& layers) const override {
    layers.header.push_back("threshold");
    for (size_t i = 0; i < weights_.size(); ++i) {
      std::ostringstream s;
      if (thresholds_[i]) {
        stats.values[c10::str(config_.algorithm, ".threshold.", weights_[i].weight)] = *thresholds_[i];
        s << std::setprecision(4) << *thresholds_[i];
      } else {
        s << "-";
      }
      layers.rows[i].push_back(s.str());
    }
  }

 private:
  std::vector<BinaryMask> masks_;
  std::vector<std::optional<double>> thresholds_;
};

}  // namespace

extern const Algorithm kMagnitudeSparsity = {"magnitude_sparsity", &validate_sparsity,
                                             &make_sparsity_builder<MagnitudeSparsityController>};

}  // namespace nncf::sparsity
