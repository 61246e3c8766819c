// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file kernels.cuh
/// CUDA kernels of the codecs, composed from the same KAKEYA_HD pieces as the host
/// path (fwht_stage, choose_scale, quantize_blocks, dequantize_block, format word
/// writes, number formats). Raw pointers only.
///
/// Work split (lattice codecs): thread t of a vector owns coordinates [8t, 8t+8) (one
/// E8/Z8 block or two D4 blocks); T = dim/8 threads per vector, V vectors per CTA.
/// The Hadamard stages h = 1, 2, 4 run in-thread; stage h = 8k pairs thread t with
/// t ^ k, through a warp shuffle when k < 32 and through shared memory otherwise, in
/// the same stage order and operand order as the host (bit-identical results).

#include <cuda_runtime.h>

#include <cstdint>

#include "kakeya/codec/baselines.h"
#include "kakeya/codec/registry.h"
#include "kakeya/codec/format.h"
#include "kakeya/codec/lattice_codec.h"
#include "kakeya/codec/scale.h"
#include "kakeya/numeric/formats.h"
#include "kakeya/transform/hadamard.h"
#include "kakeya/view/strided.h"

namespace kakeya::gpu::detail {

inline constexpr int kChunk = 8;
inline constexpr int32_t kErrInput = 1;
inline constexpr int32_t kErrCorrupt = 2;
inline constexpr int32_t kErrTable = 4;  ///< attention: seq_len beyond the block table

/// Where encode writes row r's record. CodeBatch (contiguous or strided rows) and
/// PagedDst (rows = tokens × heads scattered to cache slots) both provide row(r);
/// row_stride == code_bytes enables the CTA-wide coalesced copy.
struct PagedDst {
  uint8_t* base;
  const int64_t* slots;  ///< one per token
  int32_t heads;
  int64_t bytes;
  int64_t num_slots;
  int64_t row_stride;  ///< always 0: records are scattered
  __device__ __forceinline__ uint8_t* row(int64_t r) const {
    const int64_t s = slots[r / heads];
    if (s < 0 || s >= num_slots) return nullptr;  // reported, never written
    return base + (s * heads + r % heads) * bytes;
  }
};

/// Launch geometry shared by the encode and decode kernels of one codec.
struct Geometry {
  int32_t t;       ///< threads per vector (dim / 8)
  int32_t v;       ///< vectors per CTA (live rows)
  int32_t groups;  ///< thread groups per CTA: ceil(threads / t) >= v; threads is a
                   ///< multiple of 32 so full-warp shuffles are defined; the padding
                   ///< threads form dead groups
  int32_t words;   ///< 32-bit words of the staged records: ceil(v·code_bytes / 4)
};

/// Dynamic shared memory of both lattice kernels: exchange floats [groups·t·8],
/// reduction floats [groups·t], then the CTA's records packed back to back as in a
/// contiguous code array (v·code_bytes bytes, rounded up to words): the encoder ORs
/// its bits there and the decoder stages its input there, so global traffic is one
/// coalesced copy per CTA.
struct SmemLayout {
  float* xch;
  float* red;
  uint32_t* words;
};
__device__ __forceinline__ SmemLayout smem_layout(const Geometry& g, float* base) {
  SmemLayout l;
  l.xch = base;
  l.red = base + g.groups * g.t * 8;
  l.words = reinterpret_cast<uint32_t*>(l.red + g.groups * g.t);
  return l;
}

/// Loads 8 consecutive elements as float (16-byte vector loads when aligned).
template <class In>
__device__ __forceinline__ void load8(const In* p, bool vec_ok, float (&v)[8]) {
  if constexpr (sizeof(In) == 2) {
    if (vec_ok) {
      const uint4 raw = *reinterpret_cast<const uint4*>(p);
      const uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        v[2 * k] = element<In>::to_float(In{static_cast<uint16_t>(w[k] & 0xffffu)});
        v[2 * k + 1] = element<In>::to_float(In{static_cast<uint16_t>(w[k] >> 16)});
      }
      return;
    }
  } else {
    if (vec_ok) {
      const float4 a = *reinterpret_cast<const float4*>(p);
      const float4 b = *reinterpret_cast<const float4*>(p + 4);
      v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
      return;
    }
  }
#pragma unroll
  for (int k = 0; k < 8; ++k) v[k] = element<In>::to_float(p[k]);
}

