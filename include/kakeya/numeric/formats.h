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

// ---------------------------------------------------------------------------------
// E2M1 (OCP FP4): 1 sign, 2 exponent, 1 mantissa bit; magnitudes
// {0, 0.5, 1, 1.5, 2, 3, 4, 6} for codes 0..7, bit 3 the sign. No NaN or infinity.

inline constexpr float kE2M1Max = 6.0f;

[[nodiscard]] KAKEYA_HD float e2m1_to_float(uint8_t c) noexcept {
  // magnitude of code m: m/2 for m < 4, then 2, 3, 4, 6
  const uint32_t m = c & 7u;
  const float mag = m < 4 ? 0.5f * static_cast<float>(m) : (m == 7 ? 6.0f : static_cast<float>(m - 2));
  return (c & 8u) ? -mag : mag;
}

/// Round to nearest, ties to the even code (mantissa bit 0), saturating at 6; the sign
/// bit is set only for a nonzero negative result (no -0 codes). Finite input only.
[[nodiscard]] KAKEYA_HD uint8_t float_to_e2m1(float f) noexcept {
  const float a = detail::abs_bits(f);
  // Midpoints between neighbours; `<=` sends a tie down to the even code, `<` up.
  const uint32_t m = a <= 0.25f ? 0u : a < 0.75f ? 1u : a <= 1.25f ? 2u : a < 1.75f ? 3u
                   : a <= 2.5f  ? 4u : a < 3.5f  ? 5u : a <= 5.0f  ? 6u : 7u;
  const bool neg = (detail::float_bits(f) >> 31) != 0;
  return static_cast<uint8_t>(m | ((neg && m != 0) ? 8u : 0u));
}

// ---------------------------------------------------------------------------------
// Saturation at the float32 limit: an element code whose value times its block scale
// would overflow float32 (only possible for inputs within a rounding step of FLT_MAX)
// is replaced by the next smaller magnitude, so every record an encoder writes decodes
// to finite values. One step always suffices (the next magnitude is <= 15/16 of it).

[[nodiscard]] KAKEYA_HD uint8_t e4m3_fit_product(uint8_t c, float s) noexcept {
  return (c & 0x7fu) != 0 && !detail::is_finite(e4m3_to_float(c) * s) ? static_cast<uint8_t>(c - 1) : c;
}
[[nodiscard]] KAKEYA_HD uint8_t e2m1_fit_product(uint8_t c, float s) noexcept {
  return (c & 7u) != 0 && !detail::is_finite(e2m1_to_float(c) * s) ? static_cast<uint8_t>(c - 1) : c;
}

/// The decode side of the same rule: *v = value(c) · s; false for a NaN E4M3 code or a
/// product that overflows float32 (a corrupt record: no encoder writes either).
[[nodiscard]] KAKEYA_HD bool e4m3_scaled_value(uint8_t c, float s, float* v) noexcept {
  *v = e4m3_to_float(c) * s;
  return (c & 0x7fu) != 0x7fu && detail::is_finite(*v);
}

// ---------------------------------------------------------------------------------
// Power-of-two (UE8M0) scale rules. Both return the E8M0 byte e, value 2^(e-127).

/// Biased exponent of 2^ceil(log2 y) for finite y > 0 (DeepSeek-V4's "ue8m0" rule),
/// clamped to [0, 254].
[[nodiscard]] KAKEYA_HD uint8_t ue8m0_ceil(float y) noexcept {
  const uint32_t b = detail::float_bits(y) & 0x7fffffffu;
  const uint32_t e = b >> 23;
  if (e == 0) return b > 0x00400000u ? 1 : 0;  // subnormal: 2^-126 or 2^-127
  const uint32_t r = e + ((b & 0x7fffffu) != 0 ? 1u : 0u);
  return static_cast<uint8_t>(r > 254u ? 254u : r);
}

/// OCP MX v1.0 shared scale 2^(floor(log2 amax) - emax_elem) as a biased exponent,
/// clamped to [0, 254]; amax = 0 or subnormal gives 0 (2^-127).
[[nodiscard]] KAKEYA_HD uint8_t ue8m0_mx(float amax, int emax_elem) noexcept {
  const int32_t e = static_cast<int32_t>((detail::float_bits(amax) >> 23) & 0xffu) - emax_elem;
  return static_cast<uint8_t>(e < 0 ? 0 : (e > 254 ? 254 : e));
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
