#include "common/weights_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <torch/torch.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace nncf_sample {
namespace {

[[noreturn]] void throw_io(const std::string& what, const std::string& path) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

// The first line of a c10::Error (the rest is a C++ backtrace).
std::string first_line(const char* what) {
  const std::string s(what);
  return s.substr(0, s.find('\n'));
}

std::string shape_of(const torch::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

// Names of `list`, at most a handful, then how many more.
std::string some(const std::vector<std::string>& list) {
  constexpr size_t kShown = 8;
  std::string s;
  for (size_t i = 0; i < list.size() && i < kShown; ++i) s += (i ? ", " : "") + list[i];
  if (list.size() > kShown) s += " and " + std::to_string(list.size() - kShown) + " more";
  return s;
}

struct Match {
  std::vector<std::pair<torch::Tensor, torch::Tensor>> found;  // {the model's tensor, the file's}
  std::vector<std::string> missing, unexpected, misshaped;
};

// The tensors under `keys` of `archive` (nested archives expanded), for the report of unexpected
// entries. Other attributes, such as the archive's own `training` flag, are not tensors.
void list_tensors(torch::serialize::InputArchive& archive, const std::string& prefix,
                  const std::vector<std::string>& keys, std::vector<std::string>& out) {
  for (const auto& key : keys) {
    torch::Tensor t;
    torch::serialize::InputArchive child;
    if (archive.try_read(key, t)) {
      out.push_back(prefix + key);
    } else if (archive.try_read(key, child)) {
      list_tensors(child, prefix + key + ".", child.keys(), out);
    }
  }
}

// Pairs the tensors of `module` with those of `archive`, which has Module::save's layout: a
// module's own parameters and buffers by name, then one nested archive per child.
void match(torch::nn::Module& module, torch::serialize::InputArchive& archive, const std::string& prefix,
           Match& m) {
  auto keys = archive.keys();
  std::set<std::string> unseen(keys.begin(), keys.end());
  auto pair = [&](const std::string& name, const torch::Tensor& target, bool is_buffer) {
    unseen.erase(name);
    torch::Tensor t;
    if (!archive.try_read(name, t, is_buffer)) {
      m.missing.push_back(prefix + name);
    } else if (t.sizes() != target.sizes()) {
      m.misshaped.push_back(prefix + name + " (expected " + shape_of(target) + ", got " + shape_of(t) + ")");
    } else {
      m.found.emplace_back(target, t);
    }
  };
  for (const auto& p : module.named_parameters(/*recurse=*/false)) pair(p.key(), p.value(), false);
  for (const auto& b : module.named_buffers(/*recurse=*/false)) pair(b.key(), b.value(), true);
  for (const auto& child : module.named_children()) {
    unseen.erase(child.key());
    torch::serialize::InputArchive sub;
    if (archive.try_read(child.key(), sub)) {
      match(*child.value(), sub, prefix + child.key() + ".", m);
      continue;
    }
    const std::string p = prefix + child.key() + ".";
    for (const auto& t : child.value()->named_parameters()) m.missing.push_back(p + t.key());
    for (const auto& t : child.value()->named_buffers()) m.missing.push_back(p + t.key());
  }
  list_tensors(archive, prefix, {unseen.begin(), unseen.end()}, m.unexpected);
}

}  // namespace

void save_weights(torch::nn::Module& model, const std::string& path) {
  // Module::save writes what torch::save(module) writes, so either loads with load_weights.
  torch::serialize::OutputArchive archive;
  model.save(archive);
  // Written next to the target and renamed over it: a crash or a full disk never leaves a
  // half-written checkpoint under `path`.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw_io("save_weights: cannot create", tmp);
  try {
    archive.save_to([&](const void* data, size_t size) -> size_t {
      const char* p = static_cast<const char*>(data);
      for (size_t left = size; left > 0;) {
        const ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw_io("save_weights: cannot write", tmp);
        p += n;
        left -= static_cast<size_t>(n);
      }
      return size;
    });
    if (::fsync(fd) != 0) throw_io("save_weights: cannot sync", tmp);
    if (::close(fd) != 0) throw_io("save_weights: cannot close", tmp);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    errno = err;
    throw_io("save_weights: cannot rename " + tmp + " to", path);
  }
  // Make the rename itself durable; best effort, as some file systems refuse to sync a folder.
  const auto dir = std::filesystem::path(path).parent_path();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void load_weights(torch::nn::Module& model, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw std::runtime_error("load_weights: no such file: " + path);
  }
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    throw std::runtime_error(
        "load_weights: " + path +
        " is not a LibTorch checkpoint (truncated or corrupt?): " + first_line(e.what()));
  }
  Match m;
  match(model, archive, "", m);
  if (!m.missing.empty() || !m.unexpected.empty() || !m.misshaped.empty()) {
    std::string msg = "load_weights: " + path + " does not fit the model:";
    if (!m.missing.empty()) msg += " missing " + some(m.missing) + ";";
    if (!m.unexpected.empty()) msg += " unexpected " + some(m.unexpected) + ";";
    if (!m.misshaped.empty()) msg += " mis-shaped " + some(m.misshaped) + ";";
    msg.pop_back();
    throw std::runtime_error(msg);
  }
  // In place, all or nothing: the model keeps its tensors (a CompressedModel built on it shares
  // them), and nothing is copied unless every tensor fits.
  torch::NoGradGuard no_grad;
  for (auto& [target, value] : m.found) target.copy_(value);
}

}  // namespace nncf_sample
