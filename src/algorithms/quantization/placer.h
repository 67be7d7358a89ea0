#pragma once

// The quantizer placer behind place_quantizers() (private to the quantization algorithm).
// placement.cpp analyses the graph (activations, fused patterns), resolves the allowed
// configurations and places the weight quantizers; placement_propagation.cpp moves the activation
// quantizer requests upstream, merges them, and turns each linked set into one quantizer.

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "nncf/algorithms/quantization/placement.h"
#include "nncf/algorithms/scopes.h"
#include "nncf/algorithms/weights.h"
#include "traits.h"

namespace nncf::quantization::detail {

/// The consumer edge a request sits on: argument `port` of `node`, or graph output `port` when
/// `node` is null.
struct Edge {
  const ir::Node* node = nullptr;
  size_t port = 0;
  bool operator==(const Edge& o) const { return node == o.node && port == o.port; }
};

/// A quantizer on its way upstream.
struct Request {
  Edge edge;
  std::vector<QConfig> configs;  // allowed, in preference order; never empty
  std::vector<std::string> consumer_scopes;
  std::vector<std::string> ids;
  size_t link = 0;  // union-find element: requests in one set share one quantizer module
};

/// Places the quantizers of one graph; run() once.
class Placer {
 public:
  Placer(const ir::Graph& graph, const QuantizationConfig& config, const PlacementInputs& inputs);

  QuantizerSetup run();

 private:
  Trait trait(const ir::Node& n, const HwOperation** hw_op = nullptr) const {
    return trait_of(n, in_.hw, in_.tensor_shapes, hw_op);
  }

  bool considers_activations(const ir::Node& n) const {
    if (in_.replaced_ops.count(n.scope())) return false;
    return section_.considers_any(names(n.scope())) && activations_filter_.considers_any(names(n.scope()));
  }
  bool considers_weights(const ir::Node& n) const {
    if (in_.replaced_ops.count(n.scope())) return false;
    return section_.considers_any(names(n.scope())) && weights_filter_.considers_any(names(n.scope()));
  }
  /// Every name config entries may use for the op of this scope (nncf::names_of); the scope
  /// itself for what is no op (`model_output:0`).
  const std::vector<std::string>& names(const std::string& scope) const;

  // -- analysis of the graph (placement.cpp) ----------------------------------------------------------

  bool is_activation(const ir::Value* v) const { return v->is_tensor() && data_.count(v); }
  std::vector<Edge> consumer_edges(const ir::Value* v, bool& blocked) const;

  /// Records the fused patterns (nncf/passes/fused_patterns.h) as groups.
  void fuse_patterns();
  bool in_group(const ir::Node* n) const { return group_of_.count(n) != 0; }
  bool is_group_interior(const ir::Node* n) const {
    auto it = group_of_.find(n);
    return it != group_of_.end() && groups_[it->second].front() != n;
  }

  // -- configurations (placement.cpp) -------------------------------------------------------------------

  // The user's constraints on one quantizer, each with the JSON path of the key it came from.
  struct Constraints {
    std::optional<QuantizationMode> mode;
    std::optional<int64_t> bits;
    std::optional<bool> per_channel;
    std::optional<bool> is_signed;
    std::string mode_path, bits_path, per_channel_path, signed_path;
  };

  /// The target as configured (`ANY`, `CPU`, ..., `TRIAL`).
  std::string device() const;
  /// `config_.path`, or "quantization" for a config built in code.
  std::string section_path() const;
  /// "<config file>: ", or "" when the config has no file.
  std::string file_prefix() const { return config_.file.empty() ? "" : config_.file + ": "; }
  /// Records a warning and sends it to the log (once per distinct text).
  void warn(const std::string& message);
  void warn_unmatched_scopes();
  /// Per-layer range-init entries that match no quantizer (they are matched against quantizer
  /// ids, NNCF's `<node>|WEIGHT`, and the ops the quantizers feed).
  void warn_unmatched_range_init();
  /// Sets QuantizerSpec::nncf_id and ::names of every placed quantizer.
  void name_quantizers();
  void warn_unquantized_weights();
  /// `initializer.precision` of type manual: the widths of `bitwidth_per_scope`.
  void apply_manual_precision();
  /// QuantizerSpec::allowed_bits of `q` as placed.
  std::vector<int64_t> hw_widths(const QuantizerSpec& q) const;
  /// Calls `visit(scope, op, configs)` for each op `q` serves whose HW entry lists configurations
  /// for `q`'s group.
  using HwEntryVisitor = std::function<void(const std::string& scope, const HwOperation& op,
                                            const std::vector<QConfig>& configs)>;
  void hw_entries(const QuantizerSpec& q, const HwEntryVisitor& visit) const;

  Constraints constraints(QuantizerGroup group, const std::string& scope) const;
  // `hw`: the HW config's choices for this quantizer (empty = unconstrained); `from_hw`: they come
  // from the HW file (conflicts are errors), not from a default for an op the file omits.
  std::vector<QConfig> allowed(QuantizerGroup group, const std::string& scope, const std::vector<QConfig>& hw,
                               const std::string& where, bool from_hw = true);
  [[noreturn]] void reject(QuantizerGroup group, const Constraints& c, const std::vector<QConfig>& hw,
                           const std::string& where) const;
  static std::vector<QConfig> intersect(const std::vector<QConfig>& a, const std::vector<QConfig>& b);

  // -- weights (placement.cpp) ----------------------------------------------------------------------------

  const ir::Value* weight_of(const ir::Node& n) const { return nncf::weight_of(n, in_.tensor_shapes); }
  std::unordered_set<const ir::Node*> first_layers() const;
  void place_weight_quantizers();

  // -- activations (placement_propagation.cpp) -----------------------------------------------------------

  size_t new_link() {
    parent_.push_back(parent_.size());
    return parent_.size() - 1;
  }
  size_t find(size_t x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  void unite(size_t a, size_t b) { parent_[find(a)] = find(b); }

  std::vector<QConfig> activation_configs(const ir::Node& n, const HwOperation* op, const std::string& where);
  void request(const ir::Value* v, Request r) { pending_[v].push_back(std::move(r)); }
  void create_requests();
  void finish(Request r, runtime::InsertionPoint point) {
    finals_.push_back({std::move(r), std::move(point)});
  }
  std::optional<Request> merge(const ir::Value* v, const std::vector<Request>& rs) const;
  void move_up(const ir::Value* v, Request m);
  void settle(const ir::Value* v);
  void place_activation_quantizers();

  mutable std::unordered_map<std::string, std::vector<std::string>> names_;  // scope -> names_of(node)
  const ir::Graph& graph_;
  const QuantizationConfig& config_;
  const PlacementInputs& in_;
  ScopeFilter section_, weights_filter_, activations_filter_;
  std::vector<std::pair<ScopeMatcher, const ScopeOverride*>> weight_overrides_, activation_overrides_;

  std::unordered_set<const ir::Value*> data_;  // passes::FindActivations
  std::unordered_map<const ir::Node*, size_t> group_of_;
  std::vector<std::vector<const ir::Node*>> groups_;
  std::unordered_map<const ir::Value*, std::vector<Request>> pending_;
  std::vector<std::pair<Request, runtime::InsertionPoint>> finals_;
  std::vector<size_t> parent_;  // union-find over request links
  std::unordered_set<std::string>
      overflow_eligible_;  // weight quantizer ids the overflow fix takes at 8 bits
  QuantizerSetup setup_;
};

}  // namespace nncf::quantization::detail
