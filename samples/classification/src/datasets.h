#pragma once

// Datasets of the classification sample and a deterministic batch loader.
//
//   fashion_mnist, mnist   <root>/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] (IDX, gzip or plain)
//   cifar10                <root>/data_batch_{1..5}.bin, test_batch.bin (the "binary version")
//   cifar100               <root>/train.bin, test.bin (fine labels)
//   image_folder, imagenet <root>/{train,val}/<class>/<image>.{jpg,jpeg,png} (ImageNet layout);
//                          classes are the sorted folder names
//
// Images come out as float CHW tensors, normalized per channel with the dataset's mean and std.
// Augmentation (training split only, when asked): the usual ones per dataset -- random crop with
// padding and horizontal flip for CIFAR, random crop with padding for (Fashion-)MNIST, random
// resized crop + flip for image folders (resize + center crop when not augmenting).
// A missing or corrupt dataset throws std::runtime_error naming the file and what is wrong.

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace nncf_sample {

struct DatasetOptions {
  std::string name;   ///< fashion_mnist | mnist | cifar10 | cifar100 | image_folder | imagenet
  std::string root;   ///< the folder holding the files
  bool train = true;  ///< training or test/validation split
  bool augment = false;
  int64_t image_size = 0;  ///< image folders: output side (default 224); others: must be 0 or native
  int64_t channels = 0;    ///< 0: native; 3 for a gray dataset replicates the channel
  int64_t limit = 0;       ///< > 0: only the first `limit` samples (image folders: `limit` samples
                           ///< evenly spaced over the sorted list, so that every class appears)
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  /// Sample `i` as a float [C, H, W] tensor, normalized; augmented (if enabled) with randomness
  /// drawn from `gen` only, so the same generator state gives the same image. Must be safe to call
  /// from several threads at once (the Loader does). Image folders decode here and throw
  /// std::runtime_error naming the file when it cannot be decoded.
  virtual torch::Tensor image(int64_t i, at::Generator& gen) const = 0;
  virtual int64_t label(int64_t i) const = 0;
  virtual int64_t num_classes() const = 0;
  /// [C, H, W] of every image().
  virtual std::vector<int64_t> image_shape() const = 0;
  virtual std::string description() const = 0;  ///< e.g. "Fashion-MNIST train (60000 images)"
};

/// Opens a dataset; throws std::runtime_error for an unknown name or a missing/corrupt dataset.
std::unique_ptr<Dataset> open_dataset(const DatasetOptions& options);

/// A fixed train/validation split of `size` samples: `val_size` indices drawn by a permutation
/// seeded with `seed` alone (not the run's seed, so every run of a dataset holds out the same
/// images), the rest for training; both sorted, disjoint, and together every index. Throws
/// std::runtime_error unless 0 <= val_size < size.
struct TrainValSplit {
  std::vector<int64_t> train, val;
};
TrainValSplit train_val_split(int64_t size, int64_t val_size, uint64_t seed);

/// The samples `indices` of `base`, in that order: sample i of the subset is sample indices[i] of
/// `base` (augmented, if `base` augments, from the subset's generator). `what` names the subset in
/// description(), e.g. "validation".
std::unique_ptr<Dataset> subset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices,
                                const std::string& what);

/// Mini-batches over a dataset. The order (shuffled or not) and every sample's augmentation depend
/// only on (seed, epoch, sample index), so a run resumed at an epoch boundary sees exactly the
/// batches an uninterrupted run would have seen.
class Loader {
 public:
  Loader(const Dataset& dataset, int64_t batch_size, bool shuffle, uint64_t seed, bool drop_last = false);
  void set_epoch(int64_t epoch);
  int64_t num_batches() const;
  /// Batch `b` of the current epoch: images [B, C, H, W] and int64 labels [B]. Samples are built in
  /// parallel (at::parallel_for), each with a CPU generator seeded from (seed, epoch, index).
  std::pair<torch::Tensor, torch::Tensor> batch(int64_t b) const;
  const Dataset& dataset() const { return dataset_; }
  /// A hash (16 hex digits) of the sample order of the current epoch's first `batches` batches (all
  /// when <= 0), and of the seed their augmentation draws from: two runs with equal hashes train on
  /// the same images in the same order, augmented alike.
  std::string order_hash(int64_t batches = 0) const;

 private:
  const Dataset& dataset_;
  int64_t batch_size_;
  bool shuffle_, drop_last_;
  uint64_t seed_;
  int64_t epoch_ = 0;
  std::vector<int64_t> order_;
};

}  // namespace nncf_sample
