// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file z8.h
/// Eight scalar uniform quantizers (the integer lattice Z^8) on [-Q, Q]^8, ranked
/// jointly: index = Σ (y_i + Q)(2Q+1)^i, |C| = (2Q+1)^8. Ranking eight coordinates
/// together costs ceil(8 log2(2Q+1)) bits rather than 8 ceil(log2(2Q+1)), so the
/// comparison with E8 measures the lattice, not the packing.

#include <cstdint>

#include "kakeya/lattice/traits.h"

namespace kakeya {

template <>
struct lattice_traits<Z8> {
  static constexpr int kDim = 8;
  static constexpr const char* kName = "z";

  [[nodiscard]] KAKEYA_HD static uint64_t codebook_size(int q) noexcept {
    const uint64_t b = 2u * q + 1u;
    const uint64_t b4 = b * b * b * b;
    return b4 * b4;
  }

  KAKEYA_HD static float nearest(const float (&w)[8], int q, int32_t (&t)[8]) noexcept {
    return detail::nearest_parity_box<8>(w, 0, -2 * q, 2 * q, false, t);
  }

  [[nodiscard]] KAKEYA_HD static bool contains(const int32_t (&t)[8], int q) noexcept {
    for (int i = 0; i < 8; ++i)
      if ((t[i] & 1) != 0 || t[i] < -2 * q || t[i] > 2 * q) return false;
    return true;
  }

  [[nodiscard]] KAKEYA_HD static uint64_t rank(const int32_t (&t)[8], int q) noexcept {
    const uint64_t b = 2u * q + 1u;
    uint64_t r = 0;
    for (int i = 7; i >= 0; --i) r = r * b + static_cast<uint64_t>(t[i] / 2 + q);
    return r;
  }

  [[nodiscard]] KAKEYA_HD static bool unrank(uint64_t idx, int q, int32_t (&t)[8]) noexcept {
    const bool ok = idx < codebook_size(q);
    const uint64_t b = 2u * q + 1u;
    uint64_t r = ok ? idx : 0;
    for (int i = 0; i < 8; ++i) {
      const uint64_t d = r % b;
      r /= b;
      t[i] = ok ? 2 * (static_cast<int32_t>(d) - q) : 0;
    }
    return ok;
  }
};

}  // namespace kakeya