template <class Out>
__device__ __forceinline__ void store8(Out* p, bool vec_ok, const float (&v)[8]) {
  if constexpr (sizeof(Out) == 2) {
    if (vec_ok) {
      uint32_t w[4];
#pragma unroll
      for (int k = 0; k < 4; ++k)
        w[k] = static_cast<uint32_t>(element<Out>::from_float(v[2 * k]).bits) |
               (static_cast<uint32_t>(element<Out>::from_float(v[2 * k + 1]).bits) << 16);
      *reinterpret_cast<uint4*>(p) = make_uint4(w[0], w[1], w[2], w[3]);
      return;
    }
  } else {
    if (vec_ok) {
      *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
      *reinterpret_cast<float4*>(p + 4) = make_float4(v[4], v[5], v[6], v[7]);
      return;
    }
  }
#pragma unroll
  for (int k = 0; k < 8; ++k) p[k] = element<Out>::from_float(v[k]);
}

/// Unnormalised WHT over a vector split into 8-chunks, one per thread (see file
/// comment). `xch` is CTA shared scratch of blockDim.x * 8 floats, used for the stages
/// whose partner is in another warp. Every thread of the CTA must call it.
__device__ __forceinline__ void group_fwht(float (&v)[8], int32_t p, float* xch) {
  fwht_stage(v, 8, 1);
  fwht_stage(v, 8, 2);
  fwht_stage(v, 8, 4);
  const int tid = threadIdx.x;
  for (int32_t k = 1; 8 * k < p; k <<= 1) {
    const bool upper = (tid & k) != 0;
    if (k < 32) {
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        const float other = __shfl_xor_sync(0xffffffffu, v[i], k);
        v[i] = upper ? other - v[i] : v[i] + other;  // (a + b, a - b) as on the host
      }
    } else {
#pragma unroll
      for (int i = 0; i < 8; ++i) xch[tid * 8 + i] = v[i];
      __syncthreads();
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        const float other = xch[(tid ^ k) * 8 + i];
        v[i] = upper ? other - v[i] : v[i] + other;
      }
      __syncthreads();
    }
  }
}

/// Max of `x` over the T threads of each vector (T threads starting at a multiple of T).
/// `red` is CTA shared scratch of groups·T floats. Every thread must call it. Max is
/// exact in any order, so the three paths agree with the host bit for bit.
__device__ __forceinline__ float group_max(float x, int32_t t, float* red) {
  const int tid = threadIdx.x;
  if (t <= 32 && (t & (t - 1)) == 0) {
    for (int k = 1; k < t; k <<= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, k));
    return x;
  }
  if (t % 32 == 0) {  // whole warps per vector: warp max, then across the vector's warps
    for (int k = 1; k < 32; k <<= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, k));
    if ((tid & 31) == 0) red[tid >> 5] = x;
    __syncthreads();
    const int w0 = (tid / t) * (t / 32);
    float m = red[w0];
    for (int i = 1; i < t / 32; ++i) m = fmaxf(m, red[w0 + i]);
    __syncthreads();
    return m;
  }
  red[tid] = x;
  __syncthreads();
  const int base = (tid / t) * t;
  float m = 0.0f;
  for (int i = 0; i < t; ++i) m = fmaxf(m, red[base + i]);
  __syncthreads();
  return m;
}

/// Copies `n` bytes between a global range and shared memory with the CTA's threads:
/// 32-bit accesses when the global address is 4-byte aligned (the shared side always
/// is), then the tail bytes.
template <bool kToGlobal>
__device__ __forceinline__ void cta_copy(uint8_t* global, uint8_t* shared, int32_t n) {
  int32_t done = 0;
  if ((reinterpret_cast<uintptr_t>(global) & 3u) == 0) {
    const int32_t nw = n / 4;
    for (int32_t i = threadIdx.x; i < nw; i += blockDim.x) {
      if (kToGlobal) reinterpret_cast<uint32_t*>(global)[i] = reinterpret_cast<const uint32_t*>(shared)[i];
      else reinterpret_cast<uint32_t*>(shared)[i] = reinterpret_cast<const uint32_t*>(global)[i];
    }
    done = nw * 4;
  }
  for (int32_t i = done + threadIdx.x; i < n; i += blockDim.x) {
    if (kToGlobal) global[i] = shared[i];
    else shared[i] = global[i];
  }
}

/// Σ of per-thread partial sums in thread order (the host's sequential group order).
__device__ __forceinline__ float group_sum_ordered(float x, int32_t t, float* red) {
  const int tid = threadIdx.x;
  red[tid] = x;
  __syncthreads();
  const int base = (tid / t) * t;
  float s = 0.0f;
  for (int i = 0; i < t; ++i) s += red[base + i];
  __syncthreads();
  return s;
}

