#pragma once

// What every sample's data is for the shared pipeline: a set of examples (input, target), a fixed
// train/validation split, subsets, and a deterministic batch loader.

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace nncf_sample {

/// One example: the model's input and what the loss and the metric compare its output with (a class
/// index as an int64 scalar, a mask [H, W], boxes [K, 5], ...).
struct Example {
  torch::Tensor input, target;
};

/// A sample's dataset as the pipeline sees it. Each sample's own dataset interface derives from it
/// (classification: datasets.h Dataset, images and labels).
class ExampleSet {
 public:
  virtual ~ExampleSet() = default;
  virtual int64_t size() const = 0;
  /// Example `i`, augmented (if enabled) with randomness drawn from `gen` only, so that the same
  /// generator state gives the same example. Must be safe to call from several threads at once (the
  /// Loader does); throws std::runtime_error naming the file when a sample cannot be read.
  virtual Example example(int64_t i, at::Generator& gen) const = 0;
  /// The shape of every example's input, without the batch dimension.
  virtual std::vector<int64_t> input_shape() const = 0;
  virtual std::string description() const = 0;  ///< e.g. "Fashion-MNIST train (60000 images)"
};

/// A fixed train/validation split of `size` samples: `val_size` indices drawn by a permutation
/// seeded with `seed` alone (not the run's seed, so every run of a dataset holds out the same
/// samples), the rest for training; both sorted, disjoint, and together every index. Throws
/// std::runtime_error unless 0 <= val_size < size.
struct TrainValSplit {
  std::vector<int64_t> train, val;
};
TrainValSplit train_val_split(int64_t size, int64_t val_size, uint64_t seed);

/// The index map of a subset of a dataset of `base_size` samples: example i of the subset is
/// sample indices[i] of the base. Throws std::runtime_error, naming `base_description`, for an
/// index out of range (at construction or lookup).
class SubsetIndices {
 public:
  SubsetIndices(std::vector<int64_t> indices, int64_t base_size, const std::string& base_description);
  int64_t size() const { return static_cast<int64_t>(indices_.size()); }
  int64_t operator()(int64_t i) const;

 private:
  std::vector<int64_t> indices_;
};

/// The examples `indices` of `base`, in that order: example i of the subset is example indices[i]
/// of `base` (augmented, if `base` augments, from the subset's generator). `what` names the subset
/// in description(), e.g. "validation". Throws std::runtime_error for an index out of range.
std::unique_ptr<ExampleSet> example_subset(std::shared_ptr<const ExampleSet> base,
                                           std::vector<int64_t> indices, const std::string& what);

/// Hashes (h, v) with splitmix64's finalizer; the loader's seeds are chains of it.
uint64_t mix_seed(uint64_t h, uint64_t v);

/// Mini-batches over a dataset. The order (shuffled or not) and every example's augmentation depend
/// only on (seed, epoch, example index), so a run resumed at an epoch boundary sees exactly the
/// batches an uninterrupted run would have seen.
class Loader {
 public:
  Loader(const ExampleSet& dataset, int64_t batch_size, bool shuffle, uint64_t seed, bool drop_last = false);
  void set_epoch(int64_t epoch);
  int64_t num_batches() const;
  /// Batch `b` of the current epoch: the inputs stacked [B, ...] and the targets stacked [B, ...].
  /// Targets whose first dimension differs (boxes [K_i, 5]) are padded with -1 to the longest.
  /// Examples are built in parallel (at::parallel_for), each with a CPU generator seeded from
  /// (seed, epoch, index).
  std::pair<torch::Tensor, torch::Tensor> batch(int64_t b) const;
  const ExampleSet& dataset() const { return dataset_; }
  int64_t batch_size() const { return batch_size_; }
  /// A hash (16 hex digits) of the example order of the current epoch's first `batches` batches (all
  /// when <= 0), and of the seed their augmentation draws from: two runs with equal hashes train on
  /// the same examples in the same order, augmented alike.
  std::string order_hash(int64_t batches = 0) const;

 private:
  const ExampleSet& dataset_;
  int64_t batch_size_;
  bool shuffle_, drop_last_;
  uint64_t seed_;
  int64_t epoch_ = 0;
  std::vector<int64_t> order_;
};

/// Stacks `targets` into one tensor [N, ...]; targets whose first dimension differs are padded with
/// -1 to the longest (the others must agree). Throws std::runtime_error when they cannot be stacked.
torch::Tensor stack_targets(const std::vector<torch::Tensor>& targets);

}  // namespace nncf_sample
