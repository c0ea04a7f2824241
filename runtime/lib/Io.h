//===- Io.h - file descriptor helpers of the runtime ------------*- C++ -*-===//
//
// Part of stepc, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef STEPC_RT_LIB_IO_H
#define STEPC_RT_LIB_IO_H

#include <cerrno>
#include <string>
#include <unistd.h>

namespace stepc::rt {

/// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
inline bool writeAll(int fd, const std::string &bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    done += size_t(n);
  }
  return true;
}

} // namespace stepc::rt

#endif // STEPC_RT_LIB_IO_H