/// Encode kernel of the lattice codecs (shared memory: see SmemLayout).
template <class L, class In, class Dst = CodeBatch>
__global__ void lattice_encode_kernel(LatticeLayout lay, Geometry g, StridedBatch<const In> x,
                                      Dst codes, int32_t* error_flag, bool vec_in) {
  extern __shared__ float smem[];
  const SmemLayout sm = smem_layout(g, smem);
  float* xch = sm.xch;
  float* red = sm.red;
  uint32_t* words = sm.words;
  const int tid = threadIdx.x;
  const int vl = tid / g.t;        // vector within the CTA
  const int lane = tid - vl * g.t;  // chunk within the vector
  const int64_t row = static_cast<int64_t>(blockIdx.x) * g.v + vl;
  const bool live = vl < g.v && row < x.rows;
  for (int i = tid; i < g.words; i += blockDim.x) words[i] = 0u;
  const int64_t rec_bit = static_cast<int64_t>(vl) * lay.code_bytes * 8;  // record start

  float v[8];
  if (live) {
    load8(x.row(row) + lane * kChunk, vec_in, v);
  } else {
#pragma unroll
    for (int k = 0; k < 8; ++k) v[k] = 0.0f;
  }
  bool finite = true;
#pragma unroll
  for (int k = 0; k < 8; ++k) finite = finite && kakeya::detail::is_finite(v[k]);
  group_fwht(v, lay.hadamard_p, xch);
  const float norm = hadamard_norm(lay.hadamard_log2);
  float amax = 0.0f;
#pragma unroll
  for (int k = 0; k < 8; ++k) {
    v[k] *= norm;
    finite = finite && kakeya::detail::is_finite(v[k]);  // also catches rotation overflow
    amax = fmaxf(amax, kakeya::detail::abs_bits(v[k]));
  }
  amax = finite ? amax : __int_as_float(0x7f800000);
  amax = group_max(amax, g.t, red);
  float sumsq = 0.0f;
  if (lay.scale == ScaleFormat::kNormQmax) sumsq = group_sum_ordered(group8_partial_sumsq(v), g.t, red);
  const ScaleChoice sc = choose_scale(lay.scale, amax, sumsq, lay.q);
  const bool bad = !kakeya::detail::is_finite(amax) ||
                   (amax != 0.0f && (sc.status != Status::kOk ||
                                     !scale_in_range(sc.s, lay.q, hadamard_norm(lay.hadamard_log2))));
  __syncthreads();  // records zeroed
  if (live && !bad && amax != 0.0f) {
    auto emit = [&](int64_t w, uint32_t bits) { atomicOr(words + w, bits); };
    if (lane == 0) format::for_each_word(rec_bit, sc.header, lay.header_bits, emit);
    constexpr int n = lattice_traits<L>::kDim;
#pragma unroll
    for (int b = 0; b < kChunk / n; ++b) {
      const int32_t j = lane * (kChunk / n) + b;
      const uint64_t idx = quantize_block<L>(v + b * n, sc.s, lay.q);
      format::for_each_word(rec_bit + format::block_bit_offset(lay, j), idx, lay.bits_per_block, emit);
    }
  }
  if (live && bad && lane == 0 && error_flag) atomicOr(error_flag, kErrInput);
  __syncthreads();  // records complete
  const int64_t row0 = static_cast<int64_t>(blockIdx.x) * g.v;
  const int32_t nrows = static_cast<int32_t>(min(static_cast<int64_t>(g.v), x.rows - row0));
  uint8_t* staged = reinterpret_cast<uint8_t*>(words);
  if (codes.row_stride == lay.code_bytes) {
    cta_copy<true>(codes.row(row0), staged, nrows * lay.code_bytes);
  } else if (live) {
    uint8_t* dst = codes.row(row);
    if (dst == nullptr) {
      if (lane == 0 && error_flag) atomicOr(error_flag, kErrInput);
    } else {
      for (int i = lane; i < lay.code_bytes; i += g.t) dst[i] = staged[vl * lay.code_bytes + i];
    }
  }
}

