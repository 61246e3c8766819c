// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file chunk_kernels.cuh
/// CUDA kernels of the peer codecs (block-scaled formats, int, lloydmax), composed from
/// the same KAKEYA_HD pieces as their host code (block_scale, block_scaled_code,
/// int_group_scale, int_code, lloydmax_search, ...), so codes and outputs are bit-identical.
///
/// Work split: thread c of a row owns coordinates [8c, 8c + 8) (16-byte loads of bf16 /
/// f16 input, two of float); a quantization group of G coordinates is G/8 consecutive
/// lanes that combine their partial max / min through xor shuffles (the group's first
/// lane writes its scale). A CTA holds whole rows, so a row-wide decision (a non-finite
/// input or an overflowing scale anywhere zeroes the whole record; a corrupt group zeroes
/// the whole output row, as on the host) is a shuffle when the row fits in a warp and a
/// shared flag otherwise. The grid is persistent: each CTA strides over row batches and
/// each thread keeps its column position, so per-column constants (lloydmax signs) are
/// computed once per thread.
///
/// Each element's code is a whole number of bytes per chunk of 8 (E4M3 8 bytes, E2M1 4,
/// b-bit int / lloydmax codes b bytes), so the stores never share a byte between threads.

#include <cuda_runtime.h>

#include <cstdint>

#include "kakeya/codec/registry.h"
#include "kakeya/gpu/kernels.cuh"

namespace kakeya::gpu::detail {

/// Launch geometry of the chunk kernels: `chunks` = dim / 8 threads per row, `rows` rows
/// per CTA (about 256 threads), rounded up to whole warps.
using ChunkGeometry = Fp8Geometry;

/// Widest access unit (8, 4, 2 or 1 bytes) that divides both the address and n.
__device__ __forceinline__ int access_unit(const void* p, int n) {
  const uint32_t a = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(p)) | static_cast<uint32_t>(n);
  return (a & 7u) == 0 ? 8 : (a & 3u) == 0 ? 4 : (a & 1u) == 0 ? 2 : 1;
}

/// Stores the low n (<= 8) bytes of v at p, little-endian, in the widest aligned units.
__device__ __forceinline__ void store_bytes(uint8_t* p, uint64_t v, int n) {
  switch (access_unit(p, n)) {
    case 8: *reinterpret_cast<uint64_t*>(p) = v; return;
    case 4:
      for (int k = 0; k < n; k += 4) *reinterpret_cast<uint32_t*>(p + k) = static_cast<uint32_t>(v >> (8 * k));
      return;
    case 2:
      for (int k = 0; k < n; k += 2) *reinterpret_cast<uint16_t*>(p + k) = static_cast<uint16_t>(v >> (8 * k));
      return;
    default:
      for (int k = 0; k < n; ++k) p[k] = static_cast<uint8_t>(v >> (8 * k));
  }
}

/// Loads n (<= 8) bytes from p, little-endian, in the widest aligned units.
__device__ __forceinline__ uint64_t load_bytes(const uint8_t* p, int n) {
  uint64_t v = 0;
  switch (access_unit(p, n)) {
    case 8: return *reinterpret_cast<const uint64_t*>(p);
    case 4:
      for (int k = 0; k < n; k += 4) v |= static_cast<uint64_t>(*reinterpret_cast<const uint32_t*>(p + k)) << (8 * k);
      return v;
    case 2:
      for (int k = 0; k < n; k += 2) v |= static_cast<uint64_t>(*reinterpret_cast<const uint16_t*>(p + k)) << (8 * k);
      return v;
    default:
      for (int k = 0; k < n; ++k) v |= static_cast<uint64_t>(p[k]) << (8 * k);
      return v;
  }
}

template <class T>
__device__ __forceinline__ bool aligned16_ptr(const T* p) {
  return (reinterpret_cast<uintptr_t>(p) & 15u) == 0;
}

/// True on every live lane of a row when any lane of the row passed `bad`. `flags` is
/// CTA shared memory of 2 × 256 ints; `it` the loop iteration (double buffering: the
/// flags of iteration i are cleared in iteration i + 2, after every read). Every thread of
/// the CTA must call it.
__device__ __forceinline__ bool row_any(bool bad, const ChunkGeometry& g, int vl, bool live, int32_t* flags,
                                        int64_t it) {
  if (g.chunks <= 32 && (g.chunks & (g.chunks - 1)) == 0) {
    uint32_t b = bad ? 1u : 0u;
    for (int k = 1; k < g.chunks; k <<= 1) b |= __shfl_xor_sync(0xffffffffu, b, k);
    return b != 0;
  }
  int32_t* f = flags + 256 * (it & 1);
  if (threadIdx.x < g.rows) f[threadIdx.x] = 0;
  __syncthreads();
  if (live && bad) atomicOr(f + vl, 1);
  __syncthreads();
  return live && f[vl] != 0;
}

