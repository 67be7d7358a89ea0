#pragma once

// The classification sample's run: the shared pipeline (common/pipeline.h) on the classification
// task (task.h): the datasets of datasets.h, the models of models.h, cross-entropy and top-1
// accuracy.

#include "common/pipeline.h"

namespace nncf_sample {

/// run(options, ClassificationTask()).
RunSummary run(const RunOptions& options);

}  // namespace nncf_sample
