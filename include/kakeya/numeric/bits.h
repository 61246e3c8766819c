// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file bits.h
/// Bit casts and small integer helpers usable on host and device.

#include <cstdint>
#include <cstring>

#include "kakeya/config.h"

namespace kakeya::detail {

[[nodiscard]] KAKEYA_HD uint32_t float_bits(float f) noexcept {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
#endif
}

[[nodiscard]] KAKEYA_HD float bits_float(uint32_t u) noexcept {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
#endif
}

/// True for finite floats (not NaN, not +-inf), by exponent bits: no host-only maths.
[[nodiscard]] KAKEYA_HD bool is_finite(float f) noexcept {
  return (float_bits(f) & 0x7f800000u) != 0x7f800000u;
}

/// |f| by clearing the sign bit.
[[nodiscard]] KAKEYA_HD float abs_bits(float f) noexcept {
  return bits_float(float_bits(f) & 0x7fffffffu);
}

/// 2^e for e in [-149, 127], built exactly from bits.
[[nodiscard]] KAKEYA_HD float exp2i(int e) noexcept {
  if (e >= -126) return bits_float(static_cast<uint32_t>(e + 127) << 23);
  return bits_float(1u << (e + 149));  // subnormal
}

/// Number of bits needed to store any value in [0, n): ceil(log2 n), 0 for n <= 1.
[[nodiscard]] KAKEYA_HD int ceil_log2(uint64_t n) noexcept {
  int b = 0;
  uint64_t v = n - 1;
  if (n <= 1) return 0;
  while (v) {
    ++b;
    v >>= 1;
  }
  return b;
}

/// Integer base-2 logarithm of a power of two.
[[nodiscard]] KAKEYA_HD int log2_exact(uint32_t p) noexcept {
  int k = 0;
  while ((1u << k) < p) ++k;
  return k;
}

/// Largest power of two dividing n (n > 0).
[[nodiscard]] KAKEYA_HD int32_t largest_pow2_divisor(int32_t n) noexcept { return n & -n; }

}  // namespace kakeya::detail
