#include "common/pipeline.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/config.h"
#include "common/finetune_key.h"
#include "common/onnx_weights.h"
#include "common/report.h"
#include "common/summary.h"
#include "common/training.h"
#include "common/weights_io.h"
#include "nncf/algorithms/algorithm.h"
#include "nncf/algorithms/quantization/config.h"
#include "nncf/api/checkpoint.h"
#include "nncf/api/compression.h"
#include "nncf/runtime/files.h"

namespace nncf_sample {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

std::string stage_name(nncf::CompressionStage s) {
  switch (s) {
    case nncf::CompressionStage::Uncompressed:
      return "uncompressed";
    case nncf::CompressionStage::PartiallyCompressed:
      return "partially_compressed";
    case nncf::CompressionStage::FullyCompressed:
      return "fully_compressed";
  }
  return "?";
}

// The staged schedules (`params` of the quantization and binarization sections) of the config
// text: what they ask of the optimizer -- a learning-rate factor, weight decay on or off, batches
// per optimizer step -- applies to the compression run, and to its FP32 control too, so that the
// control's fine-tuning is the same.
struct StagedRequests {
  std::vector<nncf::quantization::StagedQuantizationParams> schedules;
  bool any() const { return !schedules.empty(); }
  double lr_multiplier(double epoch) const {
    double m = 1.0;
    for (const auto& p : schedules) m *= nncf::quantization::staged_lr_multiplier(p, epoch);
    return m;
  }
  bool weight_decay(double epoch) const {
    for (const auto& p : schedules)
      if (!nncf::quantization::staged_weight_decay_enabled(p, epoch)) return false;
    return true;
  }
  int64_t batch_multiplier() const {
    int64_t m = 1;
    for (const auto& p : schedules) m = std::max(m, p.batch_multiplier.value_or(1));
    return m;
  }
};

StagedRequests staged_requests(const std::string& text, const std::string& source) {
  StagedRequests r;
  const nncf::Config config = nncf::Config::from_string(text, source);
  for (const nncf::AlgorithmConfig& a : config.compression())
    if ((a.name == "quantization" || a.name == "binarization") && a.section.has("params"))
      r.schedules.push_back(nncf::quantization::parse_staged_params(a.section["params"]));
  return r;
}

struct Run {
  const RunOptions& o;
  const Task& task;
  TrainingConfig config;
  std::string log_dir;
  // train_set/init_set: the training part of the split (augmented / not); val_set: the held-out
  // part (null when val_split.num_samples is 0); test_set: the dataset's test split.
  std::unique_ptr<ExampleSet> train_set, init_set, val_set, test_set;
  SampleModel net;
  RunSummary summary;

  Run(const RunOptions& options, const Task& t)
      : o(options), task(t), config(load_training_config(options.config, t)) {
    if (o.fp32_control) {
      TORCH_CHECK(o.mode == "train", "--fp32-control trains; it does not go with --mode ", o.mode);
      config = fp32_control_config(config, task);
    }
    if (o.epochs) config.epochs = *o.epochs;
    if (o.fp32_epochs) config.fp32_epochs = *o.fp32_epochs;
    if (o.batch_size) config.batch_size = *o.batch_size;
    log_dir = o.log_dir.empty() ? c10::str("runs/", fs::path(o.config).stem().string()) : o.log_dir;
    fs::create_directories(log_dir);
    summary.model = config.model_name;
    const nncf::ConfigNode& root = config.nncf.root();
    if (root.has("model_params") && root["model_params"].has("width"))
      summary.model_width = root["model_params"]["width"].as_double();
    summary.dataset = config.dataset;
    summary.compression = config.compression_name();
    summary.fp32_control = o.fp32_control;
    summary.finetune_key = run_finetune_key();
  }

  // The fine-tuning this run does: the config without compression, with the command line's
  // overrides and the starting weights.
  std::string run_finetune_key() const {
    nlohmann::json j = nlohmann::json::parse(config.text, nullptr, true, /*ignore_comments=*/true);
    j["epochs"] = config.epochs;
    j["batch_size"] = config.batch_size;
    j["seed"] = seed();
    j["pretrained_weights"] = o.pretrained;
    j["train_limit"] = o.train_limit;
    j["batches_per_epoch"] = o.batches_per_epoch;
    return finetune_key(j);
  }

