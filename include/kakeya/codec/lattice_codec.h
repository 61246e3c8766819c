// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file lattice_codec.h
/// Encode and decode of one vector with the lattice codec (DESIGN.md §2), composed from
/// the shared pieces: rotation (transform/), scale (scale.h), box search and rank
/// (lattice/), bit layout (format.h). Host and device run the same steps; the GPU
/// kernels split them over threads but call these same building blocks.
///
/// Encode, for x in R^dim:
///   y   = H x / sqrt(P)                  hadamard_rotate
///   s   = stored(max|y| / Q, rounded up) choose_scale
///   w_j = 2 (y_j / s) per block j        doubled units, exact scaling
///   t_j = nearest point of C(L,Q) (as 2·point); index_j = rank(t_j)
/// Decode: s from the header; p = t/2 per block (exact halves); x̂ = (H p)·fl(s/sqrt(P)).
/// H p is exact in float (sums of at most 2^20 multiples of ½ bounded by 127), so the
/// decoder rounds once per coordinate.

#include <cstdint>
#include <cstring>

#include "kakeya/codec/format.h"
#include "kakeya/codec/scale.h"
#include "kakeya/codec/spec.h"
#include "kakeya/error.h"
#include "kakeya/lattice/d4.h"
#include "kakeya/lattice/e8.h"
#include "kakeya/lattice/z8.h"
#include "kakeya/numeric/formats.h"
#include "kakeya/transform/hadamard.h"

