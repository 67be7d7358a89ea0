#pragma once

// Checks that a captured model (a runtime::CompressedModel built from capture's result) computes
// what the model it was captured from computes: the same outputs, the same parameter gradients,
// the same BatchNorm statistic updates, in train and in eval mode, at a batch size that none of
// the traces used.
//
// Note [Shared tensors]: the CompressedModel registers the original's parameter and buffer
// tensors themselves, not copies. So one step of either model changes the other's state: the
// check runs the original, records its gradients and updated buffers, resets gradients and
// restores the buffers, then runs the captured model and compares.

#include <gtest/gtest.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "nncf/capture/capture.h"
#include "nncf/ir/printer.h"
#include "nncf/runtime/compressed_model.h"

namespace nncf::testing {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

/// A model under test, seen through what the check needs. Holds references: the model must
/// outlive it.
struct Subject {
  capture::Forward forward;
  std::function<void(bool)> set_training;
  std::function<bool()> is_training;
  NamedTensors parameters;  ///< in the model's own order
  NamedTensors buffers;
};

inline NamedTensors to_named(const torch::OrderedDict<std::string, torch::Tensor>& dict) {
  NamedTensors out;
  for (const auto& item : dict) out.emplace_back(item.key(), item.value());
  return out;
}

inline Subject subject(torch::nn::Module& module, capture::Forward forward) {
  return {std::move(forward), [&module](bool on) { module.train(on); },
          [&module] { return module.is_training(); }, to_named(module.named_parameters()),
          to_named(module.named_buffers())};
}

/// The reference for a TorchScript module is its interpreter run without the graph executor's
/// optimizations (whose fused or differentiable subgraphs could round differently).
inline Subject subject(torch::jit::Module& module) {
  Subject s;
  s.forward = [&module](const std::vector<c10::IValue>& in) {
    torch::jit::GraphOptimizerEnabledGuard no_opt(false);
    return module.forward(in);
  };
  s.set_training = [&module](bool on) { module.train(on); };
  s.is_training = [&module] { return module.is_training(); };
  for (const auto& p : module.named_parameters()) s.parameters.emplace_back(p.name, p.value);
  for (const auto& b : module.named_buffers()) s.buffers.emplace_back(b.name, b.value);
  return s;
}

inline Subject subject(runtime::CompressedModel& model) {
  return {[model](const std::vector<c10::IValue>& in) mutable { return model->forward(in); },
          [model](bool on) mutable { model->train(on); }, [model] { return model->is_training(); },
          to_named(model->named_parameters()), to_named(model->named_buffers())};
}

namespace detail {
template <typename Holder, size_t... I>
c10::IValue call_forward(Holder& net, const std::vector<c10::IValue>& in, std::index_sequence<I...>) {
  return c10::IValue(net->forward(in.at(I).toTensor()...));
}
}  // namespace detail

/// `forward` of a module holder whose forward takes N tensors (the reference run; the capture
/// goes through capture::capture_module).
template <size_t N, typename Holder>
capture::Forward forward_of(Holder& net) {
  return [&net](const std::vector<c10::IValue>& in) {
    return detail::call_forward(net, in, std::make_index_sequence<N>());
  };
}

/// max|a - ref| / max(max|ref|, min_scale) (max|a - ref| when that is 0), in double. 0 for two
/// undefined tensors; infinity when only one is defined or the shapes differ.
inline double rel_diff(const torch::Tensor& a, const torch::Tensor& ref, double min_scale = 0.0) {
  if (!a.defined() && !ref.defined()) return 0.0;
  if (!a.defined() || !ref.defined() || a.sizes() != ref.sizes())
    return std::numeric_limits<double>::infinity();
  if (ref.numel() == 0) return 0.0;
  torch::NoGradGuard no_grad;
  const auto ad = a.to(torch::kDouble), rd = ref.to(torch::kDouble);
  const double diff = (ad - rd).abs().max().item<double>();
  const double scale = std::max(rd.abs().max().item<double>(), min_scale);
  return scale > 0 ? diff / scale : diff;
}

/// The largest of a set of differences, and where it was.
struct Worst {
  double value = 0.0;
  std::string where;
  void update(double v, const std::string& w) {
    if (!(v <= value)) value = v, where = w;  // NaN wins
  }
};
inline std::ostream& operator<<(std::ostream& os, const Worst& w) {
  os << w.value;
  if (!w.where.empty()) os << " (" << w.where << ")";
  return os;
}

/// Tensors of an output (tensor, or tuples/lists of them, nested), and its structure as text.
inline void flatten_output(const c10::IValue& v, std::vector<torch::Tensor>& out, std::string& structure) {
  if (v.isTensor()) {
    out.push_back(v.toTensor());
    structure += "T";
  } else if (v.isTuple() || v.isList()) {
    const auto elems = v.isTuple() ? v.toTupleRef().elements().vec() : v.toListRef().vec();
    structure += v.isTuple() ? "(" : "[";
    for (const auto& e : elems) flatten_output(e, out, structure), structure += ",";
    structure += v.isTuple() ? ")" : "]";
  } else {
    structure += v.tagKind();
  }
}

/// See Note [Gradient scale].
constexpr double kGradScaleFloor = 1e-3;

/// What one step (forward + backward in one mode) of two models disagreed on.
struct StepResult {
  Worst output, grad, buffer;
  Worst eval_buffer_moved;          ///< eval mode only: how far the captured step moved any buffer
  size_t num_grads = 0;             ///< parameters that got a gradient from the original's step
  std::vector<std::string> errors;  ///< structural mismatches
};

inline NamedTensors snapshot(const NamedTensors& tensors) {
  NamedTensors out;
  torch::NoGradGuard no_grad;
  for (const auto& [name, t] : tensors) out.emplace_back(name, t.detach().clone());
  return out;
}

inline void restore(const NamedTensors& tensors, const NamedTensors& saved) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < tensors.size(); ++i) tensors[i].second.copy_(saved[i].second);
}

