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

  /// Exact nearest point of C(E8, q) to u = w/2; writes t = 2y, returns ||w - t||^2.
  /// The better of the two cosets; on an exact tie the integer coset wins.
  KAKEYA_HD static float nearest(const float (&w)[8], int q, int32_t (&t)[8]) noexcept {
    int32_t ti[8], th[8];
    const float di = detail::nearest_parity_box<8>(w, 0, -2 * q, 2 * q, true, ti);
    const float dh = detail::nearest_parity_box<8>(w, 1, -2 * q + 1, 2 * q - 1, true, th);
    const bool half = dh < di;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int i = 0; i < 8; ++i) t[i] = half ? th[i] : ti[i];
    return half ? dh : di;
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

  [[nodiscard]] KAKEYA_HD static uint64_t rank(const int32_t (&t)[8], int q) noexcept {
    if ((t[0] & 1) == 0) {
      const uint64_t b = 2u * q + 1u;
      uint64_t r = 0;
      for (int i = 7; i >= 0; --i) r = r * b + static_cast<uint64_t>(t[i] / 2 + q);
      return r >> 1;
    }
    const uint64_t b = 2u * q;
    uint64_t r = static_cast<uint64_t>(((t[7] - 1) / 2 + q) >> 1);
    for (int i = 6; i >= 0; --i) r = r * b + static_cast<uint64_t>((t[i] - 1) / 2 + q);
    return integer_coset_size(q) + r;
  }

  /// Inverse of rank. Returns false (and writes zeros) when idx is out of range.
  [[nodiscard]] KAKEYA_HD static bool unrank(uint64_t idx, int q, int32_t (&t)[8]) noexcept {
    const uint64_t n_int = integer_coset_size(q);
    if (idx < n_int) {
      const uint64_t b = 2u * q + 1u;
      uint64_t r = idx << 1;
      for (int i = 0; i < 8; ++i) {
        const uint64_t d = r % b;
        r /= b;
        t[i] = 2 * (static_cast<int32_t>(d) - q);
      }
      return true;
    }
    if (idx - n_int >= codebook_size(q) - n_int) {
      for (int i = 0; i < 8; ++i) t[i] = 0;
      return false;
    }
    const uint64_t b = 2u * q;
    uint64_t r = idx - n_int;
    int32_t parity = 0;
    for (int i = 0; i < 7; ++i) {
      const int32_t d = static_cast<int32_t>(r % b);
      r /= b;
      parity ^= d & 1;
      t[i] = 2 * (d - q) + 1;
    }
    const int32_t d7 = 2 * static_cast<int32_t>(r) + parity;
    t[7] = 2 * (d7 - q) + 1;
    return true;
  }
};

}  // namespace kakeya
