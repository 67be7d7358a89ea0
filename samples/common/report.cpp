#include "common/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <stdexcept>

#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "common/csv_table.h"

namespace fs = std::filesystem;

namespace nncf_sample {
namespace {

using csv::CsvTable;
using csv::number_at;
using csv::read_csv;
using csv::split_csv_line;

bool is_integral(double v) {
  return std::isfinite(v) && v == std::trunc(v) && std::fabs(v) < 9.0e15;
}

std::string format_number(double v) {
  char buf[32];
  if (is_integral(v)) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  } else {
    std::snprintf(buf, sizeof buf, "%.6g", v);
  }
  return buf;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char c : s) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

// The header of a CSV file; empty when the file is missing or empty.
std::vector<std::string> read_csv_header(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line) || line.empty()) return {};
  return split_csv_line(line);
}

void append_to(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::app | std::ios::binary);
  out << text;
  out.flush();
  if (!out) throw std::runtime_error(path + ": write failed");
}

// A gnuplot single-quoted string: literal except for the quote itself, which doubles.
std::string gp_quote(const std::string& s) {
  std::string quoted = "'";
  for (char c : s) {
    if (c == '\n' || c == '\r') c = ' ';
    if (c == '\'') quoted += '\'';
    quoted += c;
  }
  return quoted + "'";
}

std::string sh_quote(const std::string& s) {
  std::string quoted = "'";
  for (char c : s) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

bool fail(const std::string& what, const std::string& why) {
  std::cerr << what << ": " << why << "\n";
  return false;
}

// pngcairo draws anti-aliased lines; the plain png terminal is the fallback of minimal builds.
// noenhanced keeps "train_loss" from turning into a subscript.
std::string terminal_preamble(const std::string& output) {
  return "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
         "  set terminal pngcairo noenhanced size 1000,650 font ',11'\n"
         "} else {\n"
         "  set terminal png noenhanced size 1000,650\n"
         "}\n"
         "set output " +
         gp_quote(output) + "\n";
}

// Runs `script` through gnuplot into `png`. gnuplot draws into a temporary name next to `png`
// that is renamed on success, so a reader never sees a half-written image.
bool run_gnuplot(const std::string& script_body, const std::string& png) {
  const std::string what = "plot " + png;
  const std::string gnuplot = find_gnuplot();
  if (gnuplot.empty()) return fail(what, "gnuplot not found on PATH; skipping the plot");

  std::error_code ec;
  const fs::path target(png);
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  const std::string stem = png + "." + std::to_string(getpid());
  const std::string tmp_png = stem + ".tmp.png";
  const std::string script = stem + ".gp";
  {
    std::ofstream out(script);
    out << terminal_preamble(tmp_png) << script_body << "unset output\n";
    if (!out) return fail(what, "cannot write the gnuplot script " + script);
  }

  std::string output;
  int status = -1;
  if (FILE* pipe = popen((sh_quote(gnuplot) + " " + sh_quote(script) + " 2>&1").c_str(), "r")) {
    char buf[512];
    while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
    status = pclose(pipe);
  }
  const bool ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  fs::remove(script, ec);
  if (!ok) {
    fs::remove(tmp_png, ec);
    // gnuplot's last line names the failing script line and the reason.
    while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
    const size_t nl = output.rfind('\n');
    const std::string last = nl == std::string::npos ? output : output.substr(nl + 1);
    return fail(what,
                "gnuplot failed (status " + std::to_string(status) + ")" + (last.empty() ? "" : ": " + last));
  }
  if (!fs::exists(tmp_png) || fs::file_size(tmp_png, ec) == 0) {
    fs::remove(tmp_png, ec);
    return fail(what, "gnuplot wrote no image");
  }
  fs::rename(tmp_png, png, ec);
  if (ec) {
    fs::remove(tmp_png, ec);
    return fail(what, "cannot rename the image into place: " + ec.message());
  }
  return true;
}

}  // namespace

MetricsLog::MetricsLog(std::string dir, bool append, std::string name)
    : dir_(std::move(dir)), name_(std::move(name)) {
  fs::create_directories(dir_);
  if (append) {
    // Checked against the first add(), so a resumed run cannot silently mix two layouts.
    columns_ = read_csv_header(csv_path());
    return;
  }
  for (const auto& path : {csv_path(), jsonl_path()}) {
    std::ofstream truncate(path, std::ios::trunc);
    if (!truncate) throw std::runtime_error(path + ": cannot create");
  }
}

std::string MetricsLog::csv_path() const {
  return (fs::path(dir_) / (name_ + ".csv")).string();
}

std::string MetricsLog::jsonl_path() const {
  return (fs::path(dir_) / (name_ + ".jsonl")).string();
}