inline void clear_grads(const NamedTensors& params) {
  for (const auto& [name, p] : params) p.mutable_grad() = torch::Tensor();
}

/// Runs one step of `original`, then of `captured` (see Note [Shared tensors]), on `inputs` in
/// the given mode, with the same RNG seed (dropout) and the same loss: sum over outputs of
/// (output * fixed random tensor). Buffers are left as the original's step left them.
inline StepResult compare_step(const Subject& original, const Subject& captured,
                               const std::vector<torch::Tensor>& inputs, bool training) {
  StepResult r;
  const std::vector<c10::IValue> in(inputs.begin(), inputs.end());
  original.set_training(training);
  captured.set_training(training);
  const NamedTensors before = snapshot(original.buffers);

  // Original.
  clear_grads(original.parameters);
  torch::manual_seed(20240531);
  std::vector<torch::Tensor> out_o;
  std::string structure_o;
  flatten_output(original.forward(in), out_o, structure_o);
  std::vector<torch::Tensor> weights;
  torch::manual_seed(7);
  for (const auto& t : out_o) weights.push_back(torch::randn(t.sizes(), t.options().requires_grad(false)));
  auto loss_of = [&](const std::vector<torch::Tensor>& outs) {
    torch::Tensor loss = torch::zeros({}, torch::kDouble);
    for (size_t i = 0; i < outs.size() && i < weights.size(); ++i)
      if (outs[i].requires_grad()) loss = loss + (outs[i] * weights[i]).sum().to(torch::kDouble);
    return loss;
  };
  torch::Tensor loss_o = loss_of(out_o);
  if (loss_o.requires_grad()) loss_o.backward();
  NamedTensors grads_o;
  for (const auto& [name, p] : original.parameters) {
    grads_o.emplace_back(name, p.grad().defined() ? p.grad().clone() : torch::Tensor());
    r.num_grads += p.grad().defined();
  }
  const NamedTensors after_o = snapshot(original.buffers);
  for (auto& t : out_o) t = t.detach();

  // Captured, from the same state.
  restore(original.buffers, before);
  clear_grads(original.parameters);
  clear_grads(captured.parameters);
  torch::manual_seed(20240531);
  std::vector<torch::Tensor> out_c;
  std::string structure_c;
  flatten_output(captured.forward(in), out_c, structure_c);
  if (structure_c != structure_o) {
    r.errors.push_back("output structure " + structure_c + ", original " + structure_o);
    return r;
  }
  torch::Tensor loss_c = loss_of(out_c);
  if (loss_c.requires_grad() != loss_o.requires_grad())
    r.errors.push_back(std::string("captured loss ") +
                       (loss_c.requires_grad() ? "requires" : "does not require") +
                       " grad, the original's not");
  if (loss_c.requires_grad()) loss_c.backward();

  for (size_t i = 0; i < out_o.size(); ++i)
    r.output.update(rel_diff(out_c[i], out_o[i]), "output " + std::to_string(i));
  // Gradients through the captured model's own parameter list: it must hold the same tensors.
  std::map<std::string, torch::Tensor> grads_c;
  for (const auto& [name, p] : captured.parameters) grads_c[name] = p.grad();
  // Note [Gradient scale]: some gradients are zero in exact arithmetic and rounding noise in
  // floating point (the bias of a conv followed by a train-mode BatchNorm, whose mean subtraction
  // cancels it); relative to their own size, any rounding difference would be huge. So each
  // gradient is measured relative to at least kGradScaleFloor times the model's largest gradient.
  double grad_scale = 0.0;
  for (const auto& [name, g] : grads_o)
    if (g.defined()) grad_scale = std::max(grad_scale, g.abs().max().item<double>());
  for (const auto& [name, g] : grads_o) {
    auto it = grads_c.find(name);
    if (it == grads_c.end()) {
      r.errors.push_back("no captured parameter " + name);
      continue;
    }
    r.grad.update(rel_diff(it->second, g, kGradScaleFloor * grad_scale), name);
  }
  for (size_t i = 0; i < before.size(); ++i) {
    const auto& [name, b] = original.buffers[i];
    r.buffer.update(rel_diff(b, after_o[i].second), name);
    if (!training) r.eval_buffer_moved.update(rel_diff(b, before[i].second), name);
  }
  clear_grads(original.parameters);
  return r;
}

