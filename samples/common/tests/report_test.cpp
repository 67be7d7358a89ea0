#include "common/report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include <unistd.h>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace nncf_sample {
namespace {

// A fresh directory per test, removed afterwards.
class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("nncf_report_test_" + std::to_string(getpid()) + "_" +
                                        info->test_suite_name() + "_" + info->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream s(text);
  for (std::string line; std::getline(s, line);) lines.push_back(line);
  return lines;
}

void expect_png(const std::string& path) {
  ASSERT_TRUE(fs::exists(path)) << path;
  EXPECT_GT(fs::file_size(path), 100u);
  EXPECT_EQ(read_file(path).substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
}

// Sets PATH for the scope of one test and restores it afterwards.
class ScopedPath {
 public:
  explicit ScopedPath(const std::string& value) {
    if (const char* old = std::getenv("PATH")) old_ = old;
    setenv("PATH", value.c_str(), 1);
  }
  ~ScopedPath() { setenv("PATH", old_.c_str(), 1); }

 private:
  std::string old_;
};

TEST(ProgressBarTest, PlainLogPrintsOneLinePerDecileAndTheFinalLine) {
  std::ostringstream out;
  ProgressBar bar("train", 100, out, /*is_terminal=*/false);
  for (int64_t i = 1; i <= 100; ++i) bar.update(i, {{"loss", "0.412"}});
  bar.finish({{"loss", "0.400"}, {"acc", "86.1%"}});
  bar.finish();  // a second finish prints nothing

  const std::string text = out.str();
  const auto lines = split_lines(text);
  ASSERT_EQ(lines.size(), 10u) << text;  // 10%, 20%, .., 90% and the final line
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  for (const auto& line : lines) EXPECT_EQ(line.rfind("train [", 0), 0u) << line;
  EXPECT_NE(lines[0].find(" 10/100 10% "), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("loss 0.412"), std::string::npos) << lines[0];
  EXPECT_NE(lines[4].find("[###############...............]"), std::string::npos) << lines[4];
  EXPECT_NE(lines.back().find("[##############################] 100/100 100% "), std::string::npos)
      << lines.back();
  EXPECT_NE(lines.back().find("loss 0.400  acc 86.1%"), std::string::npos) << lines.back();
  EXPECT_NE(lines.back().find("ETA 00:00"), std::string::npos) << lines.back();
  EXPECT_EQ(text.back(), '\n');
}

TEST(ProgressBarTest, PlainLogSkipsNoDecileOnBigSteps) {
  std::ostringstream out;
  ProgressBar bar("eval", 7, out, false);
  bar.update(3);  // 42%: one line, not one per crossed decile
  bar.update(3);  // same decile: nothing
  bar.update(7);  // 100%: left to finish()
  bar.finish();
  const auto lines = split_lines(out.str());
  ASSERT_EQ(lines.size(), 2u) << out.str();
  EXPECT_NE(lines[0].find(" 3/7 42% "), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find(" 7/7 100% "), std::string::npos) << lines[1];
}

TEST(ProgressBarTest, TerminalRedrawsOneLineWithEta) {
  std::ostringstream out;
  ProgressBar bar("train", 1000, out, /*is_terminal=*/true);
  for (int64_t i = 1; i <= 1000; ++i) bar.update(i, {{"loss", "1.5"}});
  bar.finish();
  const std::string text = out.str();
  EXPECT_EQ(text.rfind("\rtrain [", 0), 0u) << text;
  EXPECT_NE(text.find("ETA "), std::string::npos);
  EXPECT_NE(text.find("it/s"), std::string::npos);
  EXPECT_NE(text.find("1000/1000 100% "), std::string::npos);
  EXPECT_NE(text.find("loss 1.5"), std::string::npos);
  // The first update and finish() always draw; in between at most ten redraws a second.
  const auto redraws = std::count(text.begin(), text.end(), '\r');
  EXPECT_GE(redraws, 2);
  EXPECT_LT(redraws, 50);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
  EXPECT_EQ(text.back(), '\n');
}

TEST(ProgressBarTest, TerminalLineLeftOpenIsEndedOnDestruction) {
  std::ostringstream out;
  {
    ProgressBar bar("train", 10, out, true);
    bar.update(3);
  }
  EXPECT_EQ(out.str().back(), '\n');
}

TEST(ProgressBarTest, ZeroTotalIsComplete) {
  for (bool terminal : {false, true}) {
    std::ostringstream out;
    ProgressBar bar("empty", 0, out, terminal);
    bar.update(0);
    bar.update(5);  // clamped to the total
    bar.finish();
    const std::string text = out.str();
    EXPECT_NE(text.find("0/0 100% "), std::string::npos) << text;
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  }
  std::ostringstream out;
  EXPECT_THROW(ProgressBar("bad", -1, out, false), std::invalid_argument);
}

TEST(ProgressBarTest, FormatsDurations) {
  EXPECT_EQ(format_duration(0), "00:00");
  EXPECT_EQ(format_duration(59.4), "00:59");
  EXPECT_EQ(format_duration(59.6), "01:00");
  EXPECT_EQ(format_duration(3599), "59:59");
  EXPECT_EQ(format_duration(3600), "1:00:00");
  EXPECT_EQ(format_duration(36000 + 62), "10:01:02");
  EXPECT_EQ(format_duration(-1), "--:--");
  EXPECT_EQ(format_duration(std::nan("")), "--:--");
  EXPECT_EQ(format_duration(1e300), "--:--");
}

TEST_F(ReportTest, MetricsCsvAndJsonLines) {
  MetricsLog log(path("run"));  // the directory does not exist yet
  log.add(
      {{"epoch", 1.0}, {"train_loss", 0.5123456789}, {"test_acc", 81.25}, {"phase", std::string("warmup")}});
  log.add({{"epoch", 2.0}, {"train_loss", 0.25}, {"test_acc", 90.0}, {"phase", std::string("train")}});
  EXPECT_EQ(log.csv_path(), path("run/metrics.csv"));
  EXPECT_EQ(read_file(log.csv_path()),
            "epoch,train_loss,test_acc,phase\n"
            "1,0.512346,81.25,warmup\n"
            "2,0.25,90,train\n");

  const auto lines = split_lines(read_file(log.jsonl_path()));
  ASSERT_EQ(lines.size(), 2u);
  const auto first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first.at("epoch").get<int64_t>(), 1);
  EXPECT_TRUE(first.at("epoch").is_number_integer());
  EXPECT_DOUBLE_EQ(first.at("train_loss").get<double>(), 0.5123456789);
  EXPECT_EQ(first.at("phase").get<std::string>(), "warmup");
  // Keys keep the row's order.
  EXPECT_EQ(lines[1].rfind("{\"epoch\":2,\"train_loss\":0.25,", 0), 0u) << lines[1];
}

TEST_F(ReportTest, CsvEscapesCommasQuotesAndLineBreaks) {
  MetricsLog log(dir_.string());
  log.add({{"name", std::string("a,b")},
           {"note", std::string("say \"hi\"")},
           {"text", std::string("x\ny")},
           {"plain", std::string("ok")}});
  EXPECT_EQ(read_file(log.csv_path()),
            "name,note,text,plain\n"
            "\"a,b\",\"say \"\"hi\"\"\",\"x\ny\",ok\n");
  const auto row = nlohmann::json::parse(split_lines(read_file(log.jsonl_path()))[0]);
  EXPECT_EQ(row.at("note").get<std::string>(), "say \"hi\"");
  EXPECT_EQ(row.at("text").get<std::string>(), "x\ny");
}

TEST_F(ReportTest, KeyMismatchThrowsNamingCsvAndKey) {
  MetricsLog log(dir_.string());
  log.add({{"epoch", 1.0}, {"loss", 0.5}});
  const auto expect_error = [&](const std::vector<std::pair<std::string, MetricsLog::Value>>& row,
                                const std::string& key) {
    try {
      log.add(row);
      ADD_FAILURE() << "expected std::runtime_error naming '" << key << "'";
    } catch (const std::runtime_error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("metrics.csv"), std::string::npos) << message;
      EXPECT_NE(message.find("'" + key + "'"), std::string::npos) << message;
    }
  };
  expect_error({{"epoch", 2.0}, {"acc", 0.5}}, "acc");
  expect_error({{"loss", 0.5}, {"epoch", 2.0}}, "epoch");  // same keys, another order
  expect_error({{"epoch", 2.0}}, "loss");
  expect_error({{"epoch", 2.0}, {"loss", 0.5}, {"acc", 1.0}}, "acc");
  EXPECT_THROW(log.add({}), std::invalid_argument);
  // Failed rows leave the files untouched.
  EXPECT_EQ(read_file(log.csv_path()), "epoch,loss\n1,0.5\n");
  EXPECT_EQ(split_lines(read_file(log.jsonl_path())).size(), 1u);
}

