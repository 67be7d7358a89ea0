#include "nncf/algorithms/sparsity/config.h"

namespace nncf::sparsity {

const char* to_string(Schedule schedule) {
  switch (schedule) {
    case Schedule::Polynomial:
      return "polynomial";
    case Schedule::Exponential:
      return "exponential";
    case Schedule::Adaptive:
      return "adaptive";
    case Schedule::Multistep:
      return "multistep";
  }
  return "?";
}

const char* to_string(LevelSettingMode mode) {
  switch (mode) {
    case LevelSettingMode::Global:
      return "global";
    case LevelSettingMode::Local:
      return "local";
  }
  return "?";
}

const char* to_string(WeightImportance importance) {
  switch (importance) {
    case WeightImportance::NormedAbs:
      return "normed_abs";
    case WeightImportance::Abs:
      return "abs";
  }
  return "?";
}

}  // namespace nncf::sparsity
