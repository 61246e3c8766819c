// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file affine.h
/// The optional per-channel affine pre-transform (issue 10 item 3), for caches whose
/// channels carry large offsets and spreads (real keys do):
///
///   encode side  z = (x − μ_p) ⊘ σ        then any codec encodes z
///   decode side  x̂ = σ ⊙ ẑ + μ_p          after the codec decodes ẑ
///
/// μ (mean) and σ (scale, optional: 1 when absent) are per channel, fitted once per layer
/// (and head) on calibration vectors and stored outside the records (the codec spec's
/// "affine" entry carries them; `ChannelAffine` below owns and validates them).
///
/// RoPE-aware keys. A cached key is x = RoPE_p(k) for a pre-RoPE key k at position p.
/// A constant mean of k becomes a position-dependent mean of x, so for keys the mean is
/// fitted before RoPE (the fit un-rotates the calibration keys) and rotated to the row's
/// position: μ_p = RoPE_p(μ) on the rotated channel pairs, μ_p = μ elsewhere. σ is equal
/// within every rotated pair (the fit ties it), so σ commutes with the rotation and
/// z = RoPE_p((k − μ) ⊘ σ). Pairs are explicit (channel a, channel b, frequency f), which
/// covers interleaved (2i, 2i+1) and split-half (i, i + d/2) layouts and several heads in
/// one row; the caller passes the row's cos/sin per frequency, as engines keep them, so
/// the transform has no transcendental function and is bit-reproducible anywhere.
///
/// Floating-point contract (float32, no FMA contraction, as the build flags require):
///   μ_p[a] = μ[a]·c − μ[b]·s,  μ_p[b] = μ[a]·s + μ[b]·c      (c, s: the row's cos/sin of f)
///   z[i] = (x[i] − μ_p[i]) / σ[i]                             (no division when σ is absent)
///   x̂[i] = ẑ[i]·σ[i] + μ_p[i]
/// Un-rotation (fit only): k[a] = x[a]·c + x[b]·s, k[b] = x[b]·c − x[a]·s.

#include <cstdint>

#include "kakeya/config.h"
#include "kakeya/numeric/formats.h"

namespace kakeya {

/// One rotated channel pair: channels a and b turn by the angle of frequency `freq`.
struct RopePair {
  int32_t a;
  int32_t b;
  int32_t freq;
};

/// A non-owning view of the affine parameters, passable to kernels.
struct AffineView {
  const float* mean;      ///< dim
  const float* scale;     ///< dim, or null (σ = 1)
  const RopePair* pairs;  ///< npairs rotated pairs (null when npairs = 0)
  int32_t dim;
  int32_t npairs;
  int32_t nfreq;  ///< cos/sin values per row (max freq + 1; 0 without RoPE)
};

namespace affine {

/// μ_p: the mean rotated by the row's cos/sin (nfreq each; ignored when npairs = 0).
KAKEYA_HD void rotated_mean(const AffineView& a, const float* cos_row, const float* sin_row,
                            float* mu) noexcept {
  for (int32_t i = 0; i < a.dim; ++i) mu[i] = a.mean[i];
  for (int32_t j = 0; j < a.npairs; ++j) {
    const RopePair p = a.pairs[j];
    const float c = cos_row[p.freq], s = sin_row[p.freq];
    const float ma = a.mean[p.a], mb = a.mean[p.b];
    const float ac = ma * c, bs = mb * s, as = ma * s, bc = mb * c;
    mu[p.a] = ac - bs;
    mu[p.b] = as + bc;
  }
}

/// z = (x − μ_p) ⊘ σ for one row; mu is rotated_mean's output (or a.mean without RoPE).
template <class In>
KAKEYA_HD void forward(const AffineView& a, const float* mu, const In* x, float* z) noexcept {
  for (int32_t i = 0; i < a.dim; ++i) {
    const float d = element<In>::to_float(x[i]) - mu[i];
    z[i] = a.scale ? d / a.scale[i] : d;
  }
}

/// x̂ = ẑ ⊙ σ + μ_p for one row. Returns the first channel whose float32 value is not
/// finite (ẑ·σ + μ overflowed), or −1: the caller reports it, nothing is silently inf.
template <class Out>
KAKEYA_HD int32_t inverse(const AffineView& a, const float* mu, const float* z, Out* x) noexcept {
  int32_t bad = -1;
  for (int32_t i = 0; i < a.dim; ++i) {
    const float v = (a.scale ? z[i] * a.scale[i] : z[i]) + mu[i];
    if (bad < 0 && !(v - v == 0.0f)) bad = i;  // inf − inf and NaN − NaN are NaN
    x[i] = element<Out>::from_float(v);
  }
  return bad;
}

/// Un-rotates the pairs of one row in place: x = RoPE_p(k) → k (used by the fit).
KAKEYA_HD void unrotate(const AffineView& a, const float* cos_row, const float* sin_row,
                        float* x) noexcept {
  for (int32_t j = 0; j < a.npairs; ++j) {
    const RopePair p = a.pairs[j];
    const float c = cos_row[p.freq], s = sin_row[p.freq];
    const float xa = x[p.a], xb = x[p.b];
    const float ac = xa * c, bs = xb * s, bc = xb * c, as = xa * s;
    x[p.a] = ac + bs;
    x[p.b] = bc - as;
  }
}

}  // namespace affine
}  // namespace kakeya