namespace kakeya {

/// Σ y_i² in the fixed order the format defines: a sequential float sum over each
/// group of 8 coordinates, then a sequential sum of the group sums. (Read only by the
/// norm_qmax scale; the GPU kernel reproduces the same order.)
[[nodiscard]] KAKEYA_HD float group8_partial_sumsq(const float* y) noexcept {
  float p = 0.0f;
  for (int k = 0; k < 8; ++k) p += y[k] * y[k];
  return p;
}

/// Blocks processed together by the host encoder (vector lanes); 1 on the device,
/// where each thread owns one block.
#if defined(__CUDA_ARCH__)
inline constexpr int kEncodeLanes = 1;
#else
inline constexpr int kEncodeLanes = 16;
#endif

/// The quantizer's input coordinate: w = 2·(y/s), in doubled units (exact scaling).
[[nodiscard]] KAKEYA_HD float doubled_coordinate(float y, float s) noexcept { return (y / s) * 2.0f; }

/// Quantizes `count` <= W consecutive blocks whose coordinates are already in doubled
/// units (w_blk, block-major as in the vector): idx[l] = rank(nearest(w)). Lanes past
/// `count` are padded with 0.
template <class L, int W>
KAKEYA_HD void quantize_blocks(const float* w_blk, int count, int q, uint64_t* idx) noexcept {
  constexpr int n = lattice_traits<L>::kDim;
  float w[n * W];
  int32_t t[n * W];
  float dist[W];
  for (int i = 0; i < n; ++i)
    for (int l = 0; l < W; ++l) w[i * W + l] = l < count ? w_blk[l * n + i] : 0.0f;
  lattice_traits<L>::template nearest_lanes<W>(w, q, t, dist);
  lattice_traits<L>::template rank_lanes<W>(t, q, idx);
}

/// Quantizes one block of the rotated vector with scale s: y_blk -> index.
template <class L>
[[nodiscard]] KAKEYA_HD uint64_t quantize_block(const float* y_blk, float s, int q) noexcept {
  constexpr int n = lattice_traits<L>::kDim;
  float w[n];
  for (int k = 0; k < n; ++k) w[k] = doubled_coordinate(y_blk[k], s);
  uint64_t idx;
  quantize_blocks<L, 1>(w, 1, q, &idx);
  return idx;
}

/// Index -> the block's point p = t/2 as floats. False for an out-of-range index.
template <class L>
[[nodiscard]] KAKEYA_HD bool dequantize_block(uint64_t idx, int q, float* p_blk) noexcept {
  constexpr int n = lattice_traits<L>::kDim;
  int32_t t[n];
  const bool ok = lattice_traits<L>::unrank(idx, q, t);
  for (int k = 0; k < n; ++k) p_blk[k] = 0.5f * static_cast<float>(t[k]);
  return ok;
}

/// Encodes x[0..dim) into rec[0..code_bytes). `y` is caller scratch of dim floats.
/// Returns kInvalidInput for NaN/Inf input, a rotation that overflows, or a scale the
/// format cannot hold; rec is then left all zero.
template <class L, class In>
[[nodiscard]] KAKEYA_HD Status encode_vector(const LatticeLayout& lay, const In* x, float* y,
                                             uint8_t* rec) noexcept {
  // Non-short-circuit flags keep these loops vectorizable.
  uint32_t nonfinite = 0;
  for (int32_t i = 0; i < lay.dim; ++i) {
    y[i] = element<In>::to_float(x[i]);
    nonfinite |= static_cast<uint32_t>(!detail::is_finite(y[i]));
  }
  for (int32_t i = 0; i < lay.code_bytes; ++i) rec[i] = 0;
  if (nonfinite) return Status::kInvalidInput;
  hadamard_rotate(y, lay.dim);
  float amax = 0.0f, sumsq = 0.0f;
  for (int32_t i = 0; i < lay.dim; ++i) {  // a huge input can overflow the rotation
    const float a = detail::abs_bits(y[i]);
    nonfinite |= static_cast<uint32_t>(!detail::is_finite(a));
    amax = a > amax ? a : amax;
  }
  if (nonfinite) return Status::kInvalidInput;
  if (lay.scale == ScaleFormat::kNormQmax)
    for (int32_t g = 0; g < lay.dim; g += 8) sumsq += group8_partial_sumsq(y + g);
  const ScaleChoice sc = choose_scale(lay.scale, amax, sumsq, lay.q);
  if (amax == 0.0f) return Status::kOk;  // all-zero record
  if (sc.status != Status::kOk) return sc.status;
  for (int32_t i = 0; i < lay.dim; ++i) y[i] = doubled_coordinate(y[i], sc.s);
  format::BitWriter bw(rec);
  bw.put(sc.header, lay.header_bits);
  constexpr int n = lattice_traits<L>::kDim;
  for (int32_t j0 = 0; j0 < lay.nblocks; j0 += kEncodeLanes) {
    const int count = lay.nblocks - j0 < kEncodeLanes ? lay.nblocks - j0 : kEncodeLanes;
    uint64_t idx[kEncodeLanes];
    quantize_blocks<L, kEncodeLanes>(y + j0 * n, count, lay.q, idx);
    for (int l = 0; l < count; ++l) bw.put(idx[l], lay.bits_per_block);
  }
  bw.flush();
  return Status::kOk;
}

/// Decodes rec into out[0..dim). `buf` is caller scratch of dim floats. Returns
/// kCorruptCode (and writes zeros) when the header or any block index is invalid.
template <class L, class Out>
[[nodiscard]] KAKEYA_HD Status decode_vector(const LatticeLayout& lay, const uint8_t* rec,
                                             float* buf, Out* out) noexcept {
  float s = 0.0f;
  Status st = scale_from_header(lay.scale, format::read_header(lay, rec), lay.q, &s);
  constexpr int n = lattice_traits<L>::kDim;
  for (int32_t j = 0; j < lay.nblocks && st == Status::kOk; ++j) {
    const uint64_t idx = format::read_bits(rec, format::block_bit_offset(lay, j), lay.bits_per_block);
    if (!dequantize_block<L>(idx, lay.q, buf + j * n)) st = Status::kCorruptCode;
  }
  if (st != Status::kOk || s == 0.0f) {
    for (int32_t i = 0; i < lay.dim; ++i) out[i] = element<Out>::from_float(0.0f);
    return st;
  }
  const float c = s * hadamard_norm(lay.hadamard_log2);
  for (int32_t base = 0; base < lay.dim; base += lay.hadamard_p) fwht(buf + base, lay.hadamard_p);
  for (int32_t i = 0; i < lay.dim; ++i) out[i] = element<Out>::from_float(buf[i] * c);
  return Status::kOk;
}

}  // namespace kakeya
