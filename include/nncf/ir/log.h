#pragma once

// The library's diagnostics: one process-wide sink that every layer writes to and the user can
// redirect or silence. By default warnings and errors go to std::cerr, one line each:
//
//   nncf: warning: compression.target_scopes: "layer9" matches no operation of the model
//
//   nncf::set_log_sink([&](nncf::LogLevel level, const std::string& message) {
//     my_logger.log(to_my_level(level), message);        // the message has no prefix or newline
//   });
//   nncf::set_log_level(nncf::LogLevel::Off);            // silence everything
//
// All functions are thread-safe. The sink is called with a lock held, one message at a time; it
// may itself call nncf::log (the lock is recursive), but must not call set_log_sink.
//
// It lives in the lowest layer (`nncf_ir`, which has no dependency of its own) so that every layer
// may include it.

#include <functional>
#include <string>

namespace nncf {

/// Severity of a message; `Off` as a level silences everything.
enum class LogLevel { Debug = 0, Info = 1, Warning = 2, Error = 3, Off = 4 };

/// "debug", "info", "warning", "error", "off".
const char* to_string(LogLevel level);

/// Receives each message that passes the level: the level and the text, without prefix or newline.
using LogSink = std::function<void(LogLevel, const std::string&)>;

/// Replaces the sink and returns the previous one. An empty function restores the default sink
/// (std::cerr, "nncf: <level>: <message>\n").
LogSink set_log_sink(LogSink sink);

/// Messages below `level` are dropped before they reach the sink (default: Warning). Returns the
/// previous level.
LogLevel set_log_level(LogLevel level);
LogLevel log_level();

/// Sends `message` to the sink if `level` passes.
void log(LogLevel level, const std::string& message);

/// Like log(), but a message (level and text) reaches the sink at most once per process: for
/// warnings that the same model or config would otherwise repeat. A message dropped by the level
/// is not remembered. Returns whether it was sent.
bool log_once(LogLevel level, const std::string& message);

inline void log_warning(const std::string& message) {
  log(LogLevel::Warning, message);
}
inline bool log_warning_once(const std::string& message) {
  return log_once(LogLevel::Warning, message);
}

/// Forgets which messages log_once() has sent (for tests that expect a warning again).
void reset_log_once();

}  // namespace nncf
