#pragma once

// Writing files so that a crash never destroys what a user saved.

#include <string>

namespace nncf::runtime {

/// Writes `bytes` to `path` through a temporary file in the same folder, synced, then renamed over
/// `path` (and the folder synced): `path` holds either its previous content or all of `bytes`.
/// Throws c10::Error prefixed with `who` when any step fails; the temporary file is removed.
void write_file_atomically(const std::string& path, const std::string& bytes, const std::string& who);

}  // namespace nncf::runtime
