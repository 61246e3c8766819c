// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file e8v2.h
/// `e8v2` (format v2): zoned E8 Voronoi code. Design and measurements:
/// reports/2026-11-27-v2-research.md and reports/2026-11-27-e8v2.md; record layout:
/// format.h (E8V2Layout); tables: e8v2_tables.h. The NumPy reference (float64 encoder,
/// float32 decode) is tests/reference/e8v2_ref.py; codes are byte-identical to it and
/// decodes bit-identical (tests/golden/golden_e8v2_v1.json, golden_e8v2_fast_v1.json).
///
/// Exact rules (float64, in the reference's operation order; no FMA contraction):
///   σ_i = 1 − 2·(fmix32(i + 0x9E3779B9) & 1) (MurmurHash3 finaliser);
///   y = H(σ ⊙ x) / sqrt(h): block Walsh–Hadamard, stages 1, 2, 4, ... of (a + b, a − b),
///       then a division by sqrt(h), h = dim & −dim;
///   rms = sqrt(Σ y_i² / D), Σ in NumPy's pairwise order (e8v2_pairwise_sum);
///   i0 = clamp(rint(log2(rms)·8) + 128, 1, 255); scale candidates i0, i0 − 1, i0 + 1
///       (clamped; the first with the strictly smallest total error wins);
///       s(i) = 2^((i − 128)/8) from exact constants; u = y / s;
///   block k, zone z = J−1..0 (coarsest first; on equal error the smaller z): x = u / step[z],
///       p = NE8(x); if p is not a codeword and (step·dist_to_cell(x))² < best error so far,
///       p = the radial shrink NE8((1 − k/64)·x), k = 1.. up to the first codeword, then
///       kSearchRounds (1) round of best-improvement descent over the 240 root neighbours
///       that are codewords;
///       err = Σ (u_t − step·p_t)² (8-term pairwise order); total = (Σ_k err_k)·(s·s);
///   encoder "fast" (the reference's search = −1, scales = (0,); same record format): the
///       scale i0 alone, and a zone whose p is not a codeword is skipped unless it is the
///       coarsest, where the radial shrink runs without the descent (golden:
///       tests/golden/golden_e8v2_fast_v1.json);
///   decode (float32 after the codeword; decode contract v2, 2026-11-28): scale index 0 →
///       +0.0 everywhere; else c = q − Qc(q + TIE), q = Σ w_t A_t (exact, in units of ½);
///       per block the stages 1, 2, 4 of H on 2c in integers (exact), times the float32
///       f = fl32(((½·s)·step[z])/sqrt(h)) (block_factor; one rounding), then the stages
///       8, 16, ..., h/2 of H in float32 (hadamard.h's order), then σ (a negation).
/// Every record decodes to finite values (no reserved codes).

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kakeya/codec/diag.h"
#include "kakeya/codec/e8v2_tables.h"
#include "kakeya/codec/format.h"
#include "kakeya/codec/spec_fields.h"
#include "kakeya/error.h"
#include "kakeya/numeric/formats.h"
#include "kakeya/numeric/lanes.h"
#include "kakeya/transform/hadamard.h"


