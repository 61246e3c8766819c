// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file hadamard.h
/// Normalised Walsh–Hadamard rotation y = H x / sqrt(P), applied block-diagonally over
/// blocks of P = the largest power of two dividing dim (P = dim for powers of two).
/// H is the Sylvester matrix, symmetric with H·H = P·I, so the normalised transform is
/// its own inverse. Cost O(dim log P); no matrix is ever formed.
///
/// Floating-point contract (bit-identical host/device): stage h = 1, 2, 4, ..., P/2 in
/// that order maps each pair (a, b) = (x_i, x_{i+h}), i with bit h clear, to
/// (a + b, a - b); then every element is multiplied by hadamard_norm(P). Any
/// implementation (SIMD lanes, warp shuffles) must apply the same stage order and the
/// same operand order for a - b.

#include <cstdint>

#include "kakeya/config.h"
#include "kakeya/numeric/bits.h"
#include "kakeya/numeric/lanes.h"  // also: -Wpsabi off for the vector helpers below

namespace kakeya {

/// 1/sqrt(P) for P = 2^k, as the float32 nearest 2^(-k/2): exact for even k, and
/// 2^(-(k-1)/2) times fl(1/sqrt(2)) for odd k (scaling by a power of two is exact).
[[nodiscard]] KAKEYA_HD float hadamard_norm(int log2_p) noexcept {
  const float base = (log2_p & 1) ? 0.70710678118654752440f : 1.0f;
  return base * detail::exp2i(-(log2_p >> 1));
}

/// The Hadamard block size for a dimension: largest power of two dividing dim.
[[nodiscard]] KAKEYA_HD int32_t hadamard_block(int32_t dim) noexcept {
  return detail::largest_pow2_divisor(dim);
}

/// Butterflies (a + b, a − b) between v[q] and v[q + s] for s = 1, 2, ..., R/2, in that
/// order: Walsh–Hadamard stages of strides st, 2·st, ... when v[q] holds coordinate j + q·st
/// (V: a number, or a vector of them: the CPU decoders run the same network lane-wise).
template <int R, class V>
KAKEYA_HD void butterflies(V* v) noexcept {
  for (int s = 1; s < R; s *= 2)
    for (int i = 0; i < R; i += 2 * s)
      for (int q = i; q < i + s; ++q) {
        const V a = v[q], b = v[q + s];
        v[q] = a + b;
        v[q + s] = a - b;
      }
}

/// One butterfly stage of width h over x[0..p), p a power of two, h < p.
/// T: float (the codecs' float32 contract) or double (e8v2's float64 reference order).
template <class T>
KAKEYA_HD void fwht_stage(T* x, int32_t p, int32_t h) noexcept {
  for (int32_t i = 0; i < p; i += 2 * h) {
    for (int32_t j = i; j < i + h; ++j) {
      const T a = x[j], b = x[j + h];
      x[j] = a + b;
      x[j + h] = a - b;
    }
  }
}

#if defined(__GNUC__) && !defined(__clang__) && !defined(__CUDA_ARCH__) && !defined(__CUDACC__)
#define KAKEYA_FWHT_VECTOR_EXT 1
namespace detail {
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
/// Stages h = 1, 2, 4 on each group of 8 consecutive floats, with GCC vector
/// extensions: the element that holds x_j computes x_j + x_{j+h} (addition commutes
/// exactly) and the one that holds x_{j+h} computes partner - self = x_j - x_{j+h},
/// the same operations as fwht_stage, so the bits are identical.
KAKEYA_HD v8f fwht8_in_register(v8f v) noexcept {
  v8f q = __builtin_shuffle(v, v8i{1, 0, 3, 2, 5, 4, 7, 6});
  v = (v8i{0, -1, 0, -1, 0, -1, 0, -1} != 0) ? q - v : v + q;
  q = __builtin_shuffle(v, v8i{2, 3, 0, 1, 6, 7, 4, 5});
  v = (v8i{0, 0, -1, -1, 0, 0, -1, -1} != 0) ? q - v : v + q;
  q = __builtin_shuffle(v, v8i{4, 5, 6, 7, 0, 1, 2, 3});
  return (v8i{0, 0, 0, 0, -1, -1, -1, -1} != 0) ? q - v : v + q;
}
/// Stages 1, 2, 4 (and 8 when p >= 16, pairing the two vectors of each 16 floats).
/// Returns the first stage width not yet applied.
KAKEYA_HD int32_t fwht_first(float* x, int32_t p) noexcept {
  if (p == 8) {
    v8f v;
    __builtin_memcpy(&v, x, sizeof v);
    v = fwht8_in_register(v);
    __builtin_memcpy(x, &v, sizeof v);
    return 8;
  }
  for (int32_t i = 0; i < p; i += 16) {
    v8f a, b;
    __builtin_memcpy(&a, x + i, sizeof a);
    __builtin_memcpy(&b, x + i + 8, sizeof b);
    a = fwht8_in_register(a);
    b = fwht8_in_register(b);
    const v8f s = a + b, d = a - b;
    __builtin_memcpy(x + i, &s, sizeof s);
    __builtin_memcpy(x + i + 8, &d, sizeof d);
  }
  return 16;
}
/// One stage of width h >= 8 (a multiple of 8), 8 floats per step: the same (a + b,
/// a − b) per element as fwht_stage (a runtime-width loop would fall back to scalar code
/// for h = 8 where the ISA's vectors hold 16 floats). Measured faster than radix-4 or
/// radix-8 passes held in registers (AMD EPYC, AVX-512 and AVX2, 2026-11-28).
KAKEYA_HD void fwht_stage8(float* x, int32_t p, int32_t h) noexcept {
  for (int32_t i = 0; i < p; i += 2 * h)
    for (int32_t j = i; j < i + h; j += 8) {
      v8f a, b;
      __builtin_memcpy(&a, x + j, sizeof a);
      __builtin_memcpy(&b, x + j + h, sizeof b);
      const v8f s = a + b, d = a - b;
      __builtin_memcpy(x + j, &s, sizeof s);
      __builtin_memcpy(x + j + h, &d, sizeof d);
    }
}
}  // namespace detail
#endif

/// The stages h0, 2·h0, ..., p/2 of the transform of x[0..p) (h0 a power of two; with
/// h0 >= 8, radix-8/4/2 passes over 8-float vectors where the compiler has them).
KAKEYA_HD void fwht_stages(float* x, int32_t p, int32_t h0) noexcept {
  int32_t h = h0;
#if defined(KAKEYA_FWHT_VECTOR_EXT)
  for (; h >= 8 && h < p; h <<= 1) detail::fwht_stage8(x, p, h);
#endif
  for (; h < p; h <<= 1) fwht_stage(x, p, h);
}

/// Unnormalised Walsh–Hadamard transform of x[0..p) in place (p a power of two).
KAKEYA_HD void fwht(float* x, int32_t p) noexcept {
#if defined(KAKEYA_FWHT_VECTOR_EXT)
  if (p >= 8) {
    fwht_stages(x, p, detail::fwht_first(x, p));
    return;
  }
#endif
  fwht_stages(x, p, 1);
}

/// y = H x / sqrt(P) block-diagonally over x[0..dim), in place.
KAKEYA_HD void hadamard_rotate(float* x, int32_t dim) noexcept {
  const int32_t p = hadamard_block(dim);
  const float norm = hadamard_norm(detail::log2_exact(static_cast<uint32_t>(p)));
  for (int32_t base = 0; base < dim; base += p) {
    fwht(x + base, p);
    for (int32_t i = 0; i < p; ++i) x[base + i] *= norm;
  }
}

/// Σ y_i² in the fixed order the format defines: a sequential float sum over each
/// group of 8 coordinates, then a sequential sum of the group sums. (Read by the
/// norm_qmax scale and the lloydmax norm; the GPU kernels reproduce the same order.)
[[nodiscard]] KAKEYA_HD float group8_partial_sumsq(const float* y) noexcept {
  float p = 0.0f;
  for (int k = 0; k < 8; ++k) p += y[k] * y[k];
  return p;
}

}  // namespace kakeya