/// Persistent-grid row loop: calls body(it, row0) for row batches blockIdx.x, +gridDim.x, ...
/// (uniform across the CTA, so bodies may synchronise).
template <class Body>
__device__ __forceinline__ void for_row_batches(int64_t rows, int32_t per_cta, Body&& body) {
  int64_t it = 0;
  for (int64_t row0 = static_cast<int64_t>(blockIdx.x) * per_cta; row0 < rows;
       row0 += static_cast<int64_t>(gridDim.x) * per_cta, ++it)
    body(it, row0);
}

// ------------------------------------------------------------------ block-scaled formats

/// Encode of the five block-scaled formats: chunk c < scaled_dims / 8 is E4M3/E2M1 data
/// (group lanes group / 8), the others the v4_native bf16 tail. Precondition (launcher):
/// dim % 8 == 0, group / 8 a power of two <= 32 dividing dim / 8.
template <class In, class Dst>
__global__ void block_scaled_encode_kernel(BlockScaledLayout lay, ChunkGeometry g, StridedBatch<const In> x,
                                           Dst codes, int32_t* error_flag) {
  __shared__ int32_t flags[512];
  const int tid = threadIdx.x;
  const int vl = tid / g.chunks;
  const int32_t c = tid - vl * g.chunks;
  const int32_t scaled_chunks = lay.scaled_dims / kChunk;
  const int32_t gl = lay.group / kChunk;
  const bool tail = c >= scaled_chunks;
  const bool e4m3 = lay.elem == ElemFormat::kE4M3;
  for_row_batches(x.rows, g.rows, [&](int64_t it, int64_t row0) {
    const int64_t row = row0 + vl;
    const bool live = vl < g.rows && row < x.rows;
    float v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    if (live) {
      const In* p = x.row(row) + c * kChunk;
      load8(p, aligned16_ptr(p), v);
    }
    bool ok = true;
    float amax = 0.0f;
#pragma unroll
    for (int k = 0; k < 8; ++k) {
      ok = ok && kakeya::detail::is_finite(v[k]);
      amax = fmaxf(amax, kakeya::detail::abs_bits(v[k]));  // exact in any order (finite)
    }
    for (int k = 1; k < gl; k <<= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, k));
    uint64_t packed = 0, packed_hi = 0;  // codes; for a tail chunk its bf16 values 0-3 and 4-7
    uint8_t byte = 0;
    if (!tail) {
      float sf = 0.0f;
      block_scale(lay, amax, &byte, &sf);
      const float inv = block_scale_inverse(lay, sf);
#pragma unroll
      for (int k = 0; k < 8; ++k)
        packed |= static_cast<uint64_t>(block_scaled_code(lay, v[k], sf, inv)) << ((e4m3 ? 8 : 4) * k);
    } else {
#pragma unroll
      for (int k = 0; k < 8; ++k) {
        uint16_t h = 0;
        bool overflow = false;
        ok = block_scaled_tail(v[k], &h, &overflow) && ok;
        if (k < 4) packed |= static_cast<uint64_t>(h) << (16 * k);
        else packed_hi |= static_cast<uint64_t>(h) << (16 * (k - 4));
      }
    }
    const bool bad = row_any(!ok, g, vl, live, flags, it);
    if (!live) return;
    uint8_t* rec = codes.row(row);
    if (rec == nullptr) {
      if (c == 0 && error_flag) atomicOr(error_flag, kErrInput);
      return;
    }
    if (bad && c == 0 && error_flag) atomicOr(error_flag, kErrInput);
    if (!tail) {
      if (c % gl == 0) rec[lay.scales_offset + c / gl] = bad ? uint8_t{0} : byte;
      if (e4m3) store_bytes(rec + lay.vals_offset + 8 * c, bad ? 0 : packed, 8);
      else store_bytes(rec + lay.vals_offset + 4 * c, bad ? 0 : packed, 4);
    } else {
      uint8_t* t = rec + lay.tail_offset + 16 * (c - scaled_chunks);
      store_bytes(t, bad ? 0 : packed, 8);
      store_bytes(t + 8, bad ? 0 : packed_hi, 8);
    }
    if (c == 0)  // v4_native pads its scale bytes to a multiple of 8: written as zero
      for (int32_t i = block_scaled_pad_begin(lay); i < lay.code_bytes; ++i) rec[i] = 0;
  });
}