/// Decode kernel of the lattice codecs (shared memory: see SmemLayout, no words).
template <class L, class Out>
__global__ void lattice_decode_kernel(LatticeLayout lay, Geometry g, ConstCodeBatch codes,
                                      StridedBatch<Out> out, int32_t* error_flag, bool vec_out) {
  extern __shared__ float smem[];
  const SmemLayout sm = smem_layout(g, smem);
  float* xch = sm.xch;
  float* red = sm.red;
  const int tid = threadIdx.x;
  const int vl = tid / g.t;
  const int lane = tid - vl * g.t;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * g.v + vl;
  const bool live = vl < g.v && row < codes.rows;
  uint8_t* staged = reinterpret_cast<uint8_t*>(sm.words);
  const int64_t row0 = static_cast<int64_t>(blockIdx.x) * g.v;
  const int32_t nrows = static_cast<int32_t>(min(static_cast<int64_t>(g.v), codes.rows - row0));
  if (codes.row_stride == lay.code_bytes) {
    cta_copy<false>(const_cast<uint8_t*>(codes.row(row0)), staged, nrows * lay.code_bytes);
  } else if (live) {
    const uint8_t* src = codes.row(row);
    for (int i = lane; i < lay.code_bytes; i += g.t) staged[vl * lay.code_bytes + i] = src[i];
  }
  __syncthreads();
  float v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  float s = 0.0f;
  bool ok = true;
  if (live) {
    const uint8_t* rec = staged + vl * lay.code_bytes;
    ok = lattice_scale(lay, format::read_header(lay, rec), &s);
    constexpr int n = lattice_traits<L>::kDim;
#pragma unroll
    for (int b = 0; b < kChunk / n; ++b) {
      const int32_t j = lane * (kChunk / n) + b;
      const uint64_t idx = format::read_bits(rec, format::block_bit_offset(lay, j), lay.bits_per_block);
      ok = dequantize_block<L>(idx, lay.q, v + b * n) && ok;
    }
  }
  // A corrupt chunk zeroes the whole row, as on the host.
  const float bad = group_max(ok ? 0.0f : 1.0f, g.t, red);
  group_fwht(v, lay.hadamard_p, xch);
  if (!live) return;
  if (bad != 0.0f) {
    if (lane == 0 && error_flag) atomicOr(error_flag, kErrCorrupt);
    s = 0.0f;
  }
  const float c = s * hadamard_norm(lay.hadamard_log2);
#pragma unroll
  for (int k = 0; k < 8; ++k) v[k] = s == 0.0f ? 0.0f : v[k] * c;
  store8(out.row(row) + lane * kChunk, vec_out, v);
}

/// Rows per CTA of the FP8 kernels: each CTA holds whole rows (dim/8 threads each), so a
/// row-wide decision (reject the whole record) is one shared-memory flag; the CTA is
/// rounded up to whole warps (padding threads are not live).
struct Fp8Geometry {
  int32_t chunks;  ///< threads per row (dim / 8)
  int32_t rows;    ///< rows per CTA
  int32_t threads;
};
inline Fp8Geometry fp8_geometry(int64_t dim) {
  Fp8Geometry g{};
  g.chunks = static_cast<int32_t>(dim / kChunk);
  g.rows = g.chunks >= 256 ? 1 : 256 / g.chunks;
  g.threads = (g.rows * g.chunks + 31) / 32 * 32;
  return g;
}

/// FP8-per-64 encode: 8 threads per group of 64, one thread per 8 values. A row with a
/// non-finite value gets an all-zero record (as baseline_encode_vector on the host).
template <class In, class Dst = CodeBatch>
__global__ void fp8_encode_kernel(Fp8Geometry g, StridedBatch<const In> x, Dst codes, int32_t* error_flag,
                                  bool vec_in, bool word_io) {
  __shared__ int32_t row_bad[256];
  const int tid = threadIdx.x;
  const int vl = tid / g.chunks;
  const int32_t c = tid - vl * g.chunks;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * g.rows + vl;
  const bool live = vl < g.rows && row < x.rows;
  if (tid < g.rows) row_bad[tid] = 0;
  float v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  if (live) load8(x.row(row) + c * kChunk, vec_in, v);
  float amax = 0.0f;
  bool finite = true;
#pragma unroll
  for (int k = 0; k < 8; ++k) {
    finite = finite && kakeya::detail::is_finite(v[k]);
    amax = fmaxf(amax, kakeya::detail::abs_bits(v[k]));
  }
  // 8 consecutive lanes form one group of 64 (threads per row is a multiple of 8).
  float fin = finite ? 0.0f : 1.0f;
  for (int k = 1; k < 8; k <<= 1) {
    amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, k));
    fin = fmaxf(fin, __shfl_xor_sync(0xffffffffu, fin, k));
  }
  const uint16_t s16 = fp8_group_scale(amax);
  const float s = bf16_to_float(s16);
  __syncthreads();  // row_bad cleared
  if (live && (fin != 0.0f || !kakeya::detail::is_finite(s))) atomicOr(row_bad + vl, 1);
  __syncthreads();
  if (!live) return;
  const bool bad = row_bad[vl] != 0;
  uint8_t* rec = codes.row(row);
  if (rec == nullptr) {
    if (error_flag) atomicOr(error_flag, kErrInput);
    return;
  }
  if (bad && c == 0 && error_flag) atomicOr(error_flag, kErrInput);
  const int32_t group = c / 8;
  if ((c & 7) == 0) format::store_u16(rec + 2 * group, bad ? uint16_t{0} : s16);
  uint8_t* vals = rec + BaselineLayout{static_cast<int32_t>(x.cols), 0}.vals_offset() + c * kChunk;
  uint32_t w[2] = {0u, 0u};
