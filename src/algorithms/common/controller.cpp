#include "nncf/algorithms/controller.h"

#include <ATen/ops/stack.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "nncf/algorithms/algorithm.h"

namespace nncf {

const char* to_string(CompressionStage stage) {
  switch (stage) {
    case CompressionStage::Uncompressed:
      return "uncompressed";
    case CompressionStage::PartiallyCompressed:
      return "partially compressed";
    case CompressionStage::FullyCompressed:
      return "fully compressed";
  }
  return "?";
}

void CompressionScheduler::step(std::optional<int64_t> next_step) {
  current_step_ = next_step ? *next_step : current_step_ + 1;
}

void CompressionScheduler::epoch_step(std::optional<int64_t> next_epoch) {
  current_epoch_ = next_epoch ? *next_epoch : current_epoch_ + 1;
}

std::map<std::string, double> CompressionScheduler::state() const {
  return {{"current_step", static_cast<double>(current_step_)},
          {"current_epoch", static_cast<double>(current_epoch_)}};
}

void CompressionScheduler::load_state(const std::map<std::string, double>& state) {
  for (const char* key : {"current_step", "current_epoch"}) {
    TORCH_CHECK(state.count(key), "nncf: scheduler state has no '", key, "'");
  }
  current_step_ = static_cast<int64_t>(state.at("current_step"));
  current_epoch_ = static_cast<int64_t>(state.at("current_epoch"));
}

std::string Statistics::to_string() const {
  std::ostringstream out;
  for (const StatisticsTable& t : tables) {
    std::vector<size_t> width(t.header.size(), 0);
    auto measure = [&](const std::vector<std::string>& row) {
      for (size_t i = 0; i < row.size() && i < width.size(); ++i)
        width[i] = std::max(width[i], row[i].size());
    };
    measure(t.header);
    for (const auto& row : t.rows) measure(row);
    auto rule = [&] {
      out << '+';
      for (size_t w : width) out << std::string(w + 2, '-') << '+';
      out << '\n';
    };
    auto line = [&](const std::vector<std::string>& row) {
      out << '|';
      for (size_t i = 0; i < width.size(); ++i) {
        out << ' ' << std::left << std::setw(static_cast<int>(width[i])) << (i < row.size() ? row[i] : "")
            << " |";
      }
      out << '\n';
    };
    out << t.title << '\n';
    rule();
    line(t.header);
    rule();
    for (const auto& row : t.rows) line(row);
    rule();
  }
  for (const auto& [name, value] : values) out << name << " = " << value << '\n';
  return out.str();
}

void Statistics::merge(const Statistics& other) {
  tables.insert(tables.end(), other.tables.begin(), other.tables.end());
  for (const auto& [name, value] : other.values) values[name] = value;
}

void CompressionController::export_model(const std::string& path, const std::string& format) const {
  TORCH_CHECK(exporter_, "nncf: export_model needs a controller made by nncf::create_compressed_model");
  TORCH_CHECK(format == "onnx" || format == "torchscript", "nncf: export_model: unknown format '", format,
              "' (onnx, torchscript)");
  exporter_(path, format);
}

void InitData::for_each(const Visitor& visit) const {
  TORCH_CHECK(producer_, "nncf: initialization needs data (a data loader or an InitData callback), got none");
  producer_(visit);
}

namespace detail {
at::Tensor stack_tensors(const std::vector<at::Tensor>& tensors) {
  return at::stack(tensors);
}
}  // namespace detail

}  // namespace nncf

namespace nncf {

double compression_rate(const Statistics& statistics, const runtime::CompressedModel& model) {
  auto value = [&](const std::string& key, double otherwise) {
    auto it = statistics.values.find(key);
    return it == statistics.values.end() ? otherwise : it->second;
  };
  double fp32 = 0, stored = 0;
  for (const ir::Value* v : model->graph().inputs()) {
    if (v->role() != ir::InputRole::Parameter) continue;
    const at::Tensor t = model->tensor(v->name());
    if (t.dim() < 2) continue;
    const double n = static_cast<double>(t.numel());
    fp32 += 32 * n;
    stored += value("compression.weight_bits." + v->name(), 32) *
              value("compression.weight_density." + v->name(), 1) * n;
  }
  return stored > 0 ? fp32 / stored : 1;
}

}  // namespace nncf
