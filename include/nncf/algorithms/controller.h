#pragma once

// The controller API every compression algorithm implements (NNCF's CompressionAlgorithmController):
//
//   ctrl->initialize(train_loader);                 // range init, BN adaptation, ...
//   for (epoch) { ctrl->scheduler().epoch_step();   // before each epoch
//     for (batch) { ctrl->scheduler().step();       // before each iteration
//       loss = task_loss + ctrl->loss(); ... } }
//   std::cout << ctrl->statistics().to_string();
//
// `initialize` takes any LibTorch data loader (batches of `torch::data::Example`, of tensors, or
// of vectors of examples) or an InitData built from a callback that yields the model's inputs.

#include <ATen/core/Tensor.h>
#include <ATen/core/ivalue.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace torch::optim {
class Optimizer;
}

namespace nncf {

class Collective;  // nncf/algorithms/collective.h

/// How far a model is compressed (NNCF's CompressionStage).
enum class CompressionStage { Uncompressed, PartiallyCompressed, FullyCompressed };
/// "uncompressed", "partially compressed", "fully compressed".
const char* to_string(CompressionStage stage);

/// Counts optimizer steps and epochs; algorithms with schedules derive from it. Both counters start
/// at -1: the first epoch_step() makes the epoch 0 (NNCF: call them at the *beginning* of an epoch
/// or step).
class CompressionScheduler {
 public:
  virtual ~CompressionScheduler() = default;
  /// Before each optimizer step; `next_step` jumps to that step.
  virtual void step(std::optional<int64_t> next_step = std::nullopt);
  /// Before each epoch; `next_epoch` jumps to that epoch.
  virtual void epoch_step(std::optional<int64_t> next_epoch = std::nullopt);
  int64_t current_step() const { return current_step_; }
  int64_t current_epoch() const { return current_epoch_; }
  /// The position, for resuming: `current_step`, `current_epoch` (and what a derived scheduler
  /// adds).
  virtual std::map<std::string, double> state() const;
  /// Restores state(); throws c10::Error naming a missing key.
  virtual void load_state(const std::map<std::string, double>& state);

 protected:
  int64_t current_step_ = -1;
  int64_t current_epoch_ = -1;
};

/// A titled table of strings.
struct StatisticsTable {
  std::string title;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

/// What an algorithm reports: tables for people, named numbers for programs
/// (`quantization.weights.enabled_ratio`, ...).
struct Statistics {
  std::vector<StatisticsTable> tables;
  std::map<std::string, double> values;

  /// The tables as aligned text, then the values.
  std::string to_string() const;
  /// Appends another algorithm's statistics.
  void merge(const Statistics& other);
};

/// The data an initialization runs on: a producer that calls `visit(inputs)` for each batch until
/// it runs out or `visit` returns false. `inputs` are the model's forward arguments.
class InitData {
 public:
  using Visitor = std::function<bool(std::vector<c10::IValue> inputs)>;
  using Producer = std::function<void(const Visitor& visit)>;

  InitData() = default;
  explicit InitData(Producer producer) : producer_(std::move(producer)) {}

  /// Any iterable of batches: a torch::data loader (its batches are `Example`s, vectors of
  /// `Example`s, which are stacked, or tensors) or a container of tensors. The first member of an
  /// Example is the input; the target is not used. The loader must outlive the InitData.
  template <typename Loader, typename = std::enable_if_t<!std::is_same_v<std::decay_t<Loader>, InitData>>>
  static InitData from_loader(Loader& loader);

  bool empty() const { return !producer_; }
  /// Runs `visit` on each batch until it returns false or the data runs out. Throws c10::Error if
  /// the data is empty (no producer).
  void for_each(const Visitor& visit) const;

  /// In a distributed run, the collective through which initializations reduce their statistics
  /// (every process passes its own shard of the data); nullptr in one process.
  const std::shared_ptr<Collective>& collective() const { return collective_; }
  InitData& set_collective(std::shared_ptr<Collective> collective) {
    collective_ = std::move(collective);
    return *this;
  }

 private:
  Producer producer_;
  std::shared_ptr<Collective> collective_;
};

class CompressionController {
 public:
  virtual ~CompressionController() = default;
  /// `quantization`, `magnitude_sparsity`, ...
  virtual std::string name() const = 0;
  /// Data-driven initialization (range init, BN adaptation, ...).
  virtual void initialize(const InitData& data) = 0;
  /// True when initialize() measures activations as the other algorithms' modules make them
  /// (binarization's activation scales): a composite initializes such children after the others,
  /// so that they see initialized quantizers rather than default ranges.
  virtual bool initializes_on_compressed_activations() const { return false; }
  template <typename Loader, typename = std::enable_if_t<!std::is_same_v<std::decay_t<Loader>, InitData>>>
  void initialize(Loader& loader) {
    initialize(InitData::from_loader(loader));
  }
  /// The compression loss to add to the task loss (a zero scalar for algorithms without one).
  virtual at::Tensor loss() const = 0;
  virtual CompressionScheduler& scheduler() = 0;
  virtual Statistics statistics() const = 0;
  virtual CompressionStage compression_stage() const = 0;

