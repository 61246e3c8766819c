// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file formats.h
/// Exact conversions between float32 and the 16- and 8-bit number formats the codecs
/// store: IEEE binary16 (fp16), bfloat16, OCP float8 E4M3 ("FN": bias 7, no infinity,
/// max 448, NaN = S.1111.111) and E8M0 (an unsigned power of two, 2^(e-127)).
///
/// All conversions round to nearest, ties to even, unless named `_up` (toward +inf for
/// non-negative inputs). They are written with integer operations on the float bits so
/// that host and device give identical results without any FP environment setting.

#include <cstdint>

#include "kakeya/config.h"
#include "kakeya/numeric/bits.h"

namespace kakeya {

/// Storage types owned by the library: 16-bit patterns with no arithmetic, usable on
/// host and device without CUDA headers.
struct f16 {
  uint16_t bits;
};
struct bf16 {
  uint16_t bits;
};
static_assert(sizeof(f16) == 2 && sizeof(bf16) == 2, "16-bit storage types");

namespace detail {
/// Rounds m / 2^shift to the nearest integer, ties to even (0 < shift < 32).
[[nodiscard]] KAKEYA_HD uint32_t shift_rne(uint32_t m, int shift) noexcept {
  if (shift >= 32) return 0;
  const uint32_t q = m >> shift;
  const uint32_t rem = m & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1);
  return q + ((rem > half || (rem == half && (q & 1u))) ? 1u : 0u);
}
}  // namespace detail

// ---------------------------------------------------------------------------------
// bfloat16: the top 16 bits of a float32.

[[nodiscard]] KAKEYA_HD float bf16_to_float(uint16_t h) noexcept {
  return detail::bits_float(static_cast<uint32_t>(h) << 16);
}

