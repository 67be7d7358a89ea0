#pragma once

// The nncf-cpp intermediate representation: a straight-line SSA graph of operator calls.
//
// A `Graph` has named inputs (user data, the `training` flag, parameters, buffers), an ordered
// list of `Node`s and a list of output `Value`s. A node calls one operator, named by its schema
// (`aten::conv2d`, `aten::add.Tensor`, `nncf::fake_quantize`, `prim::ListConstruct`); each of its
// arguments is either a `Value` produced earlier or a `Constant`. Every node carries a `scope`,
// a stable readable name that is unique in the graph (`layer1.0.conv1`, `layer1.0/relu_1`), and a
// metatype derived from its operator.
//
// No LibTorch type appears here: the IR is what every analysis reads, and it prints and parses
// its own text form (see printer.h).

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "nncf/ir/metatype.h"

namespace nncf::ir {

class Graph;
class Node;

/// A compile-time constant argument of a node: the values a JIT `prim::Constant` can hold that
/// operator schemas take (no tensors: tensors are always graph inputs).
class Constant {
 public:
  enum class Kind { None, Bool, Int, Double, String, Device, IntList, DoubleList, BoolList };

  Constant() = default;  // None
  static Constant none() { return Constant(); }
  static Constant boolean(bool v);
  static Constant integer(int64_t v);
  static Constant real(double v);
  static Constant string(std::string v);
  static Constant device(std::string v);  // e.g. "cpu", "cuda:0"
  static Constant int_list(std::vector<int64_t> v);
  static Constant double_list(std::vector<double> v);
  static Constant bool_list(std::vector<bool> v);

  Kind kind() const { return kind_; }
  bool is_none() const { return kind_ == Kind::None; }
  bool to_bool() const;
  int64_t to_int() const;
  double to_double() const;
  const std::string& to_string() const;  // String or Device
  const std::vector<int64_t>& to_int_list() const;
  const std::vector<double>& to_double_list() const;
  const std::vector<bool>& to_bool_list() const;

  /// Exact equality (doubles compared bitwise, so NaN == NaN and 0.0 != -0.0).
  bool operator==(const Constant& other) const;
  bool operator!=(const Constant& other) const { return !(*this == other); }

 private:
  Kind kind_ = Kind::None;
  std::variant<std::monostate, bool, int64_t, double, std::string, std::vector<int64_t>,
               std::vector<double>, std::vector<bool>>
      data_;
};

/// What a graph input stands for.
enum class InputRole {
  Data,       ///< a user input of `forward`
  Training,   ///< the runtime `training` flag (bool), fed from `Module::is_training()`
  Parameter,  ///< a parameter of the user's model, named by its dotted path
  Buffer,     ///< a buffer of the user's model, named by its dotted path
};
const char* to_string(InputRole role);

/// In which mode of the model a node runs (Note [Mode-specific ops] in capture/merge_modes.cpp).
/// A model whose train and eval runs record different ops (stochastic depth, an eval-only fast
/// path) is one graph whose mode-specific nodes are skipped in the other mode; a
/// `prim::ModeSelect(%training, %train_value, %eval_value)` node joins the two paths.
enum class RunsIn { Always, Training, Eval };
const char* to_string(RunsIn r);

/// One use of a value: `user->inputs()[index]` is the value.
struct Use {
  Node* user;
  size_t index;
};

/// An SSA value: a graph input or a node output.
///
/// `type` follows TorchScript's spelling: "Tensor", "int", "float", "bool", "str", "Device",
/// "NoneType", "Scalar", "int[]", "float[]", "bool[]", "Tensor[]", "Tensor?[]", "(Tensor, Tensor)".
class Value {
 public:
  const std::string& name() const { return name_; }
  const std::string& type() const { return type_; }
  bool is_tensor() const { return type_ == "Tensor"; }

