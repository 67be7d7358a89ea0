#include "common/report.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include <unistd.h>

namespace nncf_sample {
namespace {

constexpr int kBarWidth = 30;
// A terminal redraw costs a write syscall and flickers; ten a second reads as smooth.
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

std::string format_rate(double per_second) {
  char buf[32];
  std::snprintf(buf, sizeof buf, per_second >= 100 ? "%.0f it/s" : "%.1f it/s", per_second);
  return buf;
}

}  // namespace

std::string format_duration(double seconds) {
  // Past ~30 years an estimate means nothing, and the cast below must not overflow.
  if (!(seconds >= 0) || seconds >= 1e9) return "--:--";
  const auto total = static_cast<int64_t>(seconds + 0.5);
  const int64_t h = total / 3600, m = total / 60 % 60, s = total % 60;
  char buf[32];
  if (h > 0) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(h), static_cast<long long>(m),
                  static_cast<long long>(s));
  } else {
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", static_cast<long long>(m), static_cast<long long>(s));
  }
  return buf;
}

ProgressBar::ProgressBar(std::string label, int64_t total, std::ostream& out, bool is_terminal)
    : label_(std::move(label)), total_(total), out_(out), tty_(is_terminal) {
  if (total < 0) {
    throw std::invalid_argument("ProgressBar '" + label_ + "': expected total >= 0, got " +
                                std::to_string(total));
  }
  start_ = std::chrono::steady_clock::now();
  last_draw_ = start_;
}

ProgressBar::ProgressBar(std::string label, int64_t total)
    : ProgressBar(std::move(label), total, std::cerr, isatty(fileno(stderr)) != 0) {}

ProgressBar::~ProgressBar() {
  // A loop left by an exception still gets its terminal line ended, so the error starts clean.
  if (finished_ || !tty_ || !drawn_) return;
  try {
    out_ << '\n';
    out_.flush();
  } catch (...) {
  }
}

void ProgressBar::update(int64_t done, const std::vector<std::pair<std::string, std::string>>& metrics) {
  if (finished_) return;
  done_ = std::clamp<int64_t>(done, 0, total_);
  last_metrics_ = metrics;
  const auto now = std::chrono::steady_clock::now();
  if (tty_) {
    if (drawn_ && now - last_draw_ < kRedrawInterval) return;
    draw(now, false);
    return;
  }
  // Plain logs get one line per decile crossed; 100% is left to finish() so it appears once.
  const int64_t decile = total_ == 0 ? 10 : done_ * 10 / total_;
  if (decile <= last_decile_ || decile >= 10) return;
  last_decile_ = decile;
  draw(now, false);
}

void ProgressBar::finish(const std::vector<std::pair<std::string, std::string>>& metrics) {
  if (finished_) return;
  finished_ = true;
  if (!metrics.empty()) last_metrics_ = metrics;
  draw(std::chrono::steady_clock::now(), true);
}

std::string ProgressBar::line(std::chrono::steady_clock::time_point now) const {
  const double fraction = total_ == 0 ? 1.0 : static_cast<double>(done_) / static_cast<double>(total_);
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  const int filled = static_cast<int>(fraction * kBarWidth);

  std::ostringstream s;
  s << label_ << " [" << std::string(filled, '#') << std::string(kBarWidth - filled, '.') << "] " << done_
    << "/" << total_ << " " << static_cast<int>(fraction * 100) << "% " << format_rate(rate) << " "
    << format_duration(elapsed) << " ETA "
    << (done_ >= total_ ? format_duration(0)
        : rate > 0      ? format_duration((total_ - done_) / rate)
                        : "--:--");
  for (const auto& [name, value] : last_metrics_) s << "  " << name << " " << value;
  return s.str();
}

void ProgressBar::draw(std::chrono::steady_clock::time_point now, bool final) {
  const std::string text = line(now);
  if (tty_) {
    // Blank out the tail of a longer previous line instead of using an ANSI erase code.
    const size_t pad = drawn_width_ > text.size() ? drawn_width_ - text.size() : 0;
    out_ << '\r' << text << std::string(pad, ' ');
    drawn_width_ = text.size();
    if (final) out_ << '\n';
  } else {
    out_ << text << '\n';
  }
  out_.flush();
  drawn_ = true;
  last_draw_ = now;
}

}  // namespace nncf_sample
