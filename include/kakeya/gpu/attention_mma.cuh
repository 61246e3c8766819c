// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file attention_mma.cuh
/// Decode attention with tensor-core MMAs: one CTA per (sequence, KV head, head chunk,
/// split) reads each record of its tokens once and serves all `gc` query heads of that
/// KV head (64 in the DeepSeek-V4 shape, 4–8 in GQA).
///
/// Per tile of T tokens (T ∈ {16, 32, 64}), 256 threads = 8 warps:
///   0. cp.async (16-byte) copies of the next tile's raw records into a staging buffer
///      (double-buffered), issued before the current tile is computed.
///   1. decode: each thread expands 8-coordinate blocks of staged records into bf16
///      rows sK[t][d] (sV[t][d]) and per-token group scales. Lattice points are
///      half-integers with |p| <= 127.5, so bf16 holds them exactly; FP8 (E4M3) and bf16
///      values are exact in bf16 too. The record's scale factor stays in float32.
///   2. scores: S[h][t] = scale · Σ_g c_{t,g} · ⟨q_h, x_t⟩_g with m16n8k16 MMAs
///      (A = queries, M = heads; B = K^T, N = tokens; K = dims), groups g being the whole
///      vector (lattice, bf16) or the 64-coordinate FP8 groups.
///   3. online softmax over the tile in shared memory (a warp per head): new max, the
///      rescale factor α_h, P = exp(S − m), l = α l + Σ P; P is multiplied by the V
///      record's scale c_{t,g} (float32) and written as bf16 terms.
///   4. O[h][d] = α_h O[h][d] + Σ_t P'[h][t] V[t][d] with MMAs (A = P', M = heads;
///      B = V, N = dims; K = tokens); O lives in registers for the whole split.
/// A split ends by writing (O, m, l) per head in the legacy workspace layout; the
/// legacy reduce kernel merges the splits and applies the inverse rotation.
///
/// Precision. MMA inputs are bf16; the decoded K/V values are exact, so the only
/// rounding is in the queries and P. `kQT` (1 or 3) and `kPT` (1 or 2) split them into
/// bf16 terms x = x_0 + x_1 + …, x_{i+1} = bf16(x − x_0 − … − x_i), summed by the MMA
/// accumulator in float32: 3 query terms leave a relative error ≤ 2^-24 per element (as
/// float32), 2 P terms ≤ 2^-16 per weight (errors of independent weights average out),
/// so the split mode tracks the float64 reference to ~1e-6. The bf16 mode (1 + 1
/// terms, as FlashAttention/FlashMLA) carries ≈2^-9 relative per element.
///
/// Rotated domain (lattice): queries arrive pre-rotated (q' = H q, attention.cuh), scores
/// are c·⟨q', p⟩ and O accumulates Σ a_t c_t p_t; the reduce kernel applies H once.

#include <cuda_runtime.h>

#include <cstdint>

#include "kakeya/gpu/attention.cuh"
#include "kakeya/lattice/e8_unrank.h"

namespace kakeya::gpu::detail {

inline constexpr int kMmaThreads = 256;
inline constexpr int kMmaWarps = kMmaThreads / 32;

// ---------------------------------------------------------------------------------------
// PTX wrappers (sm_80+: mma.sync, ldmatrix, cp.async).

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

/// D = A·B + D, m16n8k16, A row-major bf16 (4 regs), B column-major bf16 (2 regs), f32.
__device__ __forceinline__ void mma_bf16_16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/// Four 8x8 b16 matrices; lanes 8i..8i+7 give the row addresses of matrix i.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p))
               : "memory");
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p))
               : "memory");
}

/// 16-byte global -> shared copy that bypasses L1 (both addresses 16-byte aligned).
__device__ __forceinline__ void cp_async16(void* dst, const void* src) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem_addr(dst)), "l"(src) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

/// Two floats that are exact in bf16 -> packed bf16x2 (lo in bits 0..15): the upper
/// halves of their bit patterns (exact values have zero lower halves).
__device__ __forceinline__ uint32_t pack_exact_bf16x2(float lo, float hi) {
  return __byte_perm(__float_as_uint(lo), __float_as_uint(hi), 0x7632);
}

