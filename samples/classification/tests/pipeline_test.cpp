// The sample's config parsing and its whole pipeline on a small synthetic Fashion-MNIST-format
// dataset: FP32 training, INT8 fine-tuning, checkpoints, exact resume, ONNX export measured in ONNX
// Runtime.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/finetune_key.h"
#include "nncf/api/checkpoint.h"
#include "pipeline.h"
#include "sample_config.h"

namespace nncf_sample {
namespace {

namespace fs = std::filesystem;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(SampleConfig, ReadsTheSampleKeysAndNamesErrors) {
  const SampleConfig c = parse_sample_config(R"({
    "model": "resnet18", "model_params": {"small_input": true, "width": 0.5},
    "dataset": "cifar10", "input_info": {"sample_size": [1, 3, 32, 32]}, "num_classes": 10,
    "batch_size": 64, "epochs": 5,
    "optimizer": {"type": "SGD", "base_lr": 0.1, "schedule_type": "multistep", "steps": [2, 4], "gamma": 0.5},
    "fp32": {"epochs": 7},
    "compression": [{"algorithm": "magnitude_sparsity"}, {"algorithm": "quantization"}]})",
                                             "c.json");
  EXPECT_EQ(c.model.name, "resnet18");
  EXPECT_TRUE(c.model.small_input);
  EXPECT_EQ(c.model.width, 0.5);
  EXPECT_EQ(c.model.in_channels, 3);
  EXPECT_EQ(c.batch_size, 64);
  EXPECT_EQ(c.fp32_epochs, 7);
  EXPECT_EQ(c.fp32_optimizer.type, "sgd") << "the FP32 phase inherits the optimizer";
  EXPECT_EQ(c.compression_name(), "magnitude_sparsity+quantization");
  EXPECT_DOUBLE_EQ(c.optimizer.lr_at(1, 5), 0.1);
  EXPECT_DOUBLE_EQ(c.optimizer.lr_at(2, 5), 0.05);
  EXPECT_DOUBLE_EQ(c.optimizer.lr_at(4, 5), 0.025);

  OptimizerConfig cosine;
  cosine.schedule_type = "cosine";
  cosine.base_lr = 1;
  EXPECT_DOUBLE_EQ(cosine.lr_at(0, 4), 1);
  EXPECT_NEAR(cosine.lr_at(2, 4), 0.5, 1e-12);

  OptimizerConfig poly;
  poly.schedule_type = "poly";
  poly.base_lr = 1;
  poly.power = 2;
  EXPECT_DOUBLE_EQ(poly.lr_at(1, 4), 0.5625);

  // Plateau: patience 1, so the rate drops after the second epoch without improvement; the state
  // survives a save/load.
  OptimizerConfig plateau;
  plateau.schedule_type = "plateau";
  plateau.base_lr = 1;
  plateau.gamma = 0.5;
  plateau.patience = 1;
  LrSchedule a(plateau, 10);
  for (double acc : {50.0, 60.0, 60.0}) a.observe(acc);
  EXPECT_DOUBLE_EQ(a.lr(3), 1);
  LrSchedule b(plateau, 10);
  b.load_state(a.state());
  b.observe(59);
  EXPECT_DOUBLE_EQ(b.lr(4), 0.5);
  b.observe(70);
  EXPECT_DOUBLE_EQ(b.lr(5), 0.5);

