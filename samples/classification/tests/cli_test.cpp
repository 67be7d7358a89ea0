// The `classification` program as a user runs it: the training curve of a short run with one FP32
// and one compression epoch (the README's main job, scaled down), and error messages free of
// LibTorch's C++ backtrace.

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/report.h"

namespace nncf_sample {
namespace {

namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A CSV file's rows as maps from the header's names to the fields (no quoted fields).
std::vector<std::map<std::string, std::string>> read_rows(const std::string& path) {
  std::stringstream text(read_file(path));
  std::string line;
  std::vector<std::string> header;
  if (std::getline(text, line)) {
    std::stringstream h(line);
    for (std::string f; std::getline(h, f, ',');) header.push_back(f);
  }
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(text, line)) {
    std::stringstream l(line);
    std::map<std::string, std::string>& row = rows.emplace_back();
    size_t c = 0;
    for (std::string f; std::getline(l, f, ',') && c < header.size(); ++c) row[header[c]] = f;
  }
  return rows;
}

// IDX files of a learnable toy problem: class k lights a 7x5 block at one of ten places.
void write_idx(const std::string& dir, const std::string& split, uint32_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<unsigned char> images(size_t{n} * 28 * 28), labels(n);
  for (uint32_t i = 0; i < n; ++i) {
    const int k = static_cast<int>(gen() % 10);
    labels[i] = static_cast<unsigned char>(k);
    unsigned char* img = images.data() + size_t{i} * 28 * 28;
    for (int p = 0; p < 28 * 28; ++p) img[p] = static_cast<unsigned char>(gen() % 30);
    const int r = (k / 5) * 14 + 3, c = (k % 5) * 5 + 1;
    for (int y = r; y < r + 7; ++y)
      for (int x = c; x < c + 5; ++x) img[y * 28 + x] = static_cast<unsigned char>(img[y * 28 + x] + 220);
  }
  const auto header = [](std::ofstream& f, std::vector<uint32_t> words) {
    for (uint32_t v : words) {
      const char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
      f.write(b, 4);
    }
  };
  std::ofstream fi(dir + "/" + split + "-images-idx3-ubyte", std::ios::binary);
  header(fi, {0x803, n, 28, 28});
  fi.write(reinterpret_cast<const char*>(images.data()), static_cast<std::streamsize>(images.size()));
  std::ofstream fl(dir + "/" + split + "-labels-idx1-ubyte", std::ios::binary);
  header(fl, {0x801, n});
  fl.write(reinterpret_cast<const char*>(labels.data()), static_cast<std::streamsize>(labels.size()));
}

struct Result {
  int status;
  std::string out, err;
};

// Runs the classification program with `args` (shell words), in `dir`.
Result classification(const std::string& dir, const std::string& args) {
  const std::string out = dir + "/stdout.txt", err = dir + "/stderr.txt";
  const std::string command = std::string("OMP_NUM_THREADS=1 '") + NNCF_SAMPLE_CLASSIFICATION + "' " + args +
                              " >'" + out + "' 2>'" + err + "'";
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(out), read_file(err)};
}

class ClassificationCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = ::testing::TempDir() + "/nncf_sample_cli_" + std::to_string(getpid());
    fs::remove_all(root_);
    fs::create_directories(root_ + "/data");
    write_idx(root_ + "/data", "train", 2048, 1);
    write_idx(root_ + "/data", "t10k", 128, 2);
    std::ofstream(root_ + "/int8.json") << R"({"model": "small_cnn", "dataset": "fashion_mnist",
      "input_info": {"sample_size": [1, 1, 28, 28]}, "batch_size": 32, "epochs": 1,
      "fp32": {"epochs": 1, "optimizer": {"type": "adam", "base_lr": 0.01}},
      "optimizer": {"type": "sgd", "base_lr": 0.01, "momentum": 0.9, "schedule_type": "none"},
      "compression": {"algorithm": "quantization", "initializer": {"range": {"num_init_samples": 64},
                      "batchnorm_adaptation": {"num_bn_adaptation_samples": 0}}}})";
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  static std::string flags(const std::string& config, const std::string& log) {
    return "--config '" + root_ + "/" + config + "' --data '" + root_ + "/data' --log-dir '" + root_ + "/" +
           log + "' --no-onnx-eval";
  }

  static std::string root_;
};
std::string ClassificationCli::root_;

