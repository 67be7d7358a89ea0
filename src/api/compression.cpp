#include "nncf/api/compression.h"

#include <ATen/ops/ones.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/zeros.h>
#include <c10/util/Exception.h>

#include <set>

#include "nncf/algorithms/composite.h"
#include "nncf/api/algorithms.h"
#include "nncf/export/onnx.h"
#include "nncf/export/torchscript.h"
#include "nncf/runtime/transformation.h"

namespace nncf {
namespace {

// No `compression` section: the model runs as captured.
class NoCompressionController : public CompressionController {
 public:
  std::string name() const override { return "none"; }
  void initialize(const InitData&) override {}
  at::Tensor loss() const override { return at::zeros({}); }
  CompressionScheduler& scheduler() override { return scheduler_; }
  Statistics statistics() const override { return {}; }
  CompressionStage compression_stage() const override { return CompressionStage::Uncompressed; }

 private:
  CompressionScheduler scheduler_;
};

}  // namespace

std::vector<at::Tensor> example_inputs(const Config& config) {
  TORCH_CHECK(!config.input_info().empty(), "nncf: ", config.source().empty() ? "config" : config.source(),
              ": input_info is needed to make example inputs (or pass example inputs explicitly)");
  std::vector<at::Tensor> inputs;
  for (const InputInfo& info : config.input_info()) {
    TORCH_CHECK(info.keyword.empty(), "nncf: input_info: keyword inputs ('", info.keyword,
                "') are not supported yet: C++ forwards take positional arguments");
    const auto options = at::TensorOptions().dtype(info.type);
    switch (info.filler) {
      case InputFiller::Zeros:
        inputs.push_back(at::zeros(info.sample_size, options));
        break;
      case InputFiller::Ones:
        inputs.push_back(at::ones(info.sample_size, options));
        break;
      case InputFiller::Random:
        inputs.push_back(at::isFloatingType(info.type) ? at::randn(info.sample_size, options)
                                                       : at::zeros(info.sample_size, options));
        break;
    }
  }
  return inputs;
}

namespace {

// The ONNX input shapes: the example inputs' (or input_info's) with a free batch.
exporting::OnnxOptions onnx_options(const Config& config, const std::vector<at::Tensor>& example) {
  exporting::OnnxOptions options;
  std::vector<std::vector<int64_t>> shapes;
  for (const at::Tensor& t : example) shapes.push_back(t.sizes().vec());
  if (shapes.empty()) {
    for (const InputInfo& info : config.input_info()) shapes.push_back(info.sample_size);
  }
  for (auto& s : shapes) {
    if (!s.empty()) s[0] = -1;
  }
  options.input_shapes = shapes;
  return options;
}

}  // namespace

CompressionResult create_compressed_model(capture::Captured captured, const Config& config,
                                          const std::vector<at::Tensor>& inputs) {
  config.require_supported();
  std::set<std::string> seen;
  for (const AlgorithmConfig& section : config.compression()) {
    TORCH_CHECK(seen.insert(section.name).second, "nncf: ", section.path(), ": algorithm '", section.name,
                "' appears twice in compression");
  }
  CompressionResult result;
  result.model = runtime::CompressedModel(std::move(captured.graph), captured.tensors);
  if (config.compression().empty()) {
    result.ctrl = std::make_shared<NoCompressionController>();
    result.ctrl->set_exporter([model = result.model, options = onnx_options(config, inputs)](
                                  const std::string& path, const std::string& format) mutable {
      if (format == "torchscript") {
        exporting::export_torchscript(model, path);
      } else {
        exporting::export_onnx(model, path, options);
      }
    });
    return result;
  }
  std::vector<at::Tensor> example = inputs;
  if (example.empty() && !config.input_info().empty()) example = example_inputs(config);
  BuildContext context;
  context.compression_lr_multiplier = config.compression_lr_multiplier();
  context.target_device = to_string(config.target_device());
  context.example_inputs.assign(example.begin(), example.end());
  // Every builder reads the model as captured and returns its layout; the merged layouts are
  // applied once (the priorities order modules on one point, whatever the config's order), and
  // only then are the controllers made.
  std::vector<std::unique_ptr<AlgorithmBuilder>> builders;
  runtime::TransformationLayout layout;
  for (const AlgorithmConfig& section : config.compression()) {
    const Algorithm* algorithm = find_algorithm(section.name);
    TORCH_CHECK(algorithm != nullptr, "nncf: ", section.path(), ": algorithm '", section.name,
                "' is not supported yet");
    builders.push_back(algorithm->builder(section, context));
  }
  // An op one algorithm replaces (a binarized conv) is left alone by the others, whatever the
  // config's order.
  std::vector<std::vector<std::string>> replaced;
  for (const auto& builder : builders) replaced.push_back(builder->replaced_ops(result.model));
  for (size_t i = 0; i < builders.size(); ++i) {
    std::vector<std::string> others;
    for (size_t j = 0; j < builders.size(); ++j) {
      if (j != i) others.insert(others.end(), replaced[j].begin(), replaced[j].end());
    }
    if (!others.empty()) builders[i]->leave_alone(others);
  }
  for (const auto& builder : builders) layout.merge(builder->layout(result.model));
  runtime::apply(result.model, layout);
  std::vector<std::shared_ptr<CompressionController>> controllers;
  std::vector<exporting::HookExporter> exporters;
  for (const auto& builder : builders) {
    controllers.push_back(builder->controller(result.model));
    for (auto& e : builder->hook_exporters()) exporters.push_back(std::move(e));
  }
  result.ctrl = controllers.size() == 1 ? controllers.front()
                                        : std::make_shared<CompositeController>(std::move(controllers));
  result.ctrl->set_exporter([model = result.model, options = onnx_options(config, example), exporters](
                                const std::string& path, const std::string& format) mutable {
    if (format == "torchscript") {
      exporting::export_torchscript(model, path);
    } else {
      exporting::export_onnx(model, path, options, exporters);
    }
  });
  return result;
}

CompressionResult create_compressed_model(const std::string& torchscript_path, const Config& config,
                                          const std::vector<at::Tensor>& inputs) {
  const std::vector<at::Tensor> example = inputs.empty() ? example_inputs(config) : inputs;
  return create_compressed_model(capture::capture_torchscript_file(torchscript_path, example), config,
                                 example);
}

}  // namespace nncf
