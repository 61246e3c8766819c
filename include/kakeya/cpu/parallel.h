// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file parallel.h
/// The CPU thread-count setting and a static row partition over std::thread.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "kakeya/error.h"

namespace kakeya::cpu {

namespace detail {
inline std::atomic<int>& thread_setting() noexcept {
  static std::atomic<int> n{0};  // 0: std::thread::hardware_concurrency()
  return n;
}
}  // namespace detail

/// Sets the number of worker threads of batch calls (0 = one per hardware thread).
inline void set_num_threads(int n) {
  KAKEYA_CHECK(n >= 0 && n <= 1024, "num_threads = ", n, " must be in [0, 1024]");
  detail::thread_setting().store(n);
}

/// Worker threads a batch call will use at most.
[[nodiscard]] inline int num_threads() noexcept {
  const int n = detail::thread_setting().load();
  if (n > 0) return n;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

/// Rows below which a batch runs on the calling thread (thread start-up costs ~20 µs).
inline constexpr int64_t kMinRowsPerThread = 256;

/// Calls fn(begin, end) over a partition of [0, rows). fn must not throw.
template <class Fn>
void parallel_rows(int64_t rows, Fn&& fn) {
  const int64_t want = std::min<int64_t>(num_threads(), rows / kMinRowsPerThread);
  const int64_t nt = std::max<int64_t>(1, want);
  if (nt == 1) {
    fn(int64_t{0}, rows);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(nt - 1));
  const int64_t chunk = (rows + nt - 1) / nt;
  for (int64_t t = 1; t < nt; ++t) {
    const int64_t b = t * chunk, e = std::min(rows, b + chunk);
    if (b < e) pool.emplace_back([&fn, b, e] { fn(b, e); });
  }
  fn(int64_t{0}, std::min(rows, chunk));
  for (auto& th : pool) th.join();
}

}  // namespace kakeya::cpu
