// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file traits.h
/// The lattice codebooks C(L, Q) = L ∩ [-Q, Q]^n and the shared helpers of their exact
/// box-constrained nearest-point searches.
///
/// Points are held as `t = 2y` (int32): both cosets of E8 are then integer vectors and
/// every test (membership, parity, rank) is exact integer arithmetic. Searches work on
/// `w = 2u` for the same reason; scaling by 2 is exact in float.
///
/// Each lattice L has a `lattice_traits<L>` specialisation with:
///   kDim                              block length n
///   codebook_size(q)                  |C(L,q)|
///   nearest(w, q, t) -> float         exact nearest point of C(L,q) to u = w/2, as t = 2y;
///                                     returns ||w - t||^2 (4x the squared distance)
///   contains(t, q) -> bool            t/2 in C(L,q)
///   rank(t, q) -> uint64              bijection C(L,q) -> [0, |C|)
///   rank_lanes<W>(t, q, idx)          the same for W points (coordinate-major [n][W]);
///                                     rank() is rank_lanes<1>
///   unrank(i, q, t) -> bool           inverse; false when i >= |C| (corrupt code)

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kakeya/config.h"
#include "kakeya/numeric/lanes.h"

namespace kakeya {

/// Lattice tags. E8 is the default codec; D4 and Z8 (eight scalar quantizers whose
/// indices are ranked jointly, so no bits are lost to per-coordinate rounding) exist
/// for honest ablations.
struct E8 {};
struct D4 {};
struct Z8 {};

template <class L>
struct lattice_traits;  // specialised in e8.h, d4.h, z8.h

inline constexpr int kMaxQ = 127;  ///< indices fit 64 bits for every lattice up to here

namespace detail {

/// One coordinate of a box search over the values {lo, lo+2, ..., hi} (doubled units;
/// lo and hi have the parity of the coset). Computes the nearest value r, the
/// next-best in-box value alt, and their squared distances to w. By convexity of
/// (w - v)^2 over an arithmetic progression, the second-best value is adjacent to the
/// best, so it differs by 2 and flips the coordinate's parity bit. Branch-free.
///
/// F is float (one block: the GPU threads, the portable host path) or a GCC/Clang vector
/// of floats, one block per lane (the CPU, numeric/lanes.h), and I the int32 type of the
/// same lane count: the same source, so the same operations, for both. Constants are
/// broadcast to F before any compare (a vector-scalar compare scalarises in GCC's
/// target() functions).
template <class F, class I>
struct CoordChoice {
  I r;
  I alt;
  F d2;     // (w - r)^2
  F delta;  // (w - alt)^2 - (w - r)^2 >= 0
};

/// float -> int32 per lane (exact here: every value is an integer below 2^9).
template <class I, class F>
[[nodiscard]] KAKEYA_HD I to_i32(const F& f) noexcept {
  if constexpr (std::is_floating_point_v<F>) {
    return static_cast<I>(f);
  } else {
    return __builtin_convertvector(f, I);
  }
}

/// A compare's result as an int32 mask (0 / −1) of type I.
template <class I, class C>
[[nodiscard]] KAKEYA_HD I int_mask(const C& c) noexcept {
  if constexpr (std::is_integral_v<I>) {
    return -static_cast<I>(c);
  } else {
    return (I)c;
  }
}

/// Nearest in-box even (Odd = 0) or odd (Odd = 1) integer to w, with its runner-up.
template <int Odd, class F, class I>
[[nodiscard]] KAKEYA_HD CoordChoice<F, I> choose_coord(const F& w, const F& lof, const F& hif) noexcept {
  // Nearest value of the coset before clamping: 2*rne(w/2) (even) or 2*floor(w/2)+1
  // (odd). w/2 is first clamped to just outside the box, which changes no clamped
  // result and keeps |w/2| < 2^22, where adding and subtracting 1.5·2^23 rounds to the
  // nearest integer, ties to even, in the default rounding mode (host and device alike;
  // no FMA or reassociation may touch it). floor follows from that rounding.
  const F one = F{} + 1.0f, two = F{} + 2.0f, round = F{} + 12582912.0f;  // 1.5 * 2^23
  F half = w * 0.5f;
  const F lo_h = lof * 0.5f - one, hi_h = hif * 0.5f + one;
  half = half < lo_h ? lo_h : half;
  half = half > hi_h ? hi_h : half;
  const F rn = (half + round) - round;
  F rf;
  if constexpr (Odd) {
    const F fl = rn > half ? rn - one : rn;
    rf = two * fl + one;
  } else {
    rf = two * rn;
  }
  rf = rf < lof ? lof : rf;
  rf = rf > hif ? hif : rf;
  F af = w >= rf ? rf + two : rf - two;  // the neighbour on w's side ...
  af = af > hif ? rf - two : af;         // ... unless it leaves the box
  af = af < lof ? rf + two : af;
  const F d = w - rf;
  const F da = w - af;
  CoordChoice<F, I> c;
  c.r = to_i32<I>(rf);
  c.alt = to_i32<I>(af);
  c.d2 = d * d;
  c.delta = da * da - c.d2;
  return c;
}

/// Exact nearest point of {v in coset^N ∩ [lo,hi]^N : Σ_i (v_i - Odd)/2 even} to w
/// (doubled units), per lane of F (see CoordChoice). This is D_N ∩ box for Odd = 0 and
/// the half-integer E8 coset for Odd = 1 (whose coordinate-sum condition is the same
/// parity of (v_i - 1)/2, see e8.h). Method (Conway & Sloane, SPLAG ch. 20, the D_n
/// algorithm, made box-aware): take each coordinate's best in-box value; if the parity
/// is wrong, move the one coordinate whose runner-up costs least (the first such
/// coordinate on ties). Moving three or more never beats moving one.
/// `with_parity = false` drops the constraint (Z^N). dist receives ||w - t||^2
/// accumulated in coordinate order, plus the flip cost.
template <int N, int Odd, class F, class I>
KAKEYA_HD void parity_box_search(const F* w, int32_t lo, int32_t hi, bool with_parity, I* t, F& dist) noexcept {
  const F lof = F{} + static_cast<float>(lo), hif = F{} + static_cast<float>(hi);
  CoordChoice<F, I> c = choose_coord<Odd, F, I>(w[0], lof, hif);
  t[0] = c.r;
  dist = c.d2;
  I parity = ((c.r - Odd) >> 1) & 1;
  F best_delta = c.delta;
  I flip = I{}, flip_val = c.alt;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int i = 1; i < N; ++i) {
    c = choose_coord<Odd, F, I>(w[i], lof, hif);
    t[i] = c.r;
    dist = dist + c.d2;
    parity ^= ((c.r - Odd) >> 1) & 1;
    const auto better = c.delta < best_delta;  // strict: the first minimum wins
    best_delta = better ? c.delta : best_delta;
    const I bm = int_mask<I>(better);  // int selects by a float compare: bit operations
    flip = ((I{} + i) & bm) | (flip & ~bm);
    flip_val = (c.alt & bm) | (flip_val & ~bm);
  }
  if (with_parity) {
    const I odd = -parity;  // a mask (0 / −1); `parity != 0` scalarises in GCC's target() functions
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int i = 0; i < N; ++i) {
      const I m = odd & int_mask<I>(flip == I{} + i);
      t[i] = (flip_val & m) | (t[i] & ~m);
    }
    dist = odd ? dist + best_delta : dist;
  }
}

