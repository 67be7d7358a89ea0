#pragma once

// One file with everything needed to resume compressed training exactly: the config, every
// controller's state (quantizer setup, sparsity level, scheduler position), all of the model's
// tensors (the user's parameters and buffers, quantizer ranges, masks), the CPU random generator
// and, optionally, the optimizer.
//
//   nncf::save_checkpoint("last.nncf", result, config, &optimizer);     // atomic
//   ...
//   auto ckpt = nncf::Checkpoint::load("last.nncf");
//   auto resumed = nncf::create_compressed_model(net, config, ckpt);    // no re-initialization
//   resumed.ctrl->initialize(*train_loader);    // resumed: takes the data, re-runs no initialization
//   torch::optim::SGD optimizer(resumed.model->parameters(), options);
//   ckpt.restore_optimizer(optimizer);
//   ... the same training loop, from the next epoch ...
//
// These calls continue bit-identically to an uninterrupted run (same config, one intra-op
// thread). The initialize() call gives the controller the data that later steps need (a staged
// quantization re-initializes its ranges at its start epoch): a resumed controller that needs
// data and was not given it fails at its first scheduler call, naming ctrl->initialize(loader).
// create_compressed_model restores the CPU random generator last, so whatever draws from it
// afterwards shifts the sequence: build data loaders before it (a RandomSampler draws at
// construction) and draw nothing between it and training.
//
// The config must have the compression the checkpoint was saved with: every `compression` section,
// `target_device` (default ANY) and the global `compression_lr_multiplier` equal as JSON values
// (comments, formatting and member order do not matter; a key added with its default value does).
// Other keys (input_info, the training loop's own) may differ.
//
// A save writes a temporary file next to the target, syncs it and renames it over the target, so
// a crash during a save leaves the previous checkpoint intact.

#include <torch/optim/optimizer.h>
#include <torch/serialize/input-archive.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nncf/api/compression.h"

namespace nncf {

class Checkpoint {
 public:
  /// Reads a checkpoint. Throws c10::Error naming the file when it is missing, unreadable, not an
  /// nncf-cpp checkpoint, or of a newer format version.
  static Checkpoint load(const std::string& path);

  static constexpr int64_t kFormatVersion = 1;

  const std::string& path() const { return path_; }
  /// The JSON text of the config the checkpoint was saved with.
  const std::string& config_json() const { return config_json_; }
  /// `quantization`, `magnitude_sparsity`, ... in config order.
  const std::vector<std::string>& algorithms() const { return algorithms_; }
  const std::map<std::string, c10::IValue>& controller_state() const { return controller_state_; }
  const std::map<std::string, at::Tensor>& tensors() const { return tensors_; }
  /// The shape of every saved parameter and buffer, by dotted name. save_checkpoint records them
  /// and load checks each saved tensor against its record (a mismatch is a corrupt file); for a
  /// checkpoint written before shapes were recorded they are the saved tensors' shapes. A model
  /// whose structure changed during training (filter pruning shrinks conv weights) is restored by
  /// building it afresh, shrinking it to these shapes (CompressedModelImpl::rewritten), and then
  /// calling restore_model.
  const std::map<std::string, std::vector<int64_t>>& tensor_shapes() const { return tensor_shapes_; }
  bool has_optimizer() const { return optimizer_ != nullptr; }
  /// What the caller saved with the checkpoint (e.g. a training loop's epoch and best accuracy as
  /// JSON); empty when nothing was.
  const std::string& user_data() const { return user_data_; }

  /// Loads the saved optimizer state into `optimizer` (built over the resumed model's
  /// parameters, in the same order). Throws c10::Error if none was saved.
  void restore_optimizer(torch::optim::Optimizer& optimizer) const;
  /// Loads the model's tensors: every saved name must exist in `model` with the same shape and
  /// vice versa; the error lists the names that do not match, and for a shape mismatch the
  /// tensor with both shapes (`conv1.weight (saved [2, 3, 3, 3], model [4, 3, 3, 3])`). Nothing
  /// is copied unless everything matches.
  void restore_model(runtime::CompressedModel& model) const;
  /// Restores the CPU random generator.
  void restore_rng() const;

 private:
  std::string path_;
  std::string config_json_;
  std::vector<std::string> algorithms_;
  std::map<std::string, c10::IValue> controller_state_;
  std::map<std::string, at::Tensor> tensors_;
  std::map<std::string, std::vector<int64_t>> tensor_shapes_;
  at::Tensor rng_;
  std::string user_data_;
  std::shared_ptr<torch::serialize::InputArchive> optimizer_;
};

/// Writes a checkpoint of `result` atomically. `optimizer` is optional; `user_data` is stored as is
/// and comes back from Checkpoint::user_data().
void save_checkpoint(const std::string& path, const CompressionResult& result, const Config& config,
                     const torch::optim::Optimizer* optimizer = nullptr, const std::string& user_data = "");

/// Rebuilds the compression of `config` on a captured model from a checkpoint: the same
/// algorithms and modules, the saved tensors, controller states and, last, the RNG; no
/// initialization runs (call ctrl->initialize(loader) to give the controller its data). Throws
/// c10::Error naming what does not match: the algorithms, the first JSON path at which the
/// compression config differs (`compression[0].params.sparsity_target: the checkpoint was saved
/// with 0.5, the config has 0.7`), quantizers, sparsified weights, tensor names or shapes.
CompressionResult create_compressed_model(capture::Captured captured, const Config& config,
                                          const Checkpoint& checkpoint,
                                          const std::vector<at::Tensor>& example_inputs = {});

/// A TorchScript file, resumed from a checkpoint.
CompressionResult create_compressed_model(const std::string& torchscript_path, const Config& config,
                                          const Checkpoint& checkpoint,
                                          const std::vector<at::Tensor>& example_inputs = {});

/// A C++ module, resumed from a checkpoint.
template <typename ModuleHolder,
          typename = std::enable_if_t<!std::is_convertible_v<ModuleHolder&, std::string> &&
                                      !std::is_same_v<std::decay_t<ModuleHolder>, capture::Captured>>>
CompressionResult create_compressed_model(ModuleHolder& net, const Config& config,
                                          const Checkpoint& checkpoint, std::vector<at::Tensor> inputs = {}) {
  if (inputs.empty()) inputs = example_inputs(config);
  return create_compressed_model(capture::capture_module(net, inputs), config, checkpoint, inputs);
}

}  // namespace nncf
