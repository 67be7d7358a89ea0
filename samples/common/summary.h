#pragma once

// A run's summary.json: what the pipeline measured (pipeline.h RunSummary), for the results table.

#include <string>

#include "common/pipeline.h"

namespace nncf_sample {

/// Writes `summary` to `path` as JSON, atomically; `config_text` (the config file's JSON) gives its
/// model_params, with the width always present. NaN values (not measured) are null. `what` names
/// the writer in errors.
void write_summary(const RunSummary& summary, const std::string& path, const std::string& config_text,
                   const std::string& what);

}  // namespace nncf_sample