/// Decode of the five block-scaled formats (same split as the encoder).
template <class Out>
__global__ void block_scaled_decode_kernel(BlockScaledLayout lay, ChunkGeometry g, ConstCodeBatch codes,
                                           StridedBatch<Out> out, int32_t* error_flag) {
  __shared__ int32_t flags[512];
  const int tid = threadIdx.x;
  const int vl = tid / g.chunks;
  const int32_t c = tid - vl * g.chunks;
  const int32_t scaled_chunks = lay.scaled_dims / kChunk;
  const int32_t gl = lay.group / kChunk;
  const bool tail = c >= scaled_chunks;
  const bool e4m3 = lay.elem == ElemFormat::kE4M3;
  for_row_batches(out.rows, g.rows, [&](int64_t it, int64_t row0) {
    const int64_t row = row0 + vl;
    const bool live = vl < g.rows && row < out.rows;
    float v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    bool ok = true;
    if (live) {
      const uint8_t* rec = codes.row(row);
      if (!tail) {
        float sf = 0.0f;
        ok = block_scale_value(lay, rec[lay.scales_offset + c / gl], &sf);
        const uint64_t packed = e4m3 ? load_bytes(rec + lay.vals_offset + 8 * c, 8)
                                     : load_bytes(rec + lay.vals_offset + 4 * c, 4);
#pragma unroll
        for (int k = 0; k < 8; ++k) {
          const uint8_t code = e4m3 ? static_cast<uint8_t>(packed >> (8 * k))
                                    : static_cast<uint8_t>((packed >> (4 * k)) & 0xfu);
          ok = block_scaled_value(lay, code, sf, &v[k]) && ok;
        }
      } else {
        const uint8_t* t = rec + lay.tail_offset + 16 * (c - scaled_chunks);
        const uint64_t a = load_bytes(t, 8), b = load_bytes(t + 8, 8);
#pragma unroll
        for (int k = 0; k < 8; ++k) {
          v[k] = bf16_to_float(static_cast<uint16_t>((k < 4 ? a : b) >> (16 * (k & 3))));
          ok = ok && kakeya::detail::is_finite(v[k]);
        }
      }
    }
    const bool bad = row_any(!ok, g, vl, live, flags, it);
    if (!live) return;
    if (bad) {
      if (c == 0 && error_flag) atomicOr(error_flag, kErrCorrupt);
#pragma unroll
      for (int k = 0; k < 8; ++k) v[k] = 0.0f;
    }
    Out* p = out.row(row) + c * kChunk;
    store8(p, aligned16_ptr(p), v);
  });
}

// ------------------------------------------------------------------ int

/// Encode of `int`: group lanes group / 8 merge their ordered min/max (int_minmax_merge,
/// earlier lanes first: the host's sequential scan, -0/+0 included). Precondition
/// (launcher): group % 8 == 0 and group / 8 a power of two <= 32.
template <class In, class Dst>
__global__ void int_encode_kernel(IntLayout lay, ChunkGeometry g, StridedBatch<const In> x, Dst codes,
                                  int32_t* error_flag) {
  __shared__ int32_t flags[512];
  const int tid = threadIdx.x;
  const int vl = tid / g.chunks;
  const int32_t c = tid - vl * g.chunks;
  const int32_t gl = lay.group / kChunk;
  for_row_batches(x.rows, g.rows, [&](int64_t it, int64_t row0) {
    const int64_t row = row0 + vl;
    const bool live = vl < g.rows && row < x.rows;
    float v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    if (live) {
      const In* p = x.row(row) + c * kChunk;
      load8(p, aligned16_ptr(p), v);
    }
    bool ok = true;
    IntMinMax mm = IntMinMax::first(v[0]);
#pragma unroll
    for (int k = 0; k < 8; ++k) {
      ok = ok && kakeya::detail::is_finite(v[k]);
      mm.add(v[k]);
    }
    for (int k = 1; k < gl; k <<= 1) {
      const IntMinMax other{__shfl_xor_sync(0xffffffffu, mm.lo, k), __shfl_xor_sync(0xffffffffu, mm.hi, k)};
      mm = (c & k) ? int_minmax_merge(other, mm) : int_minmax_merge(mm, other);
    }
    uint16_t s16 = 0, z16 = 0;
    float s = 0.0f, z = 0.0f;
    ok = ok && int_group_scale(mm.lo, mm.hi, lay.bits, &s16, &z16, &s, &z);
    uint64_t packed = 0;
#pragma unroll
    for (int k = 0; k < 8; ++k) packed |= static_cast<uint64_t>(int_code(v[k], s, z, lay.bits)) << (lay.bits * k);
    const bool bad = row_any(!ok, g, vl, live, flags, it);
    if (!live) return;
    uint8_t* rec = codes.row(row);
    if (rec == nullptr) {
      if (c == 0 && error_flag) atomicOr(error_flag, kErrInput);
      return;
    }
    if (bad && c == 0 && error_flag) atomicOr(error_flag, kErrInput);
    if (c % gl == 0) {
      const int32_t grp = c / gl;
      store_bytes(rec + 2 * grp, bad ? 0 : s16, 2);
      store_bytes(rec + 2 * (lay.groups + grp), bad ? 0 : z16, 2);
    }
    store_bytes(rec + lay.codes_bit / 8 + c * lay.bits, bad ? 0 : packed, lay.bits);
  });
}

