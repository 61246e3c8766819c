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
#include <type_traits>

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

namespace detail {

/// floor(a·b / 2^64) per lane: the 128-bit product for one value; for a vector of
/// uint64 (no vector multiply-high exists) from four 32×32-bit partial products.
template <class V>
[[nodiscard]] KAKEYA_HD V mulhi64(const V& a, const V& b) noexcept {
  if constexpr (std::is_integral_v<V>) {
    return umulhi64(a, b);
  } else {
    const V lo = V{} + 0xFFFFFFFFu;
    const V al = a & lo, ah = a >> 32, bl = b & lo, bh = b >> 32;
    const V t = al * bl, u = ah * bl + (t >> 32), v = al * bh + (u & lo);
    return ah * bh + (u >> 32) + (v >> 32);
  }
}
/// floor(x·m / 2^32) for x, m < 2^32: 32-bit multiply-high for one value, a product of
/// 64-bit lanes for a vector.
template <class V>
[[nodiscard]] KAKEYA_HD V mulhi32(const V& x, uint32_t m) noexcept {
  if constexpr (std::is_integral_v<V>) {
    return umulhi32(x, m);
  } else {
    return (x * m) >> 32;
  }
}
/// c ? a : b per lane; c a mask (vectors) or a bool (one value).
template <class V, class C, class T>
[[nodiscard]] KAKEYA_HD V pick(const C& c, T a, T b) noexcept {
  if constexpr (std::is_integral_v<V>) {
    return static_cast<V>(c ? a : b);
  } else {
    return ((V{} + a) & c) | ((V{} + b) & ~c);
  }
}

}  // namespace detail

/// The digits of indices idx (see e8.h), their coset and validity, for one index
/// (W = uint64_t, R = uint32_t: the CUDA kernels) or one per lane of a vector of uint64
/// (W = R: the CPU decoder). `half` and `ok` are masks (0 / all ones) for vectors, 0 / 1
/// for one value; an index outside the codebook gets ok = 0 and all digits 0. The point
/// is t_i = 2(d_i − Q) + half, i.e. p_i = d_i − Q + half/2. Requires u.ok. Same results
/// as lattice_traits<E8>::unrank (tests/cpp/test_e8_unrank.cpp).
template <class W, class R>
KAKEYA_HD void e8_unrank_lanes(const E8Unrank& u, const W& idx, R (&d)[8], W& half, W& ok) noexcept {
  constexpr bool kOne = std::is_integral_v<W>;
  if constexpr (kOne) {
    ok = idx < u.size;
    half = ok && idx >= u.n_int;
  } else {
    ok = (W)(idx < W{} + u.size);
    half = ok & (W)(idx >= W{} + u.n_int);
  }
  const E8RadixMagic& c0 = u.c[0];
  const E8RadixMagic& c1 = u.c[1];
  const W r = detail::pick<W>(half, idx - u.n_int, idx << 1) & (kOne ? (ok ? ~W{0} : W{0}) : ok);
  const W m4 = detail::pick<W>(half, c1.m4, c0.m4), s4 = detail::pick<W>(half, uint64_t{c1.s4}, uint64_t{c0.s4});
  const R b4 = detail::pick<R>(half, c1.b4, c0.b4), b2 = detail::pick<R>(half, c1.b2, c0.b2);
  const R b = detail::pick<R>(half, c1.b, c0.b);
  const R hi = static_cast<R>(detail::mulhi64(r, m4) >> s4);
  const R lo = static_cast<R>(r) - hi * b4;  // exact: lo < b^4 (mod 2^32 for one value)
  const R x[2] = {lo, hi};
  const R m2 = detail::pick<R>(half, c1.m2, c0.m2), s2 = detail::pick<R>(half, c1.s2, c0.s2);
  const R m1 = detail::pick<R>(half, c1.m1, c0.m1), s1 = detail::pick<R>(half, c1.s1, c0.s1);
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int k = 0; k < 2; ++k) {
    R a1, a0, d1, d3;
    if constexpr (kOne) {  // one value: the constants of its coset, multiply-high by a scalar
      const E8RadixMagic& c = half ? c1 : c0;
      a1 = detail::umulhi32(x[k], c.m2) >> c.s2;
      a0 = x[k] - a1 * c.b2;
      d1 = detail::umulhi32(a0, c.m1) >> c.s1;
      d3 = detail::umulhi32(a1, c.m1) >> c.s1;
    } else {
      a1 = ((x[k] * m2) >> 32) >> s2;
      a0 = x[k] - a1 * b2;
      d1 = ((a0 * m1) >> 32) >> s1;
      d3 = ((a1 * m1) >> 32) >> s1;
    }
    d[4 * k + 0] = a0 - d1 * b;
    d[4 * k + 1] = d1;
    d[4 * k + 2] = a1 - d3 * b;
    d[4 * k + 3] = d3;
  }
  // Half coset: d_7 was stored halved; its parity makes Σ d_i even (e8.h).
  const R par = (d[0] + d[1] + d[2] + d[3] + d[4] + d[5] + d[6]) & 1u;
  d[7] = detail::pick<R>(static_cast<R>(half), 2 * d[7] + par, d[7]);
}

/// One index (the CUDA kernels): digits and coset; false (all digits 0) when idx is
/// outside the codebook.
KAKEYA_HD bool e8_unrank_digits(const E8Unrank& u, uint64_t idx, uint32_t (&d)[8], int& half) noexcept {
  uint64_t h = 0, ok = 0;
  e8_unrank_lanes(u, idx, d, h, ok);
  half = static_cast<int>(h);
  return ok != 0;
}

}  // namespace kakeya
