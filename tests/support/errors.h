#pragma once

// The message of the c10::Error a call throws, for tests that check what an error says.

#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include <string>

namespace nncf::testing {

/// Runs `f` and returns the message (without backtrace) of the c10::Error it throws; records a
/// test failure and returns "" when it throws nothing.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  ADD_FAILURE() << "expected a c10::Error";
  return "";
}

}  // namespace nncf::testing