  // The validation split.
  const SampleConfig v =
      parse_sample_config(R"({"model": "small_cnn", "input_info": {"sample_size": [1, 1, 28, 28]},
      "val_split": {"num_samples": 100, "seed": 3}})");
  EXPECT_EQ(v.val_samples, 100);
  EXPECT_EQ(v.val_seed, 3u);
  EXPECT_EQ(c.val_samples, -1) << "default: a tenth of the training set";
  EXPECT_EQ(c.val_seed, 0u);

  // NNCF sample keys this sample does not use are accepted.
  EXPECT_NO_THROW(parse_sample_config(R"({"model": "small_cnn", "input_info": {"sample_size": [1, 1, 28, 28]},
      "pretrained": true, "multiprocessing_distributed": true, "print_freq": 10, "batch_size_val": 256})"));

  const std::string base = R"("input_info": {"sample_size": [1, 1, 28, 28]})";
  std::string e = error_of([&] { parse_sample_config(R"({"model": "resnet19", )" + base + "}", "a.json"); });
  EXPECT_NE(e.find("resnet19"), std::string::npos) << e;
  EXPECT_NE(e.find("mobilenet_v2"), std::string::npos) << "lists the known models: " << e;
  e = error_of([&] { parse_sample_config(R"({"model": "small_cnn", "optimiser": {}, )" + base + "}", "b.json"); });
  EXPECT_NE(e.find("b.json"), std::string::npos) << e;
  EXPECT_NE(e.find("optimiser"), std::string::npos) << e;
  e = error_of([&] {
    parse_sample_config(R"({"model": "small_cnn", "optimizer": {"base_lr": -1}, )" + base + "}", "c.json");
  });
  EXPECT_NE(e.find("optimizer.base_lr"), std::string::npos) << e;
  e = error_of([&] { parse_sample_config(R"({"model": "small_cnn", "input_info": {"sample_size": [1, 28]}})"); });
  EXPECT_NE(e.find("sample_size"), std::string::npos) << e;
  e = error_of([&] {
    parse_sample_config(R"({"model": "small_cnn", "val_split": {"size": 5}, )" + base + "}", "d.json");
  });
  EXPECT_NE(e.find("val_split.size"), std::string::npos) << e;
  e = error_of([&] {
    parse_sample_config(R"({"model": "small_cnn", "val_split": {"num_samples": -5}, )" + base + "}",
                        "d.json");
  });
  EXPECT_NE(e.find("val_split.num_samples"), std::string::npos) << e;
  e = error_of([&] { load_sample_config("/nonexistent/config.json"); });
  EXPECT_NE(e.find("/nonexistent/config.json"), std::string::npos) << e;
}

// IDX files of a learnable toy problem: class k lights a 7x7 block at one of ten places.
void write_idx(const std::string& dir, const std::string& split, int64_t n, uint64_t seed) {
  torch::manual_seed(static_cast<int64_t>(seed));
  const torch::Tensor labels = torch::randint(0, 10, {n}, torch::kLong);
  torch::Tensor images = torch::randint(0, 30, {n, 28, 28}, torch::kLong);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = labels[i].item<int64_t>();
    const int64_t r = (k / 5) * 14 + 3, c = (k % 5) * 5 + 1;
    images[i].slice(0, r, r + 7).slice(1, c, c + 5).add_(220);
  }
  auto put = [](std::ofstream& f, uint32_t v) {
    const unsigned char b[4] = {static_cast<unsigned char>(v >> 24), static_cast<unsigned char>(v >> 16),
                                static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v)};
    f.write(reinterpret_cast<const char*>(b), 4);
  };
  const torch::Tensor img = images.clamp(0, 255).to(torch::kByte).contiguous();
  const torch::Tensor lab = labels.to(torch::kByte).contiguous();
  std::ofstream fi(dir + "/" + split + "-images-idx3-ubyte", std::ios::binary);
  put(fi, 0x803);
  put(fi, static_cast<uint32_t>(n));
  put(fi, 28);
  put(fi, 28);
  fi.write(reinterpret_cast<const char*>(img.data_ptr()), img.numel());
  std::ofstream fl(dir + "/" + split + "-labels-idx1-ubyte", std::ios::binary);
  put(fl, 0x801);
  put(fl, static_cast<uint32_t>(n));
  fl.write(reinterpret_cast<const char*>(lab.data_ptr()), lab.numel());
}

