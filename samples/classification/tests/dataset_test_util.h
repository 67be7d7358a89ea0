#pragma once

// Helpers shared by the dataset tests: scratch folders, file bytes, error checks.

#include "datasets.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace nncf_sample {
namespace test_util {

using Bytes = std::vector<uint8_t>;

/// Synthetic datasets live under one folder per test process, removed at exit.
struct ScratchRoot {
  std::filesystem::path path =
      std::filesystem::path(::testing::TempDir()) / ("nncf_sample_datasets_" + std::to_string(::getpid()));
  ~ScratchRoot() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

/// An empty folder `name` under the process's scratch root; whatever it held before is removed.
inline std::filesystem::path fresh_dir(const std::string& name) {
  static ScratchRoot root;
  std::filesystem::path dir = root.path / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

/// Writes `bytes` to `path` (creating its folders), gzip-compressed when `gz`.
inline void write_file(const std::filesystem::path& path, const Bytes& bytes, bool gz = false) {
  std::filesystem::create_directories(path.parent_path());
  if (gz) {
    gzFile f = gzopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
}

inline Bytes read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// Appends `v` big-endian, as IDX headers store it.
inline void put_be32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}

/// Runs `f` and expects a std::runtime_error whose message contains every one of `parts`.
inline void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one mentioning " << parts.front();
  } catch (const std::runtime_error& e) {
    for (const std::string& part : parts)
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what() << "\nlacks: " << part;
  }
}

inline at::Generator generator(uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

inline DatasetOptions options(const std::string& name, const std::filesystem::path& root, bool train = true,
                              bool augment = false) {
  DatasetOptions o;
  o.name = name;
  o.root = root.string();
  o.train = train;
  o.augment = augment;
  return o;
}

}  // namespace test_util
}  // namespace nncf_sample
