#include "nncf/api/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>
#include <torch/serialize/output-archive.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "nncf/runtime/files.h"

namespace nncf {
namespace {

constexpr const char* kFormat = "nncf-cpp checkpoint";

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Every parameter and buffer of the model, by its dotted name.
std::map<std::string, at::Tensor> model_tensors(const runtime::CompressedModel& model) {
  std::map<std::string, at::Tensor> out;
  for (const auto& p : model->named_parameters()) out[p.key()] = p.value();
  for (const auto& b : model->named_buffers()) out[b.key()] = b.value();
  return out;
}

using Json = nlohmann::ordered_json;

// The first difference between the saved and the current value at `path`, or "". Objects are
// compared member by member (the config's order, then members only the checkpoint has), arrays of
// equal length element by element, everything else as JSON values (so 2 equals 2.0).
std::string first_difference(const Json& saved, const Json& ours, const std::string& path) {
  if (saved.is_object() && ours.is_object()) {
    auto member = [&](const std::string& key) -> std::string {
      const std::string at = path.empty() ? key : path + "." + key;
      const auto a = saved.find(key), b = ours.find(key);
      if (a == saved.end())
        return c10::str(at, ": the checkpoint was saved without it, the config has ", b->dump());
      if (b == ours.end())
        return c10::str(at, ": the checkpoint was saved with ", a->dump(), ", the config does not have it");
      return first_difference(*a, *b, at);
    };
    for (const auto& item : ours.items()) {
      if (std::string d = member(item.key()); !d.empty()) return d;
    }
    for (const auto& item : saved.items()) {
      if (!ours.contains(item.key())) return member(item.key());
    }
    return "";
  }
  if (saved.is_array() && ours.is_array() && saved.size() == ours.size()) {
    for (size_t i = 0; i < saved.size(); ++i) {
      if (std::string d = first_difference(saved[i], ours[i], c10::str(path, "[", i, "]")); !d.empty())
        return d;
    }
    return "";
  }
  if (saved == ours) return "";
  return c10::str(path, ": the checkpoint was saved with ", saved.dump(), ", the config has ", ours.dump());
}

// What changes the compression: the top-level keys that every algorithm reads (target_device,
// default ANY; compression_lr_multiplier; ignored_scopes and target_scopes), then each algorithm section (an
// object `compression` is a one-element list). Everything else (input_info, a training loop's own keys) may
// change.
std::string config_difference(const Json& saved, const Json& ours, const Config& config) {
  auto top = [](const Json& root) {
    Json t = Json::object();
    t["target_device"] = root.contains("target_device") ? root["target_device"] : Json("ANY");
    for (const char* key : {"compression_lr_multiplier", "ignored_scopes", "target_scopes"})
      if (root.contains(key)) t[key] = root[key];
    return t;
  };
  if (std::string d = first_difference(top(saved), top(ours), ""); !d.empty()) return d;
  auto sections = [](const Json& root) {
    const Json c = root.contains("compression") ? root["compression"] : Json::array();
    return c.is_array() ? c : Json::array({c});
  };
  const Json a = sections(saved), b = sections(ours);
  // The algorithm names were compared before: the lists have the same length.
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (std::string d = first_difference(a[i], b[i], config.compression().at(i).path()); !d.empty()) return d;
  }
  return "";
}

}  // namespace