/// Bits [bit, bit + n) (n <= 64) of a staged record; `base` is 4-byte aligned and the
/// staging slot has at least 8 readable bytes past the record (see MmaArgs::kspan).
__device__ __forceinline__ uint64_t smem_bits(const uint8_t* base, int32_t bit, int32_t n) {
  const uint32_t* w = reinterpret_cast<const uint32_t*>(base) + (bit >> 5);
  const uint32_t sh = static_cast<uint32_t>(bit & 31);
  const uint32_t lo = __funnelshift_r(w[0], w[1], sh), hi = __funnelshift_r(w[1], w[2], sh);
  const uint64_t v = (static_cast<uint64_t>(hi) << 32) | lo;
  return n >= 64 ? v : (v & ((uint64_t{1} << n) - 1u));
}

// ---------------------------------------------------------------------------------------
// Record decoders: block j (8 coordinates) of a staged record -> 8 exact bf16 (4 words),
// and the factor of coordinate group g. `rec` points at the record's first byte in
// shared memory; `off` = rec − (4-aligned slot base), so that word reads stay aligned.

struct MmaLatticeDec {
  LatticeLayout lay;
  E8Unrank un;
  float norm;  ///< hadamard_norm(P): c = s · norm
  static constexpr bool kRotated = true;
  __device__ __forceinline__ int32_t group_dims() const { return lay.dim; }
  __device__ __forceinline__ bool block(const uint8_t* slot, int32_t off, int32_t j, uint32_t (&w)[4]) const {
    const uint64_t idx = smem_bits(slot, off * 8 + lay.header_bits + j * lay.bits_per_block, lay.bits_per_block);
    uint32_t d[8];
    int half = 0;
    bool ok;
    if (un.ok) {
      ok = e8_unrank_digits(un, idx, d, half);
    } else {  // large Q without exact multiply-high constants: the library's unrank
      int32_t t[8];
      ok = lattice_traits<E8>::unrank(idx, lay.q, t);
      half = t[0] & 1;
#pragma unroll
      for (int i = 0; i < 8; ++i) d[i] = static_cast<uint32_t>(((t[i] - half) >> 1) + lay.q);
    }
    // p = d − q + half/2, built exactly: the float 2^22 + d (bits 0x4A800000 + 2d, grid
    // 0.5 in [2^22, 2^23)) minus the exact float 2^22 + q − half/2.
    const float sub = 4194304.0f + static_cast<float>(lay.q) - (half ? 0.5f : 0.0f);
    float p[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) p[i] = ok ? __uint_as_float(0x4A800000u + 2u * d[i]) - sub : 0.0f;
#pragma unroll
    for (int k = 0; k < 4; ++k) w[k] = pack_exact_bf16x2(p[2 * k], p[2 * k + 1]);
    return ok;
  }
  __device__ __forceinline__ bool factor(const uint8_t* slot, int32_t off, int32_t /*g*/, float& c) const {
    const uint32_t hdr = static_cast<uint32_t>(smem_bits(slot, off * 8, lay.header_bits));
    float s = 0.0f;
    const bool ok = lattice_scale(lay, hdr, &s);
    c = s * norm;
    return ok;
  }
};

struct MmaFP8Dec {
  int32_t dim;
  static constexpr bool kRotated = false;
  __device__ __forceinline__ int32_t group_dims() const { return kFP8Group; }
  __device__ __forceinline__ bool block(const uint8_t* slot, int32_t off, int32_t j, uint32_t (&w)[4]) const {
    const uint8_t* v = slot + off + BaselineLayout{dim, 0}.vals_offset() + j * 8;
    bool ok = true;
    float f[8];
#pragma unroll
    for (int k = 0; k < 8; ++k) {
      ok = ok && (v[k] & 0x7fu) != 0x7fu;
      f[k] = e4m3_to_float(v[k]);  // every finite E4M3 value is exact in bf16
    }
#pragma unroll
    for (int k = 0; k < 4; ++k) w[k] = pack_exact_bf16x2(f[2 * k], f[2 * k + 1]);
    return ok;
  }
  __device__ __forceinline__ bool factor(const uint8_t* slot, int32_t off, int32_t g, float& c) const {
    const uint8_t* p = slot + off + 2 * g;
    const uint16_t s16 = static_cast<uint16_t>(p[0] | (p[1] << 8));
    return fp8_group_scale_value(s16, &c);
  }
};

