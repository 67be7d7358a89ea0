#include "nncf/ir/log.h"

#include <atomic>
#include <iostream>
#include <mutex>
#include <set>
#include <utility>

namespace nncf {
namespace {

void default_sink(LogLevel level, const std::string& message) {
  // One write per line, so that lines from several threads do not interleave mid-line.
  std::cerr << (std::string("nncf: ") + to_string(level) + ": " + message + "\n") << std::flush;
}

// Function-local statics: usable from other libraries' static initializers, never destroyed
// before them (leaked on purpose).
struct State {
  std::recursive_mutex mutex;  // recursive: a sink may log
  LogSink sink = default_sink;
  std::set<std::pair<LogLevel, std::string>> sent_once;
  std::atomic<LogLevel> level{LogLevel::Warning};
};

State& state() {
  static State* s = new State();
  return *s;
}

bool passes(LogLevel level) {
  const LogLevel threshold = state().level.load(std::memory_order_relaxed);
  return level != LogLevel::Off && threshold != LogLevel::Off && level >= threshold;
}

}  // namespace

const char* to_string(LogLevel level) {
  switch (level) {
    case LogLevel::Debug:
      return "debug";
    case LogLevel::Info:
      return "info";
    case LogLevel::Warning:
      return "warning";
    case LogLevel::Error:
      return "error";
    case LogLevel::Off:
      return "off";
  }
  return "?";
}

LogSink set_log_sink(LogSink sink) {
  State& s = state();
  std::lock_guard<std::recursive_mutex> lock(s.mutex);
  LogSink previous = std::move(s.sink);
  s.sink = sink ? std::move(sink) : LogSink(default_sink);
  return previous;
}

LogLevel set_log_level(LogLevel level) {
  return state().level.exchange(level);
}

LogLevel log_level() {
  return state().level.load();
}

void log(LogLevel level, const std::string& message) {
  if (!passes(level)) return;
  State& s = state();
  std::lock_guard<std::recursive_mutex> lock(s.mutex);
  s.sink(level, message);
}

bool log_once(LogLevel level, const std::string& message) {
  if (!passes(level)) return false;
  State& s = state();
  std::lock_guard<std::recursive_mutex> lock(s.mutex);
  if (!s.sent_once.emplace(level, message).second) return false;
  s.sink(level, message);
  return true;
}

void reset_log_once() {
  State& s = state();
  std::lock_guard<std::recursive_mutex> lock(s.mutex);
  s.sent_once.clear();
}

}  // namespace nncf
