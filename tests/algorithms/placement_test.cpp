// Quantizer placement on ResNet- and MobileNet-style graphs: no quantizer inside fused patterns,
// residual adds quantized on both inputs, one quantizer per tensor, scopes and options respected,
// counts per HW config.

#include "nncf/algorithms/quantization/placement.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <set>

#include "nncf/capture/capture.h"
#include "nncf/ir/metatype.h"
#include "support/models.h"

namespace nncf::quantization {
namespace {

using ir::Metatype;
using runtime::InsertionPoint;

struct Placed {
  capture::Captured captured;
  QuantizerSetup setup;
};

template <typename Net>
capture::Captured capture_of(Net& net, std::vector<int64_t> shape) {
  net->eval();
  return capture::capture_module(net, {torch::randn(shape)});
}

QuantizerSetup place(const capture::Captured& c, const QuantizationConfig& config,
                     const std::string& device) {
  PlacementInputs in;
  in.target_device = device;
  if (device != "TRIAL") in.hw = &HardwareConfig::for_device(device);
  in.overflow_fix_target = device == "CPU" || device == "ANY";
  for (const auto& [name, t] : c.tensors) in.tensor_shapes[name] = t.sizes().vec();
  return place_quantizers(c.graph, config, in);
}

// The quantized tensors of a setup: a value is quantized "everywhere" by a post-op or an input
// point, or on one edge by a pre-op.
struct Quantized {
  std::map<const ir::Value*, int> everywhere;                 // value -> number of quantizers
  std::map<std::pair<const ir::Node*, size_t>, int> on_edge;  // (consumer, port) -> number
  std::set<std::string> weights;
};

Quantized quantized(const ir::Graph& g, const QuantizerSetup& s) {
  Quantized q;
  for (const QuantizerSpec& spec : s.quantizers) {
    for (const InsertionPoint& p : spec.points) {
      switch (p.kind) {
        case InsertionPoint::Kind::WeightPreOp:
          q.weights.insert(p.target);
          break;
        case InsertionPoint::Kind::ModelInput:
          ++q.everywhere[g.find_input(p.target)];
          break;
        case InsertionPoint::Kind::PostOp:
          ++q.everywhere[g.find_node(p.target)->output(p.port)];
          break;
        case InsertionPoint::Kind::PreOp: {
          const ir::Node* n = g.find_node(p.target);
          ++q.on_edge[{n, p.port}];
          break;
        }
      }
    }
  }
  return q;
}

// Whether the tensor on an edge is quantized, on the edge itself or upstream through ops that
// keep values on the grid (reshapes, max pooling, dropout, concats of quantized tensors).
bool edge_quantized(const Quantized& q, const ir::Node* consumer, size_t port) {
  if (q.on_edge.count({consumer, port})) return true;
  const ir::Value* v = consumer->input(port).value();
  if (q.everywhere.count(v)) return true;
  const ir::Node* p = v->producer();
  if (p == nullptr) return false;
  const Metatype m = p->metatype();
  if (m == Metatype::Reshape || m == Metatype::Dropout || m == Metatype::MaxPool)
    return edge_quantized(q, p, 0);
  if (m == Metatype::Cat) {
    const ir::Node* list = p->input(0).value()->producer();
    for (size_t i = 0; i < list->inputs().size(); ++i) {
      if (!edge_quantized(q, list, i)) return false;
    }
    return true;
  }
  return false;
}

bool is_act(Metatype m) {
  return m == Metatype::ReLU || m == Metatype::ReLU6;
}

// Every invariant that holds on any CNN: nothing inside conv-bn-act, one quantizer per tensor,
// every conv/linear input and every elementwise add input quantized.
void expect_invariants(const ir::Graph& g, const QuantizerSetup& s) {
  const Quantized q = quantized(g, s);
  for (const auto& [v, n] : q.everywhere) {
    EXPECT_EQ(n, 1) << "tensor " << v->name() << " has " << n << " quantizers";
  }
  for (const auto& [edge, n] : q.on_edge) {
    EXPECT_EQ(n, 1) << "edge into " << edge.first->scope() << " has " << n << " quantizers";
    EXPECT_EQ(q.everywhere.count(edge.first->input(edge.second).value()), 0u)
        << "edge into " << edge.first->scope() << " is quantized twice";
  }
  for (const ir::Node* n : g.nodes()) {
    for (size_t port = 0; port < n->inputs().size(); ++port) {
      const ir::Arg& a = n->input(port);
      if (!a.is_value() || a.value()->producer() == nullptr) continue;
      const Metatype from = a.value()->producer()->metatype(), to = n->metatype();
      const bool inside = (from == Metatype::Conv && to == Metatype::BatchNorm) ||
                          (from == Metatype::BatchNorm && is_act(to)) ||
                          (from == Metatype::Conv && is_act(to));
      if (inside) {
        EXPECT_FALSE(edge_quantized(q, n, port))
            << "quantizer between " << a.value()->producer()->scope() << " and " << n->scope();
      }
    }
    if (n->metatype() == Metatype::Conv || n->metatype() == Metatype::Linear) {
      EXPECT_TRUE(edge_quantized(q, n, 0)) << "input of " << n->scope() << " is not quantized";
      EXPECT_TRUE(q.weights.count(n->input(1).value()->name())) << "weight of " << n->scope();
    }
    if (n->metatype() == Metatype::Add && n->runs_in() == ir::RunsIn::Always) {
      EXPECT_TRUE(edge_quantized(q, n, 0)) << "input 0 of " << n->scope();
      EXPECT_TRUE(edge_quantized(q, n, 1)) << "input 1 of " << n->scope();
    }
  }
}

TEST(QuantizerPlacement, ResNet18OnCpu) {
  testing::ResNet18 net(testing::ResNet18Options().in_channels(1).base_width(8));
  auto c = capture_of(net, {2, 1, 28, 28});
  QuantizationConfig config;
  QuantizerSetup s = place(c, config, "CPU");
  expect_invariants(c.graph, s);
  // 17 convs + 3 downsample convs + fc.
  EXPECT_EQ(s.count(QuantizerGroup::Weights), 21u);
  // Input, stem relu, per block relu + bn2 (+ downsample bn) + post-add relu, the pooled features.
  EXPECT_EQ(s.count(QuantizerGroup::Activations), 1u + 1u + 5u * 3u + 3u * 4u + 1u);
  for (const QuantizerSpec& q : s.quantizers) {
    if (q.group == QuantizerGroup::Weights) {
      EXPECT_TRUE(q.config.per_channel) << q.id;
      EXPECT_TRUE(q.half_range) << q.id;  // overflow fix on CPU
      EXPECT_EQ(q.config.is_signed, std::optional<bool>(true)) << q.id;
      EXPECT_EQ(q.channels, c.tensors.at(q.weight).size(0)) << q.id;
    } else {
      EXPECT_FALSE(q.config.per_channel) << q.id;
      EXPECT_EQ(q.config.mode, QuantizationMode::Symmetric) << q.id;
      EXPECT_EQ(q.points.size(), 1u) << q.id;
    }
    EXPECT_EQ(q.config.bits, 8);
  }
  EXPECT_TRUE(s.warnings.empty()) << s.to_string();
}

TEST(QuantizerPlacement, CountsPerHardwareConfig) {
  testing::ResNet18 net(testing::ResNet18Options().in_channels(1).base_width(8));
  auto c = capture_of(net, {2, 1, 28, 28});
  QuantizationConfig config;
  const QuantizerSetup cpu = place(c, config, "CPU"), gpu = place(c, config, "GPU");
  const QuantizerSetup vpu = place(c, config, "VPU"), trial = place(c, config, "TRIAL");
  EXPECT_EQ(gpu.quantizers.size(), cpu.quantizers.size());
  for (const QuantizerSpec& q : gpu.quantizers)
    EXPECT_FALSE(q.half_range) << "GPU has no overflow fix: " << q.id;
  // TRIAL: NNCF's default traits; weights per-tensor.
  expect_invariants(c.graph, trial);
  EXPECT_EQ(trial.quantizers.size(), cpu.quantizers.size());
  for (const QuantizerSpec& q : trial.quantizers) EXPECT_FALSE(q.config.per_channel) << q.id;
  // VPU unifies the scales of elementwise inputs: each residual add's two inputs share one
  // quantizer (8 adds, so 8 fewer activation quantizers, each with two points).
  expect_invariants(c.graph, vpu);
  EXPECT_EQ(vpu.count(QuantizerGroup::Activations), cpu.count(QuantizerGroup::Activations) - 8);
  size_t shared = 0;
  for (const QuantizerSpec& q : vpu.quantizers) shared += q.points.size() == 2;
  EXPECT_EQ(shared, 8u);
}

TEST(QuantizerPlacement, MobileNetV2OnCpu) {
  testing::MobileNetV2 net(testing::MobileNetV2Options().width_mult(0.25).last_channel(64));
  auto c = capture_of(net, {2, 3, 32, 32});
  QuantizationConfig config;
  QuantizerSetup s = place(c, config, "CPU");
  expect_invariants(c.graph, s);
  size_t convs = 0, linears = 0, adds = 0;
  for (const ir::Node* n : c.graph.nodes()) {
    convs += n->metatype() == Metatype::Conv;
    linears += n->metatype() == Metatype::Linear;
    adds += n->metatype() == Metatype::Add && n->runs_in() == ir::RunsIn::Always;
  }
  EXPECT_EQ(s.count(QuantizerGroup::Weights), convs + linears);
  // Every conv's input is quantized once, and an inverted residual's block input feeds both its
  // expansion conv and its add: the input, one per conv-bn(-relu6) output, one per add output and
  // the pooled features.
  EXPECT_EQ(s.count(QuantizerGroup::Activations), 2 + convs + adds);
}

TEST(QuantizerPlacement, IgnoredScopesKeepOpsInFloatingPoint) {
  testing::ResNet18 net(testing::ResNet18Options().in_channels(1).base_width(8));
  auto c = capture_of(net, {2, 1, 28, 28});
  QuantizationConfig config;
  config.ignored_scopes = {"layer1.0.conv1", "{re}^layer4\\."};
  QuantizerSetup s = place(c, config, "CPU");
  const Quantized q = quantized(c.graph, s);
  EXPECT_FALSE(q.weights.count("layer1.0.conv1.weight"));
  EXPECT_TRUE(q.weights.count("layer1.0.conv2.weight"));
  for (const std::string& w : q.weights) EXPECT_NE(w.rfind("layer4.", 0), 0u) << w;
  const ir::Node* conv = c.graph.find_node("layer1.0.conv1");
  ASSERT_NE(conv, nullptr);
  EXPECT_FALSE(edge_quantized(q, conv, 0)) << "the ignored conv must see its input unquantized";
  // Its block's add still has both inputs quantized: the shared tensor is quantized on the add's
  // edge only.
  const ir::Node* add = c.graph.find_node("layer1.0/add_0");
  ASSERT_NE(add, nullptr);
  EXPECT_TRUE(edge_quantized(q, add, 0));
  EXPECT_TRUE(edge_quantized(q, add, 1));
  // target_scopes: only the stem is quantized.
  QuantizationConfig only_stem;
  only_stem.target_scopes = {"conv1"};
  const Quantized t = quantized(c.graph, place(c, only_stem, "CPU"));
  EXPECT_EQ(t.weights, std::set<std::string>{"conv1.weight"});
}

TEST(QuantizerPlacement, OptionsAreHonoured) {
  testing::ResNet18 net(testing::ResNet18Options().in_channels(1).base_width(8));
  auto c = capture_of(net, {2, 1, 28, 28});
  QuantizationConfig config;
  const size_t base = place(c, config, "CPU").count(QuantizerGroup::Activations);

  config.quantize_inputs = false;
  QuantizerSetup s = place(c, config, "CPU");
  EXPECT_EQ(s.count(QuantizerGroup::Activations), base - 1);
  for (const auto& q : s.quantizers) EXPECT_NE(q.points[0].kind, InsertionPoint::Kind::ModelInput);

  config = QuantizationConfig{};
  config.quantize_outputs = true;
  s = place(c, config, "CPU");
  EXPECT_EQ(s.count(QuantizerGroup::Activations), base + 1);
  const Quantized q = quantized(c.graph, s);
  EXPECT_TRUE(q.everywhere.count(c.graph.outputs()[0]));

  config = QuantizationConfig{};
  config.preset = Preset::Mixed;
  config.weights.per_channel = false;
  config.overflow_fix = OverflowFix::FirstLayerOnly;
  s = place(c, config, "CPU");
  for (const auto& spec : s.quantizers) {
    if (spec.group == QuantizerGroup::Activations) {
      EXPECT_EQ(spec.config.mode, QuantizationMode::Asymmetric) << spec.id;
    } else {
      EXPECT_EQ(spec.config.mode, QuantizationMode::Symmetric) << spec.id;
      EXPECT_FALSE(spec.config.per_channel) << spec.id;
      EXPECT_EQ(spec.half_range, spec.weight == "conv1.weight") << spec.id;
    }
  }

  config = QuantizationConfig{};
  config.weights.bits = 4;
  ScopeOverride o;
  o.scope = "fc";
  o.bits = 8;
  config.weight_overrides = {o};
  s = place(c, config, "TRIAL");
  for (const auto& spec : s.quantizers) {
    if (spec.group != QuantizerGroup::Weights) continue;
    EXPECT_EQ(spec.config.bits, spec.weight == "fc.weight" ? 8 : 4) << spec.id;
  }
  // The CPU HW config allows only 8-bit weights: ANY uses 4 bits as configured, with a warning
  // per quantizer; CPU rejects them, naming the key and the first quantizer.
  s = place(c, config, "ANY");
  EXPECT_EQ(s.warnings.size(), 20u) << s.to_string();
  for (const auto& spec : s.quantizers) {
    if (spec.group == QuantizerGroup::Weights)
      EXPECT_EQ(spec.config.bits, spec.weight == "fc.weight" ? 8 : 4);
  }
  EXPECT_THROW(
      {
        try {
          place(c, config, "CPU");
        } catch (const c10::Error& e) {
          const std::string m = e.what_without_backtrace();
          EXPECT_NE(m.find("quantization.weights.bits: target_device CPU does not allow 4-bit weights at "
                           "conv1|WEIGHT"),
                    std::string::npos)
              << m;
          throw;
        }
      },
      c10::Error);
  // A scope override's key is the path when it sets the width.
  config.weights.bits = 8;
  o.bits = 4;
  o.path = "compression.scope_overrides.weights.fc";
  config.weight_overrides = {o};
  EXPECT_THROW(
      {
        try {
          place(c, config, "GPU");
        } catch (const c10::Error& e) {
          const std::string m = e.what_without_backtrace();
          EXPECT_NE(
              m.find("compression.scope_overrides.weights.fc.bits: target_device GPU does not allow 4-bit "
                     "weights at fc|WEIGHT"),
              std::string::npos)
              << m;
          throw;
        }
      },
      c10::Error);
  // VPU weights are symmetric only: an asymmetric mode is the key named.
  config = QuantizationConfig{};
  config.weights.mode = QuantizationMode::Asymmetric;
  EXPECT_THROW(
      {
        try {
          place(c, config, "VPU");
        } catch (const c10::Error& e) {
          const std::string m = e.what_without_backtrace();
          EXPECT_NE(m.find("quantization.weights.mode: target_device VPU does not allow asymmetric weights"),
                    std::string::npos)
              << m;
          throw;
        }
      },
      c10::Error);
  // Widths outside 2..8 in a config built in code fail with the path as well.
  config = QuantizationConfig{};
  config.activations.bits = 12;
  EXPECT_THROW(place(c, config, "TRIAL"), c10::Error);
}

TEST(QuantizerPlacement, PresetAppliesOnlyWhereNncfAppliesIt) {
  testing::ResNet18 net(testing::ResNet18Options().in_channels(1).base_width(8));
  auto c = capture_of(net, {2, 1, 28, 28});
  auto activation_modes = [&](const QuantizationConfig& config, const std::string& device) {
    std::set<QuantizationMode> modes;
    for (const auto& spec : place(c, config, device).quantizers) {
      if (spec.group == QuantizerGroup::Activations) modes.insert(spec.config.mode);
    }
    return modes;
  };
  const std::set<QuantizationMode> sym{QuantizationMode::Symmetric}, asym{QuantizationMode::Asymmetric};
  QuantizationConfig config;
  EXPECT_EQ(activation_modes(config, "CPU"), sym);
  EXPECT_EQ(activation_modes(config, "VPU"), asym) << "VPU's HW config prefers asymmetric activations";
  EXPECT_EQ(activation_modes(config, "TRIAL"), sym);
  config.preset = Preset::Mixed;
  config.preset_given = true;
  EXPECT_EQ(activation_modes(config, "GPU"), asym);
  EXPECT_EQ(activation_modes(config, "TRIAL"), asym);
  config.preset = Preset::Performance;
  EXPECT_EQ(activation_modes(config, "VPU"), asym) << "no preset on VPU, even an explicit one";
  config.activations.mode = QuantizationMode::Symmetric;
  EXPECT_EQ(activation_modes(config, "VPU"), sym) << "an explicit mode applies everywhere";
}

// A conv whose weight is computed in forward from a parameter: neither a parameter nor an
// activation, so it gets no quantizer, and placement says so.
struct ComputedWeightNetImpl : torch::nn::Module {
  ComputedWeightNetImpl() { w = register_parameter("w", torch::randn({4, 3, 3, 3})); }
  torch::Tensor forward(torch::Tensor x) { return torch::conv2d(x, w * 0.5, {}, 1, 1); }
  torch::Tensor w;
};
TORCH_MODULE(ComputedWeightNet);

TEST(QuantizerPlacement, WarnsAboutAConvWhoseWeightIsComputed) {
  ComputedWeightNet net;
  auto c = capture_of(net, {2, 3, 8, 8});
  QuantizerSetup s = place(c, QuantizationConfig{}, "CPU");
  EXPECT_EQ(s.count(QuantizerGroup::Weights), 0u) << s.to_string();
  ASSERT_EQ(s.warnings.size(), 1u) << s.to_string();
  EXPECT_NE(s.warnings[0].find(
                "its weight is computed in forward, not a parameter of the model, so it is not quantized"),
            std::string::npos)
      << s.warnings[0];
  // Ignoring the op's weights is a choice, not something to warn about.
  QuantizationConfig ignored;
  ignored.weights.ignored_scopes = {"{re}conv"};
  EXPECT_TRUE(place(c, ignored, "CPU").warnings.empty()) << place(c, ignored, "CPU").to_string();
}

// A small concat model: two conv-relu branches concatenated into a third conv.
struct ConcatNetImpl : torch::nn::Module {
  ConcatNetImpl() {
    a = register_module("a", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).padding(1)));
    b = register_module("b", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 1)));
    c = register_module("c", torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 2, 1)));
  }
  torch::Tensor forward(torch::Tensor x) {
    auto y = torch::cat({torch::relu(a->forward(x)), torch::max_pool2d(torch::relu(b->forward(x)), 1)}, 1);
    return c->forward(y);
  }
  torch::nn::Conv2d a{nullptr}, b{nullptr}, c{nullptr};
};
TORCH_MODULE(ConcatNet);

TEST(QuantizerPlacement, ConcatInputsShareOneRangeOnCpu) {
  ConcatNet net;
  auto c = capture_of(net, {2, 3, 8, 8});
  QuantizationConfig config;
  QuantizerSetup s = place(c, config, "CPU");
  expect_invariants(c.graph, s);
  // Input, and one quantizer for both concat inputs (unified), at the two relu outputs.
  ASSERT_EQ(s.count(QuantizerGroup::Activations), 2u) << s.to_string();
  for (const auto& q : s.quantizers) {
    if (q.group != QuantizerGroup::Activations || q.points[0].kind == InsertionPoint::Kind::ModelInput)
      continue;
    ASSERT_EQ(q.points.size(), 2u) << q.id;
    for (const auto& p : q.points) {
      EXPECT_EQ(p.kind, InsertionPoint::Kind::PostOp);
      EXPECT_EQ(c.graph.find_node(p.target)->metatype(), Metatype::ReLU) << p.target;
    }
  }
  // TRIAL has no unified concat: two quantizers.
  EXPECT_EQ(place(c, config, "TRIAL").count(QuantizerGroup::Activations), 3u);
}

}  // namespace
}  // namespace nncf::quantization