TEST_F(ReportTest, AppendContinuesAndChecksTheExistingHeader) {
  {
    MetricsLog log(dir_.string());
    log.add({{"epoch", 1.0}, {"loss", 0.5}});
  }
  {
    MetricsLog resumed(dir_.string(), /*append=*/true);
    resumed.add({{"epoch", 2.0}, {"loss", 0.25}});
  }
  EXPECT_EQ(read_file(path("metrics.csv")), "epoch,loss\n1,0.5\n2,0.25\n");
  EXPECT_EQ(split_lines(read_file(path("metrics.jsonl"))).size(), 2u);

  MetricsLog mismatched(dir_.string(), true);
  EXPECT_THROW(mismatched.add({{"epoch", 3.0}, {"acc", 0.5}}), std::runtime_error);

  // Append to a log that does not exist yet starts it with a header.
  MetricsLog fresh(path("new"), true);
  fresh.add({{"epoch", 1.0}});
  EXPECT_EQ(read_file(fresh.csv_path()), "epoch\n1\n");

  // Without append, an existing log starts over.
  MetricsLog restarted(dir_.string());
  restarted.add({{"epoch", 1.0}, {"acc", 0.5}});
  EXPECT_EQ(read_file(path("metrics.csv")), "epoch,acc\n1,0.5\n");
}

