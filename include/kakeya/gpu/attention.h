// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file attention.h
/// Host-callable CUDA decode attention over a paged cache of codec records, and the
/// fused encode-and-scatter that appends new tokens (kakeya::cuda). Device pointers
/// everywhere; validation on the host; Status returned, never thrown.
///
/// Supported codecs: K and V each E8 (any Q, any scale format), fp8_per64 or bf16, of
/// the same kind (Q may differ), or one shared K=V cache (`cache.v == nullptr`).
/// dim ∈ {64, 128, 256, 512}. Queries float or bf16; output float or bf16.

#include <cstddef>
#include <cstdint>

#include "kakeya/attention/paged.h"
#include "kakeya/gpu/codec.h"

namespace kakeya::gpu {

/// How a call splits its work; workspace_bytes is what the caller must provide.
struct AttentionPlan {
  int32_t splits;        ///< KV splits per (sequence, head chunk)
  int32_t split_tokens;  ///< tokens per split
  int32_t group_chunk;   ///< query heads served per CTA (G)
  size_t workspace_bytes;
};

/// Plan for a shape and the longest sequence in the batch (reads the device's SM count).
[[nodiscard]] AttentionPlan plan_decode_attention(const AttentionShape& shape, int32_t max_seq_len) noexcept;

/// out[b, hq, :] = softmax(scale · q·k̂) v̂ over the sequence's tokens (zeros for an empty
/// sequence). `max_seq_len` must be >= every seq_lens[b] (a longer length is clamped and
/// reported with flag bit 4; a block id outside the cache with bit 2).
template <class Q, class Out>
[[nodiscard]] Status decode_attention(const CodecSpec& k_spec, const CodecSpec* v_spec,
                                      PagedKV<const uint8_t> cache, const AttentionShape& shape,
                                      int32_t max_seq_len, const Q* q, Out* out, void* workspace,
                                      size_t workspace_bytes, int32_t* error_flag,
                                      cudaStream_t stream) noexcept;

/// Encodes n new tokens (k_new, v_new: n × kv_heads × dim) straight into their cache
/// slots (slot_mapping: n int64 on the device). v_new is ignored for a shared cache.
/// An out-of-range slot is reported through error_flag (bit 1) and not written.
template <class In>
[[nodiscard]] Status append_kv(const CodecSpec& k_spec, const CodecSpec* v_spec, const In* k_new,
                               const In* v_new, int64_t n, const int64_t* slot_mapping,
                               PagedKV<uint8_t> cache, int32_t* error_flag, cudaStream_t stream) noexcept;

}  // namespace kakeya::gpu
