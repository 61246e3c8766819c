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

/// Which kernel serves a call. kMma (the default through kAuto): one CTA per
/// (sequence, KV head, split) reads each record once for all query heads of the KV head
/// and computes with tensor-core MMAs (attention_mma.cuh). kLegacy: the earlier
/// CUDA-core kernel (attention.cuh), kept for comparison and diagnosis. The environment
/// variable KAKEYA_ATTN_KERNEL=legacy|mma overrides kAuto.
enum class AttentionKernel : int32_t { kAuto = 0, kLegacy = 1, kMma = 2 };

/// MMA input precision (the legacy kernel is float32 throughout and ignores it).
/// kSplit: queries as 3 bf16 terms and softmax weights as 2, summed in float32: matches
/// the float64 reference to ~1e-6 relative (the checked bound is 1e-5). kBF16: one bf16
/// term each, as FlashAttention/FlashMLA (~1e-3 relative); fewer MMAs and less shared
/// memory. KAKEYA_ATTN_PRECISION=split|bf16 overrides the default (kSplit).
enum class AttentionPrecision : int32_t { kSplit = 0, kBF16 = 1 };

struct AttentionOptions {
  AttentionKernel kernel = AttentionKernel::kAuto;
  AttentionPrecision precision = AttentionPrecision::kSplit;
};

/// How a call splits its work; workspace_bytes is what the caller must provide (enough
/// for either kernel).
struct AttentionPlan {
  int32_t splits;        ///< legacy kernel: KV splits per (sequence, head chunk)
  int32_t split_tokens;  ///< legacy kernel: tokens per split
  int32_t group_chunk;   ///< legacy kernel: query heads served per CTA (G)
  size_t workspace_bytes;
  int32_t mma_splits;        ///< MMA kernel: KV splits per (sequence, KV head)
  int32_t mma_split_tokens;  ///< MMA kernel: tokens per split
};

/// Plan for a shape and the longest sequence in the batch (reads the device's SM count).
[[nodiscard]] AttentionPlan plan_decode_attention(const AttentionShape& shape, int32_t max_seq_len) noexcept;

/// The kernel and precision that a call with these options runs (environment applied).
[[nodiscard]] AttentionOptions resolve_attention_options(const AttentionOptions& opt) noexcept;

/// out[b, hq, :] = softmax(scale · q·k̂) v̂ over the sequence's tokens (zeros for an empty
/// sequence). `max_seq_len` must be >= every seq_lens[b] (a longer length is clamped and
/// reported with flag bit 4; a block id outside the cache with bit 2).
template <class Q, class Out>
[[nodiscard]] Status decode_attention(const CodecSpec& k_spec, const CodecSpec* v_spec,
                                      PagedKV<const uint8_t> cache, const AttentionShape& shape,
                                      int32_t max_seq_len, const Q* q, Out* out, void* workspace,
                                      size_t workspace_bytes, int32_t* error_flag,
                                      cudaStream_t stream) noexcept;

/// The same with explicit kernel and precision choices.
template <class Q, class Out>
[[nodiscard]] Status decode_attention(const CodecSpec& k_spec, const CodecSpec* v_spec,
                                      PagedKV<const uint8_t> cache, const AttentionShape& shape,
                                      int32_t max_seq_len, const Q* q, Out* out, void* workspace,
                                      size_t workspace_bytes, int32_t* error_flag,
                                      const AttentionOptions& options, cudaStream_t stream) noexcept;

/// Encodes n new tokens (k_new, v_new: n × kv_heads × dim) straight into their cache
/// slots (slot_mapping: n int64 on the device). v_new is ignored for a shared cache.
/// An out-of-range slot is reported through error_flag (bit 1) and not written.
template <class In>
[[nodiscard]] Status append_kv(const CodecSpec& k_spec, const CodecSpec* v_spec, const In* k_new,
                               const In* v_new, int64_t n, const int64_t* slot_mapping,
                               PagedKV<uint8_t> cache, int32_t* error_flag, cudaStream_t stream) noexcept;

}  // namespace kakeya::gpu
