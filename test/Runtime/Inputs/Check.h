//===- Check.h - a minimal self-checking test harness -----------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//
//
// The runtime tests are plain programs (no test framework: the runtime has
// no dependencies and its tests should not add one). Each check prints its
// failure with the line; main() ends with checkSummary().
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_RT_TEST_CHECK_H
#define STEPC_RT_TEST_CHECK_H

#include "stepc-rt/GroupRunner.h"

#include <cstdio>
#include <string>

namespace check {
inline int passed = 0;
inline int failed = 0;

inline bool that(bool ok, const std::string &what, int line) {
  if (ok) {
    ++passed;
    return true;
  }
  ++failed;
  std::printf("FAILED (line %d): %s\n", line, what.c_str());
  return false;
}

inline const char *codeName(stepc::rt::StatusCode code) {
  using stepc::rt::StatusCode;
  switch (code) {
  case StatusCode::Ok:
    return "Ok";
  case StatusCode::InvalidArgument:
    return "InvalidArgument";
  case StatusCode::ShapeMismatch:
    return "ShapeMismatch";
  case StatusCode::DtypeMismatch:
    return "DtypeMismatch";
  case StatusCode::NotBound:
    return "NotBound";
  case StatusCode::IoError:
    return "IoError";
  case StatusCode::FormatError:
    return "FormatError";
  case StatusCode::VersionMismatch:
    return "VersionMismatch";
  case StatusCode::ChecksumMismatch:
    return "ChecksumMismatch";
  case StatusCode::NoDevice:
    return "NoDevice";
  }
  return "?";
}

/// `status` has `code` and its message contains `text` (exactly equals it
/// when `exact`).
inline bool status(const stepc::rt::Status &status, stepc::rt::StatusCode code,
                   const std::string &text, int line, bool exact = false) {
  bool ok = status.code == code &&
            (exact ? status.message == text
                   : status.message.find(text) != std::string::npos);
  return that(ok,
              std::string("expected ") + codeName(code) + " with \"" + text +
                  "\", got " + codeName(status.code) + " with \"" +
                  status.message + "\"",
              line);
}

inline int summary() {
  std::printf("%d checks passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
} // namespace check

#define CHECK(cond) check::that((cond), #cond, __LINE__)
#define CHECK_OK(expr)                                                         \
  check::status((expr), stepc::rt::StatusCode::Ok, "", __LINE__)
#define CHECK_STATUS(expr, code, text)                                         \
  check::status((expr), stepc::rt::StatusCode::code, (text), __LINE__)
#define CHECK_STATUS_EXACT(expr, code, text)                                   \
  check::status((expr), stepc::rt::StatusCode::code, (text), __LINE__, true)

#endif // STEPC_RT_TEST_CHECK_H
