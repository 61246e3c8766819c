// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file lloydmax.h
/// `lloydmax`: the TurboQuant-MSE recipe without its QJL residual. A fixed random-sign
/// Walsh–Hadamard rotation makes every coordinate of a vector x ~ N(0, ‖x‖²/D); each
/// coordinate, normalised by the stored norm, is quantized by the b-bit Lloyd–Max
/// quantizer of N(0, 1). b + 16/D bits per coordinate (record layout: format.h).
///
/// Exact rules (float32, in this order; the NumPy reference follows them):
///   σ_i = −1 if bit 63 of splitmix64(kLloydMaxSeed + i) is set, else +1;
///   n   = sqrt(Σ x_i²) with the sum in the library's group-of-8 order
///         (group8_partial_sumsq), stored as fp16 (round to nearest even);
///         an fp16 overflow (n > 65504) is an input error; a stored 0 is the zero vector;
///   y   = hadamard_rotate(σ ⊙ x);  u_i = y_i · (sqrt(D) / n16)  (one factor, rounded once);
///   k_i = #{ j : t_j < u_i },  t_j = (l_j + l_{j+1}) · 0.5 from the float32 levels l
///         of lloydmax_tables.h (the nearest level; ties go to the lower one);
///   decode: y_i = l_{k_i} · (n16 / sqrt(D)),  x̂ = σ ⊙ hadamard_rotate(y)
///         (H/√P is symmetric and its own inverse).
/// The norm is fp16, not bf16: its relative error (≤ 2^-11) costs < 0.01 dB at every
/// rate, where bf16's (≤ 2^-8) would cost up to 0.03 dB at 8 bits.

#include <cmath>
#include <cstdint>

#include "kakeya/codec/diag.h"
#include "kakeya/codec/format.h"
#include "kakeya/codec/lloydmax_tables.h"
#include "kakeya/codec/spec_fields.h"
#include "kakeya/error.h"
#include "kakeya/numeric/formats.h"
#include "kakeya/transform/hadamard.h"