  /// The node that produces this value, or nullptr for a graph input.
  Node* producer() const { return producer_; }
  /// Position in the producer's outputs (or in the graph's inputs for a graph input).
  size_t index() const { return index_; }
  bool is_graph_input() const { return producer_ == nullptr; }
  /// Role of a graph input; Data for node outputs.
  InputRole role() const { return role_; }

  const std::vector<Use>& uses() const { return uses_; }
  /// Replaces every use of this value (node arguments and graph outputs) with `other`.
  void replace_all_uses_with(Value* other);

  void set_type(std::string type) { type_ = std::move(type); }

  /// For a Data input: the shape the model requires, -1 where any size works (the batch);
  /// empty when any shape works. Capture sets it when the traced computation depends on the
  /// non-batch sizes of the input (Note [Input shapes] in capture.cpp).
  const std::vector<int64_t>& shape() const { return shape_; }
  void set_shape(std::vector<int64_t> shape) { shape_ = std::move(shape); }

 private:
  friend class Graph;
  friend class Node;
  Value(Graph* graph, std::string name, std::string type) : graph_(graph), name_(std::move(name)), type_(std::move(type)) {}

  Graph* graph_;
  std::string name_;
  std::string type_;
  Node* producer_ = nullptr;
  size_t index_ = 0;
  InputRole role_ = InputRole::Data;
  std::vector<int64_t> shape_;
  std::vector<Use> uses_;
};

/// A node argument: a value or a constant.
class Arg {
 public:
  Arg(Value* v) : value_(v) {}  // NOLINT(google-explicit-constructor): arguments read like calls
  Arg(Constant c) : constant_(std::move(c)) {}  // NOLINT(google-explicit-constructor)

  bool is_value() const { return value_ != nullptr; }
  bool is_constant() const { return value_ == nullptr; }
  Value* value() const { return value_; }
  const Constant& constant() const { return constant_; }

 private:
  Value* value_ = nullptr;
  Constant constant_;
};

/// One operator call.
class Node {
 public:
  /// Qualified operator name without overload, e.g. "aten::add".
  const std::string& op() const { return op_; }
  /// Schema overload name, e.g. "Tensor" for `aten::add.Tensor`; empty for the default overload.
  const std::string& overload() const { return overload_; }
  /// "aten::add.Tensor" (or "aten::conv2d" when the overload is empty).
  std::string qualified_op() const;
  Metatype metatype() const { return metatype_; }

  const std::vector<Arg>& inputs() const { return inputs_; }
  const Arg& input(size_t i) const { return inputs_.at(i); }
  const std::vector<Value*>& outputs() const { return outputs_; }
  Value* output(size_t i = 0) const { return outputs_.at(i); }

  const std::string& scope() const { return scope_; }
  void set_scope(std::string scope) { scope_ = std::move(scope); }

  /// The name NNCF gives this op (`ResNet/Sequential[layer1]/BasicBlock[0]/NNCFConv2d[conv1]/conv2d_0`,
  /// passes/nncf_names.h); empty for what NNCF does not trace (sizes, list construction, ops on
  /// parameters only) and for nodes the framework added. Printed as `nncf=` after the scope.
  const std::string& nncf_name() const { return nncf_name_; }
  void set_nncf_name(std::string name) { nncf_name_ = std::move(name); }

  /// The dotted path of the module whose forward ran this op ("" = the root module), where capture
  /// could observe it (TorchScript); empty optional where it could not (C++ modules).
  const std::optional<std::string>& module() const { return module_; }
  void set_module(std::optional<std::string> path) { module_ = std::move(path); }

  /// The original model ran this op in place on argument 0, and nothing reads that argument
  /// afterwards: the runtime may run the in-place variant (Note [In-place execution] in
  /// capture/inplace.cpp). Printed as `inplace` after the argument list.
  bool inplace_hint() const { return inplace_hint_; }
  void set_inplace_hint(bool hint) { inplace_hint_ = hint; }

  /// The mode in which this node runs; printed as `train_only` / `eval_only` after the arguments.
  RunsIn runs_in() const { return runs_in_; }
  void set_runs_in(RunsIn r) { runs_in_ = r; }

