// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file intq.h
/// `int`: asymmetric uniform quantization per group of g coordinates, the KIVI / HQQ /
/// quanto recipe applied per vector: b bits per coordinate plus an fp16 scale and an
/// fp16 zero per group, b + 32/g bits per coordinate (record layout: format.h).
///
/// Exact rules (float32, in this order; the NumPy reference follows them):
///   lo, hi = min, max of the group;  scale = fp16_rne((hi - lo) / (2^b - 1));
///   zero = fp16_rne(lo);  s, z = their float values;
///   code = clamp(rint((x - z) / s), 0, 2^b - 1), or 0 when s == 0;
///   decode: float(code) · s + z   (two roundings: no fused multiply-add).
/// An fp16 scale or zero that overflows (|x| or the range above 65504) is an input
/// error; a stored scale or zero that is NaN, infinite or a negative scale is corrupt.

#include <cmath>
#include <cstdint>
#include <string>

#include "kakeya/codec/diag.h"
#include "kakeya/codec/format.h"
#include "kakeya/codec/spec_fields.h"
#include "kakeya/error.h"
#include "kakeya/numeric/formats.h"

namespace kakeya {

template <class In>
[[nodiscard]] KAKEYA_HD Diag int_encode(const IntLayout& l, const In* x, uint8_t* rec) noexcept {
  for (int32_t i = 0; i < l.code_bytes; ++i) rec[i] = 0;
  const int32_t maxq = (1 << l.bits) - 1;
  format::BitWriter bw(rec + l.codes_bit / 8);
  for (int32_t g = 0; g < l.groups; ++g) {
    const In* xg = x + g * l.group;
    float lo = element<In>::to_float(xg[0]), hi = lo;
    uint32_t nonfinite = 0;
    for (int32_t k = 0; k < l.group; ++k) {
      const float v = element<In>::to_float(xg[k]);
      nonfinite |= static_cast<uint32_t>(!detail::is_finite(v));
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
    if (nonfinite) {
      for (int32_t k = 0;; ++k)
        if (!detail::is_finite(element<In>::to_float(xg[k])))
          return reject_record(rec, l.code_bytes, Diag::input(Fault::kNonFinite, g * l.group + k,
                                                              element<In>::to_float(xg[k])));
    }
    const uint16_t s16 = float_to_f16((hi - lo) / static_cast<float>(maxq));
    const uint16_t z16 = float_to_f16(lo);
    const float s = f16_to_float(s16), z = f16_to_float(z16);
    if (!detail::is_finite(s) || !detail::is_finite(z)) {
      const float m = detail::abs_bits(hi) > detail::abs_bits(lo) ? detail::abs_bits(hi) : detail::abs_bits(lo);
      return reject_record(rec, l.code_bytes, Diag::input(Fault::kFp16Overflow, g, m));
    }
    format::store_u16(rec + 2 * g, s16);
    format::store_u16(rec + 2 * (l.groups + g), z16);
    for (int32_t k = 0; k < l.group; ++k) {
      float c = s > 0.0f ? rintf((element<In>::to_float(xg[k]) - z) / s) : 0.0f;
      c = c < 0.0f ? 0.0f : (c > static_cast<float>(maxq) ? static_cast<float>(maxq) : c);
      bw.put(static_cast<uint64_t>(c), l.bits);
    }
  }
  bw.flush();
  return Diag{};
}

template <class Out>
[[nodiscard]] KAKEYA_HD Diag int_decode(const IntLayout& l, const uint8_t* rec, Out* out) noexcept {
  for (int32_t g = 0; g < l.groups; ++g) {
    const uint16_t s16 = format::load_u16(rec + 2 * g);
    const uint16_t z16 = format::load_u16(rec + 2 * (l.groups + g));
    const float s = f16_to_float(s16), z = f16_to_float(z16);
    if (!detail::is_finite(s) || (s16 & 0x8000u) || !detail::is_finite(z))
      return reject_row(out, l.dim, Diag::corrupt(Fault::kBadScale, g, (uint64_t{z16} << 16) | s16),
                        element<Out>::from_float);
    for (int32_t k = 0; k < l.group; ++k) {
      const int32_t i = g * l.group + k;
      const uint64_t c = format::read_bits(rec, l.codes_bit + int64_t{i} * l.bits, l.bits);
      out[i] = element<Out>::from_float(static_cast<float>(c) * s + z);
    }
  }
  return Diag{};
}

/// Codec type of the registry.
struct IntCodec {
  static constexpr CodecKind kKind = CodecKind::kInt;
  static constexpr bool kScratch = false;
  using Layout = IntLayout;
  [[nodiscard]] static Layout layout(const CodecSpec& s) noexcept { return int_layout(s); }
  [[nodiscard]] static int32_t code_bytes(const Layout& l) noexcept { return l.code_bytes; }
  static void validate(const CodecSpec& s) {
    KAKEYA_CHECK(s.bits >= 2 && s.bits <= 8, "bits = ", s.bits, " must be in [2, 8] for int");
    KAKEYA_CHECK(s.group >= 16 && s.group <= 256, "group = ", s.group, " must be in [16, 256] for int");
    KAKEYA_CHECK(s.dim % s.group == 0, "group = ", s.group, " must divide dim = ", s.dim);
  }
  [[nodiscard]] static int64_t bits(const CodecSpec& s) noexcept {
    return int64_t{s.bits} * s.dim + int64_t{32} * (s.dim / s.group);
  }
  template <class In>
  [[nodiscard]] KAKEYA_HD static Diag encode(const Layout& l, const In* x, float*, uint8_t* rec) noexcept {
    return int_encode(l, x, rec);
  }
  template <class Out>
  [[nodiscard]] KAKEYA_HD static Diag decode(const Layout& l, const uint8_t* rec, float*, Out* out) noexcept {
    return int_decode(l, rec, out);
  }
};

}  // namespace kakeya