void save_checkpoint(const std::string& path, const CompressionResult& result, const Config& config,
                     const torch::optim::Optimizer* optimizer, const std::string& user_data) {
  TORCH_CHECK(result.ctrl && !result.model.is_empty(), "nncf::save_checkpoint: empty compression result");
  torch::serialize::OutputArchive archive;
  archive.write("format", std::string(kFormat));
  archive.write("version", Checkpoint::kFormatVersion);
  archive.write("config", config.root().dump());
  std::vector<std::string> algorithms;
  for (const AlgorithmConfig& a : config.compression()) algorithms.push_back(a.name);
  archive.write("algorithms", c10::Join("\n", algorithms));

  std::vector<std::string> keys;
  for (const auto& [k, v] : result.ctrl->state()) {
    archive.write(c10::str("state_", keys.size()), v);
    keys.push_back(k);
  }
  archive.write("state_keys", c10::Join("\n", keys));

  torch::NoGradGuard no_grad;
  std::vector<std::string> names;
  c10::impl::GenericList shapes(c10::ListType::create(c10::ListType::ofInts()));
  for (const auto& [name, t] : model_tensors(result.model)) {
    archive.write(c10::str("tensor_", names.size()), t.detach(), /*is_buffer=*/true);
    names.push_back(name);
    shapes.push_back(c10::List<int64_t>(t.sizes()));
  }
  archive.write("tensor_names", c10::Join("\n", names));
  archive.write("tensor_shapes", shapes);
  archive.write("rng_cpu", at::detail::getDefaultCPUGenerator().get_state(), /*is_buffer=*/true);
  if (!user_data.empty()) archive.write("user_data", user_data);
  if (optimizer != nullptr) {
    torch::serialize::OutputArchive opt;
    optimizer->save(opt);
    archive.write("optimizer", opt);
  }
  std::ostringstream bytes;
  archive.save_to(bytes);
  runtime::write_file_atomically(path, bytes.str(), "nncf::save_checkpoint");
}

Checkpoint Checkpoint::load(const std::string& path) {
  TORCH_CHECK(std::ifstream(path).good(), "nncf::Checkpoint: cannot read ", path);
  auto archive = std::make_shared<torch::serialize::InputArchive>();
  try {
    archive->load_from(path);
  } catch (const c10::Error& e) {
    TORCH_CHECK(false, "nncf::Checkpoint: ", path, " is not a readable checkpoint (",
                e.what_without_backtrace(), ")");
  }
  auto read = [&](const std::string& key) {
    c10::IValue v;
    TORCH_CHECK(archive->try_read(key, v), "nncf::Checkpoint: ", path, " is not an nncf-cpp checkpoint (no '",
                key, "')");
    return v;
  };
  const c10::IValue format = read("format");
  TORCH_CHECK(format.isString() && format.toStringRef() == kFormat, "nncf::Checkpoint: ", path,
              " is not an nncf-cpp checkpoint");
  const int64_t version = read("version").toInt();
  TORCH_CHECK(version <= kFormatVersion, "nncf::Checkpoint: ", path, " has format version ", version,
              ", written by a newer nncf-cpp (this one reads up to ", kFormatVersion, ")");
  Checkpoint c;
  c.path_ = path;
  c.config_json_ = read("config").toStringRef();
  c.algorithms_ = split_lines(read("algorithms").toStringRef());
  const auto keys = split_lines(read("state_keys").toStringRef());
  for (size_t i = 0; i < keys.size(); ++i) c.controller_state_[keys[i]] = read(c10::str("state_", i));
  const auto names = split_lines(read("tensor_names").toStringRef());
  for (size_t i = 0; i < names.size(); ++i) {
    at::Tensor t;
    TORCH_CHECK(archive->try_read(c10::str("tensor_", i), t, /*is_buffer=*/true), "nncf::Checkpoint: ", path,
                " is truncated: tensor '", names[i], "' is missing");
    c.tensors_[names[i]] = t;
    c.tensor_shapes_[names[i]] = t.sizes().vec();
  }
  // Checkpoints written before shapes were recorded have none: the tensors' own shapes stand.
  c10::IValue shapes;
  if (archive->try_read("tensor_shapes", shapes)) {
    TORCH_CHECK(shapes.isList() && shapes.toListRef().size() == names.size(), "nncf::Checkpoint: ", path,
                ": 'tensor_shapes' does not list one shape per tensor");
    for (size_t i = 0; i < names.size(); ++i) {
      const c10::IValue& shape = shapes.toListRef()[i];
      TORCH_CHECK(shape.isIntList(), "nncf::Checkpoint: ", path, ": the recorded shape of '", names[i],
                  "' is not a list of ints");
      const std::vector<int64_t> recorded = shape.toIntVector();
      TORCH_CHECK(recorded == c.tensor_shapes_[names[i]], "nncf::Checkpoint: ", path, " is corrupt: tensor '",
                  names[i], "' was recorded with shape ", c10::IntArrayRef(recorded), " but holds ",
                  c10::IntArrayRef(c.tensor_shapes_[names[i]]));
    }
  }
  TORCH_CHECK(archive->try_read("rng_cpu", c.rng_, /*is_buffer=*/true), "nncf::Checkpoint: ", path,
              " has no random generator state");
  c10::IValue user_data;
  if (archive->try_read("user_data", user_data)) {
    TORCH_CHECK(user_data.isString(), "nncf::Checkpoint: ", path, ": 'user_data' is not a string");
    c.user_data_ = user_data.toStringRef();
  }
  auto opt = std::make_shared<torch::serialize::InputArchive>();
  if (archive->try_read("optimizer", *opt)) c.optimizer_ = opt;
  return c;
}