  void open_data() {
    const std::string root = o.data.empty() ? task.default_data_dir(config) : o.data;
    test_set = task.open_data(config, root, /*train=*/false, /*augment=*/false, o.test_limit);
    if (o.mode != "train") return;
    // The split is drawn over the whole training set, before any --train-limit, so that a quick run
    // holds out the same examples as a full one.
    std::shared_ptr<const ExampleSet> augmented = task.open_data(config, root, true, true, 0);
    std::shared_ptr<const ExampleSet> plain = task.open_data(config, root, true, false, 0);
    const int64_t n = plain->size();
    const int64_t val_n = config.val_samples >= 0 ? config.val_samples : n / 10;
    TORCH_CHECK(val_n < n, config.path, ": val_split.num_samples ", val_n, " leaves nothing of the ", n,
                " training images to train on");
    TrainValSplit split = train_val_split(n, val_n, config.val_seed);
    if (o.train_limit > 0 && static_cast<int64_t>(split.train.size()) > o.train_limit)
      split.train.resize(static_cast<size_t>(o.train_limit));
    if (o.test_limit > 0 && static_cast<int64_t>(split.val.size()) > o.test_limit)
      split.val.resize(static_cast<size_t>(o.test_limit));
    train_set = example_subset(augmented, split.train, "train");
    init_set = example_subset(plain, split.train, "train");
    if (!split.val.empty()) val_set = example_subset(plain, std::move(split.val), "validation");
    std::cout << "data: " << train_set->description() << ", "
              << (val_set ? val_set->description() + c10::str(" (val_split seed ", config.val_seed, ")")
                          : std::string("no validation split: the best epoch is chosen on the test set"))
              << ", " << test_set->description() << "\n";
    const auto shape = test_set->input_shape();
    TORCH_CHECK(shape == std::vector<int64_t>(config.sample_size.begin() + 1, config.sample_size.end()),
                config.path, ": input_info.sample_size ", c10::IntArrayRef(config.sample_size),
                " does not match the dataset's inputs ", c10::IntArrayRef(shape));
  }

  uint64_t seed() const { return o.seed ? *o.seed : config.seed.value_or(0); }

  Loader loader(const ExampleSet& d, bool shuffle) const {
    const int64_t batch = !shuffle && config.batch_size_val > 0 ? config.batch_size_val : config.batch_size;
    return Loader(d, batch, shuffle, seed());
  }

  // Accuracy on the validation split (what selects epochs) and on the test set (what is reported).
  struct Accuracy {
    double val = std::nan(""), test = -1;
    double select() const { return std::isnan(val) ? test : val; }
  };

  Accuracy evaluate_both(const Forward& forward, const std::string& label) {
    Accuracy a;
    if (val_set) a.val = evaluate(forward, loader(*val_set, false), task, label + " val").accuracy;
    a.test = evaluate(forward, loader(*test_set, false), task, label + " test").accuracy;
    return a;
  }

  double evaluate_net(const std::string& label) {
    net.module->eval();
    return evaluate(net.forward, loader(*test_set, false), task, label).accuracy;
  }

  Accuracy evaluate_net_both(const std::string& label) {
    net.module->eval();
    return evaluate_both(net.forward, label);
  }

