// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file attention.cuh
/// Split-KV decode attention over a paged cache of codec records (flash-decoding style:
/// online softmax per split, then a reduction over splits).
///
/// Work split: grid (batch · kv_heads · head_chunks, splits); 128 threads. A "worker" is
/// a group of LPT lanes that handles one token at a time; lane i of a worker owns the
/// 8-coordinate blocks i, i + LPT, ... (BPL of them). Each CTA serves G query heads of
/// one KV head (GQA), so each record is read once for G queries.
///
/// Domains: a lattice record is read as its points p (exact halves) and a factor
/// c = s/sqrt(P); the query is pre-rotated (q' = H q, unnormalised) so that
/// q·k̂ = c·⟨q', p⟩, and V accumulates Σ a_t c_t p_t, rotated once by H at the end.
/// FP8 records read as E4M3 values with their group scale as the factor; bf16 records
/// as values with factor 1; both need no rotation.

#include <cuda_runtime.h>

#include <cstdint>

#include "kakeya/attention/paged.h"
#include "kakeya/codec/baselines.h"
#include "kakeya/gpu/kernels.cuh"
#include "kakeya/codec/format.h"
#include "kakeya/codec/lattice_codec.h"
#include "kakeya/codec/scale.h"
#include "kakeya/numeric/formats.h"
#include "kakeya/transform/hadamard.h"

namespace kakeya::gpu::detail {

inline constexpr int kAttnThreads = 128;

/// Lattice record reader: block j -> points p (8 floats), returns c = s / sqrt(P).
template <class L>
struct LatticeReader {
  LatticeLayout lay;
  static constexpr bool kRotated = true;
  __device__ __forceinline__ float load(const uint8_t* rec, int32_t blk, float (&v)[8], bool& ok) const {
    float s = 0.0f;
    ok = lattice_scale(lay, format::read_header(lay, rec), &s) && ok;
    constexpr int n = lattice_traits<L>::kDim;
#pragma unroll
    for (int b = 0; b < 8 / n; ++b) {
      const int32_t j = blk * (8 / n) + b;
      ok = dequantize_block<L>(format::read_bits(rec, format::block_bit_offset(lay, j), lay.bits_per_block), lay.q,
                               v + b * n) && ok;
    }
    return s * hadamard_norm(lay.hadamard_log2);
  }
};

/// FP8-per-64 record reader: block j -> E4M3 values; returns the group's bf16 scale.
struct FP8Reader {
  int32_t dim;
  static constexpr bool kRotated = false;
  __device__ __forceinline__ float load(const uint8_t* rec, int32_t blk, float (&v)[8], bool& ok) const {
    const uint16_t s16 = format::load_u16(rec + 2 * (blk / 8));
    const uint8_t* vals = rec + BaselineLayout{dim, 0}.vals_offset() + blk * 8;
#pragma unroll
    for (int k = 0; k < 8; ++k) {
      ok = ok && (vals[k] & 0x7fu) != 0x7fu;
      v[k] = e4m3_to_float(vals[k]);
    }
    float s = 0.0f;
    ok = fp8_group_scale_value(s16, &s) && ok;
    return s;
  }
};

/// bf16 record reader (16-byte loads when the record is aligned).
struct BF16Reader {
  static constexpr bool kRotated = false;
  __device__ __forceinline__ float load(const uint8_t* rec, int32_t blk, float (&v)[8], bool& ok) const {
    const uint8_t* p = rec + blk * 16;
    if ((reinterpret_cast<uintptr_t>(p) & 15u) == 0) {
      const uint4 raw = *reinterpret_cast<const uint4*>(p);
      const uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        v[2 * k] = bf16_to_float(static_cast<uint16_t>(w[k] & 0xffffu));
        v[2 * k + 1] = bf16_to_float(static_cast<uint16_t>(w[k] >> 16));
      }
    } else {
#pragma unroll
      for (int k = 0; k < 8; ++k) v[k] = bf16_to_float(format::load_u16(p + 2 * k));
    }
#pragma unroll
    for (int k = 0; k < 8; ++k) ok = ok && kakeya::detail::is_finite(v[k]);
    return 1.0f;
  }
};

/// Unnormalised block-diagonal WHT of a D-vector in shared memory by the CTA's threads.
__device__ __forceinline__ void smem_fwht(float* x, int32_t d, int32_t p) {
  for (int32_t h = 1; h < p; h <<= 1) {
    __syncthreads();
    for (int32_t i = threadIdx.x; i < d / 2; i += blockDim.x) {
      // pair index i -> (lo, hi) with bit h clear in lo, within blocks of p
      const int32_t lo = (i / h) * 2 * h + (i % h);
      const float a = x[lo], b = x[lo + h];
      x[lo] = a + b;
      x[lo + h] = a - b;
    }
  }
  __syncthreads();
}

