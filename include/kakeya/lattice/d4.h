// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file d4.h
/// The checkerboard lattice D4 = {y in Z^4 : Σ y_i even} restricted to [-Q, Q]^4.
/// |C| = ((2Q+1)^4 + 1)/2. Index: digits d_i = y_i + Q in base B = 2Q+1, r = Σ d_i B^i
/// (even, since B is odd and Σ y_i is even), index r/2.

#include <cstdint>

#include "kakeya/lattice/traits.h"

namespace kakeya {

template <>
struct lattice_traits<D4> {
  static constexpr int kDim = 4;
  static constexpr const char* kName = "d4";

  [[nodiscard]] KAKEYA_HD static uint64_t codebook_size(int q) noexcept {
    const uint64_t b = 2u * q + 1u;
    return (b * b * b * b + 1u) / 2u;
  }

  template <int W, int VL = 0>
  KAKEYA_HD static void nearest_lanes(const float* w, int q, int32_t* t, float* dist) noexcept {
    detail::nearest_parity_box<4, W, 0, VL>(w, -2 * q, 2 * q, true, t, dist);
  }
  KAKEYA_HD static float nearest(const float (&w)[4], int q, int32_t (&t)[4]) noexcept {
    float d;
    nearest_lanes<1>(w, q, t, &d);
    return d;
  }

  [[nodiscard]] KAKEYA_HD static bool contains(const int32_t (&t)[4], int q) noexcept {
    int32_t sum = 0;
    for (int i = 0; i < 4; ++i) {
      if ((t[i] & 1) != 0 || t[i] < -2 * q || t[i] > 2 * q) return false;
      sum += t[i];
    }
    return (sum & 3) == 0;
  }

  template <int W>
  KAKEYA_HD static void rank_lanes(const int32_t* t, int q, uint64_t* idx) noexcept {
    for (int l = 0; l < W; ++l) {
      uint32_t d[4];
      for (int i = 0; i < 4; ++i) d[i] = static_cast<uint32_t>((t[i * W + l] >> 1) + q);
      idx[l] = detail::mixed_radix4(d, static_cast<uint32_t>(2 * q + 1)) >> 1;
    }
  }
  [[nodiscard]] KAKEYA_HD static uint64_t rank(const int32_t (&t)[4], int q) noexcept {
    uint64_t idx;
    rank_lanes<1>(t, q, &idx);
    return idx;
  }

  [[nodiscard]] KAKEYA_HD static bool unrank(uint64_t idx, int q, int32_t (&t)[4]) noexcept {
    const bool ok = idx < codebook_size(q);
    const uint64_t b = 2u * q + 1u;
    uint64_t r = ok ? idx << 1 : 0;
    for (int i = 0; i < 4; ++i) {
      const uint64_t d = r % b;
      r /= b;
      t[i] = ok ? 2 * (static_cast<int32_t>(d) - q) : 0;
    }
    return ok;
  }
};

}  // namespace kakeya