#pragma unroll
  for (int k = 0; k < 8; ++k)
    w[k / 4] |= static_cast<uint32_t>(bad ? 0 : e4m3_fit_product(float_to_e4m3(v[k] / s), s)) << (8 * (k % 4));
  if (word_io) {
    reinterpret_cast<uint32_t*>(vals)[0] = w[0];
    reinterpret_cast<uint32_t*>(vals)[1] = w[1];
  } else {
#pragma unroll
    for (int k = 0; k < 8; ++k) vals[k] = static_cast<uint8_t>(w[k / 4] >> (8 * (k % 4)));
  }
}

/// FP8-per-64 decode; a corrupt scale or value zeroes the whole row (as on the host).
template <class Out>
__global__ void fp8_decode_kernel(Fp8Geometry g, ConstCodeBatch codes, StridedBatch<Out> out, int32_t* error_flag,
                                  bool vec_out, bool word_io) {
  __shared__ int32_t row_bad[256];
  const int tid = threadIdx.x;
  const int vl = tid / g.chunks;
  const int32_t c = tid - vl * g.chunks;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * g.rows + vl;
  const bool live = vl < g.rows && row < out.rows;
  if (tid < g.rows) row_bad[tid] = 0;
  float v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  bool ok = true;
  if (live) {
    const uint8_t* rec = codes.row(row);
    float s = 0.0f;
    ok = fp8_group_scale_value(format::load_u16(rec + 2 * (c / 8)), &s);
    const uint8_t* vals = rec + BaselineLayout{static_cast<int32_t>(out.cols), 0}.vals_offset() + c * kChunk;
    uint8_t b[8];
    if (word_io) {
      const uint32_t w0 = reinterpret_cast<const uint32_t*>(vals)[0], w1 = reinterpret_cast<const uint32_t*>(vals)[1];
#pragma unroll
      for (int k = 0; k < 4; ++k) b[k] = static_cast<uint8_t>(w0 >> (8 * k)), b[4 + k] = static_cast<uint8_t>(w1 >> (8 * k));
    } else {
#pragma unroll
      for (int k = 0; k < 8; ++k) b[k] = vals[k];
    }
#pragma unroll
    for (int k = 0; k < 8; ++k) {
      ok = e4m3_scaled_value(b[k], s, &v[k]) && ok;  // the host rule (formats.h)
    }
  }
  __syncthreads();  // row_bad cleared
  if (live && !ok) atomicOr(row_bad + vl, 1);
  __syncthreads();
  if (!live) return;
  if (row_bad[vl] != 0) {
    if (c == 0 && error_flag) atomicOr(error_flag, kErrCorrupt);
#pragma unroll
    for (int k = 0; k < 8; ++k) v[k] = 0.0f;
  }
  store8(out.row(row) + c * kChunk, vec_out, v);
}

/// Largest dim of the row-wise kernels for codecs that need scratch (per-thread array).
inline constexpr int32_t kRowwiseScratchDim = 1024;

/// Every codec without a dedicated kernel (block-scaled formats, int, lloydmax, bf16):
/// one thread per row running the registry's per-vector code, as on the host.
template <class C, class In, class Dst = CodeBatch>
__global__ void rowwise_encode_kernel(typename C::Layout lay, StridedBatch<const In> x, Dst codes,
                                      int32_t* error_flag) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= x.rows) return;
  float scratch[C::kScratch ? kRowwiseScratchDim : 1];
  uint8_t* dst = codes.row(r);
  if ((dst == nullptr || !C::template encode<In>(lay, x.row(r), scratch, dst).ok()) && error_flag)
    atomicOr(error_flag, kErrInput);
}

template <class C, class Out>
__global__ void rowwise_decode_kernel(typename C::Layout lay, ConstCodeBatch codes, StridedBatch<Out> out,
                                      int32_t* error_flag) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= out.rows) return;
  float scratch[C::kScratch ? kRowwiseScratchDim : 1];
  if (!C::template decode<Out>(lay, codes.row(r), scratch, out.row(r)).ok() && error_flag)
    atomicOr(error_flag, kErrCorrupt);
}

}  // namespace kakeya::gpu::detail
