#pragma once

// The samples' pipeline, what every sample's program runs for its task (task.h):
//
//   train:  FP32 baseline (trained per the config's `fp32` section unless --pretrained gives
//           weights; a baseline already trained into the log folder is reused; the epoch with the
//           best validation metric is kept), evaluation; compression
//           (nncf::create_compressed_model), initialization on training data, fine-tuning with the
//           compression scheduler, evaluation on the validation split and the test set and
//           statistics each epoch, checkpoints `last.nncf` and `best.nncf` (the fully-compressed
//           epoch with the best validation metric); then the best model is exported to ONNX and
//           its metric on the test set measured in ONNX Runtime.
//
// The validation split (the config's `val_split`, config.h) is held out of the training
// set; it selects epochs, the test set only measures them: reported metrics are test metrics of
// epochs chosen without looking at the test set. ("Accuracy" below is the task's metric: top-1
// accuracy for classification.)
//   test:   metric of --resume (a compressed checkpoint) or --pretrained (FP32 weights).
//   export: ONNX export of --resume or --pretrained, and its metric in ONNX Runtime.
//
// --fp32-control runs the config's fine-tuning with no compression: the same epochs, optimizer,
// learning-rate schedule, data order and starting weights as the compression run, so the two
// differ only by compression. Selection: the epoch with the best validation metric.
//
// --resume continues training from a checkpoint exactly (the same batches, the same random
// numbers, the same optimizer state) through the library's documented path:
// create_compressed_model(net, config, checkpoint), then ctrl->initialize() with the same data as a
// fresh run (a resumed controller re-runs nothing but keeps the data for a staged quantization's
// later range initialization), then the optimizer and its saved state. The log folder receives
// metrics.csv/.jsonl, curves.png, summary.json and the checkpoints.

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include "common/task.h"

namespace nncf_sample {

struct RunOptions {
  std::string config;
  std::string mode = "train";    ///< train | test | export
  std::string data;              ///< dataset folder; default: the dataset's usual place
  std::string resume;            ///< a compressed checkpoint (.nncf)
  std::string pretrained;        ///< FP32 weights (weights_io.h save_weights)
  std::string log_dir;           ///< default: runs/<config file stem>
  std::optional<uint64_t> seed;  ///< unset: the config's `seed`, or 0
  int threads = 1;
  std::optional<int64_t> epochs, fp32_epochs, batch_size;
  /// > 0: only the first N examples of the training part / of the validation split and the test set
  int64_t train_limit = 0, test_limit = 0;
  int64_t batches_per_epoch = 0;  ///< > 0: shorter epochs (quick runs)
  std::string onnx;               ///< default: <log_dir>/model.onnx
  bool onnx_eval = true;          ///< measure the export in ONNX Runtime
  /// train: the config's FP32 control -- its fine-tuning (epochs, optimizer, schedule, data order,
  /// starting weights) with the `compression` section removed, so that a compression run's drop
  /// can be measured against the same amount of training.
  bool fp32_control = false;
};

/// What a run measured (also written to <log_dir>/summary.json).
struct RunSummary {
  std::string model, dataset, compression;
  bool fp32_control = false;  ///< an FP32 control run (RunOptions::fp32_control)
  /// What fine-tuning a run did (finetune_key.h): a compression run and its FP32 control share it.
  std::string finetune_key;
  /// Test accuracies (percent; -1 when not measured) of the selected epochs: the FP32 weights and
  /// the fully-compressed epoch with the best validation accuracy (train), or of the checkpoint.
  double fp32_accuracy = -1;
  double compressed_accuracy = -1;
  /// Validation accuracies of the same (NaN: no validation split, or not measured).
  double fp32_val_accuracy = std::nan("");
  double compressed_val_accuracy = std::nan("");
  /// The selected epochs (1-based; 0: initialization, or weights from --pretrained; -1: none).
  int64_t fp32_epoch = 0, compressed_epoch = -1;
  /// Nominal: FP32 weight bits / compressed weight bits (bit width, nonzero fraction) of the conv
  /// and linear weights.
  double compression_rate = 1;
  /// What the ONNX export achieves: FP32 bytes of those weights / the bytes the file stores them
  /// in (onnx_weights.h); 0 when nothing was exported.
  double file_compression_rate = 0;
  double model_width = 1;     ///< model_params.width: 0.25 is a quarter of the channels of every layer
  double onnx_accuracy = -1;  ///< the export in ONNX Runtime; -1 when not measured
  std::string onnx_path;
  std::string config;     ///< the config file
  int64_t epochs = 0;     ///< compression fine-tuning epochs
  std::string selection;  ///< what selected the epochs: "validation", or "test" with no validation split
  int64_t val_samples = 0;
};

/// Runs `task`'s sample; throws (std::runtime_error, c10::Error) with a message naming what is wrong.
RunSummary run(const RunOptions& options, const Task& task);

/// A sample's main(): parses the command line (--help lists the flags), runs `task` and prints
/// the summary; errors are one line on stderr without a C++ backtrace (exit code 1; 2 for a bad
/// command line).
int sample_main(int argc, char** argv, const Task& task);

}  // namespace nncf_sample