/// parity_box_search for W blocks in coordinate-major arrays (element (i, lane) at
/// [i*W + lane]; W = 1: the single-block search the GPU runs per thread). VL > 1 (CPU
/// batch loops, cpu/codec.h): VL blocks per vector, VL = the floats in one vector of the
/// loop's ISA (wider vectors than the ISA has are split by GCC, and their float
/// compares scalarised); otherwise one block at a time. The bits are the same.
template <int N, int W, int Odd, int VL = 0>
KAKEYA_HD void nearest_parity_box(const float* w, int32_t lo, int32_t hi, bool with_parity,
                                  int32_t* t, float* dist) noexcept {
#if defined(KAKEYA_LANES)
  if constexpr (VL > 1 && W % VL == 0) {
    typedef typename lanes::Vec<float, VL>::T F;
    typedef typename lanes::Vec<int32_t, VL>::T I;
    for (int l0 = 0; l0 < W; l0 += VL) {
      F wv[N], d;
      I tv[N];
      for (int i = 0; i < N; ++i) wv[i] = lanes::load_vec<F>(w + i * W + l0);
      parity_box_search<N, Odd, F, I>(wv, lo, hi, with_parity, tv, d);
      for (int i = 0; i < N; ++i) memcpy(t + i * W + l0, &tv[i], sizeof(I));
      memcpy(dist + l0, &d, sizeof(F));
    }
    return;
  }
#endif
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int l = 0; l < W; ++l) {
    float wl[N];
    int32_t tl[N];
    for (int i = 0; i < N; ++i) wl[i] = w[i * W + l];
    parity_box_search<N, Odd, float, int32_t>(wl, lo, hi, with_parity, tl, dist[l]);
    for (int i = 0; i < N; ++i) t[i * W + l] = tl[i];
  }
}

/// Mixed-radix value Σ_{i<4} d_i b^i in 32 bits (b^4 <= 255^4 < 2^32).
[[nodiscard]] KAKEYA_HD uint32_t mixed_radix4(const uint32_t* d, uint32_t b) noexcept {
  return d[0] + b * (d[1] + b * (d[2] + b * d[3]));
}

/// Mixed-radix value Σ_{i<8} d_i b^i: two 32-bit halves and one 64-bit multiply-add.
[[nodiscard]] KAKEYA_HD uint64_t mixed_radix8(const uint32_t (&d)[8], uint32_t b) noexcept {
  const uint32_t b4 = b * b * b * b;
  return static_cast<uint64_t>(mixed_radix4(d + 4, b)) * b4 + mixed_radix4(d, b);
}

/// Inverse of mixed_radix8 for r < b^8: one 64-bit division, then 32-bit digits.
KAKEYA_HD void mixed_radix8_digits(uint64_t r, uint32_t b, uint32_t (&d)[8]) noexcept {
  const uint32_t b4 = b * b * b * b;
  uint32_t lo = static_cast<uint32_t>(r % b4), hi = static_cast<uint32_t>(r / b4);
  for (int i = 0; i < 4; ++i) {
    d[i] = lo % b;
    lo /= b;
    d[4 + i] = hi % b;
    hi /= b;
  }
}

}  // namespace detail
}  // namespace kakeya
