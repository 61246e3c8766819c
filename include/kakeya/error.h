// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file error.h
/// Status codes (device code, C ABI) and exceptions (host C++ API).

#include <cstdint>
#include <cstdio>
#include <type_traits>
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

/// Root of every exception the host API throws: `catch (const kakeya::Error& e)` sees
/// them all, with e.status() the category and e.message() the text. Each concrete class
/// also derives from the matching standard exception (one std::exception base each, so
/// `catch (const std::exception&)` and `catch (const std::invalid_argument&)` work too).
/// pybind11 maps them to kakeyalattice.KakeyaError subclasses that derive from
/// ValueError / RuntimeError in the same way.
class Error {
 public:
  virtual ~Error() = default;
  [[nodiscard]] Status status() const noexcept { return status_; }
  [[nodiscard]] virtual const char* message() const noexcept = 0;

 protected:
  explicit Error(Status s) noexcept : status_(s) {}
  Error(const Error&) = default;
  Error& operator=(const Error&) = default;

 private:
  Status status_;
};

/// A parameter, shape, buffer size or input value is not acceptable (status
/// kInvalidArgument, or kInvalidInput for data the codec cannot encode).
class InvalidArgument : public std::invalid_argument, public Error {
 public:
  explicit InvalidArgument(const std::string& msg, Status status = Status::kInvalidArgument)
      : std::invalid_argument(msg), Error(status) {}
  [[nodiscard]] const char* message() const noexcept override { return what(); }
  using Error::status;
};

/// A code record cannot be decoded (status kCorruptCode).
class CorruptCode : public InvalidArgument {
 public:
  explicit CorruptCode(const std::string& msg) : InvalidArgument(msg, Status::kCorruptCode) {}
};

/// A runtime failure that is not the caller's input: CUDA errors, internal errors.
class RuntimeFailure : public std::runtime_error, public Error {
 public:
  explicit RuntimeFailure(const std::string& msg, Status status = Status::kInternal)
      : std::runtime_error(msg), Error(status) {}
  [[nodiscard]] const char* message() const noexcept override { return what(); }
  using Error::status;
};

namespace detail {
// Message formatting without iostreams (no locale state, usable from any host thread and
// alongside other libraries' C++ runtimes).
inline void append(std::string& s, const std::string& v) { s += v; }
inline void append(std::string& s, const char* v) { s += v ? v : "(null)"; }
inline void append(std::string& s, char v) { s += v; }
inline void append(std::string& s, bool v) { s += v ? "true" : "false"; }
inline void append(std::string& s, double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  s += buf;
}
inline void append(std::string& s, float v) { append(s, static_cast<double>(v)); }
template <class T, class = std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool> &&
                                            !std::is_same_v<T, char>>>
void append(std::string& s, T v) {
  s += std::to_string(v);
}
template <class E, class = std::enable_if_t<std::is_enum_v<E>>, class = void>
void append(std::string& s, E v) {
  s += std::to_string(static_cast<std::underlying_type_t<E>>(v));
}

/// Hexadecimal rendering for messages: concat("0x", Hex{v}).
struct Hex {
  uint64_t v;
};
inline void append(std::string& s, Hex h) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(h.v));
  s += buf;
}

template <class... Args>
[[nodiscard]] std::string concat(const Args&... args) {
  std::string s;
  (append(s, args), ...);
  return s;
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
