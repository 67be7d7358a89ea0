// StepLog (report.h): the per-step training curve rows.

#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>

#include "common/csv_table.h"
#include "common/report.h"

namespace nncf_sample {
namespace {

using csv::CsvTable;
using csv::number_at;
using csv::read_csv;

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void write_lines(const std::string& path, const std::vector<std::string>& lines, size_t n) {
  std::ofstream out(path, std::ios::trunc | std::ios::binary);
  for (size_t i = 0; i < n && i < lines.size(); ++i) out << lines[i] << "\n";
  out.flush();
  if (!out) throw std::runtime_error(path + ": write failed");
}

}  // namespace

StepLog::StepLog(std::string dir, bool append) : log_(std::move(dir), append, "steps") {
  if (!append) return;
  const CsvTable t = read_csv(csv_path());
  for (const auto& row : t.rows) {
    const double x = number_at(row, t.index("global_epoch"));
    if (std::isfinite(x)) end_ = std::max(end_, x);
  }
}

void StepLog::begin_epoch(const std::string& phase, int64_t epoch) {
  epoch_ = epoch;
  window_loss_ = 0;
  window_correct_ = window_count_ = 0;
  if (phase == phase_) return;
  phase_ = phase;
  phase_start_ = end_;
  // A resumed run: the phase's earlier rows say where it began. Each epoch is one unit, so phases
  // begin at whole epochs, and rounding undoes the 6 digits the CSV keeps.
  const CsvTable t = read_csv(csv_path());
  for (const auto& row : t.rows) {
    if (t.index("phase") < row.size() && row[t.index("phase")] == phase) {
      const double start = number_at(row, t.index("global_epoch")) - number_at(row, t.index("phase_epoch"));
      if (std::isfinite(start)) phase_start_ = std::round(start);
      break;
    }
  }
  truncate_after(phase_start_ + static_cast<double>(epoch));
}

void StepLog::truncate_after(double global_epoch) {
  const CsvTable t = read_csv(csv_path());
  size_t keep = 0;
  // Rows are in order; the first one past the cut ends the part that is kept.
  while (keep < t.rows.size() && number_at(t.rows[keep], t.index("global_epoch")) <= global_epoch + 1e-6)
    ++keep;
  if (keep == t.rows.size()) return;
  write_lines(csv_path(), read_lines(csv_path()), keep + 1);  // + the header
  write_lines(log_.jsonl_path(), read_lines(log_.jsonl_path()), keep);
  end_ = std::min(end_, global_epoch);
}

void StepLog::add_batch(int64_t batch, int64_t batches, double loss, int64_t correct, int64_t count) {
  window_loss_ += loss * static_cast<double>(count);
  window_correct_ += correct;
  window_count_ += count;
  const int64_t every = std::max<int64_t>(1, (batches + kPointsPerEpoch - 1) / kPointsPerEpoch);
  const int64_t done = batch + 1;
  if (done % every != 0 && done < batches) return;
  const double phase_epoch =
      static_cast<double>(epoch_) + static_cast<double>(done) / static_cast<double>(batches);
  const double n = static_cast<double>(window_count_);
  log_.add({{"phase", phase_},
            {"epoch", static_cast<double>(epoch_ + 1)},
            {"step", static_cast<double>(done)},
            {"phase_epoch", phase_epoch},
            {"global_epoch", phase_start_ + phase_epoch},
            {"train_loss", n > 0 ? window_loss_ / n : std::nan("")},
            {"train_acc", n > 0 ? 100.0 * static_cast<double>(window_correct_) / n : std::nan("")}});
  end_ = phase_start_ + phase_epoch;
  window_loss_ = 0;
  window_correct_ = window_count_ = 0;
}

BatchObserver StepLog::observer() {
  return [this](int64_t batch, int64_t batches, double loss, int64_t correct, int64_t count) {
    add_batch(batch, batches, loss, correct, count);
  };
}

}  // namespace nncf_sample
