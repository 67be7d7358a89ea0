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

/// A progress bar with ETA and running metrics. On a terminal it redraws one line ("\r"), at most
/// ten times a second; when the stream is not a terminal it prints a plain line each time the loop
/// crosses another 10% (10% .. 90%) and the final line from finish(), so logs stay readable.
/// The line reads `label [#####.....] done/total pct% rate it/s elapsed ETA eta  name value ...`;
/// times are mm:ss, or h:mm:ss past an hour. A total of 0 shows as complete.
class ProgressBar {
 public:
  /// `out` must outlive the bar. Throws std::invalid_argument for a negative total.
  ProgressBar(std::string label, int64_t total, std::ostream& out, bool is_terminal);
  /// Progress bar on std::cerr; a terminal when stderr is one (isatty).
  ProgressBar(std::string label, int64_t total);
  /// Ends a terminal line left open when finish() was not called (e.g. the loop threw).
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  /// `done` items finished (clamped to [0, total]); `metrics` shown after the bar
  /// ("loss 0.412  acc 86.1%"). Does nothing after finish().
  void update(int64_t done, const std::vector<std::pair<std::string, std::string>>& metrics = {});
  /// Prints the last state once and ends the line; later calls do nothing. Empty `metrics` keep
  /// those of the last update().
  void finish(const std::vector<std::pair<std::string, std::string>>& metrics = {});

 private:
  std::string line(std::chrono::steady_clock::time_point now) const;
  void draw(std::chrono::steady_clock::time_point now, bool final);

  std::string label_;
  int64_t total_;
  std::ostream& out_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  int64_t done_ = 0;
  std::vector<std::pair<std::string, std::string>> last_metrics_;
  int64_t last_decile_ = 0;
  size_t drawn_width_ = 0;
  bool drawn_ = false;
  bool finished_ = false;
};

/// `seconds` as "mm:ss" below an hour and "h:mm:ss" from an hour on; "--:--" when unknown
/// (negative, NaN or absurdly large).
std::string format_duration(double seconds);

/// Per-epoch metrics: `<dir>/metrics.csv` (a header from the first row's keys; later rows must
/// have the same keys in the same order) and `<dir>/metrics.jsonl` (one JSON object per row).
/// Values are numbers or strings; numbers are written with 6 significant digits (integers in full),
/// strings are CSV-quoted when they hold a comma, quote or line break. Rows are appended and flushed
/// at once, so a killed run keeps its finished epochs. The directory is created when missing.
class MetricsLog {
 public:
  using Value = std::variant<double, std::string>;
  /// `append = false` starts both files empty; `append = true` continues them (a resumed run),
  /// and the first add() checks its keys against the existing CSV header.
  explicit MetricsLog(std::string dir, bool append = false);
  /// Throws std::runtime_error, naming the CSV and the key, when the keys differ from the header,
  /// and std::invalid_argument for an empty row or a repeated key.
  void add(const std::vector<std::pair<std::string, Value>>& row);
  std::string csv_path() const;
  std::string jsonl_path() const;

 private:
  std::string dir_;
  std::vector<std::string> columns_;
};

/// Writes `png` from the metrics CSV: the columns named in `series` (e.g. {"train_loss", "test_acc"})
/// against its "epoch" column, names containing "loss" on the left y axis and the others
/// (accuracies) on the right one. Empty `series`: every column whose name holds "loss" or "acc".
/// The PNG is replaced atomically. Returns false (and says why, in one line on stderr) when gnuplot
/// is missing or fails, or the CSV lacks a column; never throws for that.
bool plot_training_curves(const std::string& csv, const std::vector<std::string>& series,
                          const std::string& png, const std::string& title);

/// One point of the accuracy-vs-compression plot.
struct CompressionPoint {
  std::string label;        ///< e.g. "INT8", "sparsity 50%"
  double compression_rate;  ///< e.g. 4.0 for INT8 weights
  double accuracy;          ///< percent
};

/// Writes `png`: accuracy (percent) against compression rate, one labelled point each, with the
/// FP32 accuracy as a horizontal dashed line. Returns false (and says why on stderr) when gnuplot
/// is missing or fails, or `points` is empty.
bool plot_accuracy_vs_compression(const std::vector<CompressionPoint>& points, double fp32_accuracy,
                                  const std::string& png, const std::string& title);

/// The gnuplot executable found on PATH, or "" when there is none.
std::string find_gnuplot();

}  // namespace nncf_sample