class SamplePipeline : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = ::testing::TempDir() + "/nncf_sample_pipeline";
    fs::remove_all(root_);
    fs::create_directories(root_ + "/data");
    write_idx(root_ + "/data", "train", 2048, 1);
    write_idx(root_ + "/data", "t10k", 256, 2);
    const std::string common = R"("model": "small_cnn", "dataset": "fashion_mnist",
      "input_info": {"sample_size": [1, 1, 28, 28]}, "batch_size": 64,
      "fp32": {"epochs": 3, "optimizer": {"type": "adam", "base_lr": 0.01}},
      "optimizer": {"type": "sgd", "base_lr": 0.01, "momentum": 0.9, "schedule_type": "none"},)";
    std::ofstream(root_ + "/fp32.json") << "{" << common << R"("epochs": 0})";
    // Staged quantization: quantizers switch on, and their ranges are initialized again, at the
    // start of epoch 1 -- after a resume at epoch 1, that re-initialization needs the data.
    std::ofstream(root_ + "/staged.json") << "{" << common << R"("epochs": 2,
      "compression": {"algorithm": "quantization", "export_to_onnx_standard_ops": true,
                      "params": {"activations_quant_start_epoch": 1, "weights_quant_start_epoch": 1,
                                 "lr_poly_drop_start_epoch": 0, "lr_poly_drop_duration_epochs": 4},
                      "initializer": {"range": {"num_init_samples": 128},
                                      "batchnorm_adaptation": {"num_bn_adaptation_samples": 128}}}})";
    std::ofstream(root_ + "/bigval.json")
        << "{" << common << R"("epochs": 0, "val_split": {"num_samples": 5000}})";
    std::ofstream(root_ + "/int8.json") << "{" << common << R"("epochs": 2,
      "compression": {"algorithm": "quantization", "export_to_onnx_standard_ops": true,
                      "initializer": {"range": {"num_init_samples": 128},
                                      "batchnorm_adaptation": {"num_bn_adaptation_samples": 128}}}})";
  }

  static RunOptions options(const std::string& config, const std::string& log) {
    RunOptions o;
    o.config = root_ + "/" + config;
    o.data = root_ + "/data";
    o.log_dir = root_ + "/" + log;
    return o;
  }

  static std::string root_;
};
std::string SamplePipeline::root_;

