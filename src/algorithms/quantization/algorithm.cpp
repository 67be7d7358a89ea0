#include "nncf/algorithms/quantization/algorithm.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <algorithm>
#include <set>

#include "nncf/algorithms/priorities.h"
#include "nncf/algorithms/quantization/hw_config.h"
#include "nncf/algorithms/quantization/onnx_export.h"

namespace nncf::quantization {
namespace {

// Records the shape of the tensor at a point.
class ShapeProbeImpl : public torch::nn::Module {
 public:
  torch::Tensor forward(const torch::Tensor& x) {
    sizes = x.sizes().vec();
    return x;
  }
  std::vector<int64_t> sizes;
};
TORCH_MODULE(ShapeProbe);

// A module name under `nncf_hooks`: the quantizer id without dots.
std::string hook_name(const std::string& id, std::set<std::string>& taken) {
  std::string name = id;
  std::replace(name.begin(), name.end(), '.', '_');
  std::string unique = name;
  for (int k = 2; taken.count(unique); ++k) unique = c10::str(name, "#", k);
  taken.insert(unique);
  return unique;
}

// Per-channel activation quantizers need their channel count: one probing forward on a copy of
// the model that shares its tensors, so the model itself is never changed.
void learn_channel_counts(const runtime::CompressedModel& model, QuantizerSetup& setup, const QuantizationConfig& config,
                          const std::vector<c10::IValue>& example_inputs) {
  std::vector<size_t> wanted;
  for (size_t i = 0; i < setup.quantizers.size(); ++i) {
    const QuantizerSpec& q = setup.quantizers[i];
    if (q.group != QuantizerGroup::Activations || !q.config.per_channel) continue;
    TORCH_CHECK(!example_inputs.empty(), "nncf: ", config.path, ": per-channel activation quantizer ", q.id,
                " needs example inputs to learn its channel count");
    wanted.push_back(i);
  }
  if (wanted.empty()) return;
  std::map<std::string, torch::Tensor> tensors;
  for (const ir::Value* v : model->graph().inputs()) {
    if (v->role() == ir::InputRole::Parameter || v->role() == ir::InputRole::Buffer)
      tensors[v->name()] = model->tensor(v->name());
  }
  runtime::CompressedModel probe(model->graph().clone(), tensors);
  std::vector<ShapeProbe> probes;
  runtime::TransformationLayout layout;
  for (size_t i : wanted) {
    probes.push_back(ShapeProbe());
    layout.insert(setup.quantizers[i].points, torch::nn::AnyModule(probes.back()), c10::str("shape_probe_", i), 0);
  }
  runtime::apply(probe, layout);
  torch::NoGradGuard no_grad;
  probe->eval();
  probe->forward(example_inputs);
  for (size_t k = 0; k < wanted.size(); ++k) {
    QuantizerSpec& q = setup.quantizers[wanted[k]];
    TORCH_CHECK(probes[k]->sizes.size() > 1, "nncf: per-channel activation quantizer ", q.id,
                " sees a tensor without a channel axis");
    q.channels = probes[k]->sizes[1];
  }
}

class QuantizationBuilder : public AlgorithmBuilder {
 public:
  QuantizationBuilder(QuantizationConfig config, const BuildContext& context)
      : config_(std::move(config)), context_(context) {
    if (!config_.compression_lr_multiplier) config_.compression_lr_multiplier = context.compression_lr_multiplier;
  }

  runtime::TransformationLayout layout(const runtime::CompressedModel& model) override {
    PlacementInputs inputs;
    inputs.target_device = context_.target_device;
    if (context_.target_device != "TRIAL") inputs.hw = &HardwareConfig::for_device(context_.target_device);
    inputs.overflow_fix_target = context_.target_device == "ANY" || context_.target_device == "CPU";
    for (const ir::Value* v : model->graph().inputs()) {
      if (v->role() == ir::InputRole::Parameter || v->role() == ir::InputRole::Buffer)
        inputs.tensor_shapes[v->name()] = model->tensor(v->name()).sizes().vec();
    }
    setup_ = place_quantizers(model->graph(), config_, inputs);
    learn_channel_counts(model, setup_, config_, context_.example_inputs);

    runtime::TransformationLayout layout;
    std::set<std::string> taken;
    quantizers_.clear();
    for (const QuantizerSpec& spec : setup_.quantizers) {
      FakeQuantizeOptions options;
      options.bits(spec.half_range ? spec.config.bits - 1 : spec.config.bits)
          .mode(spec.config.mode)
          .is_signed(spec.config.is_signed.value_or(spec.group == QuantizerGroup::Weights))
          .channels(spec.config.per_channel ? spec.channels : 0)
          .axis(spec.axis)
          .narrow_range(spec.config.narrow_range)
          .logarithm_scale(spec.group == QuantizerGroup::Weights ? config_.weights.logarithm_scale
                                                                 : config_.activations.logarithm_scale);
      Quantizer q{spec, hook_name(spec.id, taken), FakeQuantize(options)};
      if (config_.compression_lr_multiplier && *config_.compression_lr_multiplier != 1.0) {
        // NNCF's compression_lr_multiplier: the quantizer parameters' gradients are scaled, which
        // with plain SGD is a learning rate multiplied for them alone.
        const double m = *config_.compression_lr_multiplier;
        for (auto& p : q.module->parameters()) p.register_hook([m](const at::Tensor& g) { return g * m; });
      }
      layout.insert(spec.points, torch::nn::AnyModule(q.module), q.name, priority::kQuantization);
      quantizers_.push_back(std::move(q));
    }
    return layout;
  }

  std::shared_ptr<CompressionController> controller(runtime::CompressedModel model) override {
    controller_ = std::make_shared<QuantizationController>(std::move(model), config_, context_.target_device,
                                                           setup_, quantizers_);
    return controller_;
  }

  std::vector<exporting::HookExporter> hook_exporters() const override {
    std::set<const torch::nn::Module*> half_range;
    for (const Quantizer& q : quantizers_) {
      if (q.spec.half_range) half_range.insert(q.module.ptr().get());
    }
    return {fake_quantize_exporter(config_.export_to_onnx_standard_ops, half_range)};
  }

 private:
  QuantizationConfig config_;
  BuildContext context_;
  QuantizerSetup setup_;
  std::vector<Quantizer> quantizers_;
  std::shared_ptr<QuantizationController> controller_;
};

void validate(const AlgorithmConfig& section) {
  QuantizationConfig::parse(section);
}

std::unique_ptr<AlgorithmBuilder> make_builder(const AlgorithmConfig& section, const BuildContext& context) {
  return std::make_unique<QuantizationBuilder>(QuantizationConfig::parse(section), context);
}

}  // namespace

extern const Algorithm kAlgorithm = {"quantization", &validate, &make_builder};

std::shared_ptr<QuantizationController> build_quantization(runtime::CompressedModel model, QuantizationConfig config,
                                                           const std::string& target_device,
                                                           const std::vector<c10::IValue>& example_inputs) {
  BuildContext context;
  context.target_device = target_device;
  context.example_inputs = example_inputs;
  QuantizationBuilder builder(std::move(config), context);
  runtime::apply(model, builder.layout(model));
  return std::static_pointer_cast<QuantizationController>(builder.controller(model));
}

}  // namespace nncf::quantization