void MetricsLog::add(const std::vector<std::pair<std::string, Value>>& row) {
  if (row.empty())
    throw std::invalid_argument(csv_path() + ": expected a row with at least one key, got none");
  std::set<std::string> seen;
  for (const auto& [key, value] : row) {
    if (!seen.insert(key).second)
      throw std::invalid_argument(csv_path() + ": key '" + key + "' repeated in a row");
  }

  std::string header;
  if (columns_.empty()) {
    for (const auto& [key, value] : row) {
      columns_.push_back(key);
      header += (header.empty() ? "" : ",") + csv_field(key);
    }
    header += "\n";
  } else {
    for (size_t i = 0; i < std::max(row.size(), columns_.size()); ++i) {
      if (i >= row.size()) throw std::runtime_error(csv_path() + ": row lacks key '" + columns_[i] + "'");
      if (i >= columns_.size())
        throw std::runtime_error(csv_path() + ": row has extra key '" + row[i].first + "'");
      if (row[i].first != columns_[i]) {
        throw std::runtime_error(csv_path() + ": expected key '" + columns_[i] + "' at column " +
                                 std::to_string(i + 1) + ", got '" + row[i].first + "'");
      }
    }
  }

  std::string line;
  nlohmann::ordered_json object = nlohmann::ordered_json::object();
  for (const auto& [key, value] : row) {
    if (!line.empty()) line += ",";
    if (const double* v = std::get_if<double>(&value)) {
      line += format_number(*v);
      // Integers stay integers in JSON ("epoch": 3, not 3.0); NaN and infinities become null.
      if (is_integral(*v)) {
        object[key] = static_cast<int64_t>(*v);
      } else {
        object[key] = *v;
      }
    } else {
      const auto& s = std::get<std::string>(value);
      line += csv_field(s);
      object[key] = s;
    }
  }
  append_to(csv_path(), header + line + "\n");
  append_to(jsonl_path(), object.dump() + "\n");
}

std::string find_gnuplot() {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    const std::string candidate = (fs::path(dir) / "gnuplot").string();
    if (access(candidate.c_str(), X_OK) == 0 && !fs::is_directory(candidate)) return candidate;
  }
  return "";
}

bool plot_training_curves(const std::string& csv, const std::vector<std::string>& series,
                          const std::string& png, const std::string& title, const std::string& steps_csv) {
  const std::string what = "plot " + png;
  const CsvTable metrics = read_csv(csv);
  if (metrics.header.empty()) return fail(what, csv + ": missing or empty");
  // Before global_epoch, each phase counted its epochs from 1; such logs still plot, per phase.
  const bool global = metrics.index("global_epoch") < metrics.header.size();
  const size_t x = global ? metrics.index("global_epoch") : metrics.index("epoch");
  if (x >= metrics.header.size()) return fail(what, csv + ": no 'global_epoch' or 'epoch' column");

  std::vector<std::string> names = series;
  if (names.empty()) {
    for (const auto& name : metrics.header) {
      if (name.find("loss") != std::string::npos || name.find("acc") != std::string::npos)
        names.push_back(name);
    }
  }
  if (names.empty()) return fail(what, csv + ": no loss or accuracy column to plot");

  const CsvTable steps = steps_csv.empty() ? CsvTable{} : read_csv(steps_csv);
  const size_t steps_x = steps.index("global_epoch");
  const bool use_steps = global && !steps.rows.empty() && steps_x < steps.header.size();
  struct Line {
    const std::string* file;
    size_t x, y;  // gnuplot columns count from 1
    bool loss, per_step;
  };
  std::vector<Line> lines;
  for (const auto& name : names) {
    const bool loss = name.find("loss") != std::string::npos;
    if (use_steps && steps.index(name) < steps.header.size()) {
      lines.push_back({&steps_csv, steps_x + 1, steps.index(name) + 1, loss, true});
    } else if (metrics.index(name) < metrics.header.size()) {
      lines.push_back({&csv, x + 1, metrics.index(name) + 1, loss, false});
    } else {
      return fail(what, csv + ": no '" + name + "' column");
    }
  }
  const bool any_loss = std::any_of(lines.begin(), lines.end(), [](const Line& l) { return l.loss; });
  const bool any_acc = std::any_of(lines.begin(), lines.end(), [](const Line& l) { return !l.loss; });

  // The phases in the order of the log's rows: [start, end] on the global axis.
  struct Phase {
    std::string name;
    double start, end;
  };
  std::vector<Phase> phases;
  double x_end = 0;
  if (global && metrics.index("phase") < metrics.header.size()) {
    for (const auto& row : metrics.rows) {
      const double v = number_at(row, x);
      if (!std::isfinite(v) || metrics.index("phase") >= row.size()) continue;
      const std::string& phase = row[metrics.index("phase")];
      if (phases.empty() || phases.back().name != phase)
        phases.push_back({phase, phases.empty() ? v - 1 : phases.back().end, v});
      phases.back().end = v;
      x_end = std::max(x_end, v);
    }
  }
  if (use_steps) {
    for (const auto& row : steps.rows) x_end = std::max(x_end, number_at(row, steps_x));
  }

  std::ostringstream s;
  s << "set datafile separator comma\n"
    << "set datafile missing 'nan'\n"
    << "set title " << gp_quote(title) << "\n"
    << "set xlabel " << gp_quote(global ? "epochs since the start of training" : "epoch") << "\n"
    << "set key outside bottom center horizontal height 1\n"
    << "set grid\n"
    << "set xtics nomirror\n";
  // Losses on the left axis, accuracies on the right; one family alone takes the left axis.
  if (any_loss) s << "set ylabel 'loss'\nset ytics nomirror\n";
  if (any_acc) s << (any_loss ? "set y2label 'accuracy (%)'\nset y2tics\n" : "set ylabel 'accuracy (%)'\n");
  if (!phases.empty()) {
    // The phase names go between the title and the graph.
    s << "set xrange [" << format_number(phases.front().start) << ":" << format_number(x_end) << "]\n"
      << "set tmargin 5\nset title offset 0,1.2\n";
    for (size_t i = 0; i < phases.size(); ++i) {
      const Phase& p = phases[i];
      const std::string label = p.name == "fp32"          ? "FP32 training"
                                : p.name == "compression" ? "compression fine-tuning"
                                                          : p.name;
      // Every other phase shaded, a dashed line where one phase hands over to the next, and each
      // phase's name above the graph over its middle.
      if (i % 2 == 1) {
        s << "set object " << i + 1 << " rect from first " << format_number(p.start) << ", graph 0 to first "
          << format_number(p.end) << ", graph 1 behind fillcolor rgb '#eef2f8' fillstyle solid noborder\n";
      }
      if (i > 0) {
        s << "set arrow " << i << " from first " << format_number(p.start) << ", graph 0 to first "
          << format_number(p.start) << ", graph 1 nohead dashtype 2 linewidth 2 linecolor rgb '#555555'\n";
      }
      s << "set label " << i + 1 << " " << gp_quote(label) << " at first "
        << format_number((p.start + p.end) / 2) << ", graph 1.03 center textcolor rgb '#333333'\n";
    }
  }
  // The first row's step is the batches per row (StepLog writes one every so many batches).
  const double every = use_steps ? number_at(steps.rows[0], steps.index("step")) : 1;
  const std::string per_step =
      every > 1 ? " (per " + format_number(every) + " batches)" : std::string(" (per batch)");
  static const char* const kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#d62728", "#8c564b"};
  for (size_t i = 0; i < lines.size(); ++i) {
    const Line& l = lines[i];
    s << (i == 0 ? "plot " : ", \\\n     ") << gp_quote(*l.file) << " using " << l.x << ":" << l.y
      << " skip 1 "
      << (l.per_step ? "with lines linewidth 1.5" : "with linespoints pointtype 7 pointsize 1.3 linewidth 2")
      << " linecolor rgb '" << kColors[i % 6] << "' axes " << (l.loss || !any_loss ? "x1y1" : "x1y2")
      << " title "
      << gp_quote(names[i] + (l.per_step ? per_step
                              : global   ? " (per epoch)"
                                         : ""));
  }
  s << "\n";
  return run_gnuplot(s.str(), png);
}