TEST_F(ReportTest, PlotsTrainingCurves) {
  if (find_gnuplot().empty()) GTEST_SKIP() << "gnuplot not installed";
  MetricsLog log(dir_.string());
  for (int epoch = 1; epoch <= 4; ++epoch) {
    log.add({{"epoch", double(epoch)},
             {"phase", std::string("a, \"b\"")},
             {"train_loss", 1.0 / epoch},
             {"test_loss", 1.2 / epoch},
             {"test_acc", 60.0 + 5 * epoch}});
  }
  const std::string png = path("plots/curves.png");
  EXPECT_TRUE(
      plot_training_curves(log.csv_path(), {"train_loss", "test_loss", "test_acc"}, png, "ResNet-18"));
  expect_png(png);
  EXPECT_TRUE(plot_training_curves(log.csv_path(), {}, path("all.png"), "all series"));
  expect_png(path("all.png"));
  EXPECT_TRUE(plot_training_curves(log.csv_path(), {"test_acc"}, path("acc.png"), "accuracy only"));
  expect_png(path("acc.png"));
  // Only the images are left behind: no scripts, no temporary files.
  size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir_)) files += entry.is_regular_file();
  EXPECT_EQ(files, 5u);  // metrics.csv, metrics.jsonl and three images

  EXPECT_FALSE(plot_training_curves(log.csv_path(), {"no_such"}, path("x.png"), ""));
  EXPECT_FALSE(plot_training_curves(path("missing.csv"), {}, path("x.png"), ""));
  EXPECT_FALSE(fs::exists(path("x.png")));
}

// The rows of a CSV file as maps from its header's names to the fields.
std::vector<std::map<std::string, std::string>> read_rows(const std::string& path) {
  const auto lines = split_lines(read_file(path));
  std::vector<std::map<std::string, std::string>> rows;
  if (lines.empty()) return rows;
  std::vector<std::string> header;
  std::stringstream h(lines[0]);
  for (std::string f; std::getline(h, f, ',');) header.push_back(f);
  for (size_t i = 1; i < lines.size(); ++i) {
    std::stringstream l(lines[i]);
    std::map<std::string, std::string> row;
    size_t c = 0;
    for (std::string f; std::getline(l, f, ',') && c < header.size(); ++c) row[header[c]] = f;
    rows.push_back(row);
  }
  return rows;
}

double num(const std::map<std::string, std::string>& row, const std::string& key) {
  return std::stod(row.at(key));
}

