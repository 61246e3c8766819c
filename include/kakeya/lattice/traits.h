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
/// best, so it differs by 2 and flips the coordinate's parity bit.
struct CoordChoice {
  int32_t r;
  int32_t alt;
  float d2;     // (w - r)^2
  float delta;  // (w - alt)^2 - (w - r)^2 >= 0
};

/// Nearest in-box even (odd = 0) or odd (odd = 1) integer to w, with its runner-up.
[[nodiscard]] KAKEYA_HD CoordChoice choose_coord(float w, int odd, int32_t lo, int32_t hi) noexcept {
  // Nearest value of the coset before clamping: 2*rint(w/2) (even) or 2*floor(w/2)+1
  // (odd); w/2 and the products are exact in float.
  const float half = w * 0.5f;
  float rf = odd ? 2.0f * floorf(half) + 1.0f : 2.0f * rintf(half);
  const float lof = static_cast<float>(lo), hif = static_cast<float>(hi);
  rf = rf < lof ? lof : (rf > hif ? hif : rf);
  float af = (w >= rf) ? rf + 2.0f : rf - 2.0f;  // the neighbour on w's side ...
  if (af > hif) af = rf - 2.0f;                    // ... unless it leaves the box
  if (af < lof) af = rf + 2.0f;
  const float d = w - rf;
  const float da = w - af;
  CoordChoice c;
  c.r = static_cast<int32_t>(rf);
  c.alt = static_cast<int32_t>(af);
  c.d2 = d * d;
  c.delta = da * da - c.d2;
  return c;
}

/// Exact nearest point of {v in coset^N ∩ [lo,hi]^N : sum_i (v_i - odd)/2 even} to w
/// (doubled units). This is D_N ∩ box for odd = 0 and the half-integer E8 coset for
/// odd = 1 (whose coordinate-sum condition is the same parity of (v_i - 1)/2, see
/// e8.h). Method (Conway & Sloane, SPLAG ch. 20, the D_n algorithm, made box-aware):
/// take each coordinate's best in-box value; if the parity is wrong, move the one
/// coordinate whose runner-up costs least. Moving three or more never beats one.
/// `with_parity = false` drops the constraint (Z^N). Returns ||w - t||^2.
template <int N>
[[nodiscard]] KAKEYA_HD float nearest_parity_box(const float* w, int odd, int32_t lo, int32_t hi,
                                                bool with_parity, int32_t* t) noexcept {
  float dist = 0.0f;
  float best_delta = 0.0f;
  int flip = -1;
  int32_t flip_val = 0;
  int32_t parity = 0;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int i = 0; i < N; ++i) {
    const CoordChoice c = choose_coord(w[i], odd, lo, hi);
    t[i] = c.r;
    dist += c.d2;
    parity ^= ((c.r - odd) >> 1) & 1;
    if (flip < 0 || c.delta < best_delta) {  // first minimum wins: deterministic ties
      best_delta = c.delta;
      flip = i;
      flip_val = c.alt;
    }
  }
  if (with_parity && parity) {
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int i = 0; i < N; ++i) t[i] = (i == flip) ? flip_val : t[i];
    dist += best_delta;
  }
  return dist;
}

}  // namespace detail
}  // namespace kakeya
