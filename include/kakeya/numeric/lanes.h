// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file lanes.h
/// Lane-wise helpers for code written once for one value and for a vector of values.
/// V is one integer (int32_t, int64_t, uint64_t: the CUDA kernels, the one-block paths,
/// the tests) or a GCC/Clang vector of integers (the CPU vector paths: one 8-d block, or
/// one zone, per lane). A mask is a V whose lanes are 0 or −1 (all bits set); D is double
/// or a vector of doubles.
///
/// Host only (KAKEYA_LANES): the vector types, and an 8×8 in-register transpose. Lane
/// code compares vectors with vectors only: GCC scalarises a vector-scalar compare inside
/// a target() function, and the mask chains that depend on it.

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kakeya/config.h"

// Lane templates pass vector types between always-inline functions, so GCC's note that
// such arguments change the ABI without AVX does not apply. GCC reports it at the end of
// the calling function, after any pop, so it stays off.
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wpsabi"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace kakeya::lanes {

template <class V>
[[nodiscard]] KAKEYA_HD V bcast(int32_t x) noexcept {
  return V{} + x;
}
template <class V>
[[nodiscard]] KAKEYA_HD V eq(const V& a, const V& b) noexcept {
  if constexpr (std::is_integral_v<V>) {
    return -static_cast<V>(a == b);
  } else {
    return a == b;
  }
}
/// 0 < a per lane (a mask).
template <class V>
[[nodiscard]] KAKEYA_HD V positive(const V& a) noexcept {
  if constexpr (std::is_integral_v<V>) {
    return -static_cast<V>(0 < a);
  } else {
    return a > V{};  // vector operands: GCC scalarises vector-scalar compares in target() functions
  }
}
/// m ? a : b per lane (m a mask).
template <class V>
[[nodiscard]] KAKEYA_HD V select(const V& m, const V& a, const V& b) noexcept {
#if defined(__GNUC__) && !defined(__clang__)
  if constexpr (!std::is_integral_v<V>) return m ? a : b;  // a blend
#endif
  return (a & m) | (b & ~m);
}
/// |a| for 32-bit lanes.
template <class V>
[[nodiscard]] KAKEYA_HD V vabs(const V& a) noexcept {
  if constexpr (std::is_integral_v<V>) {
    return a < 0 ? -a : a;
  } else {
    const V s = a >> 31;  // 0 or −1
    return (a ^ s) - s;
  }
}
template <class V>
[[nodiscard]] KAKEYA_HD V vmax(const V& a, const V& b) noexcept {
  if constexpr (std::is_integral_v<V>) {
    return a > b ? a : b;
  } else {
#if defined(__GNUC__) && !defined(__clang__)
    return a > b ? a : b;
#else
    return select(a > b, a, b);
#endif
  }
}
/// Double lanes: D is double (masks bool) or a vector of doubles (masks the int64
/// vector of equal size).
template <class D>
using MaskOf = decltype(D{} < D{});
template <class D>
[[nodiscard]] KAKEYA_HD D dbcast(double x) noexcept {
  return D{} + x;
}
/// |x| (clears the sign bit, so |−0| = +0 as fabs).
template <class D>
[[nodiscard]] KAKEYA_HD D dabs(const D& x) noexcept {
  if constexpr (std::is_floating_point_v<D>) {
    return fabs(x);
  } else {
    typedef decltype(D{} < D{}) U;
    return (D)((U)x & (U{} + 0x7FFFFFFFFFFFFFFF));
  }
}
/// rint in the default rounding mode (round half to even); lanes: (x + 1.5·2^52) − 1.5·2^52,
/// the same for |x| < 2^51 (every |x| here is below 2^13).
template <class D>
[[nodiscard]] KAKEYA_HD D drint(const D& x) noexcept {
  if constexpr (std::is_floating_point_v<D>) {
    return rint(x);
  } else {
    const D big = D{} + 0x1.8p52;
    return (x + big) - big;
  }
}
/// Whether the integer-valued double s is odd, as a mask.
template <class D>
[[nodiscard]] KAKEYA_HD MaskOf<D> dodd(const D& s) noexcept {
  if constexpr (std::is_floating_point_v<D>) {
    return (static_cast<int64_t>(s) & 1) != 0;
  } else {
    typedef MaskOf<D> M;
    return -(__builtin_convertvector(s, M) & 1);  // 0 / −1 without a compare (see nearest_d8)
  }
}
template <class M>
[[nodiscard]] KAKEYA_HD M mnot(const M& m) noexcept {
  if constexpr (std::is_same_v<M, bool>) {
    return !m;
  } else {
    return ~m;
  }
}

}  // namespace kakeya::lanes

#if !defined(__CUDACC__) && !defined(__HIPCC__) && (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)) && \
    defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && !defined(KAKEYA_NO_LANES)
#define KAKEYA_LANES 1
namespace kakeya::lanes {

/// A vector of W values of type E.
template <class E, int W>
struct Vec {
  typedef E T __attribute__((vector_size(sizeof(E) * W)));
};

/// The vector types of W lanes (W = 4, 8, 16).
template <int W>
struct LaneTypes {
  typedef typename Vec<int32_t, W>::T I32;
  typedef typename Vec<uint64_t, W>::T U64;
  typedef typename Vec<uint16_t, W>::T U16;
  typedef typename Vec<uint8_t, W>::T U8;
  typedef typename Vec<double, W>::T F64;
  typedef typename Vec<float, W>::T F32;
};

template <class T>
[[nodiscard]] KAKEYA_HD T load_vec(const void* p) noexcept {
  T v;
  memcpy(&v, p, sizeof v);
  return v;
}

/// In-register transpose of the 8×8 values v[0..7] (rows, 8-lane vectors of E) into
/// r[k][0] (columns).
template <class E>
KAKEYA_HD void transpose(typename Vec<E, 8>::T* v, typename Vec<E, 8>::T (*r)[1]) noexcept {
  typedef typename Vec<E, 8>::T F;
  typedef typename Vec<E, 4>::T H;
  F a[8], b[8];
  for (int i = 0; i < 8; i += 2) {
    a[i] = __builtin_shufflevector(v[i], v[i + 1], 0, 8, 2, 10, 4, 12, 6, 14);
    a[i + 1] = __builtin_shufflevector(v[i], v[i + 1], 1, 9, 3, 11, 5, 13, 7, 15);
  }
  for (int i = 0; i < 8; i += 4)
    for (int k = 0; k < 2; ++k) {
      b[i + k] = __builtin_shufflevector(a[i + k], a[i + k + 2], 0, 1, 8, 9, 4, 5, 12, 13);
      b[i + k + 2] = __builtin_shufflevector(a[i + k], a[i + k + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    }
  for (int k = 0; k < 4; ++k) {
    const H b0 = __builtin_shufflevector(b[k], b[k], 0, 1, 2, 3), b1 = __builtin_shufflevector(b[k], b[k], 4, 5, 6, 7);
    const H c0 = __builtin_shufflevector(b[k + 4], b[k + 4], 0, 1, 2, 3);
    const H c1 = __builtin_shufflevector(b[k + 4], b[k + 4], 4, 5, 6, 7);
    r[k][0] = __builtin_shufflevector(b0, c0, 0, 1, 2, 3, 4, 5, 6, 7);
    r[k + 4][0] = __builtin_shufflevector(b1, c1, 0, 1, 2, 3, 4, 5, 6, 7);
  }
}

}  // namespace kakeya::lanes
#endif
