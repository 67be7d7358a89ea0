#pragma once

// Progress and results of the classification sample: a progress bar for long loops, per-epoch
// metrics as CSV and JSON lines, and PNG plots drawn with gnuplot.

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace nncf_sample {

/// A progress bar with ETA and running metrics. On a terminal it redraws one line ("\r"); when the
/// stream is not a terminal it prints a plain line at most every 10% of the loop (and at the end),
/// so logs stay readable.
class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total, std::ostream& out, bool is_terminal);
  /// Progress bar on std::cerr; a terminal when stderr is one (isatty).
  ProgressBar(std::string label, int64_t total);
  /// `done` items finished; `metrics` shown after the bar ("loss 0.412  acc 86.1%").
  void update(int64_t done, const std::vector<std::pair<std::string, std::string>>& metrics = {});
  /// Ends the line (prints the final state once).
  void finish(const std::vector<std::pair<std::string, std::string>>& metrics = {});

 private:
  std::string label_;
  int64_t total_;
  std::ostream& out_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  int64_t last_decile_ = -1;
  bool finished_ = false;
};

/// Per-epoch metrics: `<dir>/metrics.csv` (a header from the first row's keys; later rows must
/// have the same keys) and `<dir>/metrics.jsonl` (one JSON object per row). Values are numbers or
/// strings. Rows are appended and flushed at once, so a killed run keeps its finished epochs.
class MetricsLog {
 public:
  using Value = std::variant<double, std::string>;
  explicit MetricsLog(std::string dir, bool append = false);
  void add(const std::vector<std::pair<std::string, Value>>& row);
  std::string csv_path() const;

 private:
  std::string dir_;
  std::vector<std::string> columns_;
};

/// Writes `png` from the metrics CSV: loss and accuracy against epoch for the columns named in
/// `series` (e.g. {"train_loss", "test_acc"}), with two y axes. Returns false (and says why on
/// stderr) when gnuplot is missing or fails; never throws for that.
bool plot_training_curves(const std::string& csv, const std::vector<std::string>& series, const std::string& png,
                          const std::string& title);

/// One point of the accuracy-vs-compression plot.
struct CompressionPoint {
  std::string label;          ///< e.g. "INT8", "sparsity 50%"
  double compression_rate;    ///< e.g. 4.0 for INT8 weights
  double accuracy;            ///< percent
};

/// Writes `png`: accuracy (percent) against compression rate, one labelled point each, with the
/// FP32 accuracy as a horizontal line. Returns false when gnuplot is missing or fails.
bool plot_accuracy_vs_compression(const std::vector<CompressionPoint>& points, double fp32_accuracy,
                                  const std::string& png, const std::string& title);

}  // namespace nncf_sample
