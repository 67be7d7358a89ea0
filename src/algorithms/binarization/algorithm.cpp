// The `binarization` entry of the algorithm table: builder, and how its modules are written to ONNX
// (nncf-reference.md §1.6): the weights' initializer already holds the binarized values (every
// weight pre-op is evaluated); activations are written as
//   default (OpenVINO):  FakeQuantize(x, t, t, 0, S, levels=2) in org.openvinotoolkit, and the
//                        weights as FakeQuantize(w, 0, 0, -s, s, levels=2) with s = ReduceMean(|w|)
//                        over each output channel, as NNCF writes them;
//   standard ops:        Where(Greater(x, t), S, 0) (ONNX Runtime runs it); weights as they are.
// with t = T * S per channel ([1, C, 1, 1]).

#include <torch/types.h>

#include <memory>
#include <utility>

#include "nncf/algorithms/algorithm.h"
#include "nncf/algorithms/binarization/config.h"
#include "nncf/algorithms/binarization/controller.h"
#include "nncf/export/onnx.h"

namespace nncf::binarization {
namespace {

std::optional<std::string> write_weights(const WeightBinarizerImpl& m, const std::string& input,
                                         exporting::OnnxBuilder& b, bool standard_ops) {
  if (!m.is_enabled() || standard_ops) return input;
  const std::string abs = b.add("Abs", {input});
  const std::string s =
      b.add("ReduceMean", {abs}, {{"axes", std::vector<int64_t>{1, 2, 3}}, {"keepdims", int64_t{1}}});
  const std::string minus = b.add("Neg", {s});
  const std::string zero = b.add_float_scalar("binarize_zero", 0.0F);
  const std::string out = b.unique_name("binarized_weight");
  b.add_node("FakeQuantize", {input, zero, zero, minus, s}, {out}, {{"levels", int64_t{2}}},
             "org.openvinotoolkit", 1);
  if (auto shape = b.shape(input)) b.set_shape(out, *shape);
  return out;
}

std::optional<std::string> write_activations(const ActivationBinarizerImpl& m, const std::string& input,
                                             exporting::OnnxBuilder& b, bool standard_ops) {
  if (!m.is_enabled()) return input;
  torch::NoGradGuard no_grad;
  const at::Tensor t = m.switch_points().detach().reshape({1, -1, 1, 1}).to(torch::kFloat);
  const at::Tensor s = m.scale().detach().reshape({}).to(torch::kFloat);
  const std::string points = b.add_initializer("binarize_switch_points", t);
  const std::string level = b.add_initializer("binarize_level", s);
  const std::string zero = b.add_float_scalar("binarize_zero", 0.0F);
  if (standard_ops) {
    const std::string above = b.add("Greater", {input, points});
    return b.add("Where", {above, level, zero}, {}, "binarized");
  }
  const std::string out = b.unique_name("binarized");
  b.add_node("FakeQuantize", {input, points, points, zero, level}, {out}, {{"levels", int64_t{2}}},
             "org.openvinotoolkit", 1);
  if (auto shape = b.shape(input)) b.set_shape(out, *shape);
  return out;
}

exporting::HookExporter binarizer_exporter(bool standard_ops) {
  exporting::HookExporter e;
  e.write = [standard_ops](const torch::nn::Module& module, const std::string& input,
                           exporting::OnnxBuilder& b,
                           const exporting::WeightInput* weight) -> std::optional<std::string> {
    if (const auto* w = dynamic_cast<const WeightBinarizerImpl*>(&module)) {
      (void)weight;
      return write_weights(*w, input, b, standard_ops);
    }
    if (const auto* a = dynamic_cast<const ActivationBinarizerImpl*>(&module))
      return write_activations(*a, input, b, standard_ops);
    return std::nullopt;
  };
  // A BatchNorm folded into a binarized weight scales each output channel: the values stay
  // sign(w) times a per-channel magnitude, which the per-channel ReduceMean recovers exactly.
  e.can_fold = [](const torch::nn::Module&, const at::Tensor&, const at::Tensor&) { return true; };
  return e;
}

class BinarizationBuilder : public AlgorithmBuilder {
 public:
  BinarizationBuilder(BinarizationConfig config, bool standard_ops)
      : config_(std::move(config)), standard_ops_(standard_ops) {}

  std::vector<std::string> replaced_ops(const runtime::CompressedModel& model) override {
    if (!controller_) controller_ = std::make_shared<BinarizationController>(model, config_);
    std::vector<std::string> ops;
    for (const BinarizedConv& l : controller_->layers()) ops.push_back(l.scope);
    return ops;
  }
  runtime::TransformationLayout layout(const runtime::CompressedModel& model) override {
    if (!controller_) controller_ = std::make_shared<BinarizationController>(model, config_);
    return controller_->take_layout();
  }
  std::shared_ptr<CompressionController> controller(runtime::CompressedModel) override { return controller_; }
  std::vector<exporting::HookExporter> hook_exporters() const override {
    return {binarizer_exporter(standard_ops_)};
  }

 private:
  BinarizationConfig config_;
  bool standard_ops_;
  std::shared_ptr<BinarizationController> controller_;
};

void validate(const AlgorithmConfig& section) {
  BinarizationConfig::parse(section);
}

std::unique_ptr<AlgorithmBuilder> make_builder(const AlgorithmConfig& section, const BuildContext& context) {
  BinarizationConfig config = BinarizationConfig::parse(section);
  if (!config.compression_lr_multiplier) config.compression_lr_multiplier = context.compression_lr_multiplier;
  const bool standard_ops = config.export_to_onnx_standard_ops;
  return std::make_unique<BinarizationBuilder>(std::move(config), standard_ops);
}

}  // namespace

extern const Algorithm kBinarization = {"binarization", &validate, &make_builder};

}  // namespace nncf::binarization
