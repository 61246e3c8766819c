// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file baselines.h
/// The baseline codecs, behind the same per-vector interface as the lattice codec:
///   fp8_per64  per group of 64 coordinates, s = max(amax, 1e-4)/448 stored as bf16
///              rounded up (so no value saturates), values cast to exact E4M3 (round to
///              nearest even); 8 bits per coordinate + 16 per group.
///   v4_native  what DeepSeek-V4 stores: fp8_per64 on the first dim - R coordinates,
///              the last R (RoPE) coordinates in bf16.
///   bf16       round to nearest even bfloat16.
/// E4M3 error is relative to each value, so the bf16 rounding of the group scale (at
/// most 2^-8 relative) changes which grid is used, not its precision.

#include <cstdint>

#include "kakeya/codec/format.h"
#include "kakeya/codec/spec.h"
#include "kakeya/error.h"
#include "kakeya/numeric/formats.h"

namespace kakeya {

inline constexpr float kFP8AmaxFloor = 1e-4f;

/// The stored bf16 scale of one FP8 group from its max |x|: max(amax, 1e-4)/448
/// rounded up, so no value saturates.
[[nodiscard]] KAKEYA_HD uint16_t fp8_group_scale(float amax) noexcept {
  amax = amax > kFP8AmaxFloor ? amax : kFP8AmaxFloor;
  return float_to_bf16_up(amax / kE4M3Max);
}

/// E4M3-per-64 encode of n coordinates (n a multiple of 64) into `scales` (n/64 bf16,
/// little-endian) and `vals` (n bytes).
template <class In>
[[nodiscard]] KAKEYA_HD Status fp8_per64_encode(const In* x, int32_t n, uint8_t* scales,
                                                uint8_t* vals) noexcept {
  for (int32_t g = 0; g < n / kFP8Group; ++g) {
    float amax = 0.0f;
    bool finite = true;
    for (int k = 0; k < kFP8Group; ++k) {
      const float v = element<In>::to_float(x[g * kFP8Group + k]);
      finite = finite && detail::is_finite(v);
      const float a = detail::abs_bits(v);
      amax = a > amax ? a : amax;
    }
    if (!finite) return Status::kInvalidInput;
    const uint16_t s16 = fp8_group_scale(amax);
    const float s = bf16_to_float(s16);
    if (!detail::is_finite(s)) return Status::kInvalidInput;
    format::store_u16(scales + 2 * g, s16);
    for (int k = 0; k < kFP8Group; ++k)
      vals[g * kFP8Group + k] = float_to_e4m3(element<In>::to_float(x[g * kFP8Group + k]) / s);
  }
  return Status::kOk;
}

template <class Out>
[[nodiscard]] KAKEYA_HD Status fp8_per64_decode(const uint8_t* scales, const uint8_t* vals,
                                                int32_t n, Out* out) noexcept {
  Status st = Status::kOk;
  for (int32_t g = 0; g < n / kFP8Group; ++g) {
    const uint16_t s16 = format::load_u16(scales + 2 * g);
    float s = bf16_to_float(s16);
    if ((s16 & 0x8000u) || !detail::is_finite(s)) {
      st = Status::kCorruptCode;
      s = 0.0f;
    }
    for (int k = 0; k < kFP8Group; ++k) {
      const uint8_t c = vals[g * kFP8Group + k];
      float v = e4m3_to_float(c) * s;
      if ((c & 0x7fu) == 0x7fu) {
        st = Status::kCorruptCode;
        v = 0.0f;
      }
      out[g * kFP8Group + k] = element<Out>::from_float(v);
    }
  }
  return st;
}

template <class In>
[[nodiscard]] KAKEYA_HD Status bf16_encode(const In* x, int32_t n, uint8_t* dst) noexcept {
  for (int32_t i = 0; i < n; ++i) {
    const float v = element<In>::to_float(x[i]);
    const uint16_t h = float_to_bf16(v);
    if (!detail::is_finite(v) || !detail::is_finite(bf16_to_float(h))) return Status::kInvalidInput;
    format::store_u16(dst + 2 * i, h);
  }
  return Status::kOk;
}

template <class Out>
[[nodiscard]] KAKEYA_HD Status bf16_decode(const uint8_t* src, int32_t n, Out* out) noexcept {
  Status st = Status::kOk;
  for (int32_t i = 0; i < n; ++i) {
    float v = bf16_to_float(format::load_u16(src + 2 * i));
    if (!detail::is_finite(v)) {
      st = Status::kCorruptCode;
      v = 0.0f;
    }
    out[i] = element<Out>::from_float(v);
  }
  return st;
}

/// Record offsets of the byte-aligned baselines (see format.h).
struct BaselineLayout {
  int32_t fp8_dims;   ///< coordinates stored as E4M3
  int32_t bf16_dims;  ///< trailing coordinates stored as bf16
  [[nodiscard]] KAKEYA_HD int32_t scales_offset() const noexcept { return 0; }
  [[nodiscard]] KAKEYA_HD int32_t vals_offset() const noexcept { return 2 * (fp8_dims / kFP8Group); }
  [[nodiscard]] KAKEYA_HD int32_t bf16_offset() const noexcept { return vals_offset() + fp8_dims; }
};

[[nodiscard]] inline BaselineLayout baseline_layout(const CodecSpec& spec) {
  switch (spec.kind) {
    case CodecKind::kFP8Per64: return {spec.dim, 0};
    case CodecKind::kV4Native: return {spec.dim - spec.rope_dims, spec.rope_dims};
    case CodecKind::kBF16: return {0, spec.dim};
    default: break;
  }
  KAKEYA_CHECK(false, "baseline_layout: kind = ", to_string(spec.kind), " is not a baseline");
  return {0, 0};
}

template <class In>
[[nodiscard]] KAKEYA_HD Status baseline_encode_vector(const BaselineLayout& b, const In* x,
                                                      uint8_t* rec) noexcept {
  Status st = fp8_per64_encode(x, b.fp8_dims, rec + b.scales_offset(), rec + b.vals_offset());
  if (st == Status::kOk) st = bf16_encode(x + b.fp8_dims, b.bf16_dims, rec + b.bf16_offset());
  if (st != Status::kOk)
    for (int32_t i = 0; i < b.bf16_offset() + 2 * b.bf16_dims; ++i) rec[i] = 0;
  return st;
}

template <class Out>
[[nodiscard]] KAKEYA_HD Status baseline_decode_vector(const BaselineLayout& b, const uint8_t* rec,
                                                      Out* out) noexcept {
  const Status s1 = fp8_per64_decode(rec + b.scales_offset(), rec + b.vals_offset(), b.fp8_dims, out);
  const Status s2 = bf16_decode(rec + b.bf16_offset(), b.bf16_dims, out + b.fp8_dims);
  return s1 != Status::kOk ? s1 : s2;
}

}  // namespace kakeya