TEST_F(ClassificationCli, OneEpochPerPhaseGivesACurveOnOneAxis) {
  const Result r = classification(root_, flags("int8.json", "run") + " --batches-per-epoch 40");
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const std::string log = root_ + "/run";

  // Per epoch: the phases one after the other, not both at "epoch 1".
  const auto epochs = read_rows(log + "/metrics.csv");
  ASSERT_EQ(epochs.size(), 2u) << read_file(log + "/metrics.csv");
  EXPECT_EQ(epochs[0].at("phase"), "fp32");
  EXPECT_EQ(epochs[1].at("phase"), "compression");
  EXPECT_EQ(epochs[0].at("epoch"), "1");
  EXPECT_EQ(epochs[1].at("epoch"), "1");
  EXPECT_EQ(std::stod(epochs[0].at("global_epoch")), 1.0);
  EXPECT_EQ(std::stod(epochs[1].at("global_epoch")), 2.0);

  // Per step: 20 points per 40-batch epoch, increasing across the phase boundary at 1.
  const auto steps = read_rows(log + "/steps.csv");
  ASSERT_EQ(steps.size(), 2u * StepLog::kPointsPerEpoch) << read_file(log + "/steps.csv");
  for (size_t i = 0; i < steps.size(); ++i) {
    const double x = std::stod(steps[i].at("global_epoch"));
    const bool fp32 = i < StepLog::kPointsPerEpoch;
    EXPECT_EQ(steps[i].at("phase"), fp32 ? "fp32" : "compression") << i;
    EXPECT_NEAR(x, (fp32 ? 0.0 : 1.0) + 2.0 * static_cast<double>(i % 20 + 1) / 40, 1e-6) << i;
    if (i > 0) EXPECT_GT(x, std::stod(steps[i - 1].at("global_epoch"))) << i;
    const double loss = std::stod(steps[i].at("train_loss")), acc = std::stod(steps[i].at("train_acc"));
    EXPECT_TRUE(std::isfinite(loss) && loss > 0) << i;
    EXPECT_TRUE(acc >= 0 && acc <= 100) << i;
  }
  if (!find_gnuplot().empty()) EXPECT_GT(fs::file_size(log + "/curves.png"), 1000u);

  // Resumed for a second compression epoch: the curve goes on from 2 to 3.
  const Result resumed =
      classification(root_, flags("int8.json", "run") + " --batches-per-epoch 40 --epochs 2" + " --resume '" +
                                log + "/last.nncf'");
  ASSERT_EQ(resumed.status, 0) << resumed.out << resumed.err;
  const auto more = read_rows(log + "/steps.csv");
  ASSERT_EQ(more.size(), 3u * StepLog::kPointsPerEpoch);
  for (size_t i = 1; i < more.size(); ++i)
    EXPECT_GT(std::stod(more[i].at("global_epoch")), std::stod(more[i - 1].at("global_epoch"))) << i;
  EXPECT_NEAR(std::stod(more.back().at("global_epoch")), 3.0, 1e-9);
  EXPECT_EQ(std::stod(read_rows(log + "/metrics.csv").back().at("global_epoch")), 3.0);
}

// What c10::Error::what() appends: "Exception raised from f at /path/file.cpp:12 (most recent call
// first):" and "frame #0: ..." lines.
void expect_clean_error(const Result& r, const std::string& message) {
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("Exception raised from"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("frame #"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(".cpp:"), std::string::npos) << "no source paths: " << r.err;
}

TEST_F(ClassificationCli, ErrorsCarryNoBacktrace) {
  // A sample config error (the sample's own TORCH_CHECK) and a library one (nncf::Config).
  std::ofstream(root_ + "/bad_model.json")
      << R"({"model": "resnet19", "input_info": {"sample_size": [1, 1, 28, 28]}})";
  expect_clean_error(classification(root_, flags("bad_model.json", "bad")), "resnet19");
  std::ofstream(root_ + "/bad_algo.json") << R"({"model": "small_cnn", "dataset": "fashion_mnist",
      "input_info": {"sample_size": [1, 1, 28, 28]}, "compression": {"algorithm": "no_such_algorithm"}})";
  expect_clean_error(classification(root_, flags("bad_algo.json", "bad") + " --fp32-epochs 0"),
                     "no_such_algorithm");
}

}  // namespace
}  // namespace nncf_sample
