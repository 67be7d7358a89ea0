#include "nncf/algorithms/quantization/algorithm.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>

#include <algorithm>
#include <set>

#include "nncf/algorithms/model_shapes.h"
#include "nncf/algorithms/priorities.h"
#include "nncf/algorithms/quantization/hw_config.h"
#include "nncf/algorithms/quantization/onnx_export.h"
#include "nncf/passes/shape_inference.h"

namespace nncf::quantization {
namespace {

// A module name under `nncf_hooks`: the quantizer id without dots.
std::string hook_name(const std::string& id, std::set<std::string>& taken) {
  std::string name = id;
  std::replace(name.begin(), name.end(), '.', '_');
  std::string unique = name;
  for (int k = 2; taken.count(unique); ++k) unique = c10::str(name, "#", k);
  taken.insert(unique);
  return unique;
}

// The value a point reads: an operator's argument or output, or a model input.
const ir::Value* value_at(const ir::Graph& graph, const runtime::InsertionPoint& p) {
  using K = runtime::InsertionPoint::Kind;
  if (p.kind == K::ModelInput || p.kind == K::WeightPreOp) return graph.find_input(p.target);
  const ir::Node* n = graph.find_node(p.target);
  if (n == nullptr) return nullptr;
  if (p.kind == K::PostOp) return p.port < n->outputs().size() ? n->outputs()[p.port] : nullptr;
  if (p.port >= n->inputs().size() || !n->input(p.port).is_value()) return nullptr;
  return n->input(p.port).value();
}

// Per-channel activation quantizers need their channel count: shape inference over the graph from
// the shapes of the example inputs and of the model's tensors (no forward pass).
void learn_channel_counts(const runtime::CompressedModel& model, QuantizerSetup& setup,
                          const QuantizationConfig& config, const std::vector<c10::IValue>& example_inputs) {
  std::vector<size_t> wanted;
  for (size_t i = 0; i < setup.quantizers.size(); ++i) {
    const QuantizerSpec& q = setup.quantizers[i];
    if (q.group != QuantizerGroup::Activations || !q.config.per_channel) continue;
    TORCH_CHECK(!example_inputs.empty(), "nncf: ", config.path, ": per-channel activation quantizer ", q.id,
                " needs example inputs to learn its channel count");
    wanted.push_back(i);
  }
  if (wanted.empty()) return;
  const ir::Graph& graph = model->graph();
  const passes::InputShapes shapes = model_input_shapes(model, example_inputs);
  const passes::ShapeInferenceResult inferred = passes::ShapeInference().run(graph, shapes);
  for (size_t i : wanted) {
    QuantizerSpec& q = setup.quantizers[i];
    const ir::Value* v = value_at(graph, q.points.front());
    const passes::ValueInfo* info = nullptr;
    if (v != nullptr && inferred.values.count(v)) info = &inferred.values.at(v);
    TORCH_CHECK(
        info != nullptr && info->is_tensor(), "nncf: per-channel activation quantizer ", q.id,
        " reads a tensor whose shape could not be inferred",
        inferred.diagnostics.empty() ? std::string() : " (" + inferred.diagnostics.front().message + ")");
    TORCH_CHECK(info->sizes->size() > 1, "nncf: per-channel activation quantizer ", q.id,
                " sees a tensor without a channel axis");
    q.channels = (*info->sizes)[1];
  }
}

class QuantizationBuilder : public AlgorithmBuilder {
 public:
  QuantizationBuilder(QuantizationConfig config, const BuildContext& context)
      : config_(std::move(config)), context_(context) {
    if (!config_.compression_lr_multiplier)
      config_.compression_lr_multiplier = context.compression_lr_multiplier;
  }

  void leave_alone(const std::vector<std::string>& ops) override {
    replaced_elsewhere_.insert(ops.begin(), ops.end());
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
    inputs.replaced_ops = replaced_elsewhere_;
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
  std::set<std::string> replaced_elsewhere_;  // ops another algorithm replaces (leave_alone)
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

std::shared_ptr<QuantizationController> build_quantization(runtime::CompressedModel model,
                                                           QuantizationConfig config,
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