/// q (batch × q_heads × dim, float or bf16) -> the K domain (rotated for lattice K).
template <class Q>
__global__ void attention_prepare_queries(const Q* q, int32_t dim, int32_t p, bool rotate, float* q_dom) {
  extern __shared__ float buf[];
  const int64_t row = blockIdx.x;
  for (int32_t i = threadIdx.x; i < dim; i += blockDim.x) buf[i] = element<Q>::to_float(q[row * dim + i]);
  if (rotate) smem_fwht(buf, dim, p);
  __syncthreads();
  for (int32_t i = threadIdx.x; i < dim; i += blockDim.x) q_dom[row * dim + i] = buf[i];
}

/// One split of one (sequence, kv head, chunk of G query heads). Writes per query head
/// (m, l, acc[dim]) to ws[((b·q_heads + hq)·splits + split)·(dim + 2)].
template <class KR, class VR, int G, int BPL, bool kShared>
__global__ void __launch_bounds__(kAttnThreads) decode_attention_split_kernel(
    KR kr, VR vr, PagedKV<const uint8_t> cache, AttentionShape s, int32_t chunks, int32_t split_tokens,
    const float* q_dom, float* ws, int32_t* error_flag) {
  const int32_t d = s.dim;
  const int32_t lpt = d / 8 / BPL;  // lanes per token: 8, 16 or 32
  const int32_t workers = kAttnThreads / lpt;
  const int32_t wid = threadIdx.x / lpt, li = threadIdx.x % lpt;
  const int32_t group = s.q_heads / s.kv_heads;
  const int32_t bh = blockIdx.x / chunks, chunk = blockIdx.x % chunks;
  const int32_t b = bh / s.kv_heads, kvh = bh % s.kv_heads;
  const int32_t hq0 = kvh * group + chunk * G;
  const int32_t split = blockIdx.y, splits = gridDim.y;
  // Tables live on the device: a length beyond the table or a block id outside the cache
  // is reported through the error flag and never read.
  const int32_t cap = cache.max_blocks * cache.block_size;
  int32_t len = cache.seq_lens[b];
  if (len < 0 || len > cap) {
    if (error_flag && threadIdx.x == 0 && split == 0) atomicOr(error_flag, kErrTable);
    len = len < 0 ? 0 : cap;
  }
  const int32_t t0 = split * split_tokens, t1 = min(len, t0 + split_tokens);

  float qv[G][BPL][8], acc[G][BPL][8], m[G], l[G];
#pragma unroll
  for (int g = 0; g < G; ++g) {
    m[g] = -INFINITY;
    l[g] = 0.0f;
#pragma unroll
    for (int i = 0; i < BPL; ++i) {
      const int32_t blk = li + lpt * i;
#pragma unroll
      for (int k = 0; k < 8; ++k) {
        qv[g][i][k] = q_dom[(static_cast<int64_t>(b) * s.q_heads + hq0 + g) * d + blk * 8 + k];
        acc[g][i][k] = 0.0f;
      }
    }
  }
  bool ok = true;
  // Rounds over the split's tokens: every lane runs every round (shuffles need the whole
  // warp); a worker whose token is past the end contributes nothing.
  for (int32_t base = t0; base < t1; base += workers) {
    const int32_t t = base + wid;
    bool valid = t < t1;
    if (valid) {
      const int32_t blk = cache.block_table[static_cast<int64_t>(b) * cache.max_blocks + t / cache.block_size];
      if (blk < 0 || blk >= cache.num_blocks) {
        valid = false;
        ok = false;
      }
    }
    float kv[BPL][8], fk[BPL], vv[BPL][8], fv[BPL];
    if (valid) {
      const int64_t slot = cache.slot(b, t);
      const uint8_t* krec = cache.k_record(slot, kvh);
#pragma unroll
      for (int i = 0; i < BPL; ++i) fk[i] = kr.load(krec, li + lpt * i, kv[i], ok);
      if constexpr (kShared) {
#pragma unroll
        for (int i = 0; i < BPL; ++i) {
          fv[i] = fk[i];
#pragma unroll
          for (int k = 0; k < 8; ++k) vv[i][k] = kv[i][k];
        }
      } else {
        const uint8_t* vrec = cache.v_record(slot, kvh);
#pragma unroll
        for (int i = 0; i < BPL; ++i) fv[i] = vr.load(vrec, li + lpt * i, vv[i], ok);
      }
    } else {
#pragma unroll
      for (int i = 0; i < BPL; ++i) {
        fk[i] = fv[i] = 0.0f;
#pragma unroll
        for (int k = 0; k < 8; ++k) kv[i][k] = vv[i][k] = 0.0f;
      }
    }
#pragma unroll
    for (int g = 0; g < G; ++g) {
      float part = 0.0f;
#pragma unroll
      for (int i = 0; i < BPL; ++i) {
        float dsum = 0.0f;
#pragma unroll
        for (int k = 0; k < 8; ++k) dsum += qv[g][i][k] * kv[i][k];
        part += fk[i] * dsum;
      }
      for (int off = 1; off < lpt; off <<= 1) part += __shfl_xor_sync(0xffffffffu, part, off);
      if (!valid) continue;
      const float sc = part * s.scale;
      const float m_new = fmaxf(m[g], sc);
      const float alpha = expf(m[g] - m_new);  // 0 on the first token (m = -inf)
      const float pr = expf(sc - m_new);
      l[g] = l[g] * alpha + pr;
#pragma unroll
      for (int i = 0; i < BPL; ++i) {
        const float w = pr * fv[i];
#pragma unroll
        for (int k = 0; k < 8; ++k) acc[g][i][k] = acc[g][i][k] * alpha + w * vv[i][k];
      }
      m[g] = m_new;
    }
  }
  if (!ok && error_flag) atomicOr(error_flag, kErrCorrupt);

  // Combine the workers of this CTA in shared memory.
  extern __shared__ float sm[];
  float* sm_m = sm;                       // [workers][G]
  float* sm_l = sm_m + workers * G;       // [workers][G]
  float* sm_acc = sm_l + workers * G;     // [workers][G][d]
  if (li == 0) {
#pragma unroll
    for (int g = 0; g < G; ++g) {
      sm_m[wid * G + g] = m[g];
      sm_l[wid * G + g] = l[g];
    }
  }
#pragma unroll
  for (int g = 0; g < G; ++g)
#pragma unroll
    for (int i = 0; i < BPL; ++i)
#pragma unroll
      for (int k = 0; k < 8; ++k) sm_acc[(wid * G + g) * d + (li + lpt * i) * 8 + k] = acc[g][i][k];
  __syncthreads();
  for (int32_t e = threadIdx.x; e < G * d; e += blockDim.x) {
    const int32_t g = e / d, c = e % d;
    float mm = -INFINITY;
    for (int w = 0; w < workers; ++w) mm = fmaxf(mm, sm_m[w * G + g]);
    float ll = 0.0f, aa = 0.0f;
    if (mm != -INFINITY) {
      for (int w = 0; w < workers; ++w) {
        const float f = expf(sm_m[w * G + g] - mm);
        ll += sm_l[w * G + g] * f;
        aa += sm_acc[(w * G + g) * d + c] * f;
      }
    }
    float* out = ws + ((static_cast<int64_t>(b) * s.q_heads + hq0 + g) * splits + split) * (d + 2);
    out[c] = aa;
    if (c == 0) {
      out[d] = mm;
      out[d + 1] = ll;
    }
  }
}

