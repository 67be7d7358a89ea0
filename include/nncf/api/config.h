#pragma once

// nncf::Config: an NNCF JSON configuration, parsed once at the edge.
//
//   auto config = nncf::Config::from_file("resnet50_int8.json");
//   config.require_supported();                          // first section nncf-cpp cannot build yet
//   for (const auto& section : config.compression())
//     if (section.name == "quantization")
//       auto q = nncf::quantization::QuantizationConfig::parse(section);
//
// The file is JSON with `//` and `/* */` comments (NNCF reads its configs with jstyleson). Parsing
// checks the syntax and the top level (NNCF 2.x schema, section 2.1 of the reference notes); each
// algorithm section is validated in full by its own parser (`QuantizationConfig::parse`). The root
// is open: sample-level keys (`model`, `batch_size`, `optimizer`, `epochs`, ...) stay readable
// through `root()` and are not interpreted. Every error is a c10::Error whose message names the
// file and the JSON path: `cfg.json: compression[1].initializer.range.num_init_samples: expected
// >= 0, got -5`.

#include <c10/core/ScalarType.h>


#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nncf/config/node.h"

namespace nncf {

/// The `target_device` key: which hardware configuration constrains the quantizer setup.
enum class TargetDevice { Any, Cpu, Gpu, Vpu, Npu, CpuSpr, Trial };
/// The JSON spelling (`ANY`, `CPU`, `GPU`, `VPU`, `NPU`, `CPU_SPR`, `TRIAL`).
const char* to_string(TargetDevice device);

/// What an input tensor is filled with when the model is run on example inputs.
enum class InputFiller { Zeros, Ones, Random };
/// The JSON spelling (`zeros`, `ones`, `random`).
const char* to_string(InputFiller filler);

/// One entry of `input_info`.
struct InputInfo {
  /// Shape of the tensor, batch dimension included (`[1, 3, 224, 224]`). Required.
  std::vector<int64_t> sample_size;
  /// `type`: `float` (default), `double`, `half`, `long`, `int`, `uint8`, `bool`.
  c10::ScalarType type = c10::kFloat;
  /// `filler`: default `ones`.
  InputFiller filler = InputFiller::Ones;
  /// `keyword`: passed as a keyword argument of `forward`; empty = positional, in order.
  std::string keyword;
};

/// The algorithm names NNCF knows, whether or not nncf-cpp implements them yet.
const std::vector<std::string>& known_algorithm_names();
/// The algorithm names nncf-cpp can build.
const std::vector<std::string>& supported_algorithm_names();

/// A parsed and top-level-validated NNCF config.
class Config {
 public:
  /// Reads and parses `path`; a missing or unreadable file, a syntax error (with line and
  /// column) or an invalid top-level key throws c10::Error naming the file.
  static Config from_file(const std::string& path);
  /// Parses `text`; `source` (e.g. a file name) prefixes error messages when not empty.
  static Config from_string(const std::string& text, const std::string& source = "");

  /// `input_info`, as a list (an object is a one-element list). Empty when absent: NNCF requires
  /// it, nncf-cpp takes example inputs from the caller and only needs it where they are absent.
  const std::vector<InputInfo>& input_info() const { return input_info_; }
  /// `target_device`; default `ANY`.
  TargetDevice target_device() const { return target_device_; }
  /// `compression`, as a list (an object is a one-element list); empty = no compression.
  const std::vector<AlgorithmConfig>& compression() const { return compression_; }
  /// The first section of algorithm `name`, or nullptr.
  const AlgorithmConfig* find_algorithm(const std::string& name) const;
  /// `log_dir`; default ".".
  const std::string& log_dir() const { return log_dir_; }
  /// `compression_lr_multiplier` (global; an algorithm section may override it).
  std::optional<double> compression_lr_multiplier() const { return compression_lr_multiplier_; }
  /// `disable_shape_matching` (deprecated in NNCF 2.x); default false.
  bool disable_shape_matching() const { return disable_shape_matching_; }
  /// `scopes_without_shape_matching`; default empty.
  const std::vector<std::string>& scopes_without_shape_matching() const {
    return scopes_without_shape_matching_;
  }
  /// `accuracy_aware_training` (recognized, `mode` checked; not supported yet).
  const std::optional<ConfigNode>& accuracy_aware_training() const { return accuracy_aware_training_; }

  /// The whole document: sample-level keys (`batch_size`, `epochs`, `optimizer`, `dataset`, ...)
  /// that nncf-cpp keeps but does not interpret: `config.root()["batch_size"].as_int()`.
  const ConfigNode& root() const { return root_; }
  /// The file parsed, or the `source` given to from_string.
  const std::string& source() const { return root_.file(); }

  /// Throws c10::Error for the first thing nncf-cpp cannot build yet: an algorithm section it
  /// does not implement ("compression[0]: not supported yet: algorithm \"rb_sparsity\""), an
  /// implemented section that fails its full validation, or `accuracy_aware_training`.
  void require_supported() const;

 private:
  Config() = default;
  ConfigNode root_;
  std::vector<InputInfo> input_info_;
  TargetDevice target_device_ = TargetDevice::Any;
  std::vector<AlgorithmConfig> compression_;
  std::string log_dir_ = ".";
  std::optional<double> compression_lr_multiplier_;
  bool disable_shape_matching_ = false;
  std::vector<std::string> scopes_without_shape_matching_;
  std::optional<ConfigNode> accuracy_aware_training_;
};

}  // namespace nncf
