// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file paged.h
/// A paged KV cache of codec records, and single-token decode attention over it.
///
/// Layout (vLLM/FlashInfer style): the cache is `num_blocks` blocks of `block_size`
/// token slots; slot s = block·block_size + offset. For each slot and KV head there is
/// one record of the K codec and (unless K and V share one latent, as in DeepSeek-V4)
/// one of the V codec:
///   k_cache[((block·block_size + offset)·kv_heads + h)·k_bytes ...]
/// Sequence b owns blocks block_table[b·max_blocks + i], i = 0, 1, ...; its token t lives
/// at block block_table[b·max_blocks + t / block_size], offset t % block_size.
///
/// Attention, for query head hq of sequence b (GQA: kv head hq / (q_heads / kv_heads)):
///   out = Σ_t softmax_t(scale · q·k̂_t) v̂_t over t < seq_lens[b].
/// For a lattice codec k̂_t = c_t · H p_t (c_t = s_t / sqrt(P), H unnormalised), so the
/// GPU kernel scores c_t·⟨Hq, p_t⟩ and accumulates Σ a_t c_t p_t before one final H:
/// no decompressed copy is ever written.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kakeya/codec/spec.h"
#include "kakeya/cpu/codec.h"
#include "kakeya/error.h"
#include "kakeya/view/strided.h"

namespace kakeya {

/// Non-owning view of a paged cache. `v` may be null: K and V are then the same records
/// (one shared latent read once for both roles; the V codec is the K codec).
template <class Byte>
struct PagedKV {
  Byte* k;
  Byte* v;
  int32_t num_blocks;
  int32_t block_size;
  int32_t kv_heads;
  int64_t k_bytes;  ///< record size of the K codec (its code_bytes)
  int64_t v_bytes;  ///< record size of the V codec (ignored when v is null)
  const int32_t* block_table;  ///< batch × max_blocks
  int32_t max_blocks;
  const int32_t* seq_lens;     ///< batch
  int32_t batch;

  /// The storage of a cache (what append writes): num_blocks × block_size slots of
  /// kv_heads records each, K with codec `ks`, V with `vs` (null v and vs: K = V shared).
  /// Record sizes come from the specs, so K and V sizes cannot be swapped.
  [[nodiscard]] static PagedKV storage(Byte* k, const CodecSpec& ks, Byte* v, const CodecSpec* vs,
                                       int32_t num_blocks, int32_t block_size, int32_t kv_heads) {
    return {k, vs ? v : nullptr, num_blocks, block_size, kv_heads, ks.code_bytes(), vs ? vs->code_bytes() : 0,
            nullptr, 0, nullptr, 0};
  }
  /// This storage read through a block table (batch × max_blocks) and sequence lengths.
  [[nodiscard]] PagedKV with_table(const int32_t* table, int32_t max_blocks_per_seq, const int32_t* lens,
                                   int32_t num_seqs) const noexcept {
    PagedKV p = *this;
    p.block_table = table;
    p.max_blocks = max_blocks_per_seq;
    p.seq_lens = lens;
    p.batch = num_seqs;
    return p;
  }

