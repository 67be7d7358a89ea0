// The command line every sample's program shares (pipeline.h sample_main):
//
//   SAMPLE --config CONFIG.json [--mode train|test|export]
//          [--data DIR] [--resume CKPT] [--pretrained WEIGHTS] [--log-dir DIR] [--seed N]
//          [--threads N] [--epochs N] [--fp32-epochs N] [--batch-size N]
//          [--train-limit N] [--test-limit N] [--batches-per-epoch N] [--onnx PATH]
//          [--no-onnx-eval] [--fp32-control]

#include <c10/util/Exception.h>

#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>

#include "common/pipeline.h"

namespace {

constexpr const char* kUsage = R"(usage: %s --config CONFIG.json [options]
  --mode train|test|export  train (default): FP32 baseline, compression, fine-tuning, ONNX export;
                            test: accuracy of --resume or --pretrained; export: ONNX of either
  --data DIR                dataset folder (default: the dataset's usual place, e.g. Debian's
                            Fashion-MNIST for fashion_mnist, data/<dataset> otherwise)
  --resume CKPT             continue from a compressed checkpoint (last.nncf / best.nncf)
  --pretrained WEIGHTS      FP32 weights to start from (skips FP32 training)
  --log-dir DIR             where metrics, plots, checkpoints and the export go
                            (default: runs/<config name>)
  --seed N                  random seed (default: the config's "seed", or 0)
  --threads N               intra-op threads (default 1)
  --epochs N                compression fine-tuning epochs (overrides the config)
  --fp32-epochs N           FP32 baseline epochs (overrides the config's fp32.epochs)
  --batch-size N            overrides batch_size
  --train-limit N           use only the first N training examples
  --test-limit N            use only the first N test and validation examples
  --batches-per-epoch N     shorter epochs
  --onnx PATH               ONNX file (default: <log-dir>/model.onnx)
  --no-onnx-eval            do not measure the export in ONNX Runtime
  --fp32-control            train the config's FP32 control: its fine-tuning (epochs, optimizer,
                            schedule, data order) without the compression section
)";

int64_t to_int(const std::string& flag, const std::string& v) {
  size_t used = 0;
  int64_t n = 0;
  try {
    n = std::stoll(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v.size() || n < 0)
    throw std::invalid_argument(flag + ": expected a non-negative integer, got '" + v + "'");
  return n;
}

std::string usage(const std::string& program) {
  std::string text = kUsage;
  return text.replace(text.find("%s"), 2, program);
}

nncf_sample::RunOptions parse(int argc, char** argv, const std::string& program) {
  nncf_sample::RunOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::cout << usage(program);
      std::exit(0);
    }
    if (a == "--no-onnx-eval") {
      o.onnx_eval = false;
      continue;
    }
    if (a == "--fp32-control") {
      o.fp32_control = true;
      continue;
    }
    if (i + 1 >= argc) throw std::invalid_argument(a + ": missing value (or unknown flag)");
    const std::string v = argv[++i];
    if (a == "--config")
      o.config = v;
    else if (a == "--mode")
      o.mode = v;
    else if (a == "--data")
      o.data = v;
    else if (a == "--resume")
      o.resume = v;
    else if (a == "--pretrained")
      o.pretrained = v;
    else if (a == "--log-dir")
      o.log_dir = v;
    else if (a == "--seed")
      o.seed = static_cast<uint64_t>(to_int(a, v));
    else if (a == "--threads")
      o.threads = static_cast<int>(std::max<int64_t>(1, to_int(a, v)));
    else if (a == "--epochs")
      o.epochs = to_int(a, v);
    else if (a == "--fp32-epochs")
      o.fp32_epochs = to_int(a, v);
    else if (a == "--batch-size")
      o.batch_size = std::max<int64_t>(1, to_int(a, v));
    else if (a == "--train-limit")
      o.train_limit = to_int(a, v);
    else if (a == "--test-limit")
      o.test_limit = to_int(a, v);
    else if (a == "--batches-per-epoch")
      o.batches_per_epoch = to_int(a, v);
    else if (a == "--onnx")
      o.onnx = v;
    else
      throw std::invalid_argument("unknown flag " + a);
  }
  if (o.config.empty()) throw std::invalid_argument("--config is required");
  return o;
}

}  // namespace

namespace nncf_sample {

int sample_main(int argc, char** argv, const Task& task) {
  const std::string program = task.name();
  RunOptions options;
  try {
    options = parse(argc, argv, program);
  } catch (const std::exception& e) {
    std::cerr << program << ": " << e.what() << "\n\n" << usage(program);
    return 2;
  }
  try {
    const RunSummary s = run(options, task);
    std::cout << "\nsummary: " << s.model << " " << (s.compression.empty() ? "fp32" : s.compression) << " on "
              << s.dataset << ": FP32 " << s.fp32_accuracy << "%, compressed " << s.compressed_accuracy
              << "%, compression rate " << s.compression_rate << "x, ONNX Runtime " << s.onnx_accuracy
              << "%\n";
  } catch (const c10::Error& e) {
    std::cerr << program << ": error: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << program << ": error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace nncf_sample