/// Merges the splits of each (sequence, query head) and leaves the V domain:
/// out = H(A / L) for a lattice V, A / L otherwise; zeros for an empty sequence.
template <class Out>
__global__ void decode_attention_reduce_kernel(const float* ws, int32_t splits, int32_t d, int32_t p, bool rotate,
                                               Out* out) {
  extern __shared__ float y[];
  const int64_t row = blockIdx.x;  // b·q_heads + hq
  const float* base = ws + row * splits * (d + 2);
  float mm = -INFINITY;
  for (int sp = 0; sp < splits; ++sp) mm = fmaxf(mm, base[sp * (d + 2) + d]);
  float ll = 0.0f;
  if (mm != -INFINITY)
    for (int sp = 0; sp < splits; ++sp) ll += base[sp * (d + 2) + d + 1] * expf(base[sp * (d + 2) + d] - mm);
  for (int32_t c = threadIdx.x; c < d; c += blockDim.x) {
    float aa = 0.0f;
    if (mm != -INFINITY)
      for (int sp = 0; sp < splits; ++sp) aa += base[sp * (d + 2) + c] * expf(base[sp * (d + 2) + d] - mm);
    y[c] = ll > 0.0f ? aa / ll : 0.0f;
  }
  if (rotate) smem_fwht(y, d, p);
  __syncthreads();
  for (int32_t c = threadIdx.x; c < d; c += blockDim.x) out[row * d + c] = element<Out>::from_float(y[c]);
}

}  // namespace kakeya::gpu::detail
