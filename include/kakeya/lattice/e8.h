// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file e8.h
/// The Gosset lattice E8 = D8 ∪ (D8 + ½·1) restricted to the box [-Q, Q]^8.
///
/// Codebook: the integer coset (coordinates in {-Q..Q}, even sum) has
/// ((2Q+1)^8 + 1)/2 points; the half-integer coset (coordinates in {-Q+½..Q-½}, even
/// sum) has (2Q)^8/2. Index layout (format version 1):
///   integer coset   digits d_i = y_i + Q in base B = 2Q+1, r = Σ d_i B^i. Because B is
///                   odd, r ≡ Σ d_i ≡ Σ y_i (mod 2), so r is even and the index is r/2.
///   half coset      digits d_i = y_i - ½ + Q in [0, 2Q). The sum condition makes the
///                   parity of d_7 a function of d_0..d_6, so d_7 >> 1 is stored in
///                   base Q: index = N_int + Σ_{i<7} d_i (2Q)^i + (d_7 >> 1)(2Q)^7.
/// Both fit 64 bits for Q <= 127.

#include <cstdint>

#include "kakeya/lattice/traits.h"

namespace kakeya {

template <>
struct lattice_traits<E8> {
  static constexpr int kDim = 8;
  static constexpr const char* kName = "e8";

  [[nodiscard]] KAKEYA_HD static uint64_t integer_coset_size(int q) noexcept {
    const uint64_t b = 2u * q + 1u;
    const uint64_t b4 = b * b * b * b;
    return (b4 * b4 + 1u) / 2u;
  }
  [[nodiscard]] KAKEYA_HD static uint64_t codebook_size(int q) noexcept {
    const uint64_t h = 2u * q;
    const uint64_t h4 = h * h * h * h;
    return integer_coset_size(q) + h4 * h4 / 2u;
  }

  /// Exact nearest points of C(E8, q) for W blocks (coordinate-major w, t: [8][W]);
  /// the better of the two cosets, the integer coset on an exact tie. Writes t = 2y
  /// and dist = ||w - t||^2.
  template <int W, int VL = 0>
  KAKEYA_HD static void nearest_lanes(const float* w, int q, int32_t* t, float* dist) noexcept {
    int32_t th[8 * W];
    float dh[W];
    detail::nearest_parity_box<8, W, 0, VL>(w, -2 * q, 2 * q, true, t, dist);
    detail::nearest_parity_box<8, W, 1, VL>(w, -2 * q + 1, 2 * q - 1, true, th, dh);
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int i = 0; i < 8; ++i)
      for (int l = 0; l < W; ++l) t[i * W + l] = dh[l] < dist[l] ? th[i * W + l] : t[i * W + l];
    for (int l = 0; l < W; ++l) dist[l] = dh[l] < dist[l] ? dh[l] : dist[l];
  }

  /// Single block: nearest point to u = w/2 as t = 2y; returns ||w - t||^2.
  KAKEYA_HD static float nearest(const float (&w)[8], int q, int32_t (&t)[8]) noexcept {
    float d;
    nearest_lanes<1>(w, q, t, &d);
    return d;
  }

  [[nodiscard]] KAKEYA_HD static bool contains(const int32_t (&t)[8], int q) noexcept {
    const int32_t odd = t[0] & 1;
    int32_t sum = 0;
    for (int i = 0; i < 8; ++i) {
      if ((t[i] & 1) != odd) return false;
      if (t[i] < -2 * q || t[i] > 2 * q) return false;
      sum += t[i];
    }
    // Σ y_i = sum/2 must be even, i.e. sum ≡ 0 (mod 4).
    return (sum & 3) == 0;
  }

  /// Indices of W points (coordinate-major t: [8][W]); written lane-parallel so the
  /// host loop vectorizes. Digits as in the layout comment above.
  template <int W>
  KAKEYA_HD static void rank_lanes(const int32_t* t, int q, uint64_t* idx) noexcept {
    const uint64_t n_int = integer_coset_size(q);
    for (int l = 0; l < W; ++l) {
      const int32_t odd = t[l] & 1;
      uint32_t d[8];
      for (int i = 0; i < 8; ++i) d[i] = static_cast<uint32_t>(((t[i * W + l] - odd) >> 1) + q);
      d[7] = odd ? d[7] >> 1 : d[7];
      const uint64_t r = detail::mixed_radix8(d, static_cast<uint32_t>(2 * q + 1 - odd));
      idx[l] = odd ? n_int + r : r >> 1;
    }
  }
  [[nodiscard]] KAKEYA_HD static uint64_t rank(const int32_t (&t)[8], int q) noexcept {
    uint64_t idx;
    rank_lanes<1>(t, q, &idx);
    return idx;
  }

  /// Inverse of rank. Returns false (and writes zeros) when idx is out of range.
  [[nodiscard]] KAKEYA_HD static bool unrank(uint64_t idx, int q, int32_t (&t)[8]) noexcept {
    const uint64_t n_int = integer_coset_size(q);
    const bool ok = idx < codebook_size(q);
    const bool half = ok && idx >= n_int;
    const uint32_t b = static_cast<uint32_t>(2 * q + 1 - (half ? 1 : 0));
    uint32_t d[8];
    detail::mixed_radix8_digits(!ok ? 0 : half ? idx - n_int : idx << 1, b, d);
    if (half) {
      // d[7] holds d_7 >> 1 (< q); restore d_7's parity so that Σ d_i is even.
      const uint32_t par = (d[0] + d[1] + d[2] + d[3] + d[4] + d[5] + d[6]) & 1u;
      d[7] = 2 * d[7] + par;
    }
    const int32_t odd = half ? 1 : 0;
    for (int i = 0; i < 8; ++i) t[i] = ok ? 2 * (static_cast<int32_t>(d[i]) - q) + odd : 0;
    return ok;
  }
};

}  // namespace kakeya
