// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file config.h
/// Build configuration shared by host and device code: the host/device qualifier
/// macro, the library and format versions, and the inline/instantiation switch.

#define KAKEYA_VERSION_MAJOR 0
#define KAKEYA_VERSION_MINOR 1
#define KAKEYA_VERSION_PATCH 0
#define KAKEYA_VERSION_STRING "0.1.0"

/// Codec storage format version. A change to the bit layout of a record bumps this and
/// adds golden files under tests/golden/.
#define KAKEYA_FORMAT_VERSION 1

/// Full unrolling of a short constant-trip loop (so that constant tables fold away).
#if defined(__CUDACC__) || defined(__HIPCC__) || defined(__clang__)
#define KAKEYA_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define KAKEYA_UNROLL _Pragma("GCC unroll 8")
#else
#define KAKEYA_UNROLL
#endif

#if defined(__CUDACC__) || defined(__HIPCC__)
#define KAKEYA_HD __host__ __device__ __forceinline__
#define KAKEYA_DEVICE_COMPILE 1
#else
#if defined(__GNUC__)
#define KAKEYA_HD inline __attribute__((always_inline))
#else
#define KAKEYA_HD inline
#endif
#endif

// KAKEYA_HEADER_ONLY: every template is instantiated inline from the headers (target
// kakeya::core). Without it, src/ instantiates the shipped types and the headers
// declare them extern (target kakeya::cpu).
#if defined(KAKEYA_HEADER_ONLY)
#define KAKEYA_EXTERN_TEMPLATE 0
#else
#define KAKEYA_EXTERN_TEMPLATE 1
#endif
