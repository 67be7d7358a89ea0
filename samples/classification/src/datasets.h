#pragma once

// Datasets of the classification sample (the loader, splits and subsets: common/data.h).
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

#include "common/data.h"

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

/// An image classification dataset: images and their class labels, seen by the shared pipeline as
/// examples (the image, the label as an int64 scalar).
class Dataset : public ExampleSet {
 public:
  /// Sample `i` as a float [C, H, W] tensor, normalized; augmented (if enabled) with randomness
  /// drawn from `gen` only, so the same generator state gives the same image. Must be safe to call
  /// from several threads at once (the Loader does). Image folders decode here and throw
  /// std::runtime_error naming the file when it cannot be decoded.
  virtual torch::Tensor image(int64_t i, at::Generator& gen) const = 0;
  virtual int64_t label(int64_t i) const = 0;
  virtual int64_t num_classes() const = 0;
  /// [C, H, W] of every image().
  virtual std::vector<int64_t> image_shape() const = 0;

  Example example(int64_t i, at::Generator& gen) const final;
  std::vector<int64_t> input_shape() const final { return image_shape(); }
};

/// Opens a dataset; throws std::runtime_error for an unknown name or a missing/corrupt dataset.
std::unique_ptr<Dataset> open_dataset(const DatasetOptions& options);

/// The images `indices` of `base`, in that order, as a Dataset (common/data.h example_subset makes
/// the same of any ExampleSet): image i of the subset is image indices[i] of `base` (augmented, if
/// `base` augments, from the subset's generator). `what` names the subset in description(), e.g.
/// "validation".
std::unique_ptr<Dataset> subset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices,
                                const std::string& what);

}  // namespace nncf_sample
