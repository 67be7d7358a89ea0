#include "sample_config.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>

#include <algorithm>
#include <vector>

#include "task.h"

namespace nncf_sample {

std::set<std::string> classification_config_keys() {
  return {"num_classes"};
}

ModelOptions read_classification_config(TrainingConfig& c) {
  const nncf::ConfigNode& root = c.nncf.root();
  ModelOptions model;
  model.name = c.model_name;
  const std::vector<std::string> known = model_names();
  TORCH_CHECK(std::find(known.begin(), known.end(), model.name) != known.end(), c.path, ": model: unknown '",
              model.name, "' (known: ", c10::Join(", ", known), ")");
  if (root.has("model_params")) {
    const auto& p = root["model_params"];
    check_keys(p, {"small_input", "width"});
    if (p.has("small_input")) model.small_input = p["small_input"].as_bool();
    if (p.has("width")) model.width = p["width"].as_double(1e-3, 16);
  }
  c.dataset = root.has("dataset") ? root["dataset"].as_enum({"fashion_mnist", "mnist", "cifar10", "cifar100",
                                                             "image_folder", "imagenet"})
                                  : "fashion_mnist";
  model.in_channels = c.sample_size[1];
  if (root.has("num_classes")) model.num_classes = root["num_classes"].as_int(1, 1 << 20);
  return model;
}

SampleConfig parse_sample_config(const std::string& json, const std::string& source) {
  SampleConfig c{parse_training_config(json, source, ClassificationTask()), {}};
  c.model = read_classification_config(c);
  return c;
}

SampleConfig load_sample_config(const std::string& path) {
  return parse_sample_config(read_text_file(path, "config file"), path);
}

}  // namespace nncf_sample