struct MmaBF16Dec {
  int32_t dim;
  static constexpr bool kRotated = false;
  __device__ __forceinline__ int32_t group_dims() const { return dim; }
  __device__ __forceinline__ bool block(const uint8_t* slot, int32_t off, int32_t j, uint32_t (&w)[4]) const {
    const uint8_t* p = slot + off + j * 16;
    if ((off & 15) == 0) {
      const uint4 v = *reinterpret_cast<const uint4*>(p);
      w[0] = v.x, w[1] = v.y, w[2] = v.z, w[3] = v.w;
    } else {
#pragma unroll
      for (int k = 0; k < 4; ++k)
        w[k] = p[4 * k] | (p[4 * k + 1] << 8) | (p[4 * k + 2] << 16) | (static_cast<uint32_t>(p[4 * k + 3]) << 24);
    }
    bool ok = true;  // an all-ones exponent (Inf/NaN) is reported, as by the legacy reader
#pragma unroll
    for (int k = 0; k < 4; ++k) ok = ok && (w[k] & 0x7f80u) != 0x7f80u && (w[k] & 0x7f800000u) != 0x7f800000u;
    return ok;
  }
  __device__ __forceinline__ bool factor(const uint8_t*, int32_t, int32_t, float& c) const {
    c = 1.0f;
    return true;
  }
};

// ---------------------------------------------------------------------------------------

/// Geometry and pointers of one MMA launch (computed on the host, see attention_cuda.cu).
struct MmaArgs {
  PagedKV<const uint8_t> cache;
  AttentionShape s;
  int32_t chunks;        ///< head chunks per KV head (G / gc)
  int32_t gc;            ///< query heads per CTA
  int32_t mt;            ///< head m-tiles: Gp = 16·mt >= gc, mt ∈ {1, 2, 4, 8}
  int32_t tile;          ///< tokens per tile T ∈ {16, 32, 64}
  int32_t split_tokens;  ///< tokens per split
  int32_t kspan, vspan;  ///< staging bytes per record: round16(bytes + 15) + 16
  int32_t wpa;           ///< active PV warps per head m-tile (each owns nw·8 dims)
  int32_t nw;            ///< n8 tiles of O per PV warp (even, <= kNW)
  int32_t ngk, ngv;      ///< factor groups per K / V record
  float scale;
  const float* q_dom;
  float* ws;
  int32_t* error_flag;
  // Byte layout of dynamic shared memory (offsets from the 16-aligned base).
  int32_t o_q, o_k, o_v, o_ks, o_vs, o_s, o_p, o_m, o_l, o_a, o_off, o_stage;
};

/// Shared-memory bytes of a geometry; fills the offsets. QT/PT: bf16 terms.
inline size_t mma_smem_layout(MmaArgs& a, int32_t qt, int32_t pt, bool shared) {
  const int32_t d = a.s.dim, gp = 16 * a.mt, t = a.tile;
  size_t o = 0;
  const auto take = [&](size_t bytes) {
    const size_t at = o;
    o += (bytes + 15) / 16 * 16;
    return static_cast<int32_t>(at);
  };
  a.o_q = take(static_cast<size_t>(qt) * gp * (d + 8) * 2);
  a.o_k = take(static_cast<size_t>(t) * (d + 8) * 2);
  a.o_v = shared ? a.o_k : take(static_cast<size_t>(t) * (d + 8) * 2);
  a.o_ks = take(static_cast<size_t>(t) * a.ngk * 4);
  a.o_vs = shared ? a.o_ks : take(static_cast<size_t>(t) * a.ngv * 4);
  a.o_s = take(static_cast<size_t>(gp) * (t + 4) * 4);
  a.o_p = take(static_cast<size_t>(pt) * a.ngv * gp * (t + 8) * 2);
  a.o_m = take(static_cast<size_t>(gp) * 4);
  a.o_l = take(static_cast<size_t>(gp) * 4);
  a.o_a = take(static_cast<size_t>(gp) * 4);
  a.o_off = take(static_cast<size_t>(4) * t * 4);  // [K, V][buffer][token]
  a.o_stage = take(static_cast<size_t>(2) * t * (a.kspan + (shared ? 0 : a.vspan)));
  return o;
}

