#pragma once

// What every compression algorithm provides to nncf::create_compressed_model (the one table of
// algorithms is in nncf/api/algorithms.h):
//
//   validate(section)                  parse the JSON section into the typed config; throw naming the path
//   builder(section, context)          an AlgorithmBuilder for one model:
//     builder->replaced_ops(model)     the ops whose weights and inputs it gives a form of its own
//     builder->leave_alone(ops)        ... what the other algorithms of the config replace
//     builder->layout(model)           read the model, return what to insert (never change the model)
//     ... the layouts of all algorithms are merged and applied once (nncf/runtime/transformation.h)
//     builder->controller(model)       the controller over the inserted modules
//     builder->hook_exporters()        how its modules are written to ONNX
//
// A controller publishes what it achieves through Statistics::values, so that no caller needs its
// type: `compression.weight_bits.<parameter>` (a quantized weight's stored bit width) and
// `compression.weight_density.<parameter>` (the fraction of a weight kept), from which
// nncf::compression_rate computes the model's rate whatever the algorithms.

#include <ATen/core/ivalue.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nncf/algorithms/collective.h"
#include "nncf/algorithms/controller.h"
#include "nncf/config/node.h"
#include "nncf/export/onnx.h"
#include "nncf/runtime/compressed_model.h"
#include "nncf/runtime/transformation.h"

namespace nncf {

/// What a builder may use besides its own section.
struct BuildContext {
  /// The config's top-level `compression_lr_multiplier`; a section's own key overrides it.
  std::optional<double> compression_lr_multiplier;
  /// The config's `target_device` (`ANY`, `CPU`, `GPU`, `VPU`, `NPU`, `CPU_SPR`, `TRIAL`).
  std::string target_device = "ANY";
  /// One batch of the model's inputs (may be empty when the config has no `input_info`).
  std::vector<c10::IValue> example_inputs;
  /// Where statistics are reduced and decisions broadcast across processes; nullptr: one process.
  std::shared_ptr<Collective> collective;
};

/// One algorithm being built onto one model.
class AlgorithmBuilder {
 public:
  virtual ~AlgorithmBuilder() = default;
  /// The scopes of the ops whose weights and activation inputs this algorithm replaces by a form of
  /// its own (binarization: 1-bit weights and inputs); called before any layout().
  virtual std::vector<std::string> replaced_ops(const runtime::CompressedModel& /*model*/) { return {}; }
  /// The ops the other algorithms of the config replace (their replaced_ops()), before layout(): an
  /// algorithm that would otherwise also rewrite them (quantization) leaves their weights and inputs
  /// alone.
  virtual void leave_alone(const std::vector<std::string>& /*ops*/) {}
  /// What to insert into `model`; reads the model and never changes it.
  virtual runtime::TransformationLayout layout(const runtime::CompressedModel& model) = 0;
  /// The controller, once the merged layout has been applied to `model`.
  virtual std::shared_ptr<CompressionController> controller(runtime::CompressedModel model) = 0;
  /// How the modules this algorithm inserted are written to ONNX (after controller()).
  virtual std::vector<exporting::HookExporter> hook_exporters() const { return {}; }
};

/// One entry of the algorithm table: the JSON name and the two functions above.
struct Algorithm {
  const char* name;
  void (*validate)(const AlgorithmConfig& section);
  std::unique_ptr<AlgorithmBuilder> (*builder)(const AlgorithmConfig& section, const BuildContext& context);
};

/// The compression rate of `model`'s weights (its Parameter inputs of rank >= 2) under
/// `statistics`: FP32 bits over stored bits, where a weight counts its `weight_bits` (32 when
/// absent) times its `weight_density` (1 when absent). Index overhead is not counted.
double compression_rate(const Statistics& statistics, const runtime::CompressedModel& model);

}  // namespace nncf