bool plot_accuracy_vs_compression(const std::vector<CompressionPoint>& points, double fp32_accuracy,
                                  const std::string& png, const std::string& title) {
  if (points.empty()) return fail("plot " + png, "no points to plot");
  const std::string fp32 = format_number(fp32_accuracy);
  std::ostringstream s;
  s << "$points << EOD\n";
  for (const auto& p : points) {
    // Labels sit in a datablock as double-quoted fields; a double quote inside would end one.
    std::string label = p.label;
    std::replace(label.begin(), label.end(), '"', '\'');
    std::replace(label.begin(), label.end(), '\n', ' ');
    s << format_number(p.compression_rate) << " " << format_number(p.accuracy) << " \"" << label << "\"\n";
  }
  s << "EOD\n"
    << "set title " << gp_quote(title) << "\n"
    << "set xlabel 'compression rate (x)'\n"
    << "set ylabel 'accuracy (%)'\n"
    << "set grid\n"
    << "set key outside bottom center horizontal height 1\n"
    // Rates count from the uncompressed model; room on the right and in y keeps labels unclipped.
    << "set xrange [0:*]\n"
    << "set offsets 0, graph 0.25, graph 0.1, graph 0.1\n"
    // The FP32 line is an arrow so that it spans the whole graph; the constant series under it stops
    // at the outermost points but gives the legend entry and keeps FP32 inside the y autoscale.
    << "set arrow from graph 0, first " << fp32 << " to graph 1, first " << fp32
    << " nohead dashtype 2 linewidth 2 linecolor rgb '#d62728'\n"
    << "plot $points using 1:2 with points pointtype 7 pointsize 1.5 linecolor rgb '#1f77b4' title "
       "'compressed', \\\n"
    << "     $points using 1:2:3 with labels left offset 1,0.5 notitle, \\\n"
    << "     $points using 1:(" << fp32
    << ") with lines dashtype 2 linewidth 2 linecolor rgb '#d62728' title " << gp_quote("FP32 " + fp32 + "%")
    << "\n";
  return run_gnuplot(s.str(), png);
}

}  // namespace nncf_sample
