#pragma once

// Progress and results of the classification sample: a progress bar for long loops, per-epoch
// metrics as CSV and JSON lines, and PNG plots drawn with gnuplot.

#include <chrono>
#include <cstdint>
#include <functional>
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

/// Per-epoch metrics: `<dir>/<name>.csv` (a header from the first row's keys; later rows must
/// have the same keys in the same order) and `<dir>/<name>.jsonl` (one JSON object per row); `name`
/// is "metrics" unless given. Values are numbers or strings; numbers are written with 6 significant
/// digits (integers in full), strings are CSV-quoted when they hold a comma, quote or line break.
/// Rows are appended and flushed at once, so a killed run keeps its finished epochs. The directory
/// is created when missing.
class MetricsLog {
 public:
  using Value = std::variant<double, std::string>;
  /// `append = false` starts both files empty; `append = true` continues them (a resumed run),
  /// and the first add() checks its keys against the existing CSV header.
  explicit MetricsLog(std::string dir, bool append = false, std::string name = "metrics");
  /// Throws std::runtime_error, naming the CSV and the key, when the keys differ from the header,
  /// and std::invalid_argument for an empty row or a repeated key.
  void add(const std::vector<std::pair<std::string, Value>>& row);
  std::string csv_path() const;
  std::string jsonl_path() const;

 private:
  std::string dir_, name_;
  std::vector<std::string> columns_;
};

/// Called after each training batch: `batch` (0-based) of `batches`, the batch's mean loss, its
/// correct predictions and its size.
using BatchObserver =
    std::function<void(int64_t batch, int64_t batches, double loss, int64_t correct, int64_t count)>;

/// The training curve finer than an epoch, so that a run of one or two epochs per phase still has a
/// curve: `<dir>/steps.csv` and `<dir>/steps.jsonl` get a row every ceil(batches / kPointsPerEpoch)
/// batches and at the end of each epoch, with the mean train loss and accuracy of the batches since
/// the previous row. A row holds `phase`, `epoch` (1-based within the phase), `step` (batches done
/// in the epoch), `phase_epoch` (fractional epochs since the phase began), `global_epoch`
/// (fractional epochs since the log began: the phases one after the other on one axis, each epoch
/// one unit however many batches it has), `train_loss` and `train_acc` (percent).
class StepLog {
 public:
  static constexpr int64_t kPointsPerEpoch = 20;
  /// `append = true` continues the curve of a resumed run (see begin_epoch()).
  explicit StepLog(std::string dir, bool append = false);
  /// Starts epoch `epoch` (0-based within `phase`). A new phase begins where the log ends; a phase
  /// the log already holds (a resumed run) keeps its place, and rows at or after the start of this
  /// epoch, written by an interrupted run, are dropped so that the curve stays monotone.
  void begin_epoch(const std::string& phase, int64_t epoch);
  /// One finished batch of the current epoch (arguments as BatchObserver's).
  void add_batch(int64_t batch, int64_t batches, double loss, int64_t correct, int64_t count);
  /// add_batch() as a callback for the training loop; the log must outlive it.
  BatchObserver observer();
  /// The global epoch at the end of the current epoch: the x of its per-epoch metrics row.
  double epoch_end() const { return phase_start_ + static_cast<double>(epoch_ + 1); }
  std::string csv_path() const { return log_.csv_path(); }

 private:
  void truncate_after(double global_epoch);

  MetricsLog log_;
  std::string phase_;
  int64_t epoch_ = 0;
  double phase_start_ = 0, end_ = 0;
  double window_loss_ = 0;
  int64_t window_correct_ = 0, window_count_ = 0;
};
/// Writes `png` from the metrics CSV: the columns named in `series` (e.g. {"train_loss", "test_acc"})
/// against its "global_epoch" column (or its "epoch" column when it has none), names containing
/// "loss" on the left y axis and the others (accuracies) on the right one. Empty `series`: every
/// column whose name holds "loss" or "acc". A series that `steps_csv` (a StepLog's CSV; optional)
/// also holds is drawn from its rows instead, as a line through every logged step. With a "phase"
/// and a "global_epoch" column each phase is labelled, and a dashed line marks where one ends and
/// the next begins. The PNG is replaced atomically. Returns false (and says why, in one line on
/// stderr) when gnuplot is missing or fails, or the CSV lacks a column; never throws for that.
bool plot_training_curves(const std::string& csv, const std::vector<std::string>& series,
                          const std::string& png, const std::string& title,
                          const std::string& steps_csv = "");

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
