#pragma once

// The one table of compression algorithms nncf-cpp builds: one entry per JSON algorithm name
// (nncf/algorithms/algorithm.h says what an entry provides). Adding an algorithm is its folder
// under src/algorithms/ and its line in src/api/algorithms.cpp; nothing else in api/ names it.

#include <string>
#include <vector>

#include "nncf/algorithms/algorithm.h"

namespace nncf {

/// Every algorithm nncf-cpp builds, in table order.
const std::vector<const Algorithm*>& algorithm_table();
/// The entry for JSON name `name`, or nullptr.
const Algorithm* find_algorithm(const std::string& name);

}  // namespace nncf
