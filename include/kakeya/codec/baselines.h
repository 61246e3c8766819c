// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file baselines.h
/// The baseline codecs, behind the same per-vector interface as the lattice codec:
///   fp8_per64  per group of 64 coordinates, s = max(amax, 1e-4)/448 stored as bf16
///              rounded up (so no value saturates), values cast to exact E4M3 (round to
///              nearest even); 8 bits per coordinate + 16 per group.
///   bf16       round to nearest even bfloat16.
/// E4M3 error is relative to each value, so the bf16 rounding of the group scale (at
/// most 2^-8 relative) changes which grid is used, not its precision.

#include <cstdint>

#include "kakeya/codec/diag.h"
#include "kakeya/codec/format.h"
#include "kakeya/codec/spec_fields.h"
#include "kakeya/error.h"
#include "kakeya/numeric/formats.h"

namespace kakeya {

inline constexpr float kFP8AmaxFloor = 1e-4f;
inline constexpr int32_t kFP8Group = 64;

/// The stored bf16 scale of one FP8 group from its max |x|: max(amax, 1e-4)/448
/// rounded up, so no value saturates.
[[nodiscard]] KAKEYA_HD uint16_t fp8_group_scale(float amax) noexcept {
  amax = amax > kFP8AmaxFloor ? amax : kFP8AmaxFloor;
  return float_to_bf16_up(amax / kE4M3Max);
}

/// The scale a stored bf16 group scale stands for; false for a negative, NaN or
/// infinite one (a corrupt record).
[[nodiscard]] KAKEYA_HD bool fp8_group_scale_value(uint16_t s16, float* s) noexcept {
  *s = bf16_to_float(s16);
  return !(s16 & 0x8000u) && detail::is_finite(*s);
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
      vals[g * kFP8Group + k] = e4m3_fit_product(float_to_e4m3(element<In>::to_float(x[g * kFP8Group + k]) / s), s);
  }
  return Status::kOk;
}

template <class Out>
[[nodiscard]] KAKEYA_HD Status fp8_per64_decode(const uint8_t* scales, const uint8_t* vals,
                                                int32_t n, Out* out) noexcept {
  Status st = Status::kOk;
  for (int32_t g = 0; g < n / kFP8Group; ++g) {
    float s = 0.0f;
    if (!fp8_group_scale_value(format::load_u16(scales + 2 * g), &s)) {
      st = Status::kCorruptCode;
      s = 0.0f;
    }
    for (int k = 0; k < kFP8Group; ++k) {
      float v = 0.0f;
      if (!e4m3_scaled_value(vals[g * kFP8Group + k], s, &v)) {
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

/// The fp8_per64 / bf16 layout of a valid spec (format.h owns BaselineLayout).
[[nodiscard]] inline BaselineLayout baseline_layout(const CodecSpec& spec) noexcept {
  return spec.kind == CodecKind::kBF16 ? BaselineLayout{0, spec.dim} : BaselineLayout{spec.dim, 0};
}

template <class In>
[[nodiscard]] KAKEYA_HD Diag baseline_encode_vector(const BaselineLayout& b, const In* x,
                                                    uint8_t* rec) noexcept {
  Status st = fp8_per64_encode(x, b.fp8_dims, rec + b.scales_offset(), rec + b.vals_offset());
  if (st == Status::kOk) st = bf16_encode(x + b.fp8_dims, b.bf16_dims, rec + b.bf16_offset());
  if (st == Status::kOk) return Diag{};
  float amax = 0.0f;
  for (int32_t i = 0; i < b.fp8_dims + b.bf16_dims; ++i) {
    const float a = detail::abs_bits(element<In>::to_float(x[i]));
    amax = a > amax ? a : amax;
  }
  return reject_record(rec, b.code_bytes(), input_fault(x, b.fp8_dims + b.bf16_dims,
                                                        Fault::kScaleOverflow, amax));
}

/// Decodes; a corrupt scale or value zeroes the whole row (as every codec does).
template <class Out>
[[nodiscard]] KAKEYA_HD Diag baseline_decode_vector(const BaselineLayout& b, const uint8_t* rec,
                                                    Out* out) noexcept {
  const Status s1 = fp8_per64_decode(rec + b.scales_offset(), rec + b.vals_offset(), b.fp8_dims, out);
  const Status s2 = bf16_decode(rec + b.bf16_offset(), b.bf16_dims, out + b.fp8_dims);
  if (s1 == Status::kOk && s2 == Status::kOk) return Diag{};
  return reject_row(out, b.fp8_dims + b.bf16_dims, Diag::corrupt(Fault::kBadValue, -1, 0),
                    element<Out>::from_float);
}

/// Codec types of the registry (codec/registry.h): fp8_per64 and bf16.
template <CodecKind K>
struct BaselineCodec {
  static constexpr CodecKind kKind = K;
  static constexpr bool kScratch = false;
  using Layout = BaselineLayout;
  [[nodiscard]] static Layout layout(const CodecSpec& s) noexcept { return baseline_layout(s); }
  [[nodiscard]] static int32_t code_bytes(const Layout& l) noexcept { return l.code_bytes(); }
  static void validate(const CodecSpec& s) {
    if (K == CodecKind::kFP8Per64)
      KAKEYA_CHECK(s.dim % 64 == 0, "dim = ", s.dim, " must be a multiple of 64 for fp8_per64");
  }
  [[nodiscard]] static int64_t bits(const CodecSpec& s) noexcept {
    return K == CodecKind::kBF16 ? int64_t{16} * s.dim : int64_t{8} * s.dim + 16 * (s.dim / 64);
  }
  template <class In>
  [[nodiscard]] KAKEYA_HD static Diag encode(const Layout& l, const In* x, float*, uint8_t* rec) noexcept {
    return baseline_encode_vector(l, x, rec);
  }
  template <class Out>
  [[nodiscard]] KAKEYA_HD static Diag decode(const Layout& l, const uint8_t* rec, float*, Out* out) noexcept {
    return baseline_decode_vector(l, rec, out);
  }
};

}  // namespace kakeya
