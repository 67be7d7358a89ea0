#pragma once

// Reading back the CSV files that MetricsLog writes (report.h): shared by the plots and StepLog.

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace nncf_sample {
namespace csv {

// One CSV line into fields (RFC 4180 quoting; a header never spans lines).
inline std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  return fields;
}

// A CSV file as a header and rows of fields (no quoted line breaks: the metrics logs' numbers and
// phase names have none).
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  // The column's index, header.size() when missing.
  size_t index(const std::string& name) const {
    return std::find(header.begin(), header.end(), name) - header.begin();
  }
};

inline CsvTable read_csv(const std::string& path) {
  CsvTable t;
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line) || line.empty()) return t;
  t.header = split_csv_line(line);
  while (std::getline(in, line)) {
    if (!line.empty()) t.rows.push_back(split_csv_line(line));
  }
  return t;
}

// A field as a number; NaN when it is not one (or the row is short).
inline double number_at(const std::vector<std::string>& row, size_t i) {
  if (i >= row.size()) return std::nan("");
  char* end = nullptr;
  const double v = std::strtod(row[i].c_str(), &end);
  return end != row[i].c_str() && *end == '\0' ? v : std::nan("");
}

}  // namespace csv
}  // namespace nncf_sample