  [[nodiscard]] KAKEYA_HD bool shared() const noexcept { return v == nullptr; }
  [[nodiscard]] KAKEYA_HD int64_t slot(int32_t b, int32_t t) const noexcept {
    return static_cast<int64_t>(block_table[static_cast<int64_t>(b) * max_blocks + t / block_size]) * block_size +
           t % block_size;
  }
  [[nodiscard]] KAKEYA_HD Byte* k_record(int64_t slot, int32_t h) const noexcept {
    return k + (slot * kv_heads + h) * k_bytes;
  }
  [[nodiscard]] KAKEYA_HD Byte* v_record(int64_t slot, int32_t h) const noexcept {
    return shared() ? k_record(slot, h) : v + (slot * kv_heads + h) * v_bytes;
  }
};

/// Shapes of one decode-attention call.
struct AttentionShape {
  int32_t batch;
  int32_t q_heads;
  int32_t kv_heads;
  int32_t dim;
  float scale;  ///< softmax scale, usually 1/sqrt(dim)
};

namespace detail {
template <class Byte>
void check_paged(const CodecSpec& ks, const CodecSpec* vs, const PagedKV<Byte>& c, const AttentionShape& s,
                 bool host_tables) {
  ks.validate();
  KAKEYA_CHECK(s.batch >= 0 && s.q_heads > 0 && s.kv_heads > 0, "batch = ", s.batch, ", q_heads = ", s.q_heads,
               ", kv_heads = ", s.kv_heads, " must be >= 0, > 0, > 0");
  KAKEYA_CHECK(s.q_heads % s.kv_heads == 0, "q_heads = ", s.q_heads, " must be a multiple of kv_heads = ", s.kv_heads);
  KAKEYA_CHECK(ks.dim == s.dim, "k codec dim = ", ks.dim, " does not match dim = ", s.dim);
  KAKEYA_CHECK(std::isfinite(s.scale), "scale = ", s.scale, " must be finite");
  KAKEYA_CHECK(c.kv_heads == s.kv_heads, "cache kv_heads = ", c.kv_heads, " does not match kv_heads = ", s.kv_heads);
  KAKEYA_CHECK(c.batch == s.batch, "cache batch = ", c.batch, " does not match batch = ", s.batch);
  KAKEYA_CHECK(c.block_size > 0 && c.num_blocks >= 0 && c.max_blocks >= 0, "block_size = ", c.block_size,
               ", num_blocks = ", c.num_blocks, ", max_blocks = ", c.max_blocks, " are not valid");
  KAKEYA_CHECK(c.k_bytes == ks.code_bytes(), "k_bytes = ", c.k_bytes, " does not match the K codec's code_bytes = ",
               ks.code_bytes());
  if (!c.shared()) {
    KAKEYA_CHECK(vs != nullptr, "a separate V cache needs a V codec");
    vs->validate();
    KAKEYA_CHECK(vs->dim == s.dim, "v codec dim = ", vs->dim, " does not match dim = ", s.dim);
    KAKEYA_CHECK(c.v_bytes == vs->code_bytes(), "v_bytes = ", c.v_bytes, " does not match the V codec's code_bytes = ",
                 vs->code_bytes());
  }
  if (host_tables) {
    for (int32_t b = 0; b < s.batch; ++b) {
      const int32_t len = c.seq_lens[b];
      KAKEYA_CHECK(len >= 0 && len <= static_cast<int64_t>(c.max_blocks) * c.block_size, "seq_lens[", b, "] = ", len,
                   " must be in [0, max_blocks·block_size = ", static_cast<int64_t>(c.max_blocks) * c.block_size, "]");
      for (int32_t i = 0; i < (len + c.block_size - 1) / c.block_size; ++i) {
        const int32_t blk = c.block_table[static_cast<int64_t>(b) * c.max_blocks + i];
        KAKEYA_CHECK(blk >= 0 && blk < c.num_blocks, "block_table[", b, ", ", i, "] = ", blk,
                     " is outside [0, num_blocks = ", c.num_blocks, ")");
      }
    }
  }
}
}  // namespace detail

namespace cpu {

/// Writes the codes of new tokens into the cache: k_new/v_new are N × kv_heads × dim
/// float32 (v_new ignored for a shared cache), token n goes to slot slot_mapping[n]
/// (< num_blocks·block_size). Throws on bad shapes, slots or input values.
inline void append_kv(const CodecSpec& ks, const CodecSpec* vs, const float* k_new, const float* v_new, int64_t n,
                      const int64_t* slot_mapping, PagedKV<uint8_t> cache) {
  ks.validate();
  KAKEYA_CHECK(n >= 0, "n = ", n, " must be >= 0");
  KAKEYA_CHECK(cache.k_bytes == ks.code_bytes(), "k_bytes = ", cache.k_bytes, " does not match code_bytes = ",
               ks.code_bytes());
  if (!cache.shared()) {
    KAKEYA_CHECK(vs != nullptr && cache.v_bytes == vs->code_bytes(), "v codec / v_bytes = ", cache.v_bytes,
                 " do not match");
    KAKEYA_CHECK(v_new != nullptr || n == 0, "v_new is null for a separate V cache");
  }
  const int64_t slots = static_cast<int64_t>(cache.num_blocks) * cache.block_size;
  for (int64_t i = 0; i < n; ++i)
    KAKEYA_CHECK(slot_mapping[i] >= 0 && slot_mapping[i] < slots, "slot_mapping[", i, "] = ", slot_mapping[i],
                 " is outside [0, num_blocks·block_size = ", slots, ")");
  const int32_t h = cache.kv_heads, d = ks.dim;
  for (int64_t i = 0; i < n; ++i) {
    encode<float>(ks, {k_new + i * h * d, h, d, d}, {cache.k_record(slot_mapping[i], 0), h, cache.k_bytes});
    if (!cache.shared())
      encode<float>(*vs, {v_new + i * h * d, h, d, d}, {cache.v_record(slot_mapping[i], 0), h, cache.v_bytes});
  }
}

/// Reference decode attention: decodes every needed record with the library, then
/// attends in float64. q: batch × q_heads × dim; out: the same shape (float32).
inline void decode_attention_reference(const CodecSpec& ks, const CodecSpec* vs, PagedKV<const uint8_t> cache,
                                       const AttentionShape& s, const float* q, float* out) {
  ::kakeya::detail::check_paged(ks, vs, cache, s, true);
  const int32_t d = s.dim, group = s.q_heads / s.kv_heads;
  const CodecSpec& vspec = cache.shared() ? ks : *vs;
  std::vector<uint8_t> kc, vc;
  std::vector<float> kd, vd;
  std::vector<double> sc;
  for (int32_t b = 0; b < s.batch; ++b) {
    const int32_t len = cache.seq_lens[b];
    for (int32_t h = 0; h < s.kv_heads; ++h) {
      kc.resize(static_cast<size_t>(len) * cache.k_bytes);
      vc.resize(static_cast<size_t>(len) * vspec.code_bytes());
      for (int32_t t = 0; t < len; ++t) {
        const int64_t sl = cache.slot(b, t);
        std::copy_n(cache.k_record(sl, h), cache.k_bytes, &kc[static_cast<size_t>(t) * cache.k_bytes]);
        std::copy_n(cache.v_record(sl, h), vspec.code_bytes(), &vc[static_cast<size_t>(t) * vspec.code_bytes()]);
      }
      kd.resize(static_cast<size_t>(len) * d);
      vd.resize(static_cast<size_t>(len) * d);
      decode<float>(ks, {kc.data(), len, cache.k_bytes}, contiguous(kd.data(), len, d));
      decode<float>(vspec, {vc.data(), len, vspec.code_bytes()}, contiguous(vd.data(), len, d));
      for (int32_t g = 0; g < group; ++g) {
        const int32_t hq = h * group + g;
        const float* qv = q + (static_cast<int64_t>(b) * s.q_heads + hq) * d;
        float* o = out + (static_cast<int64_t>(b) * s.q_heads + hq) * d;
        if (len == 0) {
          std::fill(o, o + d, 0.0f);
          continue;
        }
        sc.assign(static_cast<size_t>(len), 0.0);
        double m = -INFINITY;
        for (int32_t t = 0; t < len; ++t) {
          double dot = 0;
          for (int32_t i = 0; i < d; ++i) dot += static_cast<double>(qv[i]) * kd[static_cast<size_t>(t) * d + i];
          sc[static_cast<size_t>(t)] = dot * s.scale;
          m = std::max(m, sc[static_cast<size_t>(t)]);
        }
        double l = 0;
        for (auto& x : sc) l += (x = std::exp(x - m));
        for (int32_t i = 0; i < d; ++i) {
          double acc = 0;
          for (int32_t t = 0; t < len; ++t) acc += sc[static_cast<size_t>(t)] * vd[static_cast<size_t>(t) * d + i];
          o[i] = static_cast<float>(acc / l);
        }
      }
    }
  }
}

}  // namespace cpu
}  // namespace kakeya