  // The FP32 baseline: --pretrained weights, a baseline this log folder already trained, or a new one.
  void fp32_phase(MetricsLog& log, StepLog& steps) {
    const std::string best = log_dir + "/fp32_best.pt";
    const auto& wants = config.nncf.root()["pretrained"];
    if (o.pretrained.empty() && wants.exists() && wants.as_bool()) {
      std::cout << "warning: " << config.path
                << " asks for pretrained weights; this sample has no weight zoo, "
                << "pass --pretrained WEIGHTS (an FP32 checkpoint)\n";
    }
    if (!o.pretrained.empty()) {
      load_weights(*net.module, o.pretrained);
      std::cout << "FP32 weights from " << o.pretrained << "\n";
    } else if (fs::exists(best)) {
      load_weights(*net.module, best);
      std::cout << "FP32 weights from " << best << " (trained earlier in this log folder)\n";
    } else if (config.fp32_epochs > 0) {
      auto optimizer = make_optimizer(config.fp32_optimizer, net.module->parameters());
      LrSchedule schedule(config.fp32_optimizer, config.fp32_epochs);
      Loader train = loader(*train_set, true);
      double best_acc = -1;
      int64_t best_epoch = 0;
      for (int64_t epoch = 0; epoch < config.fp32_epochs; ++epoch) {
        const auto start = Clock::now();
        const double lr = schedule.lr(epoch);
        set_learning_rate(*optimizer, lr);
        train.set_epoch(epoch);
        const std::string order = train.order_hash(o.batches_per_epoch);
        net.module->train();
        steps.begin_epoch("fp32", epoch);
        const EpochResult r = train_epoch(net.forward, *optimizer, train, task, nullptr,
                                          c10::str("fp32 epoch ", epoch + 1, "/", config.fp32_epochs),
                                          o.batches_per_epoch, steps.observer());
        const Accuracy acc = evaluate_net_both("fp32");
        schedule.observe(acc.select());
        save_weights(*net.module, log_dir + "/fp32_last.pt");
        // The best epoch by validation accuracy; the test accuracy is only reported.
        if (acc.select() > best_acc) {
          best_acc = acc.select();
          best_epoch = epoch + 1;
          save_weights(*net.module, best);
        }
        log.add({{"phase", std::string("fp32")},
                 {"epoch", static_cast<double>(epoch + 1)},
                 {"global_epoch", steps.epoch_end()},
                 {"lr", lr},
                 {"train_loss", r.loss},
                 {"train_acc", r.accuracy},
                 {"val_acc", acc.val},
                 {"test_acc", acc.test},
                 {"compression_stage", std::string("uncompressed")},
                 {"sparsity", 0.0},
                 {"data_order", order},
                 {"seconds", std::chrono::duration<double>(Clock::now() - start).count()}});
      }
      load_weights(*net.module, best);
      summary.fp32_epoch = best_epoch;
      std::cout << "FP32: epoch " << best_epoch << " selected (best " << selection_name() << " accuracy)\n";
    } else {
      std::cout << "warning: no --pretrained weights and no fp32.epochs in " << config.path
                << ": compressing an untrained model\n";
    }
    const Accuracy acc = evaluate_net_both("fp32");
    summary.fp32_accuracy = acc.test;
    summary.fp32_val_accuracy = acc.val;
    std::cout << "FP32 accuracy: " << summary.fp32_accuracy << "% (test), " << acc.val << "% (validation)\n";
  }

  std::string selection_name() const { return val_set ? "validation" : "test"; }

  nncf::InitData init_data() const {
    const ExampleSet* d = init_set.get();
    const int64_t batch = config.batch_size;
    const uint64_t s = seed();
    return nncf::InitData([d, batch, s](const nncf::InitData::Visitor& visit) {
      Loader l(*d, batch, true, s + 1);
      for (int64_t b = 0; b < l.num_batches(); ++b) {
        if (!visit({l.batch(b).first})) break;
      }
    });
  }

  // The best fully-compressed epoch so far: chosen on `select` (validation accuracy), reported by
  // `test`.
  struct Best {
    double select = -1, test = -1;
    int64_t epoch = -1;
  };

  void save(const std::string& path, const nncf::CompressionResult& result,
            const torch::optim::Optimizer& opt, int64_t epochs_done, const Best& best,
            const LrSchedule& schedule) {
    nlohmann::json user = {{"epochs_done", epochs_done},
                           {"best_accuracy", best.select},
                           {"best_test_accuracy", best.test},
                           {"best_epoch", best.epoch},
                           {"fp32_accuracy", summary.fp32_accuracy},
                           {"fp32_val_accuracy", summary.fp32_val_accuracy},
                           {"fp32_epoch", summary.fp32_epoch},
                           {"lr_schedule", schedule.state()}};
    nncf::save_checkpoint(path, result, config.nncf, &opt, user.dump());
  }

  double evaluate_compressed(nncf::CompressionResult& r, const std::string& label) {
    r.model->eval();
    return evaluate([&](const torch::Tensor& x) { return r.model->forward(x); }, loader(*test_set, false),
                    task, label)
        .accuracy;
  }