// One epoch of `batches` batches of 10 images, batch b having loss b and b correct predictions.
void log_epoch(StepLog& log, const std::string& phase, int64_t epoch, int64_t batches, int64_t stop = -1) {
  log.begin_epoch(phase, epoch);
  for (int64_t b = 0; b < (stop >= 0 ? stop : batches); ++b) log.add_batch(b, batches, double(b), b % 11, 10);
}

TEST_F(ReportTest, StepLogPutsPhasesOnOneContinuousAxis) {
  // The main job's shape: one FP32 epoch, then one compression epoch, 40 batches each.
  StepLog log(dir_.string());
  log_epoch(log, "fp32", 0, 40);
  EXPECT_DOUBLE_EQ(log.epoch_end(), 1.0);
  log_epoch(log, "compression", 0, 40);
  EXPECT_DOUBLE_EQ(log.epoch_end(), 2.0);
  EXPECT_EQ(log.csv_path(), path("steps.csv"));

  const auto rows = read_rows(log.csv_path());
  ASSERT_EQ(rows.size(), 2u * StepLog::kPointsPerEpoch) << read_file(log.csv_path());
  for (size_t i = 0; i < rows.size(); ++i) {
    const bool fp32 = i < rows.size() / 2;
    EXPECT_EQ(rows[i].at("phase"), fp32 ? "fp32" : "compression") << i;
    EXPECT_EQ(rows[i].at("epoch"), "1") << i;
    // Every second batch, at (batches done) / 40 of an epoch; the compression phase after FP32.
    const double step = 2.0 * static_cast<double>(i % 20 + 1);
    EXPECT_EQ(num(rows[i], "step"), step) << i;
    EXPECT_NEAR(num(rows[i], "phase_epoch"), step / 40, 1e-9) << i;
    EXPECT_NEAR(num(rows[i], "global_epoch"), (fp32 ? 0.0 : 1.0) + step / 40, 1e-9) << i;
    if (i > 0) EXPECT_GT(num(rows[i], "global_epoch"), num(rows[i - 1], "global_epoch")) << i;
    // The mean of the window's two batches (losses step-2, step-1), weighted by their sizes.
    EXPECT_NEAR(num(rows[i], "train_loss"), step - 1.5, 1e-9) << i;
    const double correct = double(int64_t(step - 2) % 11 + int64_t(step - 1) % 11);
    EXPECT_NEAR(num(rows[i], "train_acc"), 100.0 * correct / 20, 1e-4) << i;
  }
  EXPECT_EQ(split_lines(read_file(path("steps.jsonl"))).size(), rows.size());

  // Fewer batches than points: a row per batch; a number of batches that does not divide: the last
  // batch still ends the epoch's curve.
  StepLog small(path("small"));
  log_epoch(small, "fp32", 0, 7);
  log_epoch(small, "fp32", 1, 50);
  const auto r = read_rows(small.csv_path());
  ASSERT_EQ(r.size(), 7u + 17u);  // 50 batches: every 3rd (16 rows) and the 50th
  EXPECT_NEAR(num(r[6], "global_epoch"), 1.0, 1e-9);
  EXPECT_NEAR(num(r[7], "global_epoch"), 1.0 + 3.0 / 50, 1e-6);
  EXPECT_NEAR(num(r.back(), "global_epoch"), 2.0, 1e-9);
  EXPECT_EQ(r.back().at("epoch"), "2");
  EXPECT_NEAR(num(r.back(), "train_loss"), 48.5, 1e-9) << "batches 48 and 49 since the row at 48";
}

