#include "common/training.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "nncf/algorithms/controller.h"

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

// A batch's metric as hits among its examples, for the step curve (StepLog sums hits and counts).
int64_t hits(const Task& task, const torch::Tensor& output, const torch::Tensor& target) {
  std::unique_ptr<Metric> m = task.metric();
  m->add(output, target);
  return std::llround(m->value() * static_cast<double>(target.size(0)) / 100.0);
}

}  // namespace

EpochResult evaluate(const Forward& forward, const Loader& loader, const Task& task,
                     const std::string& label) {
  torch::NoGradGuard no_grad;
  ProgressBar bar(label, loader.num_batches());
  const std::string name = task.metric_name();
  std::unique_ptr<Metric> metric = task.metric();
  double loss = 0;
  int64_t seen = 0;
  for (int64_t b = 0; b < loader.num_batches(); ++b) {
    auto [x, y] = loader.batch(b);
    const torch::Tensor out = forward(x);
    loss += task.loss(out, y).item<double>() * static_cast<double>(y.size(0));
    metric->add(out, y);
    seen += y.size(0);
    bar.update(b + 1, {{name, percent(metric->value())}});
  }
  EpochResult r{seen ? loss / static_cast<double>(seen) : 0, metric->value()};
  bar.finish({{"loss", number(r.loss)}, {name, percent(r.accuracy)}});
  return r;
}

EpochResult train_epoch(const Forward& forward, torch::optim::Optimizer& optimizer, const Loader& loader,
                        const Task& task, nncf::CompressionController* ctrl, const std::string& label,
                        int64_t max_batches, const BatchObserver& on_batch, const BatchStart& before_batch,
                        int64_t accumulate) {
  TORCH_CHECK(accumulate >= 1, "train_epoch: accumulate must be at least 1, got ", accumulate);
  const int64_t n = max_batches > 0 ? std::min(max_batches, loader.num_batches()) : loader.num_batches();
  ProgressBar bar(label, n);
  const std::string name = task.metric_name();
  std::unique_ptr<Metric> metric = task.metric();
  double loss_sum = 0;
  int64_t seen = 0;
  for (int64_t b = 0; b < n; ++b) {
    auto [x, y] = loader.batch(b);
    if (before_batch) before_batch(b, n);
    if (ctrl != nullptr) ctrl->scheduler().step();
    const torch::Tensor out = forward(x);
    torch::Tensor loss = task.loss(out, y);
    if (ctrl != nullptr) loss = loss + ctrl->loss();
    // Groups of `accumulate` batches: [group_start, group_end).
    const int64_t group_start = b - b % accumulate, group_end = std::min(group_start + accumulate, n);
    if (b == group_start) optimizer.zero_grad();
    if (group_end - group_start > 1) {
      (loss / static_cast<double>(group_end - group_start)).backward();
    } else {
      loss.backward();
    }
    if (b + 1 == group_end) optimizer.step();
    const double batch_loss = loss.item<double>();
    const torch::Tensor detached = out.detach();
    metric->add(detached, y);
    loss_sum += batch_loss * static_cast<double>(y.size(0));
    seen += y.size(0);
    if (on_batch) on_batch(b, n, batch_loss, hits(task, detached, y), y.size(0));
    bar.update(b + 1,
               {{"loss", number(loss_sum / static_cast<double>(seen))}, {name, percent(metric->value())}});
  }
  EpochResult r{seen ? loss_sum / static_cast<double>(seen) : 0, metric->value()};
  bar.finish({{"loss", number(r.loss)}, {name, percent(r.accuracy)}});
  return r;
}

double onnxruntime_metric(const std::string& onnx, const ExampleSet& dataset, const Task& task,
                          std::string& why_not) {
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
  // Chunks of inputs (at most 2000, at most ~64 MB) go through one file each; ONNX Runtime runs them
  // in batches of 256.
  const std::string dir =
      (std::filesystem::temp_directory_path() / c10::str("nncf_sample_ort_", ::getpid())).string();
  std::filesystem::create_directories(dir);
  const std::string inputs = dir + "/inputs.bin", outputs = dir + "/outputs.bin";
  const std::vector<int64_t> shape = dataset.input_shape();
  int64_t per = 1;
  for (int64_t d : shape) per *= d;
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(2000, (int64_t{64} << 20) / (4 * per)));
  std::unique_ptr<Metric> metric = task.metric();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
  try {
    for (int64_t start = 0; start < dataset.size(); start += chunk) {
      const int64_t n = std::min(chunk, dataset.size() - start);
      std::vector<torch::Tensor> targets;
      {
        std::ofstream out(inputs, std::ios::binary);
        for (int64_t i = start; i < start + n; ++i) {
          Example e = dataset.example(i, gen);
          const torch::Tensor x = e.input.to(torch::kFloat).contiguous();
          out.write(reinterpret_cast<const char*>(x.data_ptr<float>()), x.numel() * 4);
          targets.push_back(std::move(e.target));
        }
        TORCH_CHECK(out.good(), "cannot write ", inputs);
      }
      const std::string command =
          c10::str("NNCF_ORT_DIR='", ort_dir, "' '", node, "' '", NNCF_SAMPLE_ORT_EVAL_JS, "' '", onnx, "' '",
                   inputs, "' ", n, ",", c10::Join(",", shape), " 256 '", outputs, "'");
      TORCH_CHECK(std::system(command.c_str()) == 0, "ONNX Runtime failed on ", onnx, " (command: ", command,
                  ")");
      std::vector<int64_t> out_shape = {n};
      std::ifstream shape_file(outputs + ".shape");
      std::string dims;
      std::getline(shape_file, dims);
      std::stringstream ds(dims);
      for (std::string d; std::getline(ds, d, ',');) out_shape.push_back(std::stoll(d));
      torch::Tensor y = torch::empty(out_shape, torch::kFloat);
      std::ifstream in(outputs, std::ios::binary);
      in.read(reinterpret_cast<char*>(y.data_ptr<float>()), y.numel() * 4);
      TORCH_CHECK(in.gcount() == y.numel() * 4, "ONNX Runtime wrote no outputs for ", onnx);
      metric->add(y, stack_targets(targets));
    }
  } catch (...) {
    std::filesystem::remove_all(dir);
    throw;
  }
  std::filesystem::remove_all(dir);
  return metric->value();
}

}  // namespace nncf_sample