/// Randomizes BatchNorm affine parameters and moves the running statistics with a few
/// train-mode batches, so that neither is trivial; leaves the module in eval mode.
inline void prepare_batch_norm(torch::nn::Module& module, const capture::Forward& forward,
                               const std::vector<torch::Tensor>& example) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  for (const auto& m : module.modules()) {
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.uniform_(-0.2, 0.2);
    }
  }
  module.train(true);
  for (int i = 0; i < 3; ++i) {
    std::vector<c10::IValue> in;
    for (const auto& e : example) in.emplace_back(torch::randn_like(e));
    forward(in);
  }
  module.train(false);
}

/// The first line where two texts differ, for a readable failure on large graphs.
inline std::string first_difference(const std::string& a, const std::string& b) {
  std::istringstream sa(a), sb(b);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool ga = static_cast<bool>(std::getline(sa, la)), gb = static_cast<bool>(std::getline(sb, lb));
    if (!ga && !gb) return "";
    if (!ga || !gb || la != lb)
      return "line " + std::to_string(line) + ":\n  first:  " + (ga ? la : "<end>") +
             "\n  second: " + (gb ? lb : "<end>");
  }
}

/// Tolerance on every relative difference; the captured graph runs the same ATen kernels, so the
/// differences are expected to be 0.
constexpr double kTolerance = 1e-6;

/// The whole check of one model, reported through gtest:
///   * `capture_fn` twice gives the same IR text (deterministic scopes and names), and leaves the
///     original's mode and buffers as they were;
///   * the CompressedModel's named_parameters()/named_buffers() have the original's names in the
///     original's order, and are the original's tensors;
///   * in train and in eval mode, outputs, gradients and buffer updates agree (compare_step);
///     in eval mode no buffer moves.
/// Prints the node count and the differences.
inline void expect_capture_equivalent(const std::string& label, const Subject& original,
                                      const std::function<capture::Captured()>& capture_fn,
                                      const std::vector<torch::Tensor>& inputs) {
  const bool was_training = original.is_training();
  const NamedTensors buffers_before = snapshot(original.buffers);
  capture::Captured cap = capture_fn();
  EXPECT_EQ(original.is_training(), was_training) << label << ": capture changed the module's mode";
  for (size_t i = 0; i < buffers_before.size(); ++i)
    EXPECT_TRUE(original.buffers[i].second.equal(buffers_before[i].second))
        << label << ": capture moved buffer " << buffers_before[i].first;
  {
    capture::Captured again = capture_fn();
    const std::string a = ir::to_text(cap.graph), b = ir::to_text(again.graph);
    EXPECT_TRUE(a == b) << label << ": two captures differ at " << first_difference(a, b);
  }
  const size_t num_nodes = cap.graph.num_nodes();
  runtime::CompressedModel model(std::move(cap.graph), cap.tensors);
  const Subject captured = subject(model);

  // Tensor constants of a traced forward become buffers `nncf_constants.<k>` of the capture.
  auto names = [](const NamedTensors& t) {
    std::vector<std::string> n;
    for (const auto& item : t) {
      if (item.first.rfind("nncf_constants.", 0) != 0) n.push_back(item.first);
    }
    return n;
  };
  EXPECT_EQ(names(captured.parameters), names(original.parameters)) << label << ": parameter names";
  EXPECT_EQ(names(captured.buffers), names(original.buffers)) << label << ": buffer names";
  for (const auto* list : {&original.parameters, &original.buffers}) {
    for (const auto& [name, t] : *list) {
      const torch::Tensor c = model->tensor(name);
      EXPECT_TRUE(c.defined() && c.is_same(t)) << label << ": " << name << " is not the original's tensor";
    }
  }

  std::cout << "[ captured ] " << label << ": " << num_nodes << " nodes, " << original.parameters.size()
            << " parameters, " << original.buffers.size() << " buffers\n";
  for (const bool training : {true, false}) {
    const char* mode = training ? "train" : "eval";
    const StepResult r = compare_step(original, captured, inputs, training);
    for (const auto& e : r.errors) ADD_FAILURE() << label << " [" << mode << "]: " << e;
    EXPECT_GT(r.num_grads, 0u) << label << " [" << mode << "]: the original's step produced no gradient";
    EXPECT_LE(r.output.value, kTolerance) << label << " [" << mode << "]: outputs differ: " << r.output;
    EXPECT_LE(r.grad.value, kTolerance) << label << " [" << mode << "]: gradients differ: " << r.grad;
    EXPECT_LE(r.buffer.value, kTolerance)
        << label << " [" << mode << "]: buffer updates differ: " << r.buffer;
    if (!training)
      EXPECT_EQ(r.eval_buffer_moved.value, 0.0) << label << ": eval step moved " << r.eval_buffer_moved;
    std::cout << "[ captured ] " << label << " [" << mode << "]: rel diff output " << r.output << ", grad "
              << r.grad << ", buffer " << r.buffer << "; " << r.num_grads << " grads\n";
  }
}

}  // namespace nncf::testing