  /// Replaces argument `i` (use lists are kept in sync).
  void set_input(size_t i, Arg arg);
  /// Appends / removes arguments.
  void add_input(Arg arg);
  void remove_input(size_t i);

  Graph* graph() const { return graph_; }
  /// Position of this node in the graph's node list (0-based). O(n); meant for messages.
  size_t position() const;

 private:
  friend class Graph;
  Node(Graph* graph, std::string op, std::string overload);

  Graph* graph_;
  std::string op_;
  std::string overload_;
  Metatype metatype_;
  std::vector<Arg> inputs_;
  std::vector<Value*> outputs_;
  std::string scope_;
  std::string nncf_name_;
  std::optional<std::string> module_;
  bool inplace_hint_ = false;
  RunsIn runs_in_ = RunsIn::Always;
  std::list<std::unique_ptr<Node>>::iterator self_;
};

/// An ordered, straight-line SSA graph. Owns its nodes and values. Copyable via `clone()`.
class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  Graph(Graph&&) noexcept;
  Graph& operator=(Graph&&) noexcept;
  ~Graph();

  /// Deep copy; value names, scopes and order are preserved.
  Graph clone() const;

  // ---- inputs and outputs -------------------------------------------------------------------
  /// Adds a graph input. Names must be unique among all values of the graph.
  Value* add_input(const std::string& name, const std::string& type, InputRole role);
  const std::vector<Value*>& inputs() const { return inputs_; }
  /// Input by name, or nullptr.
  Value* find_input(std::string_view name) const;
  /// The `training` input, or nullptr if the graph has none.
  Value* training_input() const;

  void add_output(Value* v);
  void set_output(size_t i, Value* v);
  const std::vector<Value*>& outputs() const { return outputs_; }

  // ---- nodes --------------------------------------------------------------------------------
  /// Creates a node with `num_outputs` outputs of the given types and appends it to the end
  /// (or inserts it before `before`). Output names are fresh numbers unless given.
  /// `op` may carry an overload: "aten::add.Tensor".
  Node* create_node(std::string_view op, std::vector<Arg> inputs,
                    const std::vector<std::string>& output_types, std::string scope = {},
                    Node* before = nullptr, const std::vector<std::string>& output_names = {});
  /// Removes a node whose outputs have no uses.
  void erase_node(Node* node);
  /// Moves `node` to just before `before`.
  void move_before(Node* node, Node* before);

  /// Nodes in execution order.
  class NodeRange {
   public:
    using Iter = std::list<std::unique_ptr<Node>>::const_iterator;
    struct iterator {
      Iter it;
      Node* operator*() const { return it->get(); }
      iterator& operator++() { ++it; return *this; }
      bool operator!=(const iterator& o) const { return it != o.it; }
      bool operator==(const iterator& o) const { return it == o.it; }
    };
    NodeRange(Iter b, Iter e) : b_(b), e_(e) {}
    iterator begin() const { return {b_}; }
    iterator end() const { return {e_}; }
   private:
    Iter b_, e_;
  };
  NodeRange nodes() const { return NodeRange(nodes_.begin(), nodes_.end()); }
  size_t num_nodes() const { return nodes_.size(); }
  /// Node by scope, or nullptr.
  Node* find_node(std::string_view scope) const;

  /// A value name not used yet in this graph, built from `hint` (e.g. "x" -> "x", "x.1", ...).
  std::string unique_name(std::string_view hint) const;
  /// Value by name, or nullptr. O(number of values).
  Value* find_value(std::string_view name) const;

 private:
  friend class Node;
  friend class Value;
  Value* new_value(std::string name, std::string type);

  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
  std::list<std::unique_ptr<Node>> nodes_;
  std::vector<std::unique_ptr<Value>> values_;
  size_t next_id_ = 0;
};

/// Splits "aten::add.Tensor" into {"aten::add", "Tensor"}.
std::pair<std::string, std::string> split_overload(std::string_view qualified);

}  // namespace nncf::ir