// The rows of a run's metrics.jsonl.
std::vector<nlohmann::json> read_metrics(const std::string& dir) {
  std::vector<nlohmann::json> rows;
  std::ifstream in(dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

// The row a run should select: of `phase` (and fully compressed, for compression), the first
// with the best validation accuracy.
nlohmann::json best_by_validation(const std::vector<nlohmann::json>& rows, const std::string& phase) {
  nlohmann::json best;
  for (const auto& r : rows) {
    if (r["phase"] != phase) continue;
    if (phase == "compression" && r["compression_stage"] != "fully_compressed") continue;
    if (best.is_null() || r["val_acc"].get<double>() > best["val_acc"].get<double>()) best = r;
  }
  return best;
}

TEST_F(SamplePipeline, TrainsCompressesExportsAndResumesExactly) {
  // FP32 baseline.
  const RunSummary fp32 = run(options("fp32.json", "fp32"));
  // Selected on the validation split, reported on the test set: the kept epoch is the one with the
  // best val_acc in the log (not the best test_acc), and its test_acc is the accuracy reported.
  const nlohmann::json fp32_best = best_by_validation(read_metrics(root_ + "/fp32"), "fp32");
  ASSERT_FALSE(fp32_best.is_null()) << "metrics.jsonl logs val_acc per epoch";
  EXPECT_EQ(fp32.fp32_epoch, fp32_best["epoch"].get<int64_t>());
  EXPECT_NEAR(fp32.fp32_accuracy, fp32_best["test_acc"].get<double>(), 1e-3);
  EXPECT_NEAR(fp32.fp32_val_accuracy, fp32_best["val_acc"].get<double>(), 1e-3);
  EXPECT_GT(fp32.fp32_accuracy, 20) << "training learns (chance is 10%)";
  EXPECT_TRUE(fs::exists(root_ + "/fp32/fp32_best.pt"));
  EXPECT_TRUE(fs::exists(root_ + "/fp32/metrics.csv"));
  EXPECT_NEAR(fp32.onnx_accuracy, fp32.fp32_accuracy, 1e-9) << "the FP32 export classifies like the model";

  // INT8 fine-tuning from those weights, two epochs in one go.
  RunOptions a = options("int8.json", "int8_a");
  a.pretrained = root_ + "/fp32/fp32_best.pt";
  const RunSummary s = run(a);
  EXPECT_EQ(s.compression, "quantization");
  EXPECT_NEAR(s.fp32_accuracy, fp32.fp32_accuracy, 1e-9);
  EXPECT_GT(s.compressed_accuracy, 20);
  EXPECT_NEAR(s.compression_rate, 4.0, 1e-9) << "8-bit weights everywhere";
  // The QDQ export keeps each weight as an FP32 initializer followed by QuantizeLinear /
  // DequantizeLinear: the file saves nothing (ONNX Runtime folds them to int8 when it loads).
  EXPECT_NEAR(s.file_compression_rate, 1.0, 1e-9);
  EXPECT_NEAR(fp32.file_compression_rate, 1.0, 1e-9);
  EXPECT_EQ(s.model_width, 1.0);
  EXPECT_NEAR(s.onnx_accuracy, s.compressed_accuracy, 1.0) << "ONNX Runtime on the INT8 export";
  for (const char* f : {"best.nncf", "last.nncf", "model.onnx", "summary.json", "metrics.csv", "metrics.jsonl"})
    EXPECT_TRUE(fs::exists(root_ + "/int8_a/" + f)) << f;
  const auto summary = nlohmann::json::parse(std::ifstream(root_ + "/int8_a/summary.json"));
  EXPECT_EQ(summary["compressed_accuracy"].get<double>(), s.compressed_accuracy);
  EXPECT_EQ(summary["selection"], "validation");
  EXPECT_EQ(summary["val_samples"].get<int64_t>(), 204) << "a tenth of the 2048 training images";
  const nlohmann::json int8_best = best_by_validation(read_metrics(root_ + "/int8_a"), "compression");
  ASSERT_FALSE(int8_best.is_null());
  EXPECT_EQ(s.compressed_epoch, int8_best["epoch"].get<int64_t>());
  EXPECT_NEAR(s.compressed_accuracy, int8_best["test_acc"].get<double>(), 1e-3);
  EXPECT_NEAR(s.compressed_val_accuracy, int8_best["val_acc"].get<double>(), 1e-3);

  // The same, interrupted after one epoch and resumed: bit-identical.
  RunOptions b = options("int8.json", "int8_b");
  b.pretrained = a.pretrained;
  b.epochs = 1;
  run(b);
  b.epochs = 2;
  b.resume = root_ + "/int8_b/last.nncf";
  run(b);
  const auto ca = nncf::Checkpoint::load(root_ + "/int8_a/last.nncf");
  const auto cb = nncf::Checkpoint::load(root_ + "/int8_b/last.nncf");
  ASSERT_EQ(ca.tensors().size(), cb.tensors().size());
  for (const auto& [name, t] : ca.tensors()) EXPECT_TRUE(torch::equal(t, cb.tensors().at(name))) << name;

  // test and export modes on the checkpoint.
  RunOptions t = options("int8.json", "int8_test");
  t.mode = "test";
  t.resume = root_ + "/int8_a/best.nncf";
  EXPECT_NEAR(run(t).compressed_accuracy, s.compressed_accuracy, 1e-9);
}

TEST_F(SamplePipeline, Fp32ControlFineTunesExactlyLikeTheCompressionRun) {
  RunOptions base = options("fp32.json", "control_fp32");
  base.fp32_epochs = 1;
  run(base);
  RunOptions q = options("int8.json", "control_int8");
  q.pretrained = root_ + "/control_fp32/fp32_best.pt";
  const RunSummary s = run(q);
  RunOptions c = options("int8.json", "control");
  c.pretrained = q.pretrained;
  c.fp32_control = true;
  const RunSummary control = run(c);
  EXPECT_TRUE(control.fp32_control);
  EXPECT_EQ(control.compression, "") << "nothing compressed";
  EXPECT_NEAR(control.compression_rate, 1.0, 1e-12);
  EXPECT_EQ(control.finetune_key, s.finetune_key) << "the control is the compression run's";
  EXPECT_NEAR(control.fp32_accuracy, s.fp32_accuracy, 1e-9) << "the same starting weights";

  // The same epochs, learning rates and images in the same order.
  const auto rows_q = read_metrics(root_ + "/control_int8"), rows_c = read_metrics(root_ + "/control");
  ASSERT_EQ(rows_q.size(), 2u);
  ASSERT_EQ(rows_c.size(), rows_q.size());
  for (size_t i = 0; i < rows_q.size(); ++i) {
    EXPECT_EQ(rows_c[i]["epoch"], rows_q[i]["epoch"]);
    EXPECT_EQ(rows_c[i]["lr"], rows_q[i]["lr"]) << "epoch " << i + 1;
    EXPECT_EQ(rows_c[i]["data_order"], rows_q[i]["data_order"]) << "epoch " << i + 1;
    EXPECT_EQ(rows_c[i]["compression_stage"], "uncompressed");
  }
  EXPECT_NE(rows_q[0]["data_order"], rows_q[1]["data_order"]) << "each epoch reshuffles";
  // The control selects its best epoch on the validation split too.
  nlohmann::json best;
  for (const auto& r : rows_c)
    if (best.is_null() || r["val_acc"].get<double>() > best["val_acc"].get<double>()) best = r;
  EXPECT_EQ(control.compressed_epoch, best["epoch"].get<int64_t>());
  EXPECT_NEAR(control.compressed_accuracy, best["test_acc"].get<double>(), 1e-3);
  const auto summary = nlohmann::json::parse(std::ifstream(root_ + "/control/summary.json"));
  EXPECT_TRUE(summary["fp32_control"].get<bool>());
  EXPECT_EQ(summary["finetune_key"], s.finetune_key);

  // Another seed: another order, another key.
  c.seed = 7;
  c.epochs = 1;
  c.log_dir = root_ + "/control_seed7";
  const RunSummary other = run(c);
  EXPECT_NE(other.finetune_key, s.finetune_key);
  EXPECT_NE(read_metrics(root_ + "/control_seed7")[0]["data_order"], rows_c[0]["data_order"]);

  EXPECT_NE(error_of([&] {
              RunOptions t = c;
              t.mode = "test";
              run(t);
            }).find("--fp32-control"),
            std::string::npos);
}

TEST_F(SamplePipeline, ResumesStagedQuantizationExactlyAtItsStartEpoch) {
  RunOptions base = options("fp32.json", "staged_fp32");
  base.fp32_epochs = 1;
  run(base);
  RunOptions a = options("staged.json", "staged_a");
  a.pretrained = root_ + "/staged_fp32/fp32_best.pt";
  const RunSummary whole = run(a);
  // Interrupted after epoch 0 (quantizers still off) and resumed at epoch 1, where the staged
  // quantization initializes its ranges on the data that --resume hands to ctrl->initialize().
  RunOptions b = options("staged.json", "staged_b");
  b.pretrained = a.pretrained;
  b.epochs = 1;
  run(b);
  b.epochs = 2;
  b.resume = root_ + "/staged_b/last.nncf";
  const RunSummary resumed = run(b);
  const auto ca = nncf::Checkpoint::load(root_ + "/staged_a/last.nncf");
  const auto cb = nncf::Checkpoint::load(root_ + "/staged_b/last.nncf");
  ASSERT_EQ(ca.tensors().size(), cb.tensors().size());
  for (const auto& [name, t] : ca.tensors()) EXPECT_TRUE(torch::equal(t, cb.tensors().at(name))) << name;
  EXPECT_EQ(resumed.compressed_accuracy, whole.compressed_accuracy);
  EXPECT_EQ(resumed.compressed_epoch, whole.compressed_epoch);
  const auto rows_a = read_metrics(root_ + "/staged_a"), rows_b = read_metrics(root_ + "/staged_b");
  ASSERT_EQ(rows_a.size(), rows_b.size());
  // The logged learning rate is the one the epoch's first batch trained with: the poly drop's
  // ((0 + 4 - 1) / 4)^2.1 at epoch 1.
  ASSERT_EQ(rows_a.size(), 2u);
  EXPECT_DOUBLE_EQ(rows_a[0]["lr"].get<double>(), 0.01);
  EXPECT_NEAR(rows_a[1]["lr"].get<double>(), 0.01 * std::pow(0.75, 2.1), 1e-12);
  EXPECT_EQ(rows_b[1]["lr"], rows_a[1]["lr"]);
  EXPECT_EQ(rows_a.back()["train_loss"], rows_b.back()["train_loss"]);
  EXPECT_EQ(rows_a.back()["val_acc"], rows_b.back()["val_acc"]);
}

TEST(FinetuneKey, IgnoresCompressionAndTargetDeviceButNotTheStagedSchedule) {
  const auto cfg = [](const std::string& extra) {
    return nlohmann::json::parse(R"({"model": "resnet18", "epochs": 2, "optimizer": {"base_lr": 0.001})" +
                                 extra + "}");
  };
  const std::string k = finetune_key(cfg(""));
  EXPECT_EQ(k.size(), 16u);
  EXPECT_EQ(finetune_key(cfg(R"(, "compression": {"algorithm": "quantization"}, "target_device": "CPU")")),
            k);
  EXPECT_EQ(finetune_key(cfg(R"(, "compression": [{"algorithm": "magnitude_sparsity"}])")), k);
  EXPECT_NE(finetune_key(cfg(R"(, "batch_size": 64)")), k);
  // The staged params steer the optimizer, the control's too.
  const std::string staged = finetune_key(
      cfg(R"(, "compression": {"algorithm": "binarization", "params": {"lr_poly_drop_start_epoch": 1}})"));
  EXPECT_NE(staged, k);
  EXPECT_EQ(finetune_key(cfg(R"(, "compression": [{"algorithm": "binarization", "mode": "dorefa",
      "params": {"lr_poly_drop_start_epoch": 1}}, {"algorithm": "quantization"}])")),
            staged);
  EXPECT_NE(
      finetune_key(cfg(
          R"(, "compression": {"algorithm": "binarization", "params": {"lr_poly_drop_start_epoch": 2}})")),
      staged);
  EXPECT_NE(finetune_key(nlohmann::json::parse(
                R"({"model": "resnet18", "epochs": 3, "optimizer": {"base_lr": 0.001}})")),
            k);
  EXPECT_NE(finetune_key(nlohmann::json::parse(
                R"({"model": "resnet18", "epochs": 2, "optimizer": {"base_lr": 0.002}})")),
            k);
}

TEST_F(SamplePipeline, BadInputsGiveClearErrors) {
  RunOptions o = options("int8.json", "bad");
  o.data = root_ + "/no_such_folder";
  EXPECT_NE(error_of([&] { run(o); }).find("no_such_folder"), std::string::npos);
  o = options("int8.json", "bad");
  o.mode = "test";
  EXPECT_NE(error_of([&] { run(o); }).find("--resume"), std::string::npos);
  o.resume = root_ + "/int8.json";  // not a checkpoint
  EXPECT_NE(error_of([&] { run(o); }).find("int8.json"), std::string::npos);
  o = options("bigval.json", "bad");
  EXPECT_NE(error_of([&] { run(o); }).find("val_split.num_samples 5000"), std::string::npos);
  o = options("int8.json", "bad");
  o.mode = "deploy";
  EXPECT_NE(error_of([&] { run(o); }).find("deploy"), std::string::npos);
}

}  // namespace
}  // namespace nncf_sample