template <class Out>
__global__ void int_decode_kernel(IntLayout lay, ChunkGeometry g, ConstCodeBatch codes, StridedBatch<Out> out,
                                  int32_t* error_flag) {
  __shared__ int32_t flags[512];
  const int tid = threadIdx.x;
  const int vl = tid / g.chunks;
  const int32_t c = tid - vl * g.chunks;
  const int32_t grp = c / (lay.group / kChunk);
  const uint32_t mask = (1u << lay.bits) - 1u;
  for_row_batches(out.rows, g.rows, [&](int64_t it, int64_t row0) {
    const int64_t row = row0 + vl;
    const bool live = vl < g.rows && row < out.rows;
    float v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    bool ok = true;
    if (live) {
      const uint8_t* rec = codes.row(row);
      float s = 0.0f, z = 0.0f;
      ok = int_group_values(format::load_u16(rec + 2 * grp), format::load_u16(rec + 2 * (lay.groups + grp)), &s, &z);
      const uint64_t packed = load_bytes(rec + lay.codes_bit / 8 + c * lay.bits, lay.bits);
#pragma unroll
      for (int k = 0; k < 8; ++k)
        v[k] = int_value(static_cast<uint32_t>(packed >> (lay.bits * k)) & mask, s, z);
    }
    const bool bad = row_any(!ok, g, vl, live, flags, it);
    if (!live) return;
    if (bad) {
      if (c == 0 && error_flag) atomicOr(error_flag, kErrCorrupt);
#pragma unroll
      for (int k = 0; k < 8; ++k) v[k] = 0.0f;
    }
    Out* p = out.row(row) + c * kChunk;
    store8(p, aligned16_ptr(p), v);
  });
}

// ------------------------------------------------------------------ lloydmax

/// Shared memory of the lloydmax kernels: the 2^b - 1 thresholds (encode) or 2^b levels
/// (decode), the Hadamard exchange (threads × 8 floats), the partial sums (threads) and
/// the row sums (rows).
inline size_t lloydmax_smem_bytes(const ChunkGeometry& g) {
  return sizeof(float) * (256 + static_cast<size_t>(g.threads) * 9 + 256);
}

/// Σ of per-thread partials in thread order within each row (the host's sequential
/// group-of-8 order): one lane per row adds them up, the others wait. Every thread of
/// the CTA must call it.
__device__ __forceinline__ float row_sum_ordered(float x, const ChunkGeometry& g, int vl, int32_t c, float* red,
                                                 float* sums) {
  const int tid = threadIdx.x;
  red[tid] = x;
  __syncthreads();
  if (c == 0 && vl < g.rows) {
    const float* r = red + vl * g.chunks;
    float s = 0.0f;
    for (int32_t i = 0; i < g.chunks; ++i) s += r[i];
    sums[vl] = s;
  }
  __syncthreads();
  return vl < g.rows ? sums[vl] : 0.0f;
}