namespace kakeya {

inline constexpr uint64_t kLloydMaxSeed = 0x4b414b4559413031ull;  // "KAKEYA01"

/// splitmix64 (Steele, Lea, Flood 2014): a bijective 64-bit mixer.
[[nodiscard]] KAKEYA_HD uint64_t splitmix64(uint64_t z) noexcept {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/// σ_i applied by flipping the sign bit (exact).
[[nodiscard]] KAKEYA_HD float lloydmax_flip(float v, int32_t i) noexcept {
  const uint32_t s = static_cast<uint32_t>(splitmix64(kLloydMaxSeed + static_cast<uint64_t>(i)) >> 63);
  return detail::bits_float(detail::float_bits(v) ^ (s << 31));
}

/// Level j of the b-bit quantizer (host and device copies of one table; the levels of
/// b bits start at 2^b - 2).
[[nodiscard]] KAKEYA_HD float lloydmax_level(int bits, int32_t j) noexcept {
#if defined(__CUDA_ARCH__)
  return detail::kLloydMaxLevelsDevice[(1 << bits) - 2 + j];
#else
  return detail::kLloydMaxLevels[(1 << bits) - 2 + j];
#endif
}

/// #{ j : t_j < u } by binary search over the sorted thresholds.
[[nodiscard]] KAKEYA_HD uint32_t lloydmax_index(float u, int bits) noexcept {
  int32_t lo = 0, hi = (1 << bits) - 1;
  while (lo < hi) {
    const int32_t mid = (lo + hi) >> 1;
    const float t = (lloydmax_level(bits, mid) + lloydmax_level(bits, mid + 1)) * 0.5f;
    if (u > t) lo = mid + 1;
    else hi = mid;
  }
  return static_cast<uint32_t>(lo);
}

/// `y` is caller scratch of dim floats.
template <class In>
[[nodiscard]] KAKEYA_HD Diag lloydmax_encode(const LloydMaxLayout& l, const In* x, float* y,
                                             uint8_t* rec) noexcept {
  for (int32_t i = 0; i < l.code_bytes; ++i) rec[i] = 0;
  uint32_t nonfinite = 0;
  for (int32_t i = 0; i < l.dim; ++i) {
    y[i] = lloydmax_flip(element<In>::to_float(x[i]), i);
    nonfinite |= static_cast<uint32_t>(!detail::is_finite(y[i]));
  }
  if (nonfinite) return reject_record(rec, l.code_bytes, input_fault(x, l.dim, Fault::kNonFinite, 0.0f));
  float sumsq = 0.0f;
  for (int32_t g = 0; g < l.dim; g += 8) sumsq += group8_partial_sumsq(y + g);
  const float n = sqrtf(sumsq);
  const uint16_t n16 = float_to_f16(n);
  const float nf = f16_to_float(n16);
  if (!detail::is_finite(nf)) return reject_record(rec, l.code_bytes, Diag::input(Fault::kFp16Overflow, -1, n));
  if (nf == 0.0f) return Diag{};  // all-zero record: decodes to the zero vector
  hadamard_rotate(y, l.dim);
  const float inv = sqrtf(static_cast<float>(l.dim)) / nf;
  format::BitWriter bw(rec);
  bw.put(n16, 16);
  for (int32_t i = 0; i < l.dim; ++i) bw.put(lloydmax_index(y[i] * inv, l.bits), l.bits);
  bw.flush();
  return Diag{};
}

/// `y` is caller scratch of dim floats.
template <class Out>
[[nodiscard]] KAKEYA_HD Diag lloydmax_decode(const LloydMaxLayout& l, const uint8_t* rec, float* y,
                                             Out* out) noexcept {
  const uint16_t n16 = format::load_u16(rec);
  const float nf = f16_to_float(n16);
  if ((n16 & 0x8000u) || !detail::is_finite(nf))
    return reject_row(out, l.dim, Diag::corrupt(Fault::kBadScale, -1, n16), element<Out>::from_float);
  const float c = nf / sqrtf(static_cast<float>(l.dim));
  for (int32_t i = 0; i < l.dim; ++i)
    y[i] = lloydmax_level(l.bits, static_cast<int32_t>(format::read_bits(rec, 16 + int64_t{i} * l.bits, l.bits))) * c;
  hadamard_rotate(y, l.dim);
  for (int32_t i = 0; i < l.dim; ++i) out[i] = element<Out>::from_float(lloydmax_flip(y[i], i));
  return Diag{};
}

/// Codec type of the registry.
struct LloydMaxCodec {
  static constexpr CodecKind kKind = CodecKind::kLloydMax;
  static constexpr bool kScratch = true;
  using Layout = LloydMaxLayout;
  [[nodiscard]] static Layout layout(const CodecSpec& s) noexcept { return lloydmax_layout(s); }
  [[nodiscard]] static int32_t code_bytes(const Layout& l) noexcept { return l.code_bytes; }
  static void validate(const CodecSpec& s) {
    KAKEYA_CHECK(s.dim % 8 == 0, "dim = ", s.dim, " must be a multiple of 8 for lloydmax");
    KAKEYA_CHECK(s.bits >= 1 && s.bits <= 8, "bits = ", s.bits, " must be in [1, 8] for lloydmax");
  }
  [[nodiscard]] static int64_t bits(const CodecSpec& s) noexcept { return 16 + int64_t{s.bits} * s.dim; }
  template <class In>
  [[nodiscard]] KAKEYA_HD static Diag encode(const Layout& l, const In* x, float* y, uint8_t* rec) noexcept {
    return lloydmax_encode(l, x, y, rec);
  }
  template <class Out>
  [[nodiscard]] KAKEYA_HD static Diag decode(const Layout& l, const uint8_t* rec, float* y, Out* out) noexcept {
    return lloydmax_decode(l, rec, y, out);
  }
};

}  // namespace kakeya
