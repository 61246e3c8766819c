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

#include "kakeya/config.h"

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
/// best, so it differs by 2 and flips the coordinate's parity bit. Branch-free, so
/// that loops over many blocks vectorize.
struct CoordChoice {
  int32_t r;
  int32_t alt;
  float d2;     // (w - r)^2
  float delta;  // (w - alt)^2 - (w - r)^2 >= 0
};

/// Nearest in-box even (Odd = 0) or odd (Odd = 1) integer to w, with its runner-up.
template <int Odd>
[[nodiscard]] KAKEYA_HD CoordChoice choose_coord(float w, float lof, float hif) noexcept {
  // Nearest value of the coset before clamping: 2*rne(w/2) (even) or 2*floor(w/2)+1
  // (odd). w/2 is first clamped to just outside the box, which changes no clamped
  // result and keeps |w/2| < 2^22, where adding and subtracting 1.5·2^23 rounds to the
  // nearest integer, ties to even, in the default rounding mode (host and device alike;
  // no FMA or reassociation may touch it). floor follows from that rounding.
  float half = w * 0.5f;
  const float lo_h = lof * 0.5f - 1.0f, hi_h = hif * 0.5f + 1.0f;
  half = half < lo_h ? lo_h : half;
  half = half > hi_h ? hi_h : half;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23
  const float rn = (half + kRound) - kRound;
  const float fl = rn > half ? rn - 1.0f : rn;
  float rf = Odd ? 2.0f * fl + 1.0f : 2.0f * rn;
  rf = rf < lof ? lof : rf;
  rf = rf > hif ? hif : rf;
  float af = (w >= rf) ? rf + 2.0f : rf - 2.0f;  // the neighbour on w's side ...
  af = af > hif ? rf - 2.0f : af;                // ... unless it leaves the box
  af = af < lof ? rf + 2.0f : af;
  const float d = w - rf;
  const float da = w - af;
  CoordChoice c;
  c.r = static_cast<int32_t>(rf);
  c.alt = static_cast<int32_t>(af);
  c.d2 = d * d;
  c.delta = da * da - c.d2;
  return c;
}

/// Exact nearest point of {v in coset^N ∩ [lo,hi]^N : Σ_i (v_i - Odd)/2 even} to w
/// (doubled units), for W independent blocks at once. This is D_N ∩ box for Odd = 0
/// and the half-integer E8 coset for Odd = 1 (whose coordinate-sum condition is the
/// same parity of (v_i - 1)/2, see e8.h). Method (Conway & Sloane, SPLAG ch. 20, the
/// D_n algorithm, made box-aware): take each coordinate's best in-box value; if the
/// parity is wrong, move the one coordinate whose runner-up costs least (the first
/// such coordinate on ties). Moving three or more never beats moving one.
/// `with_parity = false` drops the constraint (Z^N).
///
/// Layout: w and t are coordinate-major, element (i, lane) at [i*W + lane]; dist[lane]
/// receives ||w - t||^2 accumulated in coordinate order, plus the flip cost. W = 1 is
/// the single-block search the GPU runs per thread; the CPU runs W = 16 so the lane
/// loops vectorize. Both give identical bits.
template <int N, int W, int Odd>
KAKEYA_HD void nearest_parity_box(const float* w, int32_t lo, int32_t hi, bool with_parity,
                                  int32_t* t, float* dist) noexcept {
  const float lof = static_cast<float>(lo), hif = static_cast<float>(hi);
  float best_delta[W];
  int32_t flip[W], flip_val[W], parity[W];
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int l = 0; l < W; ++l) {  // coordinate 0 initialises the running state
    const CoordChoice c = choose_coord<Odd>(w[l], lof, hif);
    t[l] = c.r;
    dist[l] = c.d2;
    parity[l] = ((c.r - Odd) >> 1) & 1;
    best_delta[l] = c.delta;
    flip[l] = 0;
    flip_val[l] = c.alt;
  }
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int i = 1; i < N; ++i) {
    for (int l = 0; l < W; ++l) {
      const CoordChoice c = choose_coord<Odd>(w[i * W + l], lof, hif);
      t[i * W + l] = c.r;
      dist[l] = dist[l] + c.d2;
      parity[l] ^= ((c.r - Odd) >> 1) & 1;
      const bool better = c.delta < best_delta[l];  // strict: the first minimum wins
      best_delta[l] = better ? c.delta : best_delta[l];
      flip[l] = better ? i : flip[l];
      flip_val[l] = better ? c.alt : flip_val[l];
    }
  }
  if (with_parity) {
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int i = 0; i < N; ++i)
      for (int l = 0; l < W; ++l)
        t[i * W + l] = (parity[l] && flip[l] == i) ? flip_val[l] : t[i * W + l];
    for (int l = 0; l < W; ++l) dist[l] = parity[l] ? dist[l] + best_delta[l] : dist[l];
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