namespace kakeya {

namespace e8v2 {

/// Block configuration from the table: zone bits j, coarse lattice 2^m E8 or 2^m R E8.
struct BlockConfig {
  int32_t zone_bits;
  int32_t base;   ///< Voronoi bits
  int32_t m;
  bool re8;
  int32_t step0;  ///< first zone step in the step table
  bool fast;      ///< the fast encoder (E8V2Layout::fast)
};

[[nodiscard]] KAKEYA_HD double step(int32_t idx) noexcept {
#if defined(__CUDA_ARCH__)
  return detail::kE8V2StepsDevice[idx];
#else
  return detail::kE8V2Steps_[idx];
#endif
}

/// 2^e for |e| < 1000 (exact).
[[nodiscard]] KAKEYA_HD double exp2i_d(int e) noexcept {
  const uint64_t bits = static_cast<uint64_t>(e + 1023) << 52;
  double d;
  memcpy(&d, &bits, sizeof d);
  return d;
}

/// s(i) = 2^((i − 128)/8) as the correctly rounded double (2^(r/8) constants times 2^q).
[[nodiscard]] KAKEYA_HD double scale(int32_t i) noexcept {
  const double frac[8] = {0x1.0000000000000p+0, 0x1.172b83c7d517bp+0, 0x1.306fe0a31b715p+0,
                          0x1.4bfdad5362a27p+0, 0x1.6a09e667f3bcdp+0, 0x1.8ace5422aa0dbp+0,
                          0x1.ae89f995ad3adp+0, 0x1.d5818dcfba487p+0};
  const int32_t k = i - 128;
  return frac[k & 7] * exp2i_d(k >> 3);
}

/// The decoder's float32 factor of block k: f = fl32(((½·s)·step)/sqrt(h)) in float64
/// order (½·(s·step) = (½·s)·step exactly); the block's coordinates are f·(H₈ 2c).
[[nodiscard]] KAKEYA_HD float block_factor(double s, int32_t step_idx, double sqrt_h) noexcept {
  return static_cast<float>((0.5 * (s * step(step_idx))) / sqrt_h);
}

/// Largest RMS the scale grid takes: 2^15.875 · 4.
inline constexpr double kMaxRms = 0x1.d5818dcfba487p+17;

[[nodiscard]] KAKEYA_HD constexpr uint32_t fmix32(uint32_t h) noexcept {
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  h ^= h >> 16;
  return h;
}

/// 1 when σ_i = −1.
[[nodiscard]] KAKEYA_HD constexpr uint32_t sign_bit(int32_t i) noexcept {
  return fmix32(static_cast<uint32_t>(i) + 0x9E3779B9u) & 1u;
}

/// ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)): NumPy's sum of 8 float64 (per lane).
template <class D>
[[nodiscard]] KAKEYA_HD D sum8(const D* a) noexcept {
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/// NumPy's pairwise sum of n (a multiple of 8) float64, n <= 128: 8 accumulators.
// aarch64 GCC 12-14 inlines this into e8v2_encode_lanes and warns that a[0..7] "may be used
// uninitialized": the caller fills a[0, dim) with dim >= 32, which GCC does not track.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
[[nodiscard]] KAKEYA_HD double pairwise_block(const double* a, int32_t n) noexcept {
  double r[8];
  for (int t = 0; t < 8; ++t) r[t] = a[t];
  for (int32_t i = 8; i < n; i += 8)
    for (int t = 0; t < 8; ++t) r[t] += a[i + t];
  return sum8(r);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/// NumPy's pairwise summation (numpy/_core/src/umath/loops_utils.h.src) of n float64,
/// n a multiple of 8, n <= 2^(7 + Depth).
template <int Depth>
[[nodiscard]] KAKEYA_HD double pairwise_sum(const double* a, int32_t n) noexcept {
  if constexpr (Depth == 0) {
    return pairwise_block(a, n);
  } else {
    if (n <= 128) return pairwise_block(a, n);
    int32_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise_sum<Depth - 1>(a, n2) + pairwise_sum<Depth - 1>(a + n2, n - n2);
  }
}

/// In-place orthonormal block Walsh–Hadamard (the reference's fwht) on dim doubles: stages
/// of stride 1, 2, 4, ... < h, then a division by sqrt(h).
KAKEYA_HD void fwht(double* y, int32_t dim, int32_t h) noexcept {
  for (int32_t o = 0; o < dim; o += h)
    for (int32_t st = 1; st < h; st *= 2) fwht_stage(y + o, h, st);  // transform/hadamard.h
  const double r = sqrt(static_cast<double>(h));
  for (int32_t i = 0; i < dim; ++i) y[i] = y[i] / r;
}

namespace lanes {
using namespace ::kakeya::lanes;  // the generic helpers (numeric/lanes.h)
/// Lane kinds of point2_lanes / coarse_frame: per-lane select, all 2^m E8, all 2^m R E8.
inline constexpr int kMixed = 0, kG = 1, kR = 2;
/// The R E8 value r or the E8 value g of each lane.
template <int Kind, class V>
[[nodiscard]] KAKEYA_HD V pick(const V& re8, const V& r, const V& g) noexcept {
  if constexpr (Kind == kR) {
    return r;
  } else if constexpr (Kind == kG) {
    return g;
  } else {
    return select(re8, r, g);
  }
}
}  // namespace lanes

/// Nearest D8 point (the reference's nearest_d8: rint, then fix the parity at the
/// first coordinate of largest |x − r|, towards x; e ≥ 0 steps up), per lane of D.
template <class D>
KAKEYA_HD void nearest_d8(const D* x, D* r) noexcept {
  using namespace lanes;
  using M = MaskOf<D>;
  D sum = dbcast<D>(0.0);  // integers below 2^16: exact
  for (int t = 0; t < 8; ++t) {
    r[t] = drint(x[t]);
    sum += r[t];
  }
  const M odd = dodd(sum);
  if constexpr (std::is_floating_point_v<D>) {
    if (!odd) return;
  }
  D e[8], mx = dbcast<D>(0.0);
  for (int t = 0; t < 8; ++t) {
    e[t] = dabs(x[t] - r[t]);
    mx = e[t] > mx ? e[t] : mx;
  }
  M done = mnot(odd);
  for (int t = 0; t < 8; ++t) {  // the first largest
    const M hit = (e[t] == mx) & mnot(done);
    const D up = x[t] - r[t] >= dbcast<D>(0.0) ? dbcast<D>(1.0) : dbcast<D>(-1.0);
    r[t] += hit ? up : dbcast<D>(0.0);
    done = done | hit;
  }
}

/// Nearest E8 point (D8 ∪ D8 + ½; the coset with the strictly smaller distance, else
/// D8), per lane of D.
template <class D>
KAKEYA_HD void nearest_e8(const D* x, D* out) noexcept {
  D a[8], b[8], xm[8], da[8], db[8];
  nearest_d8(x, a);
  for (int t = 0; t < 8; ++t) xm[t] = x[t] - 0.5;
  nearest_d8(xm, b);
  for (int t = 0; t < 8; ++t) {
    b[t] += 0.5;
    const D ea = x[t] - a[t], eb = x[t] - b[t];
    da[t] = ea * ea;
    db[t] = eb * eb;
  }
  const auto use_b = sum8(db) < sum8(da);
  for (int t = 0; t < 8; ++t) out[t] = use_b ? b[t] : a[t];
}

/// The tie-break offset TIE = c / 4096: tie_num(t) = c.
[[nodiscard]] KAKEYA_HD int64_t tie_num(int t) noexcept {
  const int16_t c[8] = {9, 11, 30, 52, 125, 7, 4, 3};
  return c[t];
}


/// Nearest E8 point to z = Z / 2^sh (the reference's nearest_e8 on a dyadic point,
/// exactly, in integers), lane-wise, as doubled coordinates n2 = 2·n. Every z the codec
/// forms here is (q + TIE)/2^m with q a half-integer point (or the R-rotated sums of two
/// such coordinates): neither z nor z − ½ has a coordinate at a half-integer (the TIE
/// numerators and their pairwise sums and differences are not multiples of 2048), so
/// rounding never meets a tie and rint(z) = floor(z + ½). The two candidates a ∈ D8 and
/// b + ½ ∈ D8 + ½ are compared exactly without squares: |z − a|² − |z − b − ½|² =
/// ½·2^−2sh·Σ_t (2(b_t − a_t) + 1)·(e_a,t + e_b,t), e the residuals in units of 2^−sh.
/// int32 lanes are exact for every block of the table (digits < 2^8, so |Z| < 2^25, each
/// residual ≤ 2^sh ≤ 2^21 and |2(b − a) + 1| ≤ 3; tests/cpp/test_e8v2.cpp checks the
/// extremes). `>>` on a negative value is the arithmetic (flooring) shift, as C++20
/// requires and as GCC, Clang and NVCC already do.
template <class V>
KAKEYA_HD void nearest_e8_dyadic(const V* Z, const V& sh, V* n2) noexcept {
  using namespace lanes;
  const V one = bcast<V>(1) << sh, half = one >> 1, zero = bcast<V>(0);
  V a[8], b[8], ea[8], eb[8];
  V pa = zero, pb = zero;
  for (int t = 0; t < 8; ++t) {
    a[t] = (Z[t] + half) >> sh;  // D8 candidate: rint(z)
    b[t] = Z[t] >> sh;           // D8 + ½ candidate: rint(z − ½) = floor(z)
    pa += a[t];
    pb += b[t];
    ea[t] = Z[t] - a[t] * one;
    eb[t] = Z[t] - half - b[t] * one;
  }
  // Parity fix (nearest_d8) where the sum is odd: the first coordinate of largest |e|
  // (the largest key |e|·8 + 7 − t; |e| ≤ 2^21) moves one step towards z.
  const auto fix = [&](V* r, V* e, const V& odd) {
    V key[8];
    V mk = zero;
    for (int t = 0; t < 8; ++t) {
      key[t] = (vabs(e[t]) << 3) | (7 - t);
      mk = vmax(mk, key[t]);
    }
    for (int t = 0; t < 8; ++t) {
      const V step = eq(key[t], mk) & odd & ((e[t] >> 31) | 1);  // +1 where e >= 0, −1 where e < 0
      r[t] += step;
      e[t] -= step * one;
    }
  };
  fix(a, ea, -(pa & 1));
  fix(b, eb, -(pb & 1));
  V acc = zero;
  for (int t = 0; t < 8; ++t) {
    const V d = b[t] - a[t];
    acc += (d + d + 1) * (ea[t] + eb[t]);
  }
  const V use_b = positive(acc);  // strictly nearer; equal: D8
  for (int t = 0; t < 8; ++t) n2[t] = select(use_b, b[t] + b[t] + 1, a[t] + a[t]);
}

/// The coarse-lattice frame of v = q + TIE (q given doubled, q2 = 2q), lane-wise: z = v in
/// units of 1/4096 for 2^m E8, z = vR (pairs (a + b, a − b)) for 2^m R E8 (mask re8);
/// returns sh such that Z / 2^sh are the coordinates in which the coarse lattice is E8.
template <int Kind = lanes::kMixed, class V>
KAKEYA_HD V coarse_frame(const V* q2, const V& m, const V& re8, V* z) noexcept {
  V v[8];
  for (int t = 0; t < 8; ++t) v[t] = 2048 * q2[t] + static_cast<int32_t>(tie_num(t));
  for (int t = 0; t < 8; t += 2) {
    z[t] = lanes::pick<Kind>(re8, v[t] + v[t + 1], v[t]);
    z[t + 1] = lanes::pick<Kind>(re8, v[t] - v[t + 1], v[t + 1]);
  }
  return m + 12 + (re8 & 1);
}

[[nodiscard]] KAKEYA_HD int32_t re8_mask(const BlockConfig& c) noexcept { return c.re8 ? -1 : 0; }

/// Doubled coarse coordinates n2 = 2·n of the E8 point n with Qc(v) = 2^m n (2^m E8) or
/// 2^m (n R) (2^m R E8) nearest to v = q + TIE, q given doubled (q2 = 2q, integers).
KAKEYA_HD void coarse_coords(const int64_t* q2, const BlockConfig& c, int64_t* n2) noexcept {
  int32_t q[8], z[8], n[8];
  for (int t = 0; t < 8; ++t) q[t] = static_cast<int32_t>(q2[t]);
  const int32_t sh = coarse_frame<lanes::kMixed, int32_t>(q, c.m, re8_mask(c), z);
  nearest_e8_dyadic<int32_t>(z, sh, n);
  for (int t = 0; t < 8; ++t) n2[t] = n[t];
}

/// 2·max over the 240 roots r of v·r, for an integer vector v: the larger of 2(a₁ + a₂)
/// (a₁ ≥ a₂ the two largest |v_t|; roots ±e_i ± e_j) and Σ|v_t| − (odd number of negative
/// v_t ? 2·min|v_t| : 0) (roots ½(±1)⁸ with an even number of minus signs). No sorting.
template <class V>
[[nodiscard]] KAKEYA_HD V max_root_dot2(const V* v) noexcept {
  V sum = lanes::bcast<V>(0), m1 = sum, m2 = sum, mn = lanes::bcast<V>(INT32_MAX), neg = sum;  // |v| < 2^31
  for (int t = 0; t < 8; ++t) {
    const V a = lanes::vabs(v[t]);
    sum += a;
    mn = a < mn ? a : mn;
    neg ^= v[t] < lanes::bcast<V>(0);  // lanes: −1 / 0; one lane: 1 / 0
    const V lo = a < m1 ? a : m1;
    m2 = lo > m2 ? lo : m2;
    m1 = a > m1 ? a : m1;
  }
  const V pair2 = 2 * (m1 + m2), half2 = sum - (2 * mn & -(neg & 1));
  return pair2 > half2 ? pair2 : half2;
}

/// Every zone step is at least 1/128 (contains_lanes' int32 bound).
[[nodiscard]] constexpr bool e8v2_steps_above(double lo) noexcept {
  for (double v : detail::kE8V2Steps_)
    if (!(v >= lo)) return false;
  return true;
}
static_assert(e8v2_steps_above(1.0 / 128), "e8v2 zone steps below 1/128 break contains_lanes' int32 bound");

/// contains2 per lane (Kind: the block's coarse lattice): a mask for vectors, 1 / 0 for
/// one int64. Int32 lanes are exact: |p| < 2^13 here (|u| ≤ 32·2^(3/16), every zone
/// step ≥ 1/128), so |z| < 2^26 and Σ|z| < 2^29.
template <int Kind, class V>
[[nodiscard]] KAKEYA_HD V contains_lanes(const V* p2, const BlockConfig& c) noexcept {
  V z[8];
  const V sh = coarse_frame<Kind>(p2, lanes::bcast<V>(c.m), lanes::bcast<V>(re8_mask(c)), z);
  return max_root_dot2(z) < (lanes::bcast<V>(1) << (sh + 1));
}

/// Whether the E8 point p (given doubled, p2 = 2p) is a codeword: Qc(p + TIE) = 0
/// (equivalent to the reference's point(digits(p)) == p, since Qc commutes with
/// coarse-lattice shifts). Qc(v) = 0 exactly when v lies in the open Voronoi cell of 0,
/// whose facets come from the 240 roots: v·r < 2^m for 2^m E8, (vR)·r < 2^(m+1) for
/// 2^m R E8. No v meets a facet (v·r = bound needs c·r = 0 for the TIE numerators c, or
/// (cR)·r = 0, and no root gives 0: checked by tests/cpp/test_e8v2.cpp against
/// coarse_coords), so this test and the nearest-point decoder of coarse_coords agree.
[[nodiscard]] KAKEYA_HD bool contains2(const int64_t* p2, const BlockConfig& c) noexcept {
  return contains_lanes<lanes::kMixed, int64_t>(p2, c) != 0;  // the cell of 0: max_r z·r < 2^sh
}


/// contains2 for a point held as doubles (half-integers).
[[nodiscard]] KAKEYA_HD bool contains(const double* p, const BlockConfig& c) noexcept {
  int64_t p2[8];
  for (int t = 0; t < 8; ++t) p2[t] = static_cast<int64_t>(2.0 * p[t]);
  return contains2(p2, c);
}

/// Digit width t of a block.
[[nodiscard]] KAKEYA_HD int32_t digit_width(const BlockConfig& c, int t) noexcept {
  return c.re8 && t >= 4 ? c.m + 1 : c.m;
}

/// 2·A (A = G_E8 or A_RE8 of the reference, rows), integers.
[[nodiscard]] KAKEYA_HD int32_t basis2(bool re8, int i, int t) noexcept {
  const int8_t g[8][8] = {{4, 0, 0, 0, 0, 0, 0, 0},   {-2, 2, 0, 0, 0, 0, 0, 0}, {0, -2, 2, 0, 0, 0, 0, 0},
                          {0, 0, -2, 2, 0, 0, 0, 0},  {0, 0, 0, -2, 2, 0, 0, 0}, {0, 0, 0, 0, -2, 2, 0, 0},
                          {0, 0, 0, 0, 0, -2, 2, 0},  {1, 1, 1, 1, 1, 1, 1, 1}};
  const int8_t r[8][8] = {{0, 2, 0, -2, 0, 2, 0, 2}, {0, 0, 0, 0, 4, 0, 0, 0},  {2, 0, 2, 0, 0, -2, 0, 2},
                          {0, 0, 2, 2, 0, 0, 2, 2},  {0, 0, 0, 0, 0, 0, 2, -2}, {2, 0, 0, 0, 0, 0, 2, 0},
                          {1, 1, 1, 1, 1, 1, 1, 1},  {2, 0, 0, 0, -2, 0, 0, 0}};
  return re8 ? r[i][t] : g[i][t];
}

/// 2·A⁻¹, integers.
[[nodiscard]] KAKEYA_HD int32_t basis_inv2(bool re8, int i, int t) noexcept {
  const int8_t g[8][8] = {{1, 0, 0, 0, 0, 0, 0, 0},      {1, 2, 0, 0, 0, 0, 0, 0},
                          {1, 2, 2, 0, 0, 0, 0, 0},      {1, 2, 2, 2, 0, 0, 0, 0},
                          {1, 2, 2, 2, 2, 0, 0, 0},      {1, 2, 2, 2, 2, 2, 0, 0},
                          {1, 2, 2, 2, 2, 2, 2, 0},      {-7, -12, -10, -8, -6, -4, -2, 4}};
  const int8_t r[8][8] = {{0, 1, 0, 0, 0, 0, 0, 2},      {-2, -7, 2, -6, -2, 4, 8, -10},
                          {2, 5, 0, 4, 4, -6, -4, 8},    {-2, -3, 0, -2, -2, 2, 4, -4},
                          {0, 1, 0, 0, 0, 0, 0, 0},      {2, 5, -2, 4, 2, -4, -4, 8},
                          {0, -1, 0, 0, 0, 2, 0, -2},    {0, -1, 0, 0, -2, 2, 0, -2}};
  return re8 ? r[i][t] : g[i][t];
}

/// out = in · M with M = 2·A⁻¹ (Inv) or 2·A (!Inv) of the block's lattice, integers (A:
/// int64_t or int32 lanes); constant-folded (the loops unroll, so the tables are never
/// materialised).
template <bool RE8, bool Inv, class A>
KAKEYA_HD void basis_mul(const A* in, A* out) noexcept {
  KAKEYA_UNROLL
  for (int t = 0; t < 8; ++t) {
    A acc = lanes::bcast<A>(0);
    KAKEYA_UNROLL
    for (int i = 0; i < 8; ++i) {
      const int32_t k = Inv ? basis_inv2(RE8, i, t) : basis2(RE8, i, t);
      if (k != 0) acc += in[i] * k;
    }
    out[t] = acc;
  }
}

/// Digits of the coset of the E8 point p (exact: k = p A⁻¹, w = k mod 2^width).
KAKEYA_HD void digits(const double* p, const BlockConfig& c, uint32_t* w) noexcept {
  int64_t P[8], acc[8];
  for (int i = 0; i < 8; ++i) P[i] = static_cast<int64_t>(2.0 * p[i]);
  if (c.re8)
    basis_mul<true, true>(P, acc);
  else
    basis_mul<false, true>(P, acc);
  for (int t = 0; t < 8; ++t) {
    const int64_t k = acc[t] / 4;  // exact: p A⁻¹ is an integer vector
    w[t] = static_cast<uint32_t>(k) & ((1u << digit_width(c, t)) - 1u);
  }
}

/// The codewords of digits w, lane-wise: q − Qc(q + TIE), q = Σ w_i A_i (exact, integers),
/// doubled; m and the mask re8 give each lane's coarse lattice.
/// Kind: lanes::kG / kR when every lane has a 2^m E8 / 2^m R E8 coarse lattice (the
/// other kind's arithmetic is skipped), kMixed to select per lane by the mask re8.
template <int Kind = lanes::kMixed, class V>
KAKEYA_HD void point2_lanes(const V* w, const V& m, const V& re8, V* out2) noexcept {
  V q2[8];
  if constexpr (std::is_integral_v<V> && Kind == lanes::kMixed) {  // one block: its own lattice only
    if (re8)
      basis_mul<true, false>(w, q2);
    else
      basis_mul<false, false>(w, q2);
  } else if constexpr (Kind == lanes::kMixed) {  // both products, then a select
    V g[8], r[8];
    basis_mul<false, false>(w, g);
    basis_mul<true, false>(w, r);
    for (int t = 0; t < 8; ++t) q2[t] = lanes::select(re8, r[t], g[t]);
  } else {
    basis_mul<Kind == lanes::kR, false>(w, q2);
  }
  V z[8], n2[8];
  const V sh = coarse_frame<Kind>(q2, m, re8, z);
  nearest_e8_dyadic(z, sh, n2);
  const V s = lanes::bcast<V>(1) << m;
  for (int t = 0; t < 8; t += 2) {
    const V r0 = n2[t] + n2[t + 1], r1 = n2[t] - n2[t + 1];  // n R, the 2^m R E8 point
    out2[t] = q2[t] - s * lanes::pick<Kind>(re8, r0, n2[t]);
    out2[t + 1] = q2[t + 1] - s * lanes::pick<Kind>(re8, r1, n2[t + 1]);
  }
}

/// The codeword of digits w: q − Qc(q + TIE), q = Σ w_i A_i (exact, integers), doubled.
KAKEYA_HD void point2(const uint32_t* w, const BlockConfig& c, int64_t* out2) noexcept {
  int32_t wi[8], o[8];
  for (int t = 0; t < 8; ++t) wi[t] = static_cast<int32_t>(w[t]);
  point2_lanes<lanes::kMixed, int32_t>(wi, c.m, re8_mask(c), o);
  for (int t = 0; t < 8; ++t) out2[t] = o[t];
}

/// max over the 240 roots r of x·r, per lane: the larger of a₇ + a₆ and ½Σa − (odd
/// number of negative x_t ? a₀ : 0), a = |x| sorted ascending (a 19-comparator network;
/// the sum runs over the sorted values in sum8's order).
template <class D>
[[nodiscard]] KAKEYA_HD D max_root_dot(const D* x) noexcept {
  using namespace lanes;
  D a[8];
  const D zero = dbcast<D>(0.0);  // (vector operands: GCC scalarises vector-scalar compares in target() functions)
  MaskOf<D> neg = x[0] < zero;
  for (int t = 0; t < 8; ++t) a[t] = dabs(x[t]);
  for (int t = 1; t < 8; ++t) neg = neg ^ (x[t] < zero);
  const auto cs = [&](int i, int j) {  // compare-exchange; literal indices keep a[] in registers
    const D lo = a[j] < a[i] ? a[j] : a[i], hi = a[j] < a[i] ? a[i] : a[j];
    a[i] = lo;
    a[j] = hi;
  };
  cs(0, 2), cs(1, 3), cs(4, 6), cs(5, 7), cs(0, 4), cs(1, 5), cs(2, 6), cs(3, 7), cs(0, 1), cs(2, 3);
  cs(4, 5), cs(6, 7), cs(2, 4), cs(3, 5), cs(1, 4), cs(3, 6), cs(1, 2), cs(3, 4), cs(5, 6);
  const D pair = a[7] + a[6];
  const D half = 0.5 * sum8(a) - (neg ? a[0] : dbcast<D>(0.0));
  return pair > half ? pair : half;
}

/// Lower bound on the distance from x (lattice units) to the coarse Voronoi cell, per lane.
template <class D>
[[nodiscard]] KAKEYA_HD D dist_to_cell(const D* x, const BlockConfig& c) noexcept {
  const D zero = lanes::dbcast<D>(0.0);
  if (c.re8) {
    D xr[8];
    for (int t = 0; t < 8; t += 2) {
      xr[t] = x[t] + x[t + 1];
      xr[t + 1] = x[t] - x[t + 1];
    }
    const D d = max_root_dot(xr) - exp2i_d(c.m + 1);
    return (d > zero ? d : zero) / 2.0;
  }
  const D d = max_root_dot(x) - exp2i_d(c.m);
  return (d > zero ? d : zero) / 0x1.6a09e667f3bcdp+0;
}

[[nodiscard]] KAKEYA_HD double dist2(const double* x, const double* p) noexcept {
  double e[8];
  for (int t = 0; t < 8; ++t) {
    const double d = x[t] - p[t];
    e[t] = d * d;
  }
  return sum8(e);
}

/// Rounds of root-neighbour descent (the reference encoder's default `search`).
inline constexpr int kSearchRounds = 1;

/// Root r_k (k = 0..239) in nearest_outside's order: the pairs ±e_i ± e_j (i < j; signs
/// (+,+), (+,−), (−,+), (−,−)), then ½(±1)⁸ with an even number of minus signs by
/// increasing pattern (the q-th such pattern is 2q + parity(q)).
KAKEYA_HD constexpr void root_offsets(int k, double* r) noexcept {
  if (k < 112) {
    int q = k >> 2, i = 0;
    while (q >= 7 - i) {
      q -= 7 - i;
      ++i;
    }
    for (int t = 0; t < 8; ++t) r[t] = 0.0;
    r[i] = (k & 3) < 2 ? 1.0 : -1.0;
    r[i + 1 + q] = (k & 1) ? -1.0 : 1.0;
    return;
  }
  const int q = k - 112;
  int par = 0;
  for (int t = 0; t < 7; ++t) par ^= (q >> t) & 1;
  const int pat = (q << 1) | par;
  for (int t = 0; t < 8; ++t) r[t] = ((pat >> t) & 1) ? -0.5 : 0.5;
}

/// The squared distances from x to the 240 candidates p + r_k, W at a time (CPU vector
/// path, defined with it below).
template <int W>
inline void root_neighbour_dists(const double* x, const double* p, double* d) noexcept;
/// cand = p + r_k from the same table.
template <int W>
inline void root_neighbour(const double* p, int k, double* cand) noexcept;
/// The radial shrink of nearest_outside for k = k0 .. k0 + W − 1 at once: p = NE8((1 −
/// k/64)·x) for the first such k whose point is a codeword (true), else for k0 + W − 1.
template <int W>
inline bool shrink_lanes(const double* x, const BlockConfig& c, int k0, double* p) noexcept;

/// The reference's _nearest_codeword_outside: p = NE8(x) is not a codeword. W = 0: one
/// candidate at a time; W = 4 or 8 (CPU vectors): the 240 candidate distances W at a time
/// first, then the same scan in the same order.
template <int W = 0>
KAKEYA_HD void nearest_outside(const double* x, const BlockConfig& c, double* p, int rounds = kSearchRounds) noexcept {
  if constexpr (W != 0) {
    for (int k0 = 1; k0 <= 64; k0 += W)
      if (shrink_lanes<W>(x, c, k0, p)) break;
  } else {
    double xs[8];
    for (int k = 1; k <= 64; ++k) {
      const double lam = 1.0 - k / 64.0;
      for (int t = 0; t < 8; ++t) xs[t] = lam * x[t];
      nearest_e8(xs, p);
      if (contains(p, c)) break;
    }
  }
  double cur = dist2(x, p);
  for (int round = 0; round < rounds; ++round) {
    double bestd = INFINITY, best[8] = {0, 0, 0, 0, 0, 0, 0, 0}, cand[8], r[8];
    bool found = false;
    double dk[W != 0 ? 240 : 1];
    if constexpr (W != 0) root_neighbour_dists<W>(x, p, dk);
    // Only candidates closer than both the best so far and cur can change the outcome
    // (first strict minimum over the codewords, then "< cur"), so the costly codeword
    // test runs on those alone: the result is the reference's.
    for (int k = 0; k < 240; ++k) {
      if constexpr (W != 0)
        if (!(dk[k] < bestd) || !(dk[k] < cur)) continue;  // skips building most candidates
      if constexpr (W != 0) {
        root_neighbour<W>(p, k, cand);
      } else {
        root_offsets(k, r);
        for (int t = 0; t < 8; ++t) cand[t] = p[t] + r[t];
      }
      const double d = W != 0 ? dk[k] : dist2(x, cand);
      if (!(d < bestd) || !(d < cur) || !contains(cand, c)) continue;
      bestd = d;
      found = true;
      for (int t = 0; t < 8; ++t) best[t] = cand[t];
    }
    if (!(found && bestd < cur)) break;
    for (int t = 0; t < 8; ++t) p[t] = best[t];
    cur = bestd;
  }
}

/// Σ_t (u_t − st·p_t)² in sum8's order, per lane of D.
template <class D>
[[nodiscard]] KAKEYA_HD D block_err(const double* u, const D& st, const D* p) noexcept {
  D e[8];
  for (int t = 0; t < 8; ++t) {
    const D r = u[t] - st * p[t];
    e[t] = r * r;
  }
  return sum8(e);
}

/// The zone choice of the block u (units of the vector scale): zones coarsest first, the
/// smallest error (equal error: the smaller z). Three views of zone z:
///   inside(z, err)   whether NE8(u/step) is a codeword, with its error err if so;
///   outside(z, x, d) otherwise: x = u/step and d = step·dist_to_cell(x), a lower bound on
///                    the error of every codeword of the zone; the outside search runs only
///                    while d² is below the best error so far (and, for the fast encoder,
///                    only in the coarsest zone, as the radial shrink without the descent);
///   point(z, p)      p = NE8(u/step) of an inside zone, asked once, for the winner.
/// Returns the error; best_p gets the codeword.
template <int W = 0, class Inside, class Outside, class Point>
[[nodiscard]] KAKEYA_HD double pick_zone(const double* u, const BlockConfig& c, int32_t& zone, double* best_p,
                                         const Inside& inside, const Outside& outside,
                                         const Point& point) noexcept {
  double best_err = INFINITY;
  bool best_inside = false;
  zone = 0;
  for (int t = 0; t < 8; ++t) best_p[t] = 0.0;
  const int32_t nz = 1 << c.zone_bits;
  for (int32_t z = nz - 1; z >= 0; --z) {
    double err = 0.0;
    if (inside(z, err)) {
      if (err <= best_err) {
        best_err = err;
        zone = z;
        best_inside = true;
      }
      continue;
    }
    if (c.fast && z != nz - 1) continue;  // fast: outside points only in the coarsest zone
    double x[8], p[8], d = 0.0;
    outside(z, x, d);
    if (!(d * d < best_err)) continue;
    nearest_outside<W>(x, c, p, c.fast ? 0 : kSearchRounds);  // fast: shrink, no descent
    err = block_err(u, step(c.step0 + z), p);
    if (err <= best_err) {
      best_err = err;
      zone = z;
      best_inside = false;
      for (int t = 0; t < 8; ++t) best_p[t] = p[t];
    }
  }
  if (best_inside) point(zone, best_p);
  return best_err;
}

/// Best (zone, codeword) of the zoned code for the block u, one zone at a time.
/// Returns the squared error.
[[nodiscard]] KAKEYA_HD double encode_block(const double* u, const BlockConfig& c, int32_t& zone,
                                            double* best_p) noexcept {
  double x[8], p[8];
  const auto zone_point = [&](int32_t z, double* xo, double* po) {
    const double st = step(c.step0 + z);
    for (int t = 0; t < 8; ++t) xo[t] = u[t] / st;
    nearest_e8(xo, po);
    return st;
  };
  return pick_zone(
      u, c, zone, best_p,
      [&](int32_t z, double& err) {
        const double st = zone_point(z, x, p);
        if (!contains(p, c)) return false;
        err = block_err(u, st, p);
        return true;
      },
      [&](int32_t z, double* xo, double& d) {  // called right after inside(z) said no: x is zone z's
        for (int t = 0; t < 8; ++t) xo[t] = x[t];
        d = step(c.step0 + z) * dist_to_cell(x, c);
      },
      [&](int32_t z, double* po) {  // the winner: recomputed (the same operations)
        double xo[8];
        (void)zone_point(z, xo, po);
      });
}

[[nodiscard]] KAKEYA_HD BlockConfig block_config(const E8V2Layout& l, int32_t k) noexcept {
  BlockConfig c;
  c.zone_bits = l.zone_bits[k];
  c.base = l.block_bits[k] - c.zone_bits;
  c.m = c.base >> 3;
  c.re8 = (c.base & 4) != 0;
  c.step0 = l.step0[k];
  c.fast = l.fast;
  return c;
}

}  // namespace e8v2

#if defined(KAKEYA_LANES) && !defined(KAKEYA_E8V2_NO_LANES)
/// The CPU vector paths: the decoder runs 16 or 8 blocks at a time and the encoder 8 or 4
/// zones at a time, one per lane of GCC/Clang vectors (numeric/lanes.h), compiled for the
/// ISA of each batch loop (cpu/isa.h; 8 double lanes with AVX-512, 4 with AVX2). Same
/// arithmetic as the one-block / one-zone path (the CUDA kernels' code), operation for
/// operation, so codes and decoded bits are identical (tests/cpp/test_e8v2.cpp compares them).
#define KAKEYA_E8V2_LANES 1
namespace e8v2 {
using lanes::LaneTypes;
using lanes::load_vec;

/// σ as ±1.0f for coordinates 0..kE8V2MaxDim−1.
struct SignTable {
  float v[kE8V2MaxDim];
};
[[nodiscard]] constexpr SignTable make_sign_table() noexcept {
  SignTable t{};
  for (int32_t i = 0; i < kE8V2MaxDim; ++i) t.v[i] = sign_bit(i) ? -1.0f : 1.0f;
  return t;
}
inline constexpr SignTable kSigns = make_sign_table();

/// The whole decoder, WI blocks per step (16 with AVX-512, else 8), one per int32 lane:
/// digits → codewords c2 = 2c (point2_lanes) → stages 1, 2, 4 inside each block in int32
/// (exact) → f_k·c2 in float32 (f_k = block_factor, one rounding) → a transpose per 8
/// blocks and stages 8, 16, 32 between blocks in registers → stages ≥ 64 over the vector
/// (fwht_stages, float32) → signs: the operations of the decode rule in the file comment,
/// so the bits are those of e8v2_decode_blocks.
template <int WI, class Out>
KAKEYA_HD void decode_lanes(const E8V2Layout& l, const uint8_t* rec, Out* out) noexcept {
  typedef typename LaneTypes<WI>::I32 I32;
  typedef typename LaneTypes<WI>::U64 U64;
  typedef typename LaneTypes<WI>::F32 F32W;
  typedef typename LaneTypes<8>::F32 F8;
  alignas(64) uint8_t buf[kE8V2MaxDim * 33 / 32 + 16];  // records hold at most 8.25 bits/coord
  memcpy(buf, rec, static_cast<size_t>(l.code_bytes));
  memset(buf + l.code_bytes, 0, 16);
  alignas(64) float y[kE8V2MaxDim];
  const int32_t h = l.hadamard_p;
  const int32_t i = rec[0];
  if (i == 0) {
    for (int32_t j = 0; j < l.dim; ++j) out[j] = element<Out>::from_float(0.0f);
    return;
  }
  const double s = scale(i), r = sqrt(static_cast<double>(h));
  for (int32_t k0 = 0; k0 < l.nblocks; k0 += WI) {
    // Per lane: the 128 stream bits from the byte of the block's zone field, its bit
    // offset there, its coarse lattice (m, R E8 or not); padding lanes (past nblocks,
    // where the layout holds zeros) read byte 0 and decode zeros.
    typedef typename LaneTypes<WI>::U16 U16x8;
    typedef typename LaneTypes<WI>::U8 U8x8;
    const int32_t nl = l.nblocks - k0 < WI ? l.nblocks - k0 : WI;
    I32 iota;
    for (int ln = 0; ln < WI; ++ln) iota[ln] = ln;
    const I32 valid = iota < lanes::bcast<I32>(nl);
    const I32 pos = __builtin_convertvector(load_vec<U16x8>(l.block_pos + k0), I32) & valid;
    const I32 zbits = __builtin_convertvector(load_vec<U8x8>(l.zone_bits + k0), I32) & valid;
    const I32 base = (__builtin_convertvector(load_vec<U8x8>(l.block_bits + k0), I32) & valid) - zbits;
    const I32 m = base >> 3, r1 = (base >> 2) & 1, re8 = -r1;
    alignas(64) uint64_t lo[WI], hi[WI];
    alignas(32) int32_t byte[WI];
    const I32 bytev = pos >> 3;
    memcpy(byte, &bytev, sizeof byte);
    for (int ln = 0; ln < WI; ++ln) {
      memcpy(&lo[ln], buf + byte[ln], 8);
      memcpy(&hi[ln], buf + byte[ln] + 8, 8);
    }
    const U64 lov = load_vec<U64>(lo), sh0 = __builtin_convertvector(pos & 7, U64);
    const U64 zb64 = __builtin_convertvector(zbits, U64);
    alignas(32) int32_t zi[WI];
    const I32 zv = __builtin_convertvector((lov >> sh0) & (((U64{} + 1) << zb64) - 1), I32) +
                   (__builtin_convertvector(load_vec<U16x8>(l.step0 + k0), I32) & valid);
    memcpy(zi, &zv, sizeof zi);
    alignas(64) float f[WI];
    alignas(32) int32_t rk[WI];
    memcpy(rk, &r1, sizeof rk);
    int nr = 0;
    for (int ln = 0; ln < WI; ++ln) {  // padding lanes: any finite f (their codeword is 0)
      f[ln] = block_factor(s, zi[ln], r);
      nr += rk[ln];
    }
    // Digit t of every lane: width m (+1 for t ≥ 4 in 2^m R E8), at bit t·m (+ t − 4)
    // after the zone field (1..5 bits; padding lanes: 0), so the window shift S is 0..12.
    const U64 S = sh0 + zb64;
    const U64 bv = (lov >> S) | ((load_vec<U64>(hi) << 1) << (63 - S));
    const U64 m64 = __builtin_convertvector(m, U64), w64 = m64 + __builtin_convertvector(r1, U64);
    const U64 mask_lo = ((U64{} + 1) << m64) - 1, mask_hi = ((U64{} + 1) << w64) - 1;
    I32 w[8];
    U64 off = U64{} + 0;
    for (int t = 0; t < 8; ++t) {
      w[t] = __builtin_convertvector((bv >> off) & (t < 4 ? mask_lo : mask_hi), I32);
      off += t < 4 ? m64 : w64;
    }
    I32 p[8];
    if (nr == 0)  // blocks are sorted by size, so most groups hold one lattice kind
      point2_lanes<lanes::kG>(w, m, re8, p);
    else if (nr == nl)
      point2_lanes<lanes::kR>(w, m, re8, p);
    else
      point2_lanes<lanes::kMixed>(w, m, re8, p);
    butterflies<8>(p);  // stages 1, 2, 4 of every block, exact in int32
    const F32W fv = load_vec<F32W>(f);
    alignas(64) float v[8][WI];
    for (int t = 0; t < 8; ++t) {
      const F32W vt = __builtin_convertvector(p[t], F32W) * fv;
      memcpy(v[t], &vt, sizeof vt);
    }
    for (int g0 = 0; g0 < WI && g0 < nl; g0 += 8) {  // 8 blocks: transpose, stages 8, 16, 32
      F8 u[8], rows[8][1], b[8];
      for (int t = 0; t < 8; ++t) u[t] = load_vec<F8>(&v[t][g0]);
      lanes::transpose<float>(u, rows);
      for (int ln = 0; ln < 8; ++ln) b[ln] = rows[ln][0];
      // blocks ln and ln ^ 1, 2, 4 where h ≥ 64; inside groups of h/8 blocks below (whole:
      // h divides dim, so padding blocks stay apart and are not stored)
      if (h >= 64) {
        butterflies<8>(b);
      } else if (h == 32) {
        butterflies<4>(b);
        butterflies<4>(b + 4);
      } else if (h == 16) {
        for (int g = 0; g < 8; g += 2) butterflies<2>(b + g);
      }
      const int32_t ng = nl - g0 < 8 ? nl - g0 : 8;
      for (int32_t ln = 0; ln < ng; ++ln) memcpy(y + 8 * (k0 + g0 + ln), &b[ln], sizeof(F8));
    }
  }
  if (h >= 128)
    for (int32_t o = 0; o < l.dim; o += h) fwht_stages(y + o, h, 64);
  for (int32_t j = 0; j < l.dim; j += 8) {
    const F8 v = load_vec<F8>(y + j) * load_vec<F8>(kSigns.v + j);
    if constexpr (std::is_same_v<Out, float>) {
      memcpy(out + j, &v, sizeof v);
    } else {
      for (int t = 0; t < 8; ++t) out[j + t] = element<Out>::from_float(v[t]);
    }
  }
}
/// The 240 roots of root_offsets, coordinate-major so that W candidates load as one vector.
struct RootTable {
  double r[8][240];
};
[[nodiscard]] constexpr RootTable make_root_table() noexcept {
  RootTable tb{};
  for (int k = 0; k < 240; ++k) {
    double r[8] = {};
    root_offsets(k, r);
    for (int t = 0; t < 8; ++t) tb.r[t][k] = r[t];
  }
  return tb;
}
inline constexpr RootTable kRoots = make_root_table();

template <int W>
KAKEYA_HD void root_neighbour_dists(const double* x, const double* p, double* d) noexcept {
  typedef typename LaneTypes<W>::F64 F;
  for (int k = 0; k < 240; k += W) {
    F e[8];
    for (int t = 0; t < 8; ++t) {
      const F diff = x[t] - (p[t] + load_vec<F>(&kRoots.r[t][k]));  // as dist2(x, p + r)
      e[t] = diff * diff;
    }
    const F s = sum8(e);
    memcpy(d + k, &s, sizeof s);
  }
}


template <int W>
KAKEYA_HD bool shrink_lanes(const double* x, const BlockConfig& c, int k0, double* p) noexcept {
  typedef typename LaneTypes<W>::F64 F;
  typedef typename LaneTypes<W>::I32 I;
  alignas(64) double lam[W];
  for (int ln = 0; ln < W; ++ln) lam[ln] = 1.0 - (k0 + ln) / 64.0;
  const F lv = load_vec<F>(lam);
  F xs[8], q[8];
  I q2[8];
  for (int t = 0; t < 8; ++t) xs[t] = lv * x[t];
  nearest_e8(xs, q);
  for (int t = 0; t < 8; ++t) q2[t] = __builtin_convertvector(2.0 * q[t], I);
  const I in = c.re8 ? contains_lanes<lanes::kR>(q2, c) : contains_lanes<lanes::kG>(q2, c);
  int hit = W - 1;
  bool found = false;
  for (int ln = W - 1; ln >= 0; --ln)
    if (in[ln] != 0) {
      hit = ln;
      found = true;
    }
  for (int t = 0; t < 8; ++t) p[t] = q[t][hit];
  return found;
}

template <int W>
KAKEYA_HD void root_neighbour(const double* p, int k, double* cand) noexcept {
  for (int t = 0; t < 8; ++t) cand[t] = p[t] + kRoots.r[t][k];
}

/// encode_block with the zones evaluated W at a time, one per lane: x = u/step, NE8, the
/// codeword test, the error and the cell bound of every zone (the same arithmetic per
/// lane), then pick_zone's pass over them.
template <int W>
[[nodiscard]] KAKEYA_HD double encode_block_lanes(const double* u, const BlockConfig& c, int32_t& zone,
                                                  double* best_p) noexcept {
  typedef typename LaneTypes<W>::F64 F;
  typedef typename LaneTypes<W>::I32 I;
  const int32_t nz = 1 << c.zone_bits;  // ≤ 32
  alignas(64) double xs[8][32 + W], ps[8][32 + W], errs[32 + W], ds[32 + W];
  alignas(64) int32_t ins[32 + W];
  for (int32_t g0 = 0; g0 < nz; g0 += W) {
    alignas(64) double stl[W];
    for (int ln = 0; ln < W; ++ln) stl[ln] = step(c.step0 + (g0 + ln < nz ? g0 + ln : nz - 1));
    const F st = load_vec<F>(stl);
    F x[8], p[8];
    I p2[8];
    for (int t = 0; t < 8; ++t) x[t] = u[t] / st;
    nearest_e8(x, p);
    for (int t = 0; t < 8; ++t) p2[t] = __builtin_convertvector(2.0 * p[t], I);
    const I in = c.re8 ? contains_lanes<lanes::kR>(p2, c) : contains_lanes<lanes::kG>(p2, c);
    const F err = block_err(u, st, p);
    for (int t = 0; t < 8; ++t) {
      memcpy(&xs[t][g0], &x[t], sizeof(F));
      memcpy(&ps[t][g0], &p[t], sizeof(F));
    }
    memcpy(errs + g0, &err, sizeof(F));
    memcpy(ins + g0, &in, sizeof(I));
    bool all_in = true;
    for (int ln = 0; ln < W && g0 + ln < nz; ++ln) all_in = all_in && ins[g0 + ln] != 0;
    if (!all_in) {  // the cell bound, for the zones outside
      const F d = st * dist_to_cell(x, c);
      memcpy(ds + g0, &d, sizeof(F));
    }
  }
  return pick_zone<W>(
      u, c, zone, best_p,
      [&](int32_t z, double& err) {
        if (ins[z] == 0) return false;
        err = errs[z];
        return true;
      },
      [&](int32_t z, double* x, double& d) {
        for (int t = 0; t < 8; ++t) x[t] = xs[t][z];
        d = ds[z];
      },
      [&](int32_t z, double* p) {
        for (int t = 0; t < 8; ++t) p[t] = ps[t][z];
      });
}
}  // namespace e8v2
#endif

namespace e8v2 {

/// Writes the record of scale index i for y (dim doubles); returns the total error
/// (Σ_k err_k)·(s·s). `rec` must hold code_bytes zero bytes. Stops early, returning
/// INFINITY with `rec` incomplete, once the partial total reaches `bound`: the sum only
/// grows (non-negative terms, monotone rounding), so such a scale cannot be strictly better.
template <int Lanes>
[[nodiscard]] KAKEYA_HD double encode_at_scale(const E8V2Layout& l, const double* y, int32_t i, uint8_t* rec,
                                               double bound = INFINITY) noexcept {
  const double s = scale(i);
  format::BitWriter bw(rec);
  bw.put(static_cast<uint64_t>(i), kE8V2ScaleBits);
  double err = 0.0;
  for (int32_t k = 0; k < l.nblocks; ++k) {
    const BlockConfig c = block_config(l, k);
    double u[8], p[8];
    for (int t = 0; t < 8; ++t) u[t] = y[8 * k + t] / s;
    int32_t z = 0;
#if defined(KAKEYA_E8V2_LANES)
    if constexpr (Lanes != 0)
      err += encode_block_lanes<Lanes>(u, c, z, p);
    else
#endif
      err += encode_block(u, c, z, p);
    if (err * (s * s) >= bound) return INFINITY;
    uint32_t w[8];
    digits(p, c, w);
    bw.put(static_cast<uint64_t>(z), c.zone_bits);
    for (int t = 0; t < 8; ++t) bw.put(w[t], digit_width(c, t));
  }
  bw.flush();
  return err * (s * s);
}

}  // namespace e8v2

/// The lane count e8v2_encode and e8v2_decode use: what the compile flags allow.
#if defined(KAKEYA_E8V2_LANES) && defined(__AVX512F__)
inline constexpr int kE8V2DefaultLanes = 8;
#elif defined(KAKEYA_E8V2_LANES) && defined(__AVX2__)
inline constexpr int kE8V2DefaultLanes = 4;
#else
inline constexpr int kE8V2DefaultLanes = 0;
#endif

/// Encodes one vector. `tmp` is caller scratch of at least code_bytes bytes.
/// `force_scale` (tests only, 1..255): use that scale index instead of the search.
/// Lanes: 0 evaluates one zone at a time; 4 or 8 evaluates that many zones per step
/// (CPU vectors, see e8v2_decode_lanes); the codes are the same.
template <int Lanes, class In>
[[nodiscard]] KAKEYA_HD Diag e8v2_encode_lanes(const E8V2Layout& l, const In* x, uint8_t* tmp, uint8_t* rec,
                                               int32_t force_scale = 0) noexcept {
  for (int32_t i = 0; i < l.code_bytes; ++i) rec[i] = 0;
  double y[kE8V2MaxDim];
  uint32_t nonfinite = 0;
  for (int32_t i = 0; i < l.dim; ++i) {
    const float v = element<In>::to_float(x[i]);
    nonfinite |= static_cast<uint32_t>(!detail::is_finite(v));
    y[i] = e8v2::sign_bit(i) ? -static_cast<double>(v) : static_cast<double>(v);
  }
  if (nonfinite) return reject_record(rec, l.code_bytes, input_fault(x, l.dim, Fault::kNonFinite, 0.0f));
  e8v2::fwht(y, l.dim, l.hadamard_p);
  double sq[kE8V2MaxDim];
  for (int32_t i = 0; i < l.dim; ++i) sq[i] = y[i] * y[i];
  const double rms = sqrt(e8v2::pairwise_sum<4>(sq, l.dim) / l.dim);
  if (rms == 0.0) return Diag{};  // the zero vector: all-zero record
  if (rms > e8v2::kMaxRms)
    return reject_record(rec, l.code_bytes, Diag::input(Fault::kScaleOverflow, -1, static_cast<float>(rms)));
  double i0 = rint(log2(rms) / 0.125) + 128.0;
  i0 = i0 < 1.0 ? 1.0 : (i0 > 255.0 ? 255.0 : i0);
  if (force_scale > 0) {
    (void)e8v2::encode_at_scale<Lanes>(l, y, force_scale, rec);
    return Diag{};
  }
  const int32_t c0 = static_cast<int32_t>(i0);
  double best = e8v2::encode_at_scale<Lanes>(l, y, c0, rec);
  for (int32_t off = -1; off <= 1 && !l.fast; off += 2) {  // fast: the scale i0 alone
    int32_t i = c0 + off;
    i = i < 1 ? 1 : (i > 255 ? 255 : i);
    for (int32_t b = 0; b < l.code_bytes; ++b) tmp[b] = 0;
    const double err = e8v2::encode_at_scale<Lanes>(l, y, i, tmp, best);
    if (err < best) {
      best = err;
      for (int32_t b = 0; b < l.code_bytes; ++b) rec[b] = tmp[b];
    }
  }
  return Diag{};
}

/// Encodes one vector with the vector width the compile flags allow (e8v2_decode's rule).
template <class In>
[[nodiscard]] KAKEYA_HD Diag e8v2_encode(const E8V2Layout& l, const In* x, uint8_t* tmp, uint8_t* rec,
                                         int32_t force_scale = 0) noexcept {
  return e8v2_encode_lanes<kE8V2DefaultLanes>(l, x, tmp, rec, force_scale);
}

/// Decodes one record (every record is valid), one block at a time (the CUDA kernels;
/// on the CPU the reference for the lane-wise decoder).
template <class Out>
[[nodiscard]] KAKEYA_HD Diag e8v2_decode_blocks(const E8V2Layout& l, const uint8_t* rec, Out* out) noexcept {
  const int32_t i = rec[0];
  if (i == 0) {
    for (int32_t j = 0; j < l.dim; ++j) out[j] = element<Out>::from_float(0.0f);
    return Diag{};
  }
  const int32_t h = l.hadamard_p;
  const double s = e8v2::scale(i), r = sqrt(static_cast<double>(h));
  float y[kE8V2MaxDim];
  for (int32_t k = 0; k < l.nblocks; ++k) {
    const e8v2::BlockConfig c = e8v2::block_config(l, k);
    const int64_t pos = l.block_pos[k];
    const uint32_t z = static_cast<uint32_t>(format::read_bits(rec, pos, c.zone_bits));
    uint64_t bits = format::read_bits(rec, pos + c.zone_bits, c.base);
    uint32_t w[8];
    for (int t = 0; t < 8; ++t) {
      const int32_t wd = e8v2::digit_width(c, t);
      w[t] = static_cast<uint32_t>(bits & ((uint64_t{1} << wd) - 1u));
      bits >>= wd;
    }
    int64_t p2[8];
    e8v2::point2(w, c, p2);
    int32_t q[8];
    for (int t = 0; t < 8; ++t) q[t] = static_cast<int32_t>(p2[t]);  // |2c| < 2^12
    butterflies<8>(q);  // stages 1, 2, 4 of the block, exact
    const float f = e8v2::block_factor(s, c.step0 + static_cast<int32_t>(z), r);
    for (int t = 0; t < 8; ++t) y[8 * k + t] = static_cast<float>(q[t]) * f;
  }
  for (int32_t o = 0; o < l.dim; o += h) fwht_stages(y + o, h, 8);
  for (int32_t j = 0; j < l.dim; ++j) out[j] = element<Out>::from_float(e8v2::sign_bit(j) ? -y[j] : y[j]);
  return Diag{};
}

/// Decodes one record (every record is valid). Lanes: 0 decodes one block at a time
/// (e8v2_decode_blocks); 8 (AVX-512) runs the vector decoder 16 blocks per step, 4 (AVX2)
/// 8 blocks per step (CPU, GCC/Clang; the batch loops of cpu/codec.h pass the ISA's
/// double-lane count; 0 for the baseline ISA, where the vector decoder measured 186k vs
/// 252k vec/s one block at a time, D = 512, AMD EPYC, 2026-11-28).
template <int Lanes, class Out>
[[nodiscard]] KAKEYA_HD Diag e8v2_decode_lanes(const E8V2Layout& l, const uint8_t* rec, Out* out) noexcept {
#if defined(KAKEYA_E8V2_LANES)
  if constexpr (Lanes != 0) {
    static_assert(Lanes == 4 || Lanes == 8, "e8v2 vector decoder: 4 or 8 double lanes");
    e8v2::decode_lanes<Lanes == 8 ? 16 : 8>(l, rec, out);  // measured best (AMD EPYC Zen 4)
    return Diag{};
  }
#endif
  return e8v2_decode_blocks(l, rec, out);
}


/// Decodes one record (every record is valid).
template <class Out>
[[nodiscard]] KAKEYA_HD Diag e8v2_decode(const E8V2Layout& l, const uint8_t* rec, Out* out) noexcept {
  return e8v2_decode_lanes<kE8V2DefaultLanes>(l, rec, out);
}

/// Codec type of the registry.
struct E8V2Codec {
  static constexpr CodecKind kKind = CodecKind::kE8V2;
  static constexpr bool kScratch = true;  // dim floats >= code_bytes bytes of record scratch
  using Layout = E8V2Layout;
  [[nodiscard]] static Layout layout(const CodecSpec& s) { return e8v2_layout(s); }
  [[nodiscard]] static int32_t code_bytes(const Layout& l) noexcept { return l.code_bytes; }
  static void validate(const CodecSpec& s) {
    KAKEYA_CHECK(s.dim % 8 == 0 && s.dim >= 32 && s.dim <= kE8V2MaxDim, "dim = ", s.dim,
                 " must be a multiple of 8 in [32, 1024] for e8v2");
    KAKEYA_CHECK(std::isfinite(s.rate) && s.rate >= 2.5f && s.rate <= 8.25f, "bits = ", s.rate,
                 " must be in [2.5, 8.25] bits per coordinate for e8v2 (dim = ", s.dim, ")");
    KAKEYA_CHECK(e8v2_payload_bits(s.dim, s.rate) >= int64_t{detail::kE8V2BMin} * (s.dim / 8), "bits = ", s.rate,
                 " is too few for e8v2 at dim = ", s.dim, " (every 8-d block needs ", detail::kE8V2BMin,
                 " bits plus an 8-bit scale)");
  }
  [[nodiscard]] static int64_t bits(const CodecSpec& s) noexcept { return 8 * e8v2_record_bytes(s.dim, s.rate); }
  template <class In>
  [[nodiscard]] KAKEYA_HD static Diag encode(const Layout& l, const In* x, float* scratch, uint8_t* rec) noexcept {
    return e8v2_encode(l, x, reinterpret_cast<uint8_t*>(scratch), rec);
  }
  /// encode for a batch loop whose vectors hold `Lanes` doubles (cpu/codec.h).
  template <int Lanes, class In>
  [[nodiscard]] KAKEYA_HD static Diag encode_lanes(const Layout& l, const In* x, float* scratch,
                                                   uint8_t* rec) noexcept {
    return e8v2_encode_lanes<Lanes>(l, x, reinterpret_cast<uint8_t*>(scratch), rec);
  }
  template <class Out>
  [[nodiscard]] KAKEYA_HD static Diag decode(const Layout& l, const uint8_t* rec, float*, Out* out) noexcept {
    return e8v2_decode(l, rec, out);
  }
  /// decode for a batch loop whose vectors hold `Lanes` doubles (cpu/codec.h).
  template <int Lanes, class Out>
  [[nodiscard]] KAKEYA_HD static Diag decode_lanes(const Layout& l, const uint8_t* rec, float*, Out* out) noexcept {
    return e8v2_decode_lanes<Lanes>(l, rec, out);
  }
};

}  // namespace kakeya

