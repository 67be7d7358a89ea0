#include "common/config.h"

#include <c10/util/Exception.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/task.h"

namespace nncf_sample {

std::string TrainingConfig::compression_name() const {
  std::string name;
  for (const auto& a : nncf.compression()) name += (name.empty() ? "" : "+") + a.name;
  return name;
}

TrainingConfig parse_training_config(const std::string& json, const std::string& source, const Task& task) {
  TrainingConfig c{source, nncf::Config::from_string(json, source)};
  c.text = json;
  const nncf::ConfigNode& root = c.nncf.root();
  // NNCF's sample keys the samples have no use for are accepted (configs move between the two);
  // anything else is an error, so that a typo is not silently ignored.
  std::set<std::string> known = {"model",
                                 "model_params",
                                 "pretrained",
                                 "dataset",
                                 "input_info",
                                 "batch_size",
                                 "batch_size_val",
                                 "batch_size_init",
                                 "epochs",
                                 "optimizer",
                                 "fp32",
                                 "compression",
                                 "target_device",
                                 "seed",
                                 "log_dir",
                                 "multiprocessing_distributed",
                                 "distributed",
                                 "print_freq",
                                 "workers",
                                 "test_every_n_epochs",
                                 "mode",
                                 "weights",
                                 "checkpoint_save_dir",
                                 "dataset_dir",
                                 "export_to_onnx",
                                 "metrics_dump",
                                 "no_strip_on_export",
                                 "disable_compression",
                                 "val_split"};
  for (const std::string& k : task.config_keys()) known.insert(k);
  check_keys(root, known);
  c.model_name = root["model"].as_string();
  if (root.has("dataset")) c.dataset = root["dataset"].as_string();
  const auto& size = root["input_info"]["sample_size"];
  TORCH_CHECK(size.exists(), source, ": input_info.sample_size is required ([1, C, H, W])");
  for (const auto& d : size.elements()) c.sample_size.push_back(d.as_int(1, 1 << 20));
  TORCH_CHECK(c.sample_size.size() == 4, source, ": input_info.sample_size: expected [1, C, H, W], got ",
              c.sample_size.size(), " dimensions");
  if (root.has("batch_size")) c.batch_size = root["batch_size"].as_int(1, 1 << 16);
  if (root.has("batch_size_val")) c.batch_size_val = root["batch_size_val"].as_int(1, 1 << 16);
  if (root.has("seed")) c.seed = static_cast<uint64_t>(root["seed"].as_int(0, INT64_MAX));
  if (root.has("epochs")) c.epochs = root["epochs"].as_int(0, 100000);
  c.optimizer = parse_optimizer(root["optimizer"], c.optimizer);
  c.fp32_optimizer = c.optimizer;
  if (root.has("fp32")) {
    const auto& f = root["fp32"];
    check_keys(f, {"epochs", "optimizer"});
    if (f.has("epochs")) c.fp32_epochs = f["epochs"].as_int(0, 100000);
    c.fp32_optimizer = parse_optimizer(f["optimizer"], c.fp32_optimizer);
  }
  if (root.has("val_split")) {
    const auto& v = root["val_split"];
    check_keys(v, {"num_samples", "seed"});
    if (v.has("num_samples")) c.val_samples = v["num_samples"].as_int(0, INT64_MAX);
    if (v.has("seed")) c.val_seed = static_cast<uint64_t>(v["seed"].as_int(0, INT64_MAX));
  }
  task.read_config(c);
  c.nncf.require_supported();
  return c;
}

std::string read_text_file(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  TORCH_CHECK(in.good(), "cannot read ", what, " '", path, "'");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TrainingConfig load_training_config(const std::string& path, const Task& task) {
  return parse_training_config(read_text_file(path, "config file"), path, task);
}

TrainingConfig fp32_control_config(const TrainingConfig& config, const Task& task) {
  nlohmann::json j =
      nlohmann::json::parse(config.text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  j.erase("compression");
  TrainingConfig c = parse_training_config(j.dump(), config.path, task);
  c.text = config.text;
  return c;
}

}  // namespace nncf_sample