void Checkpoint::restore_optimizer(torch::optim::Optimizer& optimizer) const {
  TORCH_CHECK(optimizer_ != nullptr, "nncf::Checkpoint: ", path_, " holds no optimizer state");
  optimizer.load(*optimizer_);
}

void Checkpoint::restore_model(runtime::CompressedModel& model) const {
  const auto ours = model_tensors(model);
  std::vector<std::string> missing, unexpected, shapes;
  for (const auto& [name, t] : ours) {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) {
      missing.push_back(name);
    } else if (!it->second.sizes().equals(t.sizes())) {
      std::ostringstream s;
      s << name << " (saved " << it->second.sizes() << ", model " << t.sizes() << ")";
      shapes.push_back(s.str());
    }
  }
  for (const auto& entry : tensors_) {
    if (!ours.count(entry.first)) unexpected.push_back(entry.first);
  }
  TORCH_CHECK(missing.empty() && unexpected.empty() && shapes.empty(), "nncf::Checkpoint: ", path_,
              " does not match the model",
              missing.empty() ? "" : "; missing in the checkpoint: ", c10::Join(", ", missing),
              unexpected.empty() ? "" : "; not in the model: ", c10::Join(", ", unexpected),
              shapes.empty() ? "" : "; shapes differ: ", c10::Join(", ", shapes),
              shapes.empty() ? ""
                             : " (a checkpoint of a structurally changed model, e.g. a pruned one, "
                               "restores into a model rebuilt with Checkpoint::tensor_shapes())");
  torch::NoGradGuard no_grad;
  for (const auto& [name, t] : ours) t.copy_(tensors_.at(name));
}

void Checkpoint::restore_rng() const {
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  generator.set_state(rng_);
}

CompressionResult create_compressed_model(capture::Captured captured, const Config& config,
                                          const Checkpoint& checkpoint,
                                          const std::vector<at::Tensor>& example_inputs) {
  std::vector<std::string> algorithms;
  for (const AlgorithmConfig& a : config.compression()) algorithms.push_back(a.name);
  TORCH_CHECK(algorithms == checkpoint.algorithms(), "nncf: ", checkpoint.path(),
              " was saved with algorithms [", c10::Join(", ", checkpoint.algorithms()), "], the config has [",
              c10::Join(", ", algorithms), "]");
  Json saved;
  try {
    saved = Json::parse(checkpoint.config_json());
  } catch (const nlohmann::json::exception& e) {
    TORCH_CHECK(false, "nncf: ", checkpoint.path(), ": the saved config is not JSON (", e.what(), ")");
  }
  const std::string difference = config_difference(saved, Json::parse(config.root().dump()), config);
  TORCH_CHECK(difference.empty(), "nncf: ", checkpoint.path(), ": ", difference,
              config.source().empty() ? std::string() : c10::str(" (config ", config.source(), ")"),
              " (a checkpoint resumes only with the compression it was saved with)");
  CompressionResult result = create_compressed_model(std::move(captured), config, example_inputs);
  // The controllers first: a pruned model shrinks to the saved channel counts there, and only then
  // do the saved tensors fit.
  result.ctrl->load_state(checkpoint.controller_state());
  checkpoint.restore_model(result.model);
  checkpoint.restore_rng();
  return result;
}

CompressionResult create_compressed_model(const std::string& torchscript_path, const Config& config,
                                          const Checkpoint& checkpoint,
                                          const std::vector<at::Tensor>& inputs) {
  const std::vector<at::Tensor> example = inputs.empty() ? example_inputs(config) : inputs;
  return create_compressed_model(capture::capture_torchscript_file(torchscript_path, example), config,
                                 checkpoint, example);
}

}  // namespace nncf