/// Issues the copies of one tile's records into staging buffer `buf` and records each
/// token's record offset within its slot (-1: no record, the token is past the end or
/// its block id is bad). Chunks that leave the cache buffer fall back to byte copies.
__device__ __forceinline__ void mma_issue_tile(const MmaArgs& a, uint8_t* sm, int32_t b, int32_t kvh, int32_t tile0,
                                               int32_t t1, int32_t buf, bool shared, bool& ok) {
  const auto& c = a.cache;
  const int64_t slots = static_cast<int64_t>(c.num_blocks) * c.block_size;
  int32_t* offs = reinterpret_cast<int32_t*>(sm + a.o_off);
  uint8_t* stage = sm + a.o_stage + static_cast<size_t>(buf) * a.tile * (a.kspan + (shared ? 0 : a.vspan));
  for (int role = 0; role < (shared ? 1 : 2); ++role) {
    const uint8_t* base = role == 0 ? c.k : c.v;
    const int64_t rb = role == 0 ? c.k_bytes : c.v_bytes;
    const int32_t span = role == 0 ? a.kspan : a.vspan;
    const int32_t nc = (span - 16) / 16;  // chunks per slot that may hold record bytes
    uint8_t* st = stage + (role == 0 ? 0 : static_cast<size_t>(a.tile) * a.kspan);
    const uintptr_t lo = reinterpret_cast<uintptr_t>(base);
    const uintptr_t hi = lo + static_cast<uintptr_t>(slots * c.kv_heads * rb);
    for (int32_t e = threadIdx.x; e < a.tile * nc; e += kMmaThreads) {
      const int32_t i = e / nc, ch = e - i * nc;
      const int32_t t = tile0 + i;
      int32_t off = -1;
      uintptr_t src = 0;
      if (t < t1) {
        const int32_t blk = c.block_table[static_cast<int64_t>(b) * c.max_blocks + t / c.block_size];
        if (blk >= 0 && blk < c.num_blocks) {
          src = lo + static_cast<uintptr_t>(((static_cast<int64_t>(blk) * c.block_size + t % c.block_size) * c.kv_heads +
                                             kvh) * rb);
          off = static_cast<int32_t>(src & 15u);
        } else if (ch == 0) {
          ok = false;
        }
      }
      if (ch == 0) offs[(role * 2 + buf) * a.tile + i] = off;
      if (off < 0 || ch >= (off + rb + 15) / 16) continue;
      const uintptr_t g = (src & ~static_cast<uintptr_t>(15)) + 16u * ch;
      uint8_t* dst = st + static_cast<size_t>(i) * span + 16 * ch;
      if (g >= lo && g + 16 <= hi) {
        cp_async16(dst, reinterpret_cast<const void*>(g));
      } else {  // the 16-byte chunk leaves the buffer: copy only its bytes inside
        for (int x = 0; x < 16; ++x)
          if (g + x >= lo && g + x < hi) dst[x] = *reinterpret_cast<const uint8_t*>(g + x);
      }
    }
  }
}

/// Decodes staged records of one role into bf16 rows (stride d + 8) and factors.
template <class Dec>
__device__ __forceinline__ void mma_decode_role(const Dec& dec, const MmaArgs& a, const uint8_t* stage, int32_t span,
                                                const int32_t* offs, uint16_t* rows, float* fac, int32_t ng,
                                                bool& ok) {
  const int32_t d = a.s.dim, nb = d / 8, bpg = dec.group_dims() / 8;
  for (int32_t e = threadIdx.x; e < a.tile * nb; e += kMmaThreads) {
    const int32_t i = e / nb, j = e - i * nb;
    const int32_t off = offs[i];
    uint32_t w[4] = {0u, 0u, 0u, 0u};
    float f = 0.0f;
    const bool have = off >= 0;
    if (have) {
      const uint8_t* slot = stage + static_cast<size_t>(i) * span;
      ok = dec.block(slot, off, j, w) && ok;
      if (j % bpg == 0) ok = dec.factor(slot, off, j / bpg, f) && ok;
    }
    *reinterpret_cast<uint4*>(rows + static_cast<size_t>(i) * (d + 8) + j * 8) = make_uint4(w[0], w[1], w[2], w[3]);
    if (j % bpg == 0) fac[i * ng + j / bpg] = have ? f : 0.0f;
  }
}

