// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file error.h
/// Status codes (device code, C ABI) and exceptions (host C++ API).

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>

namespace kakeya {

/// Result of a kernel launcher or a C ABI call. Values are stable: the C ABI returns
/// them negated as `int`.
enum class Status : int32_t {
  kOk = 0,
  kInvalidArgument = 1,  ///< a parameter or buffer size is wrong
  kInvalidInput = 2,     ///< data are not encodable (NaN/Inf, out-of-range scale)
  kCorruptCode = 3,      ///< a code record cannot be decoded (bad scale, index out of range)
  kCudaError = 4,        ///< a CUDA runtime call failed
  kInternal = 5,         ///< a bug: please report it
};

[[nodiscard]] inline const char* status_name(Status s) noexcept {
  switch (s) {
    case Status::kOk: return "ok";
    case Status::kInvalidArgument: return "invalid argument";
    case Status::kInvalidInput: return "invalid input";
    case Status::kCorruptCode: return "corrupt code";
    case Status::kCudaError: return "CUDA error";
    case Status::kInternal: return "internal error";
  }
  return "unknown status";
}

/// Base of every exception the host API throws.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg, Status status = Status::kInternal)
      : std::runtime_error(msg), status_(status) {}
  [[nodiscard]] Status status() const noexcept { return status_; }

 private:
  Status status_;
};

/// A parameter, shape, buffer size or input value is not acceptable. Derives from
/// std::invalid_argument so pybind11 maps it to ValueError.
class InvalidArgument : public std::invalid_argument {
 public:
  explicit InvalidArgument(const std::string& msg, Status status = Status::kInvalidArgument)
      : std::invalid_argument(msg), status_(status) {}
  [[nodiscard]] Status status() const noexcept { return status_; }

 private:
  Status status_;
};

namespace detail {
template <class... Args>
[[nodiscard]] std::string concat(const Args&... args) {
  std::ostringstream os;
  os.precision(9);
  (os << ... << args);
  return os.str();
}
}  // namespace detail

}  // namespace kakeya

/// Throws kakeya::InvalidArgument with the streamed message when `cond` is false.
#define KAKEYA_CHECK(cond, ...)                                                        \
  do {                                                                                 \
    if (!(cond)) throw ::kakeya::InvalidArgument(::kakeya::detail::concat(__VA_ARGS__)); \
  } while (0)

/// Like KAKEYA_CHECK with an explicit status category.
#define KAKEYA_CHECK_STATUS(cond, status, ...)                                          \
  do {                                                                                  \
    if (!(cond))                                                                        \
      throw ::kakeya::InvalidArgument(::kakeya::detail::concat(__VA_ARGS__), status);   \
  } while (0)
