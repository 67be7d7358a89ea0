#include "support/ort.h"

#include <c10/util/Exception.h>
#include <stdlib.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace nncf::testing {
namespace {

namespace fs = std::filesystem;

std::string setting(const char* env, const char* fallback) {
  const char* value = std::getenv(env);
  return value != nullptr && *value != '\0' ? value : fallback;
}

std::string node_executable() {
  return setting("NNCF_NODE", NNCF_NODE_EXECUTABLE);
}
std::string ort_dir() {
  return setting("NNCF_ORT_DIR", NNCF_ORT_DIR);
}

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::vector<std::pair<at::ScalarType, std::string>>& type_names() {
  static const std::vector<std::pair<at::ScalarType, std::string>> names = {
      {at::kFloat, "float32"}, {at::kDouble, "float64"}, {at::kLong, "int64"}, {at::kInt, "int32"},
      {at::kChar, "int8"},     {at::kByte, "uint8"},     {at::kBool, "bool"},
  };
  return names;
}

std::string onnx_type_of(at::ScalarType type) {
  for (const auto& [t, name] : type_names())
    if (t == type) return name;
  TORCH_CHECK(false, "run_onnxruntime: unsupported input dtype ", type);
}

at::ScalarType scalar_type_of(const std::string& name) {
  for (const auto& [t, n] : type_names())
    if (n == name) return t;
  TORCH_CHECK(false, "run_onnxruntime: unsupported output type ", name);
}

void write_tensor(const fs::path& dir, size_t k, const std::string& name, const at::Tensor& tensor) {
  const at::Tensor t = tensor.cpu().contiguous();
  nlohmann::json meta = {{"name", name}, {"dims", t.sizes().vec()}, {"type", onnx_type_of(t.scalar_type())}};
  std::ofstream(dir / (std::to_string(k) + ".json")) << meta.dump();
  std::ofstream bin(dir / (std::to_string(k) + ".bin"), std::ios::binary);
  bin.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
  TORCH_CHECK(bin.good(), "run_onnxruntime: cannot write ", (dir / (std::to_string(k) + ".bin")).string());
}

at::Tensor read_tensor(const fs::path& dir, size_t k) {
  const auto meta = nlohmann::json::parse(read_text(dir / (std::to_string(k) + ".json")));
  const auto dims = meta.at("dims").get<std::vector<int64_t>>();
  at::Tensor t = at::empty(dims, at::TensorOptions().dtype(scalar_type_of(meta.at("type"))));
  const std::string bytes = read_text(dir / (std::to_string(k) + ".bin"));
  TORCH_CHECK(bytes.size() == t.nbytes(), "run_onnxruntime: output ", k, " has ", bytes.size(),
              " bytes, expected ", t.nbytes());
  std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
  return t;
}

/// A fresh directory under the system temp dir, removed with its contents on destruction.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "nncf_ort_XXXXXX").string();
    TORCH_CHECK(mkdtemp(pattern.data()) != nullptr, "run_onnxruntime: mkdtemp failed for ", pattern);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

/// Runs ort_run.js with `args` (already quoted); returns its stdout, or throws with its stderr.
std::string run_script(const std::string& args, const TempDir& tmp) {
  TORCH_CHECK(onnxruntime_available(), onnxruntime_missing_reason());
  const fs::path out = tmp.path / "stdout.txt", err = tmp.path / "stderr.txt";
  const std::string command = "NNCF_ORT_DIR=" + quoted(ort_dir()) + " " + quoted(node_executable()) + " " +
                              quoted(NNCF_ORT_RUN_JS) + " " + args + " >" + quoted(out.string()) + " 2>" +
                              quoted(err.string());
  const int status = std::system(command.c_str());
  TORCH_CHECK(status == 0, "ONNX Runtime failed (exit status ", status, "): ", read_text(err));
  return read_text(out);
}

}  // namespace

bool onnxruntime_available() {
  return onnxruntime_missing_reason().empty();
}

std::string onnxruntime_missing_reason() {
  const std::string node = node_executable();
  if (node.empty() || !fs::exists(node))
    return "ONNX Runtime oracle missing: no node executable (found at configure time: '" +
           std::string(NNCF_NODE_EXECUTABLE) + "', or set NNCF_NODE); run scripts/install-deps.sh";
  const fs::path pkg = fs::path(ort_dir()) / "node_modules" / "onnxruntime-node" / "package.json";
  if (!fs::exists(pkg))
    return "ONNX Runtime oracle missing: no " + pkg.string() + "; run scripts/install-deps.sh";
  return "";
}

std::vector<at::Tensor> run_onnxruntime(const std::string& onnx_path,
                                        const std::vector<std::pair<std::string, at::Tensor>>& inputs,
                                        const std::string& optimization) {
  TempDir tmp;
  const fs::path in_dir = tmp.path / "in", out_dir = tmp.path / "out";
  fs::create_directory(in_dir);
  for (size_t k = 0; k < inputs.size(); ++k) write_tensor(in_dir, k, inputs[k].first, inputs[k].second);
  run_script(quoted(onnx_path) + " " + quoted(in_dir.string()) + " " + quoted(out_dir.string()) + " --opt " +
                 quoted(optimization),
             tmp);
  std::vector<at::Tensor> outputs;
  for (size_t k = 0; fs::exists(out_dir / (std::to_string(k) + ".json")); ++k)
    outputs.push_back(read_tensor(out_dir, k));
  return outputs;
}

OnnxRuntimeSignature onnxruntime_signature(const std::string& onnx_path) {
  TempDir tmp;
  std::istringstream lines(run_script(quoted(onnx_path) + " --list", tmp));
  OnnxRuntimeSignature signature;
  std::string kind, name;
  while (lines >> kind && std::getline(lines >> std::ws, name))
    (kind == "input" ? signature.inputs : signature.outputs).push_back(name);
  return signature;
}

}  // namespace nncf::testing