  /// The optimizer training the model, for algorithms that change the model's structure while it
  /// trains (filter pruning shrinks its tensors when its schedule freezes and slices this
  /// optimizer's state with them). Others ignore it; a composite passes it to each child. nullptr
  /// detaches. The optimizer must outlive its attachment.
  virtual void attach_optimizer(torch::optim::Optimizer* optimizer) { (void)optimizer; }

  /// What the compression schedule asks of the optimizer at fractional epoch `epoch` (epochs done
  /// plus the fraction of the current one): a factor for the learning rate and whether weight
  /// decay stays on. Staged quantization and binarization (`params`: lr_poly_drop_*,
  /// disable_wd_start_epoch) ask for something; every other algorithm returns 1 and true, and a
  /// composite multiplies its children's factors and keeps weight decay while all of them do.
  virtual double learning_rate_multiplier(double epoch) const {
    (void)epoch;
    return 1.0;
  }
  virtual bool weight_decay_enabled(double epoch) const {
    (void)epoch;
    return true;
  }

  /// What resuming needs beyond the model's tensors (scheduler position, levels, the ids of the
  /// inserted modules): plain values that nncf::save_checkpoint writes.
  virtual std::map<std::string, c10::IValue> state() const { return {}; }
  /// Restores state() on a controller freshly built from the same model and config, without
  /// re-initializing. Throws c10::Error naming any key that is missing or does not match.
  virtual void load_state(const std::map<std::string, c10::IValue>& state) { (void)state; }

  /// Writes the compressed model for deployment: `format` "onnx" (opset 13; quantizers as
  /// QuantizeLinear/DequantizeLinear with `export_to_onnx_standard_ops`, else OpenVINO's
  /// FakeQuantize) or "torchscript" (LibTorch's built-in ops only). Atomic. Available on the
  /// controllers nncf::create_compressed_model returns; throws c10::Error otherwise.
  void export_model(const std::string& path, const std::string& format = "onnx") const;
  using Exporter = std::function<void(const std::string& path, const std::string& format)>;
  void set_exporter(Exporter exporter) { exporter_ = std::move(exporter); }

 private:
  Exporter exporter_;
};

// ---- implementation of the template -------------------------------------------------------------

namespace detail {
template <typename T, typename = void>
struct has_data_member : std::false_type {};
template <typename T>
struct has_data_member<T, std::void_t<decltype(std::declval<T&>().data)>> : std::true_type {};

template <typename T, typename = void>
struct is_sequence : std::false_type {};
template <typename T>
struct is_sequence<T, std::void_t<decltype(std::declval<T&>().size()), decltype(std::declval<T&>()[0])>>
    : std::true_type {};

template <typename T, typename = void>
struct is_iterable : std::false_type {};
template <typename T>
struct is_iterable<T, std::void_t<decltype(std::declval<T&>().begin())>> : std::true_type {};

at::Tensor stack_tensors(const std::vector<at::Tensor>& tensors);

template <typename Batch>
std::vector<c10::IValue> batch_inputs(Batch&& batch) {
  using B = std::decay_t<Batch>;
  if constexpr (std::is_same_v<B, at::Tensor>) {
    return {batch};
  } else if constexpr (has_data_member<B>::value) {
    return {batch.data};
  } else if constexpr (is_sequence<B>::value) {
    std::vector<at::Tensor> items;
    items.reserve(batch.size());
    for (auto& example : batch) items.push_back(example.data);
    return {stack_tensors(items)};
  } else {
    static_assert(sizeof(B) == 0, "nncf::InitData: batches must be Examples, vectors of Examples or Tensors");
  }
}
}  // namespace detail

template <typename Loader, typename>
InitData InitData::from_loader(Loader& loader) {
  return InitData([&loader](const Visitor& visit) {
    // A loader, or a (smart) pointer to one, as torch::data::make_data_loader returns.
    auto run = [&](auto& source) {
      for (auto&& batch : source) {
        if (!visit(detail::batch_inputs(batch))) return;
      }
    };
    if constexpr (detail::is_iterable<Loader>::value) {
      run(loader);
    } else {
      run(*loader);
    }
  });
}

}  // namespace nncf
