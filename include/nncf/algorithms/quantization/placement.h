#pragma once

// Quantizer placement: which tensors of a captured graph get a quantizer, and with which
// configuration (nncf-reference.md §4). The result is a QuantizerSetup -- plain data that the
// builder turns into FakeQuantize modules and that a compression state can save.
//
// The rules, as NNCF's propagation solver applies them:
//  * Fused patterns -- conv/linear/matmul, optionally an arithmetic op with a constant or parameter
//    operand, optionally batch norm and/or an activation; batch norm + activation; an elementwise op
//    on two activations + batch norm and/or an activation -- are one unit: no quantizer inside.
//  * Each op whose inputs the target quantizes (the HW config, or NNCF's default traits for
//    `TRIAL`) requests a quantizer on each activation input. Requests move upstream through
//    quantization-agnostic ops (pooling, reshape, relu, dropout, ...); at a tensor used by several
//    consumers they merge into one quantizer on the tensor when every consumer requested one with a
//    compatible configuration, else each stays on its own edge. Through a concat each input gets
//    its own quantizer, linked into one shared range where the HW config marks Concat "unified".
//  * Requests that reach a model input become input quantizers (`quantize_inputs`), else vanish.
//  * Every weighted op gets a weight quantizer (shared weights: one); 8-bit weights on CPU/ANY
//    train on 7 bits with `overflow_fix` (all layers, or the first ones only).
//  * An op that another algorithm of the config replaces (a binarized conv: 1-bit weights and
//    inputs) is left alone, as if ignored: its weight gets no quantizer and its inputs request
//    none, so a tensor it shares with other consumers is quantized on their edges only.
//  * `ignored_scopes`/`target_scopes` (the section's and each group's) and `scope_overrides` apply
//    to the op that consumes the quantized tensor, named by its scope or its NNCF name
//    (algorithms/scopes.h); per-layer range-init entries also match the quantizer ids. A section
//    or group `ignored_scopes`/`target_scopes` entry that matches no op is an error unless
//    `validate_scopes` is false (NNCF >= 2.5); other entries that match nothing are warnings.
//  * A configured bit width, mode, granularity or signedness that the target's HW config does not
//    allow for an op is an error naming the JSON key, the device and the quantizer (NNCF raises
//    too); on `ANY` it is used as configured, with a warning, and `TRIAL` has no HW config.
//  * The preset constrains the modes only where QuantizationConfig::preset_applies.
//
// Warnings (an op or output left unquantized, an entry that matches nothing, a HW constraint
// relaxed on ANY) go to the log (nncf/ir/log.h), each distinct message once, and to
// QuantizerSetup::warnings.
//
// Differences from NNCF, on purpose: activation quantizers are per-tensor unless
// `activations.per_channel` is set (NNCF's CPU config would prefer per-channel activations before
// depthwise convolutions); an arithmetic op only fuses into a preceding conv/linear when its other
// operand is not an activation (NNCF also fuses a residual add into the conv before it, and leaves
// the add's other input unquantized).

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "nncf/algorithms/quantization/config.h"
#include "nncf/algorithms/quantization/hw_config.h"
#include "nncf/ir/graph.h"
#include "nncf/runtime/compressed_model.h"

namespace nncf::quantization {

/// One quantizer: a configuration and the points where its one module runs (several for a shared
/// range: a tensor quantized on several edges, or the inputs of a unified-scale concat).
struct QuantizerSpec {
  /// `<scope>|WEIGHT`, `<scope>|OUTPUT`, `<scope>|INPUT<port>`, `model_input:<name>|OUTPUT`; a
  /// shared range joins the ids of its points with `;`.
  std::string id;
  QuantizerGroup group = QuantizerGroup::Activations;
  std::vector<runtime::InsertionPoint> points;
  QConfig config;
  /// Overflow fix: an 8-bit weight quantizer that trains on 7 bits (export widens it back).
  bool half_range = false;
  /// Per-channel: the channel axis and the number of channels (weights: from the weight's shape;
  /// activations: 0 until known -- the builder measures it).
  int64_t axis = 0;
  int64_t channels = 0;
  /// The scopes of the ops whose inputs (or weights) this quantizer feeds: what `ignored_scopes`,
  /// per-layer range init and scope overrides are matched against.
  std::vector<std::string> consumer_scopes;
  /// The same id in NNCF's names (`ResNet/NNCFConv2d[conv1]/conv2d_0|WEIGHT`,
  /// `/nncf_model_input_0|OUTPUT`): what NNCF's `bitwidth_per_scope` and per-layer range-init
  /// entries name.
  std::string nncf_id;
  /// Every name a config entry may use for this quantizer: the ids (each point's, in both
  /// spellings) and every name of the ops it feeds.
  std::vector<std::string> names;
  /// Weights: the parameter's name.
  std::string weight;
  /// The widths this quantizer may take with its mode and granularity (ascending): those the HW
  /// config lists for every op it serves (each op's list intersected), all of 2..8 where no list
  /// applies (TRIAL, ops the HW file omits). What a mixed-precision search may choose from.
  std::vector<int64_t> allowed_bits;
};

struct QuantizerSetup {
  std::vector<QuantizerSpec> quantizers;
  /// What placement warned about (also sent to the log): one entry per place where the user's
  /// constraints left none of the HW config's choices (on ANY), tensors left unquantized, scope
  /// entries that match no op.
  std::vector<std::string> warnings;

  size_t count(QuantizerGroup group) const;
  /// One line per quantizer: id, configuration, points.
  std::string to_string() const;
};

struct PlacementInputs {
  /// The configured `target_device` (`ANY`, `CPU`, `VPU`, `TRIAL`, ...): decides where the preset
  /// applies and whether a conflict with the HW config is an error (every target but `ANY`).
  /// Empty = the HW config's own device, or `TRIAL` without one.
  std::string target_device;
  /// The target's HW config; nullptr = `TRIAL` (NNCF's default traits, 8-bit symmetric).
  const HardwareConfig* hw = nullptr;
  /// Overflow fix applies (target CPU or ANY).
  bool overflow_fix_target = false;
  /// Shapes of the parameters and buffers, by graph input name (weights' channel counts,
  /// depthwise detection).
  std::map<std::string, std::vector<int64_t>> tensor_shapes;
  /// Scopes of the ops another algorithm of the config replaces (binarized convs): their weights
  /// and activation inputs get no quantizer, as if the op were in ignored_scopes.
  std::set<std::string> replaced_ops;
};

/// Places quantizers on `graph` per `config`. Throws c10::Error for a `{re}` scope that is not a
/// valid regex, a bit width outside 2..8, and a configuration the target's HW config forbids
/// (above); never for an unsupported op (it stays in floating point).
QuantizerSetup place_quantizers(const ir::Graph& graph, const QuantizationConfig& config,
                                const PlacementInputs& inputs);

}  // namespace nncf::quantization
