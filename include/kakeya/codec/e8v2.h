// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file e8v2.h
/// `e8v2` (format v2): zoned E8 Voronoi code. Design and measurements:
/// reports/2026-11-27-v2-research.md and reports/2026-11-27-e8v2.md; record layout:
/// format.h (E8V2Layout); tables: e8v2_tables.h. The NumPy float64 reference is
/// tests/reference/e8v2_ref.py; codes are byte-identical to it and decodes bit-identical
/// (tests/golden/golden_e8v2_v1.json).
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
///   decode: c = q − Qc(q + TIE), q = Σ w_t A_t; y = (s·step[z])·c; x̂ = σ ⊙ H(y)/sqrt(h),
///       rounded to float32 once.
/// Every record decodes to finite values (no reserved codes).

#include <cmath>
#include <cstdint>
#include <cstring>

#include "kakeya/codec/diag.h"
#include "kakeya/codec/e8v2_tables.h"
#include "kakeya/codec/format.h"
#include "kakeya/codec/spec_fields.h"
#include "kakeya/error.h"
#include "kakeya/numeric/formats.h"

namespace kakeya {

namespace e8v2 {

/// Block configuration from the table: zone bits j, coarse lattice 2^m E8 or 2^m R E8.
struct BlockConfig {
  int32_t zone_bits;
  int32_t base;   ///< Voronoi bits
  int32_t m;
  bool re8;
  int32_t step0;  ///< first zone step in the step table
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

/// Largest RMS the scale grid takes: 2^15.875 · 4.
inline constexpr double kMaxRms = 0x1.d5818dcfba487p+17;

[[nodiscard]] KAKEYA_HD uint32_t fmix32(uint32_t h) noexcept {
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  h ^= h >> 16;
  return h;
}

/// 1 when σ_i = −1.
[[nodiscard]] KAKEYA_HD uint32_t sign_bit(int32_t i) noexcept {
  return fmix32(static_cast<uint32_t>(i) + 0x9E3779B9u) & 1u;
}

/// ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)): NumPy's sum of 8 float64.
[[nodiscard]] KAKEYA_HD double sum8(const double* a) noexcept {
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/// NumPy's pairwise sum of n (a multiple of 8) float64, n <= 128: 8 accumulators.
[[nodiscard]] KAKEYA_HD double pairwise_block(const double* a, int32_t n) noexcept {
  double r[8];
  for (int t = 0; t < 8; ++t) r[t] = a[t];
  for (int32_t i = 8; i < n; i += 8)
    for (int t = 0; t < 8; ++t) r[t] += a[i + t];
  return sum8(r);
}

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

/// In-place orthonormal block Walsh–Hadamard (the reference's fwht) on dim doubles.
KAKEYA_HD void fwht(double* y, int32_t dim, int32_t h) noexcept {
  for (int32_t o = 0; o < dim; o += h) {
    double* x = y + o;
    for (int32_t st = 1; st < h; st *= 2)
      for (int32_t i = 0; i < h; i += 2 * st)
        for (int32_t j = i; j < i + st; ++j) {
          const double a = x[j], b = x[j + st];
          x[j] = a + b;
          x[j + st] = a - b;
        }
  }
  const double r = sqrt(static_cast<double>(h));
  for (int32_t i = 0; i < dim; ++i) y[i] = y[i] / r;
}

/// Nearest D8 point (the reference's nearest_d8: rint, then fix the parity at the
/// first coordinate of largest |x − r|, towards x; e ≥ 0 steps up).
KAKEYA_HD void nearest_d8(const double* x, double* r) noexcept {
  int64_t sum = 0;
  for (int t = 0; t < 8; ++t) {
    r[t] = rint(x[t]);
    sum += static_cast<int64_t>(r[t]);
  }
  if (sum & 1) {
    double e[8], mx = 0.0;
    for (int t = 0; t < 8; ++t) {
      e[t] = fabs(x[t] - r[t]);
      mx = e[t] > mx ? e[t] : mx;
    }
    int col = 7;
    for (int t = 7; t >= 0; --t) col = e[t] == mx ? t : col;  // the first largest
    r[col] += (x[col] - r[col] >= 0.0) ? 1.0 : -1.0;
  }
}

/// Nearest E8 point (D8 ∪ D8 + ½; the coset with the strictly smaller distance, else D8).
KAKEYA_HD void nearest_e8(const double* x, double* out) noexcept {
  double a[8], b[8], xm[8], da[8], db[8];
  nearest_d8(x, a);
  for (int t = 0; t < 8; ++t) xm[t] = x[t] - 0.5;
  nearest_d8(xm, b);
  for (int t = 0; t < 8; ++t) {
    b[t] += 0.5;
    const double ea = x[t] - a[t], eb = x[t] - b[t];
    da[t] = ea * ea;
    db[t] = eb * eb;
  }
  const bool use_b = sum8(db) < sum8(da);
  for (int t = 0; t < 8; ++t) out[t] = use_b ? b[t] : a[t];
}

/// The tie-break offset TIE = c / 4096: tie_num(t) = c.
[[nodiscard]] KAKEYA_HD int64_t tie_num(int t) noexcept {
  const int16_t c[8] = {9, 11, 30, 52, 125, 7, 4, 3};
  return c[t];
}

/// Nearest E8 point to z = Z / 2^sh (the reference's nearest_e8 on a dyadic point,
/// exactly, in integers), as doubled coordinates n2 = 2·n. Every z the codec forms here
/// is (q + TIE)/2^m with q a half-integer point (or the R-rotated sums of two such
/// coordinates): neither z nor z − ½ has a coordinate at a half-integer (the TIE numerators
/// and their pairwise sums and differences are not multiples of 2048), so rounding never
/// meets a tie and rint(z) = floor(z + ½); distances are compared exactly (int64). `>>` on
/// a negative value is the arithmetic (flooring) shift, as C++20 requires and as GCC, Clang
/// and NVCC already do.
KAKEYA_HD void nearest_e8_dyadic(const int64_t* Z, int sh, int64_t* n2) noexcept {
  const int64_t one = int64_t{1} << sh, half = one >> 1;
  int64_t a[8], b[8];
  int64_t pa = 0, pb = 0;
  for (int t = 0; t < 8; ++t) {
    a[t] = (Z[t] + half) >> sh;        // D8 candidate: rint(z)
    b[t] = Z[t] >> sh;                 // D8 + ½ candidate: rint(z − ½) = floor(z)
    pa += a[t];
    pb += b[t];
  }
  // Parity fix (nearest_d8): the first coordinate of largest |z − r|, towards z.
  const auto fix = [&](int64_t* r, int64_t off) {
    int64_t e[8], ae[8];
    int64_t mx = 0;
    for (int t = 0; t < 8; ++t) {
      e[t] = Z[t] - off - r[t] * one;
      ae[t] = e[t] < 0 ? -e[t] : e[t];
      mx = ae[t] > mx ? ae[t] : mx;
    }
    int col = 7;
    for (int t = 7; t >= 0; --t) col = ae[t] == mx ? t : col;
    r[col] += e[col] >= 0 ? 1 : -1;
  };
  if (pa & 1) fix(a, 0);
  if (pb & 1) fix(b, half);
  int64_t da = 0, db = 0;
  for (int t = 0; t < 8; ++t) {
    const int64_t ea = Z[t] - a[t] * one;
    const int64_t eb = Z[t] - b[t] * one - half;
    da += ea * ea;
    db += eb * eb;
  }
  const bool use_b = db < da;
  for (int t = 0; t < 8; ++t) n2[t] = use_b ? 2 * b[t] + 1 : 2 * a[t];
}

/// The coarse-lattice frame of v = q + TIE (q given doubled, q2 = 2q): z = v in units of
/// 1/4096 for 2^m E8, z = vR (pairs (a + b, a − b)) for 2^m R E8; returns sh such that
/// Z / 2^sh are the coordinates in which the coarse lattice is E8.
KAKEYA_HD int coarse_frame(const int64_t* q2, const BlockConfig& c, int64_t* z) noexcept {
  int64_t v[8];
  for (int t = 0; t < 8; ++t) v[t] = 2048 * q2[t] + tie_num(t);
  if (!c.re8) {
    for (int t = 0; t < 8; ++t) z[t] = v[t];
    return 12 + c.m;
  }
  for (int t = 0; t < 8; t += 2) {
    z[t] = v[t] + v[t + 1];
    z[t + 1] = v[t] - v[t + 1];
  }
  return 13 + c.m;
}

/// Doubled coarse coordinates n2 = 2·n of the E8 point n with Qc(v) = 2^m n (2^m E8) or
/// 2^m (n R) (2^m R E8) nearest to v = q + TIE, q given doubled (q2 = 2q, integers).
KAKEYA_HD void coarse_coords(const int64_t* q2, const BlockConfig& c, int64_t* n2) noexcept {
  int64_t z[8];
  const int sh = coarse_frame(q2, c, z);
  nearest_e8_dyadic(z, sh, n2);
}

/// 2·max over the 240 roots r of v·r, for an integer vector v: the larger of 2(a₁ + a₂)
/// (a₁ ≥ a₂ the two largest |v_t|; roots ±e_i ± e_j) and Σ|v_t| − (odd number of negative
/// v_t ? 2·min|v_t| : 0) (roots ½(±1)⁸ with an even number of minus signs). No sorting.
[[nodiscard]] KAKEYA_HD int64_t max_root_dot2(const int64_t* v) noexcept {
  int64_t sum = 0, m1 = 0, m2 = 0, mn = INT64_MAX;
  int neg = 0;
  for (int t = 0; t < 8; ++t) {
    const int64_t a = v[t] < 0 ? -v[t] : v[t];
    sum += a;
    mn = a < mn ? a : mn;
    neg += v[t] < 0 ? 1 : 0;
    const int64_t lo = a < m1 ? a : m1;
    m2 = lo > m2 ? lo : m2;
    m1 = a > m1 ? a : m1;
  }
  const int64_t pair2 = 2 * (m1 + m2), half2 = sum - ((neg & 1) ? 2 * mn : 0);
  return pair2 > half2 ? pair2 : half2;
}

/// Whether the E8 point p (given doubled, p2 = 2p) is a codeword: Qc(p + TIE) = 0
/// (equivalent to the reference's point(digits(p)) == p, since Qc commutes with
/// coarse-lattice shifts). Qc(v) = 0 exactly when v lies in the open Voronoi cell of 0,
/// whose facets come from the 240 roots: v·r < 2^m for 2^m E8, (vR)·r < 2^(m+1) for
/// 2^m R E8. No v meets a facet (v·r = bound needs c·r = 0 for the TIE numerators c, or
/// (cR)·r = 0, and no root gives 0: checked by tests/cpp/test_e8v2.cpp against
/// coarse_coords), so this test and the nearest-point decoder of coarse_coords agree.
[[nodiscard]] KAKEYA_HD bool contains2(const int64_t* p2, const BlockConfig& c) noexcept {
  int64_t z[8];
  const int sh = coarse_frame(p2, c, z);  // the cell of 0 in this frame: max_r z·r < 2^sh
  return max_root_dot2(z) < (int64_t{1} << (sh + 1));
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

/// out = in · M with M = 2·A⁻¹ (Inv) or 2·A (!Inv) of the block's lattice, integers;
/// constant-folded (the loops unroll, so the tables are never materialised).
template <bool RE8, bool Inv, class T>
KAKEYA_HD void basis_mul(const T* in, int64_t* out) noexcept {
  KAKEYA_UNROLL
  for (int t = 0; t < 8; ++t) {
    int64_t acc = 0;
    KAKEYA_UNROLL
    for (int i = 0; i < 8; ++i)
      acc += static_cast<int64_t>(in[i]) * (Inv ? basis_inv2(RE8, i, t) : basis2(RE8, i, t));
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

/// The codeword of digits w: q − Qc(q + TIE), q = Σ w_i A_i (exact, integers), doubled.
KAKEYA_HD void point2(const uint32_t* w, const BlockConfig& c, int64_t* out2) noexcept {
  int64_t q2[8], n2[8];
  if (c.re8)
    basis_mul<true, false>(w, q2);
  else
    basis_mul<false, false>(w, q2);
  coarse_coords(q2, c, n2);
  const int64_t s = int64_t{1} << c.m;
  if (!c.re8) {
    for (int t = 0; t < 8; ++t) out2[t] = q2[t] - s * n2[t];
  } else {
    for (int t = 0; t < 8; t += 2) {
      out2[t] = q2[t] - s * (n2[t] + n2[t + 1]);
      out2[t + 1] = q2[t + 1] - s * (n2[t] - n2[t + 1]);
    }
  }
}

/// max over the 240 roots r of x·r.
[[nodiscard]] KAKEYA_HD double max_root_dot(const double* x) noexcept {
  double a[8];
  int neg = 0;
  for (int t = 0; t < 8; ++t) {
    a[t] = fabs(x[t]);
    neg += x[t] < 0.0 ? 1 : 0;
  }
  for (int i = 1; i < 8; ++i) {  // insertion sort, ascending
    const double v = a[i];
    int j = i - 1;
    while (j >= 0 && a[j] > v) {
      a[j + 1] = a[j];
      --j;
    }
    a[j + 1] = v;
  }
  const double pair = a[7] + a[6];
  const double half = 0.5 * sum8(a) - ((neg & 1) ? a[0] : 0.0);
  return pair > half ? pair : half;
}

/// Lower bound on the distance from x (lattice units) to the coarse Voronoi cell.
[[nodiscard]] KAKEYA_HD double dist_to_cell(const double* x, const BlockConfig& c) noexcept {
  if (c.re8) {
    double xr[8];
    for (int t = 0; t < 8; t += 2) {
      xr[t] = x[t] + x[t + 1];
      xr[t + 1] = x[t] - x[t + 1];
    }
    const double d = max_root_dot(xr) - exp2i_d(c.m + 1);
    return (d > 0.0 ? d : 0.0) / 2.0;
  }
  const double d = max_root_dot(x) - exp2i_d(c.m);
  return (d > 0.0 ? d : 0.0) / 0x1.6a09e667f3bcdp+0;
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

/// The reference's _nearest_codeword_outside: p = NE8(x) is not a codeword.
KAKEYA_HD void nearest_outside(const double* x, const BlockConfig& c, double* p) noexcept {
  double xs[8];
  for (int k = 1; k <= 64; ++k) {
    const double lam = 1.0 - k / 64.0;
    for (int t = 0; t < 8; ++t) xs[t] = lam * x[t];
    nearest_e8(xs, p);
    if (contains(p, c)) break;
  }
  double cur = dist2(x, p);
  for (int round = 0; round < kSearchRounds; ++round) {
    double bestd = INFINITY, best[8], cand[8];
    bool found = false;
    // Only candidates closer than both the best so far and cur can change the outcome
    // (first strict minimum over the codewords, then "< cur"), so the costly codeword
    // test runs on those alone: the result is the reference's.
    const auto try_cand = [&]() {
      const double d = dist2(x, cand);
      if (!(d < bestd) || !(d < cur) || !contains(cand, c)) return;
      {
        bestd = d;
        found = true;
        for (int t = 0; t < 8; ++t) best[t] = cand[t];
      }
    };
    for (int i = 0; i < 8; ++i)
      for (int j = i + 1; j < 8; ++j)
        for (int sg = 0; sg < 4; ++sg) {
          for (int t = 0; t < 8; ++t) cand[t] = p[t] + 0.0;
          cand[i] = p[i] + (sg < 2 ? 1.0 : -1.0);
          cand[j] = p[j] + ((sg & 1) ? -1.0 : 1.0);
          try_cand();
        }
    for (int pat = 0; pat < 256; ++pat) {
      int pc = 0;
      for (int t = 0; t < 8; ++t) pc += (pat >> t) & 1;
      if (pc & 1) continue;
      for (int t = 0; t < 8; ++t) cand[t] = p[t] + (((pat >> t) & 1) ? -0.5 : 0.5);
      try_cand();
    }
    if (!(found && bestd < cur)) break;
    for (int t = 0; t < 8; ++t) p[t] = best[t];
    cur = bestd;
  }
}

/// Best (zone, codeword) of the zoned code for the block u (units of the vector scale).
/// Returns the squared error.
[[nodiscard]] KAKEYA_HD double encode_block(const double* u, const BlockConfig& c, int32_t& zone,
                                            double* best_p) noexcept {
  double best_err = INFINITY;
  zone = 0;
  for (int t = 0; t < 8; ++t) best_p[t] = 0.0;
  const int32_t nz = 1 << c.zone_bits;
  for (int32_t z = nz - 1; z >= 0; --z) {  // coarsest first; equal error: smaller z
    const double st = step(c.step0 + z);
    double x[8], p[8];
    for (int t = 0; t < 8; ++t) x[t] = u[t] / st;
    nearest_e8(x, p);
    if (!contains(p, c)) {
      const double d = st * dist_to_cell(x, c);
      if (!(d * d < best_err)) continue;
      nearest_outside(x, c, p);
    }
    double e[8];
    for (int t = 0; t < 8; ++t) {
      const double r = u[t] - st * p[t];
      e[t] = r * r;
    }
    const double err = sum8(e);
    if (err <= best_err) {
      best_err = err;
      zone = z;
      for (int t = 0; t < 8; ++t) best_p[t] = p[t];
    }
  }
  return best_err;
}

[[nodiscard]] KAKEYA_HD BlockConfig block_config(const E8V2Layout& l, int32_t k) noexcept {
  BlockConfig c;
  c.zone_bits = l.zone_bits[k];
  c.base = l.block_bits[k] - c.zone_bits;
  c.m = c.base >> 3;
  c.re8 = (c.base & 4) != 0;
  c.step0 = l.step0[k];
  return c;
}

/// Writes the record of scale index i for y (dim doubles); returns the total error
/// (Σ_k err_k)·(s·s). `rec` must hold code_bytes zero bytes.
[[nodiscard]] KAKEYA_HD double encode_at_scale(const E8V2Layout& l, const double* y, int32_t i,
                                               uint8_t* rec) noexcept {
  const double s = scale(i);
  format::BitWriter bw(rec);
  bw.put(static_cast<uint64_t>(i), kE8V2ScaleBits);
  double err = 0.0;
  for (int32_t k = 0; k < l.nblocks; ++k) {
    const BlockConfig c = block_config(l, k);
    double u[8], p[8];
    for (int t = 0; t < 8; ++t) u[t] = y[8 * k + t] / s;
    int32_t z = 0;
    err += encode_block(u, c, z, p);
    uint32_t w[8];
    digits(p, c, w);
    bw.put(static_cast<uint64_t>(z), c.zone_bits);
    for (int t = 0; t < 8; ++t) bw.put(w[t], digit_width(c, t));
  }
  bw.flush();
  return err * (s * s);
}

}  // namespace e8v2

/// Encodes one vector. `tmp` is caller scratch of at least code_bytes bytes.
/// `force_scale` (tests only, 1..255): use that scale index instead of the search.
template <class In>
[[nodiscard]] KAKEYA_HD Diag e8v2_encode(const E8V2Layout& l, const In* x, uint8_t* tmp, uint8_t* rec,
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
    (void)e8v2::encode_at_scale(l, y, force_scale, rec);
    return Diag{};
  }
  const int32_t c0 = static_cast<int32_t>(i0);
  double best = e8v2::encode_at_scale(l, y, c0, rec);
  for (int32_t off = -1; off <= 1; off += 2) {
    int32_t i = c0 + off;
    i = i < 1 ? 1 : (i > 255 ? 255 : i);
    for (int32_t b = 0; b < l.code_bytes; ++b) tmp[b] = 0;
    const double err = e8v2::encode_at_scale(l, y, i, tmp);
    if (err < best) {
      best = err;
      for (int32_t b = 0; b < l.code_bytes; ++b) rec[b] = tmp[b];
    }
  }
  return Diag{};
}

/// Decodes one record (every record is valid).
template <class Out>
[[nodiscard]] KAKEYA_HD Diag e8v2_decode(const E8V2Layout& l, const uint8_t* rec, Out* out) noexcept {
  double y[kE8V2MaxDim];
  const int32_t i = rec[0];
  const double s = i == 0 ? 0.0 : e8v2::scale(i);
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
    const double f = s * e8v2::step(c.step0 + static_cast<int32_t>(z));
    for (int t = 0; t < 8; ++t) y[8 * k + t] = f * (0.5 * static_cast<double>(p2[t]));
  }
  e8v2::fwht(y, l.dim, l.hadamard_p);
  for (int32_t j = 0; j < l.dim; ++j)
    out[j] = element<Out>::from_float(static_cast<float>(e8v2::sign_bit(j) ? -y[j] : y[j]));
  return Diag{};
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
  template <class Out>
  [[nodiscard]] KAKEYA_HD static Diag decode(const Layout& l, const uint8_t* rec, float*, Out* out) noexcept {
    return e8v2_decode(l, rec, out);
  }
};

}  // namespace kakeya