/// See the file comment. Grid (batch · kv_heads · chunks, splits), kMmaThreads threads.
template <class KD, class VD, int kQT, int kPT, int kNW>
__global__ void __launch_bounds__(kMmaThreads, (kNW > 8 ? 1 : 2))
    decode_attention_mma_kernel(KD kd, VD vd, MmaArgs a) {
  extern __shared__ __align__(16) uint8_t mma_smem[];
  uint8_t* sm = mma_smem;
  const bool shared = a.cache.shared();
  const int32_t d = a.s.dim, T = a.tile, gp = 16 * a.mt, gc = a.gc;
  const int32_t lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int32_t gid = lane >> 2, tig = lane & 3;
  const int32_t group = a.s.q_heads / a.s.kv_heads;
  const int32_t bh = blockIdx.x / a.chunks, chunk = blockIdx.x - bh * a.chunks;
  const int32_t b = bh / a.s.kv_heads, kvh = bh - b * a.s.kv_heads;
  const int32_t hq0 = kvh * group + chunk * gc;
  const int32_t split = blockIdx.y, splits = gridDim.y;
  const auto& c = a.cache;
  const int32_t cap = c.max_blocks * c.block_size;
  int32_t len = c.seq_lens[b];
  if (len < 0 || len > cap) {
    if (a.error_flag && threadIdx.x == 0 && split == 0 && chunk == 0) atomicOr(a.error_flag, kErrTable);
    len = len < 0 ? 0 : cap;
  }
  const int32_t t0 = split * a.split_tokens, t1 = min(len, t0 + a.split_tokens);
  const int32_t ntiles = t1 > t0 ? (t1 - t0 + T - 1) / T : 0;

  uint16_t* sQ = reinterpret_cast<uint16_t*>(sm + a.o_q);
  uint16_t* sK = reinterpret_cast<uint16_t*>(sm + a.o_k);
  uint16_t* sV = reinterpret_cast<uint16_t*>(sm + a.o_v);
  float* sKs = reinterpret_cast<float*>(sm + a.o_ks);
  float* sVs = reinterpret_cast<float*>(sm + a.o_vs);
  float* sS = reinterpret_cast<float*>(sm + a.o_s);
  uint16_t* sP = reinterpret_cast<uint16_t*>(sm + a.o_p);
  float* sM = reinterpret_cast<float*>(sm + a.o_m);
  float* sL = reinterpret_cast<float*>(sm + a.o_l);
  float* sA = reinterpret_cast<float*>(sm + a.o_a);
  const int32_t* offs = reinterpret_cast<const int32_t*>(sm + a.o_off);
  const int32_t ldq = d + 8, lds = T + 4, ldp = T + 8;  // row strides (elements)
  bool ok = true;

  // Start the first tile's copies, then set up queries and state while they fly.
  if (ntiles > 0) mma_issue_tile(a, sm, b, kvh, t0, t1, 0, shared, ok);
  cp_async_commit();
  // Query terms: q = Σ_k bf16 terms (k < kQT); padded head rows are zero.
  for (int32_t e = threadIdx.x; e < gp * d; e += kMmaThreads) {
    const int32_t h = e / d, x = e - h * d;
    float r = h < gc ? a.q_dom[(static_cast<int64_t>(b) * a.s.q_heads + hq0 + h) * d + x] : 0.0f;
#pragma unroll
    for (int k = 0; k < kQT; ++k) {
      const uint16_t hb = float_to_bf16(r);
      reinterpret_cast<uint16_t*>(sQ)[(static_cast<size_t>(k) * gp + h) * ldq + x] = hb;
      r = r - bf16_to_float(hb);
    }
  }
  for (int32_t e = threadIdx.x; e < kPT * a.ngv * gp * ldp; e += kMmaThreads)
    reinterpret_cast<uint16_t*>(sP)[e] = 0;
  for (int32_t h = threadIdx.x; h < gp; h += kMmaThreads) {
    sM[h] = -INFINITY;
    sL[h] = 0.0f;
    sA[h] = 0.0f;
  }

  // PV ownership: warp → head m-tile mw and dims [dw0, dw0 + 8·nw).
  const int32_t mw = warp % a.mt, dwi = warp / a.mt;
  const bool pv_active = dwi < a.wpa;
  const int32_t dw0 = dwi * a.nw * 8;
  float o[kNW][4];
#pragma unroll
  for (int i = 0; i < kNW; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;

  const int32_t kgd = kd.group_dims(), vgd = vd.group_dims();
  for (int32_t it = 0; it < ntiles; ++it) {
    const int32_t buf = it & 1, tile0 = t0 + it * T;
    // 0. prefetch the next tile into the other buffer (its last reader, the decode of
    //    tile it − 1, finished before the previous iteration's barriers).
    if (it + 1 < ntiles) mma_issue_tile(a, sm, b, kvh, tile0 + T, t1, buf ^ 1, shared, ok);
    cp_async_commit();
    cp_async_wait<1>();  // all groups but the newest: this tile's copies have landed
    __syncthreads();
    // 1. decode
    {
      const uint8_t* stage = sm + a.o_stage + static_cast<size_t>(buf) * T * (a.kspan + (shared ? 0 : a.vspan));
      mma_decode_role(kd, a, stage, a.kspan, offs + (0 * 2 + buf) * T, sK, sKs, a.ngk, ok);
      if (!shared)
        mma_decode_role(vd, a, stage + static_cast<size_t>(T) * a.kspan, a.vspan, offs + (1 * 2 + buf) * T, sV, sVs,
                        a.ngv, ok);
    }
    __syncthreads();
    // 2. scores: items of 16 heads × 16 tokens
    for (int32_t item = warp; item < a.mt * (T / 16); item += kMmaWarps) {
      const int32_t mh = item % a.mt, tn = item / a.mt;
      float acc[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
      for (int32_t g = 0; g < a.ngk; ++g) {
        float part[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
        for (int32_t k0 = g * kgd; k0 < (g + 1) * kgd; k0 += 16) {
          uint32_t bk[4];
          {
            const int32_t i = lane >> 3;
            ldmatrix_x4(bk, sK + static_cast<size_t>(tn * 16 + (lane & 7) + (i >> 1) * 8) * ldq + k0 + (i & 1) * 8);
          }
#pragma unroll
          for (int q = 0; q < kQT; ++q) {
            uint32_t aq[4];
            const int32_t i = lane >> 3;
            ldmatrix_x4(aq, sQ + (static_cast<size_t>(q) * gp + mh * 16 + (lane & 7) + (i & 1) * 8) * ldq + k0 +
                                (i >> 1) * 8);
            mma_bf16_16816(part[0], aq, bk[0], bk[1]);
            mma_bf16_16816(part[1], aq, bk[2], bk[3]);
          }
        }
#pragma unroll
        for (int nt = 0; nt < 2; ++nt) {
          const int32_t tc = tn * 16 + nt * 8 + 2 * tig;
          const float f0 = sKs[tc * a.ngk + g], f1 = sKs[(tc + 1) * a.ngk + g];
          acc[nt][0] += part[nt][0] * f0;
          acc[nt][1] += part[nt][1] * f1;
          acc[nt][2] += part[nt][2] * f0;
          acc[nt][3] += part[nt][3] * f1;
        }
      }
#pragma unroll
      for (int nt = 0; nt < 2; ++nt) {
        const int32_t tc = tn * 16 + nt * 8 + 2 * tig;
        const int32_t h0 = mh * 16 + gid, h1 = h0 + 8;
        // Masked: past the split's end, or no record (bad block id, reported): as the
        // legacy kernel, such tokens take no weight.
        const int32_t* ko = offs + buf * T;
        const bool v0 = tile0 + tc < t1 && ko[tc] >= 0, v1 = tile0 + tc + 1 < t1 && ko[tc + 1] >= 0;
        if (h0 < gc) {
          sS[h0 * lds + tc] = v0 ? acc[nt][0] * a.scale : -INFINITY;
          sS[h0 * lds + tc + 1] = v1 ? acc[nt][1] * a.scale : -INFINITY;
        }
        if (h1 < gc) {
          sS[h1 * lds + tc] = v0 ? acc[nt][2] * a.scale : -INFINITY;
          sS[h1 * lds + tc + 1] = v1 ? acc[nt][3] * a.scale : -INFINITY;
        }
      }
    }
    __syncthreads();
    // 3. online softmax, a warp per head; P' = P · c_{t,g} as kPT bf16 terms.
    for (int32_t h = warp; h < gc; h += kMmaWarps) {
      float mx = -INFINITY;
      for (int32_t t = lane; t < T; t += 32) mx = fmaxf(mx, sS[h * lds + t]);
#pragma unroll
      for (int off = 16; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
      const float m_old = sM[h];
      // A tile whose tokens all lack records (reported) keeps m = −inf: exponentiate
      // against 0 then, so that no −inf − (−inf) = NaN appears.
      const float m_new = fmaxf(m_old, mx);
      const float m_use = m_new == -INFINITY ? 0.0f : m_new;
      const float alpha = expf(m_old - m_use);  // 0 on the first tile (m_old = −inf)
      float sum = 0.0f;
      for (int32_t t = lane; t < T; t += 32) {
        const float p = expf(sS[h * lds + t] - m_use);  // 0 for masked tokens
        sum += p;
        for (int32_t g = 0; g < a.ngv; ++g) {
          float r = p * sVs[t * a.ngv + g];
#pragma unroll
          for (int k = 0; k < kPT; ++k) {
            const uint16_t pb = float_to_bf16(r);
            reinterpret_cast<uint16_t*>(sP)[((static_cast<size_t>(k) * a.ngv + g) * gp + h) * ldp + t] = pb;
            r = r - bf16_to_float(pb);
          }
        }
      }
#pragma unroll
      for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
      __syncwarp();
      if (lane == 0) {
        sM[h] = m_new;
        sL[h] = sL[h] * alpha + sum;
        sA[h] = alpha;
      }
    }
    __syncthreads();
    // 4. O = α O + P' V over this tile's tokens.
    if (pv_active) {
      const float al0 = sA[mw * 16 + gid], al1 = sA[mw * 16 + gid + 8];
#pragma unroll
      for (int i = 0; i < kNW; ++i) {
        o[i][0] *= al0;
        o[i][1] *= al0;
        o[i][2] *= al1;
        o[i][3] *= al1;
      }
      for (int32_t kk = 0; kk < T; kk += 16) {
        uint32_t ap[kPT][4];
        int32_t gcur = -1;
#pragma unroll
        for (int pr = 0; pr < kNW / 2; ++pr) {
          if (2 * pr < a.nw) {
            const int32_t dim0 = dw0 + pr * 16;
            const int32_t g = dim0 / vgd;
            if (g != gcur) {  // P' of this dims' factor group
              gcur = g;
#pragma unroll
              for (int k = 0; k < kPT; ++k) {
                const int32_t i = lane >> 3;
                ldmatrix_x4(ap[k], sP + ((static_cast<size_t>(k) * a.ngv + g) * gp + mw * 16 + (lane & 7) +
                                         (i & 1) * 8) * ldp + kk + (i >> 1) * 8);
              }
            }
            uint32_t bv[4];
            {
              const int32_t i = lane >> 3;
              ldmatrix_x4_trans(bv, sV + static_cast<size_t>(kk + (lane & 7) + (i & 1) * 8) * ldq + dim0 + (i >> 1) * 8);
            }
#pragma unroll
            for (int k = 0; k < kPT; ++k) {
              mma_bf16_16816(o[2 * pr], ap[k], bv[0], bv[1]);
              mma_bf16_16816(o[2 * pr + 1], ap[k], bv[2], bv[3]);
            }
          }
        }
      }
    }
    __syncthreads();  // sK/sV/sP are rewritten by the next tile
  }
  cp_async_wait<0>();
  if (!ok && a.error_flag) atomicOr(a.error_flag, kErrCorrupt);

  // Write (O, m, l) per real head in the legacy workspace layout.
  const auto row = [&](int32_t h) {
    return a.ws + ((static_cast<int64_t>(b) * a.s.q_heads + hq0 + h) * splits + split) * (d + 2);
  };
  if (pv_active) {
    const int32_t h0 = mw * 16 + gid, h1 = h0 + 8;
#pragma unroll
    for (int i = 0; i < kNW; ++i) {
      if (i < a.nw) {
        const int32_t dc = dw0 + i * 8 + 2 * tig;
        if (h0 < gc) {
          row(h0)[dc] = o[i][0];
          row(h0)[dc + 1] = o[i][1];
        }
        if (h1 < gc) {
          row(h1)[dc] = o[i][2];
          row(h1)[dc + 1] = o[i][3];
        }
      }
    }
  }
  for (int32_t h = threadIdx.x; h < gc; h += kMmaThreads) {
    row(h)[d] = sM[h];
    row(h)[d + 1] = sL[h];
  }
}

}  // namespace kakeya::gpu::detail