  Accuracy evaluate_compressed_both(nncf::CompressionResult& r, const std::string& label) {
    r.model->eval();
    return evaluate_both([&](const torch::Tensor& x) { return r.model->forward(x); }, label);
  }

  void train() {
    MetricsLog log(log_dir, !o.resume.empty());
    StepLog steps(log_dir, !o.resume.empty());
    std::optional<nncf::Checkpoint> ckpt;
    int64_t start_epoch = 0;
    Best best;
    LrSchedule schedule(config.optimizer, config.epochs);
    if (!o.resume.empty()) {
      ckpt = nncf::Checkpoint::load(o.resume);
      const auto user = nlohmann::json::parse(ckpt->user_data().empty() ? "{}" : ckpt->user_data());
      TORCH_CHECK(user.contains("epochs_done"), o.resume, " was not written by the ", task.name(), " sample");
      start_epoch = user["epochs_done"].get<int64_t>();
      best.select = user["best_accuracy"].get<double>();
      best.test = user.value("best_test_accuracy", best.select);
      best.epoch = user.value("best_epoch", int64_t{-1});
      summary.fp32_accuracy = user["fp32_accuracy"].get<double>();
      summary.fp32_val_accuracy = user.value("fp32_val_accuracy", std::nan(""));
      summary.fp32_epoch = user.value("fp32_epoch", int64_t{0});
      if (user.contains("lr_schedule"))
        schedule.load_state(user["lr_schedule"].get<std::map<std::string, double>>());
      std::cout << "resuming from " << o.resume << " after epoch " << start_epoch << "\n";
    } else {
      fp32_phase(log, steps);
    }
    if (config.nncf.compression().empty() && !o.fp32_control) {
      summary.compressed_accuracy = summary.fp32_accuracy;
      summary.compressed_val_accuracy = summary.fp32_val_accuracy;
      summary.compressed_epoch = summary.fp32_epoch;
      plot(log);
      finish_fp32();
      return;
    }
    std::vector<at::Tensor> example = {torch::zeros(config.sample_size)};
    nncf::CompressionResult r =
        ckpt ? nncf::create_compressed_model(net.capture(example), config.nncf, *ckpt, example)
             : nncf::create_compressed_model(net.capture(example), config.nncf, example);
    auto optimizer = make_optimizer(config.optimizer, r.model->parameters());
    // Filter pruning shrinks the model when its schedule freezes and slices this optimizer's state.
    r.ctrl->attach_optimizer(optimizer.get());
    // A fresh and a resumed run hand the controller the same data: a fresh one initializes on it,
    // a resumed one re-runs nothing and keeps it for what is still ahead (a staged quantization
    // initializes its ranges again at its start epoch) -- the library's documented resume path.
    r.ctrl->initialize(init_data());
    if (ckpt) {
      if (ckpt->has_optimizer()) ckpt->restore_optimizer(*optimizer);
    } else {
      const Accuracy acc = evaluate_compressed_both(r, "compressed (initialized)");
      std::cout << "accuracy after initialization: " << acc.test << "% (test), " << acc.val
                << "% (validation)\n";
      if (eligible(*r.ctrl) && config.epochs == 0) {
        best = {acc.select(), acc.test, 0};
        save(log_dir + "/best.nncf", r, *optimizer, 0, best, schedule);
      }
    }
    Loader train = loader(*train_set, true);
    const StagedRequests staged = staged_requests(config.text, config.path);
    for (int64_t epoch = start_epoch; epoch < config.epochs; ++epoch) {
      const auto start = Clock::now();
      r.ctrl->scheduler().epoch_step();
      const double lr = schedule.lr(epoch);
      set_learning_rate(*optimizer, lr);
      BatchStart before_batch;
      double first_lr = lr;  // what the epoch's first batch trained with (logged)
      if (staged.any()) {
        before_batch = [&, epoch, lr](int64_t b, int64_t n) {
          const double e = static_cast<double>(epoch) + static_cast<double>(b) / static_cast<double>(n);
          // The controller's requests; a control, which has no staged controller, reads the same
          // schedule from its config.
          const double m = o.fp32_control ? staged.lr_multiplier(e) : r.ctrl->learning_rate_multiplier(e);
          const bool wd = o.fp32_control ? staged.weight_decay(e) : r.ctrl->weight_decay_enabled(e);
          set_learning_rate(*optimizer, lr * m);
          if (b == 0) first_lr = lr * m;
          set_weight_decay(*optimizer, wd ? config.optimizer.weight_decay : 0.0);
        };
      }
      train.set_epoch(1000 + epoch);
      const std::string order = train.order_hash(o.batches_per_epoch);
      r.model->train();
      steps.begin_epoch("compression", epoch);
      const EpochResult t =
          train_epoch([&](const torch::Tensor& x) { return r.model->forward(x); }, *optimizer, train, task,
                      r.ctrl.get(), c10::str("compression epoch ", epoch + 1, "/", config.epochs),
                      o.batches_per_epoch, steps.observer(), before_batch, staged.batch_multiplier());
      const Accuracy acc = evaluate_compressed_both(r, "compressed");
      schedule.observe(acc.select());
      const nncf::Statistics stats = r.ctrl->statistics();
      std::cout << stats.to_string();
      double sparsity = 0;
      for (const auto& [k, v] : stats.values) {
        if (k.size() > 17 && k.compare(k.size() - 17, 17, ".current_sparsity") == 0) sparsity = v;
      }
      const auto stage = r.ctrl->compression_stage();
      // The best fully-compressed epoch by validation accuracy; the test accuracy is only reported.
      const bool is_best = eligible(*r.ctrl) && acc.select() > best.select;
      if (is_best) best = {acc.select(), acc.test, epoch + 1};
      save(log_dir + "/last.nncf", r, *optimizer, epoch + 1, best, schedule);
      if (is_best) save(log_dir + "/best.nncf", r, *optimizer, epoch + 1, best, schedule);
      log.add({{"phase", std::string("compression")},
               {"epoch", static_cast<double>(epoch + 1)},
               {"global_epoch", steps.epoch_end()},
               {"lr", first_lr},
               {"train_loss", t.loss},
               {"train_acc", t.accuracy},
               {"val_acc", acc.val},
               {"test_acc", acc.test},
               {"compression_stage", stage_name(stage)},
               {"sparsity", sparsity},
               {"data_order", order},
               {"seconds", std::chrono::duration<double>(Clock::now() - start).count()}});
      std::cout << "epoch " << epoch + 1 << ": accuracy " << acc.test << "% test, " << acc.val
                << "% validation (" << stage_name(stage) << ")";
      if (best.epoch >= 0)
        std::cout << (o.fp32_control ? ", best: epoch " : ", best fully compressed: epoch ") << best.epoch
                  << " (" << best.select << "% " << selection_name() << ", " << best.test << "% test)";
      std::cout << "\n";
    }
    plot(log);
    if (best.epoch >= 0 && fs::exists(log_dir + "/best.nncf")) {
      nncf::Checkpoint::load(log_dir + "/best.nncf").restore_model(r.model);
      summary.compressed_accuracy = best.test;
      summary.compressed_val_accuracy = best.select;
      summary.compressed_epoch = best.epoch;
    } else {
      std::cout << "warning: the model never reached the fully compressed stage; exporting the last one\n";
      const Accuracy acc = evaluate_compressed_both(r, "compressed");
      summary.compressed_accuracy = acc.test;
      summary.compressed_val_accuracy = acc.val;
      summary.compressed_epoch = config.epochs;
    }
    summary.compression_rate = nncf::compression_rate(r.ctrl->statistics(), r.model);
    export_and_check(*r.ctrl);
  }

