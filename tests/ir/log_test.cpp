// The log sink: redirection, levels, "once" messages, and several threads logging at once.

#include "nncf/ir/log.h"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace nncf {
namespace {

// Redirects the log into a vector for the test's lifetime, then restores sink and level.
class LogCapture {
 public:
  LogCapture() {
    previous_sink_ = set_log_sink([this](LogLevel level, const std::string& message) {
      std::lock_guard<std::mutex> lock(mutex_);
      messages_.emplace_back(level, message);
    });
    previous_level_ = log_level();
    reset_log_once();
  }
  ~LogCapture() {
    set_log_sink(std::move(previous_sink_));
    set_log_level(previous_level_);
  }
  std::vector<std::pair<LogLevel, std::string>> messages() {
    std::lock_guard<std::mutex> lock(mutex_);
    return messages_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<LogLevel, std::string>> messages_;
  LogSink previous_sink_;
  LogLevel previous_level_;
};

TEST(Log, SinkReceivesMessagesAtOrAboveTheLevel) {
  LogCapture capture;
  EXPECT_EQ(log_level(), LogLevel::Warning);
  log(LogLevel::Info, "not shown");
  log_warning("w1");
  log(LogLevel::Error, "e1");
  set_log_level(LogLevel::Debug);
  log(LogLevel::Debug, "d1");
  set_log_level(LogLevel::Off);
  log(LogLevel::Error, "silenced");
  const std::vector<std::pair<LogLevel, std::string>> expected = {
      {LogLevel::Warning, "w1"}, {LogLevel::Error, "e1"}, {LogLevel::Debug, "d1"}};
  EXPECT_EQ(capture.messages(), expected);
}

TEST(Log, OnceSendsEachMessageOnceAndForgetsSilencedOnes) {
  LogCapture capture;
  EXPECT_TRUE(log_warning_once("a"));
  EXPECT_FALSE(log_warning_once("a"));
  EXPECT_TRUE(log_warning_once("b"));
  EXPECT_TRUE(log_once(LogLevel::Error, "a")) << "the level is part of the key";
  set_log_level(LogLevel::Off);
  EXPECT_FALSE(log_warning_once("c"));
  set_log_level(LogLevel::Warning);
  EXPECT_TRUE(log_warning_once("c")) << "a message dropped by the level was not sent";
  reset_log_once();
  EXPECT_TRUE(log_warning_once("a"));
  EXPECT_EQ(capture.messages().size(), 5u);
}

TEST(Log, ManyThreadsSendEachOnceMessageExactlyOnce) {
  LogCapture capture;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([] {
      for (int i = 0; i < 200; ++i) {
        log_warning_once("m" + std::to_string(i % 50));
        log(LogLevel::Debug, "dropped");
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto messages = capture.messages();
  EXPECT_EQ(messages.size(), 50u);
}

TEST(Log, AnEmptySinkRestoresTheDefault) {
  LogCapture capture;
  LogSink mine = set_log_sink(nullptr);
  EXPECT_TRUE(static_cast<bool>(mine));
  testing::internal::CaptureStderr();
  log_warning("to stderr");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "nncf: warning: to stderr\n");
  set_log_sink(std::move(mine));
}

}  // namespace
}  // namespace nncf
