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

  template <int W, int VL = 0>
  KAKEYA_HD static void nearest_lanes(const float* w, int q, int32_t* t, float* dist) noexcept {
    detail::nearest_parity_box<8, W, 0, VL>(w, -2 * q, 2 * q, false, t, dist);
  }
  KAKEYA_HD static float nearest(const float (&w)[8], int q, int32_t (&t)[8]) noexcept {
    float d;
    nearest_lanes<1>(w, q, t, &d);
    return d;
  }

  [[nodiscard]] KAKEYA_HD static bool contains(const int32_t (&t)[8], int q) noexcept {
    for (int i = 0; i < 8; ++i)
      if ((t[i] & 1) != 0 || t[i] < -2 * q || t[i] > 2 * q) return false;
    return true;
  }

  template <int W>
  KAKEYA_HD static void rank_lanes(const int32_t* t, int q, uint64_t* idx) noexcept {
    for (int l = 0; l < W; ++l) {
      uint32_t d[8];
      for (int i = 0; i < 8; ++i) d[i] = static_cast<uint32_t>((t[i * W + l] >> 1) + q);
      idx[l] = detail::mixed_radix8(d, static_cast<uint32_t>(2 * q + 1));
    }
  }
  [[nodiscard]] KAKEYA_HD static uint64_t rank(const int32_t (&t)[8], int q) noexcept {
    uint64_t idx;
    rank_lanes<1>(t, q, &idx);
    return idx;
  }

  [[nodiscard]] KAKEYA_HD static bool unrank(uint64_t idx, int q, int32_t (&t)[8]) noexcept {
    const bool ok = idx < codebook_size(q);
    uint32_t d[8];
    detail::mixed_radix8_digits(ok ? idx : 0, static_cast<uint32_t>(2 * q + 1), d);
    for (int i = 0; i < 8; ++i) t[i] = ok ? 2 * (static_cast<int32_t>(d[i]) - q) : 0;
    return ok;
  }
};

}  // namespace kakeya