[[nodiscard]] KAKEYA_HD uint16_t float_to_bf16(float f) noexcept {
  const uint32_t x = detail::float_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

/// Smallest bf16 >= f for finite f >= 0 (may return +inf, 0x7f80).
[[nodiscard]] KAKEYA_HD uint16_t float_to_bf16_up(float f) noexcept {
  uint16_t h = float_to_bf16(f);
  if (bf16_to_float(h) < f) ++h;
  return h;
}

// ---------------------------------------------------------------------------------
// IEEE binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits; subnormals 2^-24 steps.

[[nodiscard]] KAKEYA_HD float f16_to_float(uint16_t h) noexcept {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu;
  const uint32_t m = h & 0x3ffu;
  if (e == 0) {  // zero or subnormal: m * 2^-24, exact in float32
    const float v = static_cast<float>(m) * detail::exp2i(-24);
    return detail::bits_float(detail::float_bits(v) | sign);
  }
  if (e == 31) return detail::bits_float(sign | 0x7f800000u | (m << 13));
  return detail::bits_float(sign | ((e + 112u) << 23) | (m << 13));
}

[[nodiscard]] KAKEYA_HD uint16_t float_to_f16(float f) noexcept {
  const uint32_t x_all = detail::float_bits(f);
  const uint16_t sign = static_cast<uint16_t>((x_all >> 16) & 0x8000u);
  const uint32_t x = x_all & 0x7fffffffu;
  if (x > 0x7f800000u) return sign | 0x7e00u;   // NaN
  if (x >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 rounds to inf
  if (x < 0x38800000u) {                         // below 2^-14: subnormal or zero
    const int e = static_cast<int>(x >> 23);
    if (e == 0) return sign;  // float32 subnormals are far below 2^-25
    const uint32_t m = (x & 0x7fffffu) | 0x800000u;
    // value = m * 2^(e-150); in units of 2^-24 that is m * 2^(e-126).
    return sign | static_cast<uint16_t>(detail::shift_rne(m, 126 - e));
  }
  // Normal: rebias the exponent (127 -> 15) and round 23 mantissa bits to 10. A carry
  // out of the mantissa correctly increments the exponent.
  return sign | static_cast<uint16_t>(detail::shift_rne(x - 0x38000000u, 13));
}

/// Smallest fp16 >= f for finite f >= 0 (may return +inf, 0x7c00).
[[nodiscard]] KAKEYA_HD uint16_t float_to_f16_up(float f) noexcept {
  uint16_t h = float_to_f16(f);
  if (f16_to_float(h) < f) ++h;
  return h;
}

// ---------------------------------------------------------------------------------
// float8 E4M3 (OCP "FN"): bias 7; exponent field 0 is subnormal (m * 2^-9); 0x7f and
// 0xff are NaN; the largest finite magnitude is 0x7e = 1.75 * 2^8 = 448.

inline constexpr float kE4M3Max = 448.0f;

[[nodiscard]] KAKEYA_HD float e4m3_to_float(uint8_t c) noexcept {
  const uint32_t sign = static_cast<uint32_t>(c & 0x80u) << 24;
  const uint32_t e = (c >> 3) & 0xfu;
  const uint32_t m = c & 0x7u;
  if (e == 15 && m == 7) return detail::bits_float(sign | 0x7fc00000u);
  if (e == 0) {
    const float v = static_cast<float>(m) * detail::exp2i(-9);
    return detail::bits_float(detail::float_bits(v) | sign);
  }
  return detail::bits_float(sign | ((e + 120u) << 23) | (m << 20));
}

/// Round to nearest even, saturating: |f| >= 448 (and +-inf) give +-448; NaN gives 0x7f.
[[nodiscard]] KAKEYA_HD uint8_t float_to_e4m3(float f) noexcept {
  const uint32_t x_all = detail::float_bits(f);
  const uint8_t sign = static_cast<uint8_t>((x_all >> 24) & 0x80u);
  const uint32_t x = x_all & 0x7fffffffu;
  if (x > 0x7f800000u) return 0x7fu;
  if (x < 0x3c800000u) {  // |f| < 2^-6: subnormal range, steps of 2^-9
    const int e = static_cast<int>(x >> 23);
    if (e == 0) return sign;
    const uint32_t m = (x & 0x7fffffu) | 0x800000u;
    // value = m * 2^(e-150); in units of 2^-9 that is m * 2^(e-141). Result 8 is the
    // smallest normal (exponent field 1, mantissa 0), encoded as 0x08: consistent.
    return sign | static_cast<uint8_t>(detail::shift_rne(m, 141 - e));
  }
  if (x >= 0x43e00000u) return sign | 0x7eu;  // >= 448: saturate
  // Rebias 127 -> 7 and round 23 mantissa bits to 3.
  uint32_t c = detail::shift_rne(x - (120u << 23), 20);
  if (c > 0x7eu) c = 0x7eu;  // 464 and above would round into the NaN pattern
  return sign | static_cast<uint8_t>(c);
}

// ---------------------------------------------------------------------------------
// E8M0: unsigned power of two, 2^(e-127); e = 255 is NaN.

[[nodiscard]] KAKEYA_HD float e8m0_to_float(uint8_t e) noexcept {
  if (e == 255) return detail::bits_float(0x7fc00000u);
  if (e == 0) return detail::bits_float(0x00400000u);  // 2^-127, a float32 subnormal
  return detail::bits_float(static_cast<uint32_t>(e) << 23);
}

}  // namespace kakeya

namespace kakeya {

/// Element conversions used by the codecs' loads and stores (host and device).
template <class T>
struct element;
template <>
struct element<float> {
  static constexpr const char* kName = "float32";
  [[nodiscard]] KAKEYA_HD static float to_float(float v) noexcept { return v; }
  [[nodiscard]] KAKEYA_HD static float from_float(float v) noexcept { return v; }
};
template <>
struct element<f16> {
  static constexpr const char* kName = "float16";
  [[nodiscard]] KAKEYA_HD static float to_float(f16 v) noexcept { return f16_to_float(v.bits); }
  [[nodiscard]] KAKEYA_HD static f16 from_float(float v) noexcept { return f16{float_to_f16(v)}; }
};
template <>
struct element<bf16> {
  static constexpr const char* kName = "bfloat16";
  [[nodiscard]] KAKEYA_HD static float to_float(bf16 v) noexcept { return bf16_to_float(v.bits); }
  [[nodiscard]] KAKEYA_HD static bf16 from_float(float v) noexcept {
    return bf16{float_to_bf16(v)};
  }
};

}  // namespace kakeya