/// Encode of lloydmax: signs σ once per thread, then per row the ordered norm, the
/// Hadamard rotation (group_fwht, as the lattice kernels), one factor, and the search
/// over the shared-memory thresholds. A non-finite input makes the norm non-finite, so
/// the row-wide reject needs no separate flag (the host rejects the same rows).
template <class In, class Dst>
__global__ void lloydmax_encode_kernel(LloydMaxLayout lay, ChunkGeometry g, StridedBatch<const In> x, Dst codes,
                                       int32_t* error_flag) {
  extern __shared__ float lm_smem[];
  float* thr = lm_smem;
  float* xch = thr + 256;
  float* red = xch + g.threads * 8;
  float* sums = red + g.threads;
  const int tid = threadIdx.x;
  const int vl = tid / g.chunks;
  const int32_t c = tid - vl * g.chunks;
  const int32_t nthr = (1 << lay.bits) - 1;
  for (int32_t j = tid; j < nthr; j += blockDim.x) thr[j] = lloydmax_threshold(lay.bits, j);
  uint32_t signs = 0;
#pragma unroll
  for (int k = 0; k < 8; ++k) signs |= lloydmax_sign(c * kChunk + k) << k;
  const float norm = hadamard_norm(lay.hadamard_log2);
  const float sqrt_dim = sqrtf(static_cast<float>(lay.dim));
  __syncthreads();
  for_row_batches(x.rows, g.rows, [&](int64_t, int64_t row0) {
    const int64_t row = row0 + vl;
    const bool live = vl < g.rows && row < x.rows;
    float v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    if (live) {
      const In* p = x.row(row) + c * kChunk;
      load8(p, aligned16_ptr(p), v);
    }
#pragma unroll
    for (int k = 0; k < 8; ++k) v[k] = flip_sign(v[k], (signs >> k) & 1u);
    const float sumsq = row_sum_ordered(group8_partial_sumsq(v), g, vl, c, red, sums);
    group_fwht(v, lay.hadamard_p, xch);
    if (!live) return;
    const float n = sqrtf(sumsq);
    const uint16_t n16 = float_to_f16(n);
    const float nf = f16_to_float(n16);
    const bool bad = !kakeya::detail::is_finite(nf);
    const bool zero = bad || nf == 0.0f;
    uint8_t* rec = codes.row(row);
    if (rec == nullptr) {
      if (c == 0 && error_flag) atomicOr(error_flag, kErrInput);
      return;
    }
    if (bad && c == 0 && error_flag) atomicOr(error_flag, kErrInput);
    const float inv = sqrt_dim / nf;
    uint64_t packed = 0;
#pragma unroll
    for (int k = 0; k < 8; ++k) {
      const float u = (v[k] * norm) * inv;
      packed |= static_cast<uint64_t>(lloydmax_search(u, lay.bits, [thr](int32_t j) { return thr[j]; }))
                << (lay.bits * k);
    }
    if (c == 0) store_bytes(rec, zero ? 0 : n16, 2);
    store_bytes(rec + 2 + c * lay.bits, zero ? 0 : packed, lay.bits);
  });
}

template <class Out>
__global__ void lloydmax_decode_kernel(LloydMaxLayout lay, ChunkGeometry g, ConstCodeBatch codes,
                                       StridedBatch<Out> out, int32_t* error_flag) {
  extern __shared__ float lm_smem[];
  float* lev = lm_smem;
  float* xch = lev + 256;
  const int tid = threadIdx.x;
  const int vl = tid / g.chunks;
  const int32_t c = tid - vl * g.chunks;
  for (int32_t j = tid; j < (1 << lay.bits); j += blockDim.x) lev[j] = lloydmax_level(lay.bits, j);
  uint32_t signs = 0;
#pragma unroll
  for (int k = 0; k < 8; ++k) signs |= lloydmax_sign(c * kChunk + k) << k;
  const float norm = hadamard_norm(lay.hadamard_log2);
  const float sqrt_dim = sqrtf(static_cast<float>(lay.dim));
  const uint32_t mask = (1u << lay.bits) - 1u;
  __syncthreads();
  for_row_batches(out.rows, g.rows, [&](int64_t, int64_t row0) {
    const int64_t row = row0 + vl;
    const bool live = vl < g.rows && row < out.rows;
    float v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    bool ok = true;
    if (live) {
      const uint8_t* rec = codes.row(row);
      const uint16_t n16 = format::load_u16(rec);
      const float nf = f16_to_float(n16);
      ok = !(n16 & 0x8000u) && kakeya::detail::is_finite(nf);  // the same header on every lane
      const float cf = nf / sqrt_dim;
      const uint64_t packed = load_bytes(rec + 2 + c * lay.bits, lay.bits);
#pragma unroll
      for (int k = 0; k < 8; ++k) v[k] = lev[static_cast<uint32_t>(packed >> (lay.bits * k)) & mask] * cf;
    }
    group_fwht(v, lay.hadamard_p, xch);
    if (!live) return;
    if (!ok && c == 0 && error_flag) atomicOr(error_flag, kErrCorrupt);
#pragma unroll
    for (int k = 0; k < 8; ++k) v[k] = ok ? flip_sign(v[k] * norm, (signs >> k) & 1u) : 0.0f;
    Out* p = out.row(row) + c * kChunk;
    store8(p, aligned16_ptr(p), v);
  });
}

}  // namespace kakeya::gpu::detail
