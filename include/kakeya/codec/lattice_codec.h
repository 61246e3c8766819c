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

#include <array>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kakeya/codec/diag.h"
#include "kakeya/codec/format.h"
#include "kakeya/codec/scale.h"
#include "kakeya/codec/spec_fields.h"
#include "kakeya/error.h"
#include "kakeya/lattice/d4.h"
#include "kakeya/lattice/e8.h"
#include "kakeya/lattice/e8_unrank.h"
#include "kakeya/lattice/z8.h"
#include "kakeya/numeric/formats.h"
#include "kakeya/numeric/lanes.h"
#include "kakeya/transform/hadamard.h"

namespace kakeya {

/// Blocks processed together by the host encoder (vector lanes); 1 on the device,
/// where each thread owns one block.
#if defined(__CUDA_ARCH__)
inline constexpr int kEncodeLanes = 1;
#else
inline constexpr int kEncodeLanes = 16;
#endif

/// Floats per vector the baseline CPU loop searches with (SSE2 / NEON: 4).
inline constexpr int kBaselineFloatLanes = 4;

/// The quantizer's input coordinate: w = 2·(y/s), in doubled units (exact scaling).
[[nodiscard]] KAKEYA_HD float doubled_coordinate(float y, float s) noexcept { return (y / s) * 2.0f; }

/// The scale s of a record header; false when the header is not a valid scale (NaN,
/// infinite, negative, reserved) or one the record could not have been written with.
/// Every decoder (CPU, GPU row kernels, attention) checks headers with this.
[[nodiscard]] KAKEYA_HD bool lattice_scale(const LatticeLayout& lay, uint32_t hdr, float* s) noexcept {
  return scale_from_header(lay.scale, hdr, lay.q, s) == Status::kOk &&
         scale_in_range(*s, lay.q, hadamard_norm(lay.hadamard_log2));
}

/// Quantizes `count` <= W consecutive blocks whose coordinates are already in doubled
/// units (w_blk, block-major as in the vector): idx[l] = rank(nearest(w)). Lanes past
/// `count` are padded with 0. VL: floats per vector of the CPU loop's ISA (0: one block
/// at a time; see nearest_parity_box).
template <class L, int W, int VL = 0>
KAKEYA_HD void quantize_blocks(const float* w_blk, int count, int q, uint64_t* idx) noexcept {
  constexpr int n = lattice_traits<L>::kDim;
  float w[n * W];
  int32_t t[n * W];
  float dist[W];
  if (count == W) {
    for (int i = 0; i < n; ++i)
      for (int l = 0; l < W; ++l) w[i * W + l] = w_blk[l * n + i];
  } else {
    for (int i = 0; i < n; ++i)
      for (int l = 0; l < W; ++l) w[i * W + l] = l < count ? w_blk[l * n + i] : 0.0f;
  }
  lattice_traits<L>::template nearest_lanes<W, VL>(w, q, t, dist);
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
/// Fails (record all zero) on NaN/Inf input, a rotation that overflows, or a scale the
/// format cannot hold; the Diag says which and where.
template <class L, class In, int VL = 0>
[[nodiscard]] KAKEYA_HD Diag encode_vector(const LatticeLayout& lay, const In* x, float* y,
                                           uint8_t* rec) noexcept {
  for (int32_t i = 0; i < lay.dim; ++i) y[i] = element<In>::to_float(x[i]);
  memset(rec, 0, static_cast<size_t>(lay.code_bytes));
  hadamard_rotate(y, lay.dim);
  // max |y| from the bits: for non-negative floats the order of the bit patterns is the
  // order of the values, and inf or NaN is any pattern >= 0x7f800000. A non-finite input
  // makes its whole Hadamard block non-finite, so this one (vectorizable) pass finds it,
  // and input_fault tells a non-finite input from a rotation that overflows.
  uint32_t amax_bits = 0;
  for (int32_t i = 0; i < lay.dim; ++i) {
    const uint32_t b = detail::float_bits(y[i]) & 0x7fffffffu;
    amax_bits = b > amax_bits ? b : amax_bits;
  }
  if (amax_bits >= 0x7f800000u) return input_fault(x, lay.dim, Fault::kRotationOverflow, 0.0f);
  const float amax = detail::bits_float(amax_bits);
  float sumsq = 0.0f;
  if (lay.scale == ScaleFormat::kNormQmax)
    for (int32_t g = 0; g < lay.dim; g += 8) sumsq += group8_partial_sumsq(y + g);
  const ScaleChoice sc = choose_scale(lay.scale, amax, sumsq, lay.q);
  if (amax == 0.0f) return Diag{};  // all-zero record
  if (sc.status != Status::kOk || !scale_in_range(sc.s, lay.q, hadamard_norm(lay.hadamard_log2)))
    return Diag::input(Fault::kScaleOverflow, -1, amax);
  for (int32_t i = 0; i < lay.dim; ++i) y[i] = doubled_coordinate(y[i], sc.s);
  format::BitWriter bw(rec);
  bw.put(sc.header, lay.header_bits);
  constexpr int n = lattice_traits<L>::kDim;
  for (int32_t j0 = 0; j0 < lay.nblocks; j0 += kEncodeLanes) {
    const int count = lay.nblocks - j0 < kEncodeLanes ? lay.nblocks - j0 : kEncodeLanes;
    uint64_t idx[kEncodeLanes];
    quantize_blocks<L, kEncodeLanes, VL>(y + j0 * n, count, lay.q, idx);
    for (int l = 0; l < count; ++l) bw.put(idx[l], lay.bits_per_block);
  }
  bw.flush();
  return Diag{};
}

/// Decodes rec into out[0..dim). `buf` is caller scratch of dim floats. A header that
/// is not a valid scale or a block index outside the codebook is corrupt: the row is
/// zeroed and the Diag names the header bits or the block.
template <class L, class Out>
[[nodiscard]] KAKEYA_HD Diag decode_vector(const LatticeLayout& lay, const uint8_t* rec,
                                           float* buf, Out* out) noexcept {
  float s = 0.0f;
  const uint32_t hdr = format::read_header(lay, rec);
  if (!lattice_scale(lay, hdr, &s))
    return reject_row(out, lay.dim, Diag::corrupt(Fault::kBadScale, -1, hdr), element<Out>::from_float);
  constexpr int n = lattice_traits<L>::kDim;
  for (int32_t j = 0; j < lay.nblocks; ++j) {
    const uint64_t idx = format::read_bits(rec, format::block_bit_offset(lay, j), lay.bits_per_block);
    if (!dequantize_block<L>(idx, lay.q, buf + j * n))
      return reject_row(out, lay.dim, Diag::corrupt(Fault::kBadIndex, j, idx), element<Out>::from_float);
  }
  if (s == 0.0f) return reject_row(out, lay.dim, Diag{}, element<Out>::from_float);
  const float c = s * hadamard_norm(lay.hadamard_log2);
  for (int32_t base = 0; base < lay.dim; base += lay.hadamard_p) fwht(buf + base, lay.hadamard_p);
  for (int32_t i = 0; i < lay.dim; ++i) out[i] = element<Out>::from_float(buf[i] * c);
  return Diag{};
}

#if defined(KAKEYA_LANES)
namespace detail {

/// The division-free unrank constants of every Q, built once (host).
[[nodiscard]] inline const E8Unrank& e8_unrank_of(int q) noexcept {
  static const std::array<E8Unrank, kMaxQ + 1> table = [] {
    std::array<E8Unrank, kMaxQ + 1> t{};
    for (int k = 1; k <= kMaxQ; ++k) t[k] = make_e8_unrank(k);
    return t;
  }();
  return table[q];
}

/// decode_vector for E8 on the CPU, eight blocks per step, one per 64-bit lane: the
/// indices unrank without division (e8_unrank_lanes), the Hadamard stages 1, 2, 4 run
/// lane-wise on the doubled points t = 2p, an 8×8 transpose puts each block in its row,
/// stages 8, 16, 32 pair the rows, and the stages ≥ 64 run over the vector. Every
/// Hadamard sum is an exact integer (|H t| ≤ 1024·254 < 2^24), so the order of the
/// additions cannot change a bit: the output is decode_vector's, value for value
/// (tests/cpp/test_lattice_lanes.cpp).
template <class Out>
[[nodiscard]] KAKEYA_HD Diag decode_vector_e8_lanes(const LatticeLayout& lay, const E8Unrank& u, const uint8_t* rec,
                                          float* buf, Out* out) noexcept {
  typedef lanes::LaneTypes<8> T;
  typedef T::U64 U64;
  typedef T::I32 I32;
  typedef T::F32 F32;
  float s = 0.0f;
  const uint32_t hdr = format::read_header(lay, rec);
  if (!lattice_scale(lay, hdr, &s))
    return reject_row(out, lay.dim, Diag::corrupt(Fault::kBadScale, -1, hdr), element<Out>::from_float);
  const int bpb = lay.bits_per_block;
  const uint64_t mask = ~uint64_t{0} >> (64 - bpb);
  for (int32_t j0 = 0; j0 < lay.nblocks; j0 += 8) {
    const int count = lay.nblocks - j0 < 8 ? lay.nblocks - j0 : 8;
    alignas(64) uint64_t idx[8] = {};
    const int64_t pos0 = format::block_bit_offset(lay, j0);
    uint64_t bad = 0;  // any index past the codebook
    if (bpb <= 56 && ((pos0 + (count - 1) * bpb) >> 3) + 8 <= lay.code_bytes) {
      for (int l = 0; l < count; ++l) {  // one 8-byte window per block; little-endian
        const int64_t pos = pos0 + l * bpb;
        uint64_t w;
        memcpy(&w, rec + (pos >> 3), 8);
        idx[l] = (w >> (pos & 7)) & mask;
        bad |= static_cast<uint64_t>(idx[l] >= lay.codebook_size);
      }
    } else {  // the record's last bytes, or indices of more than 56 bits
      for (int l = 0; l < count; ++l) {
        idx[l] = format::read_bits(rec, pos0 + l * bpb, bpb);
        bad |= static_cast<uint64_t>(idx[l] >= lay.codebook_size);
      }
    }
    if (bad)
      for (int l = 0; l < count; ++l)
        if (idx[l] >= lay.codebook_size)
          return reject_row(out, lay.dim, Diag::corrupt(Fault::kBadIndex, j0 + l, idx[l]), element<Out>::from_float);
    U64 d[8], half, ok;
    e8_unrank_lanes(u, lanes::load_vec<U64>(idx), d, half, ok);
    const I32 off = __builtin_convertvector(half & 1u, I32) - 2 * lay.q;
    I32 t[8];
    for (int i = 0; i < 8; ++i) t[i] = 2 * __builtin_convertvector(d[i], I32) + off;
    butterflies<8>(t);  // stages 1, 2, 4 inside each block (lane)
    F32 v[8];
    for (int i = 0; i < 8; ++i) v[i] = __builtin_convertvector(t[i], F32);
    F32 rows[8][1], r[8];
    lanes::transpose<float>(v, rows);
    for (int l = 0; l < 8; ++l) r[l] = rows[l][0];
    // Stages 8, 16, 32 pair blocks l and l ^ 1, 2, 4 of this group: all of them where
    // P ≥ 64 (nblocks is then a multiple of 8), else inside groups of P/8 blocks (whole,
    // as count is a multiple of P/8; padding rows stay apart and are not stored).
    if (lay.hadamard_p >= 64) {
      butterflies<8>(r);
    } else if (lay.hadamard_p == 32) {
      butterflies<4>(r);
      butterflies<4>(r + 4);
    } else if (lay.hadamard_p == 16) {
      for (int l = 0; l < 8; l += 2) butterflies<2>(r + l);
    }
    for (int l = 0; l < count; ++l) memcpy(buf + 8 * (j0 + l), &r[l], sizeof(F32));
  }
  if (s == 0.0f) return reject_row(out, lay.dim, Diag{}, element<Out>::from_float);
  for (int32_t base = 0; base < lay.dim; base += lay.hadamard_p) fwht_stages(buf + base, lay.hadamard_p, 64);
  const float c = s * hadamard_norm(lay.hadamard_log2);
  for (int32_t i = 0; i < lay.dim; ++i) out[i] = element<Out>::from_float((0.5f * buf[i]) * c);
  return Diag{};
}

}  // namespace detail
#endif

/// Codec type of the registry: the v1 lattice codec over lattice L.
template <class L>
struct LatticeCodec {
  using Lattice = L;
  static constexpr CodecKind kKind = CodecKind::kLattice;
  static constexpr bool kScratch = true;
  using Layout = LatticeLayout;
  [[nodiscard]] static Layout layout(const CodecSpec& s) noexcept { return lattice_layout(s); }
  [[nodiscard]] static int32_t code_bytes(const Layout& l) noexcept { return l.code_bytes; }
  static void validate(const CodecSpec& s) {
    KAKEYA_CHECK(s.dim % 8 == 0, "dim = ", s.dim, " must be a multiple of 8");
    KAKEYA_CHECK(s.q >= 1 && s.q <= kMaxQ, "q = ", s.q, " must be an integer in [1, ", kMaxQ, "]");
    KAKEYA_CHECK(static_cast<int32_t>(s.scale) >= 0 && static_cast<int32_t>(s.scale) <= 2,
                 "scale = ", static_cast<int32_t>(s.scale), " is not bf16, fp16 or norm_qmax");
  }
  [[nodiscard]] static int64_t bits(const CodecSpec& s) noexcept {
    const LatticeLayout l = lattice_layout(s);
    return l.header_bits + int64_t{l.nblocks} * l.bits_per_block;
  }
  template <class In>
  [[nodiscard]] KAKEYA_HD static Diag encode(const Layout& l, const In* x, float* y, uint8_t* rec) noexcept {
    return encode_vector<L>(l, x, y, rec);
  }
  template <class Out>
  [[nodiscard]] KAKEYA_HD static Diag decode(const Layout& l, const uint8_t* rec, float* y, Out* out) noexcept {
    return decode_vector<L>(l, rec, y, out);
  }
  /// ISA-tuned paths (cpu/codec.h); Lanes = doubles per vector of the calling loop's ISA
  /// (0: baseline). Same codes and decoded values as encode / decode. The box search runs
  /// 8 floats per vector with AVX2 and AVX-512 alike (16 measured 27 % slower on AVX-512,
  /// AMD EPYC), 4 on the baseline; the E8 decoder's lanes are 64-bit whatever the ISA (the
  /// baseline loop runs them as SSE2 pairs).
  template <int Lanes, class In>
  [[nodiscard]] KAKEYA_HD static Diag encode_lanes(const Layout& l, const In* x, float* y, uint8_t* rec) noexcept {
    return encode_vector<L, In, Lanes == 0 ? kBaselineFloatLanes : 8>(l, x, y, rec);
  }
  template <int Lanes, class Out>
  [[nodiscard]] KAKEYA_HD static Diag decode_lanes(const Layout& l, const uint8_t* rec, float* y, Out* out) noexcept {
#if defined(KAKEYA_LANES)
    if constexpr (std::is_same_v<L, E8>) {
      const E8Unrank& u = detail::e8_unrank_of(l.q);
      if (u.ok) return detail::decode_vector_e8_lanes(l, u, rec, y, out);
    }
#endif
    return decode_vector<L>(l, rec, y, out);
  }
};

}  // namespace kakeya