  // Whether an epoch may be selected: a fully-compressed one, or any epoch of an FP32 control.
  bool eligible(const nncf::CompressionController& ctrl) const {
    return o.fp32_control || ctrl.compression_stage() == nncf::CompressionStage::FullyCompressed;
  }

  void plot(const MetricsLog& log) const {
    if (!fs::exists(log.csv_path()) || fs::file_size(log.csv_path()) == 0) return;  // no epoch trained
    const std::string what = o.fp32_control                ? "FP32 control"
                             : summary.compression.empty() ? "FP32"
                                                           : summary.compression;
    plot_training_curves(log.csv_path(), {"train_loss", "train_acc", "val_acc", "test_acc"},
                         log_dir + "/curves.png",
                         c10::str(config.model_name, " ", what, " on ", config.dataset),
                         log_dir + "/steps.csv");  // StepLog's rows: the per-step train curves
  }

  // An FP32 config: the baseline is exported through an empty compression.
  void finish_fp32() {
    nncf::Config empty =
        nncf::Config::from_string(nlohmann::json({{"input_info", {{"sample_size", config.sample_size}}},
                                                  {"compression", nlohmann::json::array()}})
                                      .dump());
    const std::vector<at::Tensor> example = {torch::zeros(config.sample_size)};
    nncf::CompressionResult r = nncf::create_compressed_model(net.capture(example), empty, example);
    export_and_check(*r.ctrl);
  }