TEST_F(ReportTest, StepLogResumesWhereTheRunStoppedAndDropsTheUnfinishedEpoch) {
  {
    StepLog log(dir_.string());
    log_epoch(log, "fp32", 0, 10);
    log_epoch(log, "compression", 0, 10);
    log_epoch(log, "compression", 1, 10, /*stop=*/6);  // killed after 6 batches of the second epoch
  }
  StepLog resumed(dir_.string(), /*append=*/true);
  resumed.begin_epoch("compression", 1);  // the checkpoint holds one finished compression epoch
  EXPECT_DOUBLE_EQ(resumed.epoch_end(), 3.0);
  EXPECT_EQ(read_rows(resumed.csv_path()).size(), 20u) << "the 6 rows of the unfinished epoch are gone";
  EXPECT_EQ(split_lines(read_file(path("steps.jsonl"))).size(), 20u);
  for (int64_t b = 0; b < 10; ++b) resumed.add_batch(b, 10, 1.0, 5, 10);
  const auto rows = read_rows(resumed.csv_path());
  ASSERT_EQ(rows.size(), 30u);
  for (size_t i = 1; i < rows.size(); ++i)
    EXPECT_GT(num(rows[i], "global_epoch"), num(rows[i - 1], "global_epoch")) << i;
  EXPECT_NEAR(num(rows.back(), "global_epoch"), 3.0, 1e-9);
  EXPECT_EQ(rows.back().at("epoch"), "2");

  // A new phase on a resumed log begins where the log ends.
  StepLog next(dir_.string(), true);
  next.begin_epoch("fine_tune", 0);
  EXPECT_DOUBLE_EQ(next.epoch_end(), 4.0);
}

TEST_F(ReportTest, PlotsPhasesOnOneAxisWithStepCurves) {
  if (find_gnuplot().empty()) GTEST_SKIP() << "gnuplot not installed";
  MetricsLog metrics(dir_.string());
  StepLog steps(dir_.string());
  for (const std::string phase : {"fp32", "compression"}) {
    steps.begin_epoch(phase, 0);
    for (int64_t b = 0; b < 40; ++b) steps.add_batch(b, 40, 2.0 / (b + 1), 3 + b / 5, 10);
    metrics.add({{"phase", phase},
                 {"epoch", 1.0},
                 {"global_epoch", steps.epoch_end()},
                 {"train_loss", 0.5},
                 {"train_acc", 80.0},
                 {"test_acc", phase == "fp32" ? 85.0 : 84.0}});
  }
  const std::string png = path("curves.png");
  EXPECT_TRUE(plot_training_curves(metrics.csv_path(), {"train_loss", "train_acc", "test_acc"}, png,
                                   "two phases", steps.csv_path()));
  expect_png(png);
  // A missing steps file: the per-epoch rows alone, still on the global axis.
  EXPECT_TRUE(plot_training_curves(metrics.csv_path(), {}, path("epochs.png"), "no steps", path("none.csv")));
  expect_png(path("epochs.png"));
}

TEST_F(ReportTest, TrainingCurvesNeedAnEpochColumn) {
  MetricsLog log(dir_.string());
  log.add({{"step", 1.0}, {"loss", 0.5}});
  EXPECT_FALSE(plot_training_curves(log.csv_path(), {"loss"}, path("x.png"), ""));
  EXPECT_FALSE(fs::exists(path("x.png")));
}

TEST_F(ReportTest, PlotsAccuracyVsCompression) {
  if (find_gnuplot().empty()) GTEST_SKIP() << "gnuplot not installed";
  const std::string png = path("tradeoff.png");
  EXPECT_TRUE(plot_accuracy_vs_compression(
      {{"INT8", 4.0, 91.2}, {"sparsity 50%", 2.0, 91.8}, {"INT8 + \"sparse\"", 8.0, 89.9}}, 92.1, png,
      "Fashion-MNIST, it's a title"));
  expect_png(png);
  EXPECT_TRUE(plot_accuracy_vs_compression({{"one", 4.0, 90.0}}, 92.0, path("one.png"), "single point"));
  expect_png(path("one.png"));
  EXPECT_FALSE(plot_accuracy_vs_compression({}, 92.0, path("none.png"), ""));
}

TEST_F(ReportTest, PlotsReturnFalseWithoutGnuplot) {
  MetricsLog log(dir_.string());
  log.add({{"epoch", 1.0}, {"loss", 0.5}});
  fs::create_directories(dir_ / "empty_bin");
  ScopedPath path_without_gnuplot((dir_ / "empty_bin").string());
  EXPECT_EQ(find_gnuplot(), "");
  EXPECT_FALSE(plot_training_curves(log.csv_path(), {"loss"}, path("curves.png"), "t"));
  EXPECT_FALSE(plot_accuracy_vs_compression({{"INT8", 4.0, 91.0}}, 92.0, path("tradeoff.png"), "t"));
  EXPECT_FALSE(fs::exists(path("curves.png")));
  EXPECT_FALSE(fs::exists(path("tradeoff.png")));
}

}  // namespace
}  // namespace nncf_sample
