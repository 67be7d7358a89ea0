#include "training.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "nncf/algorithms/controller.h"
#include "report.h"

namespace nncf_sample {
namespace {

std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", v);
  return buf;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

}  // namespace

EpochResult evaluate(const Forward& forward, const Loader& loader, const std::string& label) {
  torch::NoGradGuard no_grad;
  ProgressBar bar(label, loader.num_batches());
  double loss = 0;
  int64_t correct = 0, seen = 0;
  for (int64_t b = 0; b < loader.num_batches(); ++b) {
    auto [x, y] = loader.batch(b);
    const torch::Tensor out = forward(x);
    loss += torch::nn::functional::cross_entropy(out, y).item<double>() * static_cast<double>(y.size(0));
    correct += out.argmax(1).eq(y).sum().item<int64_t>();
    seen += y.size(0);
    bar.update(b + 1, {{"acc", percent(100.0 * static_cast<double>(correct) / static_cast<double>(seen))}});
  }
  EpochResult r{seen ? loss / static_cast<double>(seen) : 0,
                seen ? 100.0 * static_cast<double>(correct) / static_cast<double>(seen) : 0};
  bar.finish({{"loss", number(r.loss)}, {"acc", percent(r.accuracy)}});
  return r;
}

EpochResult train_epoch(const Forward& forward, torch::optim::Optimizer& optimizer, const Loader& loader,
                        nncf::CompressionController* ctrl, const std::string& label, int64_t max_batches,
                        const BatchObserver& on_batch) {
  const int64_t n = max_batches > 0 ? std::min(max_batches, loader.num_batches()) : loader.num_batches();
  ProgressBar bar(label, n);
  double loss_sum = 0;
  int64_t correct = 0, seen = 0;
  for (int64_t b = 0; b < n; ++b) {
    auto [x, y] = loader.batch(b);
    if (ctrl != nullptr) ctrl->scheduler().step();
    const torch::Tensor out = forward(x);
    torch::Tensor loss = torch::nn::functional::cross_entropy(out, y);
    if (ctrl != nullptr) loss = loss + ctrl->loss();
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    const double batch_loss = loss.item<double>();
    const int64_t batch_correct = out.argmax(1).eq(y).sum().item<int64_t>();
    loss_sum += batch_loss * static_cast<double>(y.size(0));
    correct += batch_correct;
    seen += y.size(0);
    if (on_batch) on_batch(b, n, batch_loss, batch_correct, y.size(0));
    bar.update(b + 1, {{"loss", number(loss_sum / static_cast<double>(seen))},
                       {"acc", percent(100.0 * static_cast<double>(correct) / static_cast<double>(seen))}});
  }
  EpochResult r{seen ? loss_sum / static_cast<double>(seen) : 0,
                seen ? 100.0 * static_cast<double>(correct) / static_cast<double>(seen) : 0};
  bar.finish({{"loss", number(r.loss)}, {"acc", percent(r.accuracy)}});
  return r;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerConfig& c,
                                                        const std::vector<torch::Tensor>& parameters) {
  if (c.type == "adam") {
    return std::make_unique<torch::optim::Adam>(parameters,
                                                torch::optim::AdamOptions(c.base_lr).weight_decay(c.weight_decay));
  }
  if (c.type == "adamw") {
    return std::make_unique<torch::optim::AdamW>(parameters,
                                                 torch::optim::AdamWOptions(c.base_lr).weight_decay(c.weight_decay));
  }
  return std::make_unique<torch::optim::SGD>(
      parameters,
      torch::optim::SGDOptions(c.base_lr).momentum(c.momentum).nesterov(c.nesterov).weight_decay(c.weight_decay));
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

double onnxruntime_accuracy(const std::string& onnx, const Dataset& dataset, std::string& why_not) {
  const char* node_env = std::getenv("NNCF_NODE");
  const char* ort_env = std::getenv("NNCF_ORT_DIR");
  const std::string node = node_env ? node_env : NNCF_SAMPLE_NODE;
  const std::string ort_dir = ort_env ? ort_env : NNCF_SAMPLE_ORT_DIR;
  if (node.empty() || !std::filesystem::exists(node)) {
    why_not = "Node.js is not installed (scripts/install-deps.sh installs it)";
    return -1;
  }
  if (!std::filesystem::exists(ort_dir + "/node_modules/onnxruntime-node")) {
    why_not = "onnxruntime-node is not installed in " + ort_dir + " (scripts/install-deps.sh installs it)";
    return -1;
  }
  // Chunks of images go through one file each; ONNX Runtime classifies them in batches of 256.
  const std::string dir = (std::filesystem::temp_directory_path() /
                           c10::str("nncf_sample_ort_", ::getpid()))
                              .string();
  std::filesystem::create_directories(dir);
  const std::string images = dir + "/images.bin", predictions = dir + "/predictions.bin";
  const auto shape = dataset.image_shape();
  constexpr int64_t kChunk = 2000;
  int64_t correct = 0;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
  try {
    for (int64_t start = 0; start < dataset.size(); start += kChunk) {
      const int64_t n = std::min(kChunk, dataset.size() - start);
      {
        std::ofstream out(images, std::ios::binary);
        for (int64_t i = start; i < start + n; ++i) {
          const torch::Tensor x = dataset.image(i, gen).contiguous();
          out.write(reinterpret_cast<const char*>(x.data_ptr<float>()), x.numel() * 4);
        }
        TORCH_CHECK(out.good(), "cannot write ", images);
      }
      const std::string command =
          c10::str("NNCF_ORT_DIR='", ort_dir, "' '", node, "' '", NNCF_SAMPLE_ORT_EVAL_JS, "' '", onnx, "' '",
                   images, "' ", n, ",", shape[0], ",", shape[1], ",", shape[2], " 256 '", predictions, "'");
      TORCH_CHECK(std::system(command.c_str()) == 0, "ONNX Runtime failed on ", onnx, " (command: ", command, ")");
      std::ifstream in(predictions, std::ios::binary);
      std::vector<int32_t> p(static_cast<size_t>(n));
      in.read(reinterpret_cast<char*>(p.data()), n * 4);
      TORCH_CHECK(in.gcount() == n * 4, "ONNX Runtime wrote no predictions for ", onnx);
      for (int64_t i = 0; i < n; ++i) correct += p[static_cast<size_t>(i)] == dataset.label(start + i);
    }
  } catch (...) {
    std::filesystem::remove_all(dir);
    throw;
  }
  std::filesystem::remove_all(dir);
  return dataset.size() ? 100.0 * static_cast<double>(correct) / static_cast<double>(dataset.size()) : 0;
}

}  // namespace nncf_sample