  void export_and_check(const nncf::CompressionController& ctrl) {
    summary.onnx_path = o.onnx.empty() ? log_dir + "/model.onnx" : o.onnx;
    ctrl.export_model(summary.onnx_path);
    const OnnxWeightBytes bytes = onnx_weight_bytes(summary.onnx_path);
    summary.file_compression_rate = bytes.rate();
    std::cout << "ONNX: " << summary.onnx_path << " (" << bytes.tensors << " conv/linear weights, "
              << bytes.stored_bytes / 1024 << " KiB as stored, FP32 " << bytes.fp32_bytes / 1024
              << " KiB: " << summary.file_compression_rate << "x; nominal " << summary.compression_rate
              << "x)\n";
    if (!o.onnx_eval) return;
    std::string why_not;
    summary.onnx_accuracy = onnxruntime_metric(summary.onnx_path, *test_set, task, why_not);
    if (summary.onnx_accuracy < 0) {
      std::cout << "warning: the export's accuracy is not measured: " << why_not << "\n";
    } else {
      std::cout << "ONNX Runtime accuracy of the export: " << summary.onnx_accuracy << "%\n";
    }
  }

  // test / export of a checkpoint or of FP32 weights.
  void checkpoint_mode() {
    TORCH_CHECK(!o.resume.empty() || !o.pretrained.empty(), "--mode ", o.mode,
                " needs --resume CHECKPOINT (compressed) or --pretrained WEIGHTS (FP32)");
    if (o.resume.empty()) {
      load_weights(*net.module, o.pretrained);
      summary.fp32_accuracy = evaluate_net("fp32 test");
      std::cout << "FP32 accuracy: " << summary.fp32_accuracy << "%\n";
      if (o.mode == "export") finish_fp32();
      return;
    }
    const nncf::Checkpoint ckpt = nncf::Checkpoint::load(o.resume);
    const std::vector<at::Tensor> example = {torch::zeros(config.sample_size)};
    nncf::CompressionResult r =
        nncf::create_compressed_model(net.capture(example), config.nncf, ckpt, example);
    summary.compressed_accuracy = evaluate_compressed(r, "compressed test");
    summary.compression_rate = nncf::compression_rate(r.ctrl->statistics(), r.model);
    std::cout << r.ctrl->statistics().to_string() << "accuracy: " << summary.compressed_accuracy << "%\n";
    if (o.mode == "export") export_and_check(*r.ctrl);
  }
};

}  // namespace

RunSummary run(const RunOptions& options, const Task& task) {
  TORCH_CHECK(options.mode == "train" || options.mode == "test" || options.mode == "export",
              "--mode: unknown '", options.mode, "' (train, test or export)");
  torch::set_num_threads(options.threads);
  Run r(options, task);
  torch::manual_seed(r.seed());
  r.open_data();
  r.net = task.make_model(r.config);
  if (options.mode == "train") {
    r.train();
  } else {
    r.checkpoint_mode();
  }
  r.summary.config = options.config;
  r.summary.epochs = r.config.epochs;
  r.summary.selection = r.selection_name();
  r.summary.val_samples = r.val_set ? r.val_set->size() : 0;
  write_summary(r.summary, r.log_dir + "/summary.json", r.config.text, task.name());
  return r.summary;
}

}  // namespace nncf_sample
