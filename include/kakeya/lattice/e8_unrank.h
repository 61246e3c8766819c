// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file e8_unrank.h
/// Division-free unrank of E8 block indices (the inverse of lattice_traits<E8>::rank,
/// format version 1), for readers that decode many records with one Q: attention
/// kernels decode every block of every token, and the library's unrank spends one
/// 64-bit division and eight 32-bit divisions per block.
///
/// Method (Granlund & Montgomery, "Division by invariant integers using
/// multiplication", 1994): for a divisor d, a bound X on the dividend and a shift s,
/// M = ceil(2^(k+s)/d) gives floor(x/d) = floor(x·M / 2^(k+s)) for every x <= X when
/// X·e < 2^(k+s), e = M·d − 2^(k+s) (write x = qd + ρ: the error term ρ/d + x·e/(d·2^(k+s))
/// stays under 1). The host searches s per divisor and checks that bound exactly in
/// 128-bit arithmetic; where no s fits (only very large Q) `ok` is false and callers use
/// the library's unrank.
///
/// Digits of r = Σ d_i b^i (r < b^8, b = 2Q+1 or 2Q per coset):
///   hi = r / b^4 (64-bit multiply-high), lo = r − hi·b^4 (exact in 32 bits: lo < b^4)
///   lo = a1·b² + a0, hi = a3·b² + a2 (32-bit multiply-high), each a_k = d·b + d'.

#include <cstdint>

#include "kakeya/lattice/e8.h"

namespace kakeya {

/// Multiply-high constants of one coset's radix b (b^4 < 2^32 for Q <= 127).
struct E8RadixMagic {
  uint64_t m4;  ///< r / b^4  = umulhi64(r, m4) >> s4
  uint32_t b, b2, b4;
  uint32_t s4;
  uint32_t m2, s2;  ///< x / b²  = umulhi32(x, m2) >> s2, x < b^4
  uint32_t m1, s1;  ///< x / b   = umulhi32(x, m1) >> s1, x < b²
};

/// Per-Q constants: [0] integer coset (b = 2Q+1), [1] half-integer coset (b = 2Q).
struct E8Unrank {
  uint64_t n_int;  ///< size of the integer coset
  uint64_t size;   ///< codebook size
  int32_t q;
  bool ok;  ///< every divisor has exact constants (true for Q <= 116 at least)
  E8RadixMagic c[2];
};

namespace detail {

// 128-bit unsigned (GCC/Clang extension; __extension__ keeps -Wpedantic quiet).
__extension__ typedef unsigned __int128 u128;

[[nodiscard]] KAKEYA_HD uint64_t umulhi64(uint64_t a, uint64_t b) noexcept {
#if defined(__CUDA_ARCH__)
  return __umul64hi(a, b);
#else
  return static_cast<uint64_t>((static_cast<u128>(a) * b) >> 64);
#endif
}
[[nodiscard]] KAKEYA_HD uint32_t umulhi32(uint32_t a, uint32_t b) noexcept {
#if defined(__CUDA_ARCH__)
  return __umulhi(a, b);
#else
  return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
#endif
}

/// Finds (M, s) with M < 2^k for floor(x/d), x <= xmax, as in the file comment.
/// Host only (128-bit arithmetic).
inline bool find_magic(uint64_t d, u128 xmax, int k, uint64_t* m, uint32_t* s) noexcept {
  for (int sh = 0; sh + k < 127; ++sh) {
    const u128 p = static_cast<u128>(1) << (k + sh);
    const u128 mm = (p + d - 1) / d;
    if (mm >> k) return false;  // M would need k+1 bits; larger shifts only grow it
    const u128 e = mm * d - p;
    if (xmax * e < p) {
      *m = static_cast<uint64_t>(mm);
      *s = static_cast<uint32_t>(sh);
      return true;
    }
  }
  return false;
}

}  // namespace detail

/// Host: the constants of one Q (1..127). `ok` false means: use lattice_traits<E8>::unrank.
[[nodiscard]] inline E8Unrank make_e8_unrank(int q) noexcept {
  E8Unrank u{};
  u.q = q;
  u.n_int = lattice_traits<E8>::integer_coset_size(q);
  u.size = lattice_traits<E8>::codebook_size(q);
  u.ok = q >= 1 && q <= kMaxQ;
  for (int h = 0; h < 2 && u.ok; ++h) {
    E8RadixMagic& c = u.c[h];
    const uint64_t b = static_cast<uint64_t>(2 * q + 1 - h);
    c.b = static_cast<uint32_t>(b);
    c.b2 = static_cast<uint32_t>(b * b);
    c.b4 = static_cast<uint32_t>(b * b * b * b);
    const detail::u128 b8 = static_cast<detail::u128>(c.b4) * c.b4;
    uint64_t m = 0;
    uint32_t s = 0;
    u.ok = u.ok && detail::find_magic(c.b4, b8 - 1, 64, &m, &s);
    c.m4 = m;
    c.s4 = s;
    u.ok = u.ok && detail::find_magic(c.b2, c.b4 - 1, 32, &m, &s);
    c.m2 = static_cast<uint32_t>(m);
    c.s2 = s;
    u.ok = u.ok && detail::find_magic(c.b, c.b2 - 1, 32, &m, &s);
    c.m1 = static_cast<uint32_t>(m);
    c.s1 = s;
  }
  return u;
}

/// The digits of index idx (see e8.h) and its coset; false (all digits 0) when idx is
/// outside the codebook. The point is t_i = 2(d_i − Q) + half, i.e. p_i = d_i − Q + half/2.
/// Requires u.ok. Same results as lattice_traits<E8>::unrank (tests/cpp/test_e8_unrank.cpp).
KAKEYA_HD bool e8_unrank_digits(const E8Unrank& u, uint64_t idx, uint32_t (&d)[8], int& half) noexcept {
  const bool ok = idx < u.size;
  const bool hf = ok && idx >= u.n_int;
  half = hf ? 1 : 0;
  const E8RadixMagic& c = u.c[half];
  const uint64_t r = !ok ? 0 : hf ? idx - u.n_int : idx << 1;
  const uint32_t hi = static_cast<uint32_t>(detail::umulhi64(r, c.m4) >> c.s4);
  const uint32_t lo = static_cast<uint32_t>(r) - hi * c.b4;  // exact mod 2^32: lo < b^4
  const uint32_t x[2] = {lo, hi};
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int k = 0; k < 2; ++k) {
    const uint32_t a1 = detail::umulhi32(x[k], c.m2) >> c.s2;
    const uint32_t a0 = x[k] - a1 * c.b2;
    const uint32_t d1 = detail::umulhi32(a0, c.m1) >> c.s1;
    const uint32_t d3 = detail::umulhi32(a1, c.m1) >> c.s1;
    d[4 * k + 0] = a0 - d1 * c.b;
    d[4 * k + 1] = d1;
    d[4 * k + 2] = a1 - d3 * c.b;
    d[4 * k + 3] = d3;
  }
  if (hf) {  // d_7 was stored halved; its parity makes Σ d_i even (e8.h)
    const uint32_t par = (d[0] + d[1] + d[2] + d[3] + d[4] + d[5] + d[6]) & 1u;
    d[7] = 2 * d[7] + par;
  }
  return ok;
}

}  // namespace kakeya
