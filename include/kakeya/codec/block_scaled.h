// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file block_scaled.h
/// Block-scaled ("microscaling") formats that engines ship, one per-vector code for
/// all five; the record layouts are in format.h (block_scaled_layout).
///
///   v4_native  DeepSeek-V4's KV record (FlashMLA "MODEL1"): the first dim - R coords
///              in groups of 64, scale 2^ceil(log2(max(amax, 1e-4)/448)) as a UE8M0 byte
///              (never saturates), values E4M3(x / scale); the last R (RoPE) coords bf16.
///   v41_mxfp8  DeepSeek-V4.1: the same rule per 32 over all dims.
///   mxfp8      OCP MX v1.0: scale 2^(floor(log2 amax) - 8) per 32, E4M3 RNE saturating.
///   mxfp4      OCP MX v1.0: scale 2^(floor(log2 amax) - 2) per 32, E2M1 RNE saturating.
///   nvfp4      per 16 an E4M3 block scale b = E4M3(amax/6/S) (RNE), element scale
///              e = value(b)·S, elements E2M1(x / e) RNE saturating; S is the codec's
///              static fp32 tensor scale (calibrate: S = amax_tensor / (6·448)).
///
/// Exact arithmetic (float32, in this order; the NumPy reference follows it): the
/// element scale sf as above (for nvfp4 the product value(b)·S, rounded once), encode
/// cast(x / sf) (sf = 0 gives code 0), decode value(code) · sf. Power-of-two scales
/// make x / sf exact except in the subnormal range.
/// Corrupt records: a UE8M0/E8M0 byte 255, an E4M3 block scale that is NaN or negative,
/// an E4M3 element NaN, a non-finite bf16 tail value. The v4_native pad byte is
/// written as zero and ignored on read.

#include <cstdint>
#include <string>

#include "kakeya/codec/baselines.h"
#include "kakeya/codec/diag.h"
#include "kakeya/codec/format.h"
#include "kakeya/codec/spec_fields.h"
#include "kakeya/error.h"
#include "kakeya/numeric/formats.h"

namespace kakeya {

/// Scale byte and element scale of one group with max |x| = amax (finite).
KAKEYA_HD void block_scale(const BlockScaledLayout& l, float amax, uint8_t* byte, float* sf) noexcept {
  *byte = 0;
  *sf = 0.0f;
  switch (l.rule) {
    case ScaleRule::kUE8M0Ceil: {
      const float y = (amax > kFP8AmaxFloor ? amax : kFP8AmaxFloor) / kE4M3Max;
      *byte = ue8m0_ceil(y);
      *sf = e8m0_to_float(*byte);
      return;
    }
    case ScaleRule::kUE8M0Floor:
      *byte = ue8m0_mx(amax, l.emax);
      *sf = e8m0_to_float(*byte);
      return;
    case ScaleRule::kE4M3Tensor:
      *byte = float_to_e4m3((amax / kE2M1Max) / l.tensor_scale);
      *sf = e4m3_to_float(*byte) * l.tensor_scale;
      return;
  }
}

/// The element scale a stored scale byte stands for; false for a corrupt byte.
[[nodiscard]] KAKEYA_HD bool block_scale_value(const BlockScaledLayout& l, uint8_t byte, float* sf) noexcept {
  if (l.rule == ScaleRule::kE4M3Tensor) {
    if ((byte & 0x80u) || (byte & 0x7fu) == 0x7fu) return false;
    *sf = e4m3_to_float(byte) * l.tensor_scale;
    return true;
  }
  if (byte == 255u) return false;
  *sf = e8m0_to_float(byte);
  return true;
}

/// The factor block_scaled_code multiplies by: 1/sf for the power-of-two (UE8M0) rules,
/// where x / sf == x * (1/sf) bit for bit (sf = 2^k, k in [-127, 127], so 1/sf = 2^-k
/// is an exact float32 and both forms round the same real number once; tested in
/// test_formats.cpp over every scale byte); unused (0) for nvfp4, which divides.
[[nodiscard]] KAKEYA_HD float block_scale_inverse(const BlockScaledLayout& l, float sf) noexcept {
  return (l.rule != ScaleRule::kE4M3Tensor && sf > 0.0f) ? 1.0f / sf : 0.0f;
}

/// Element code of a finite value v in a group of element scale sf (inv from
/// block_scale_inverse): cast(v / sf), 0 when sf = 0, saturated so that value · sf stays
/// finite (formats.h e4m3_fit_product). E4M3 codes are bytes, E2M1 codes nibbles.
[[nodiscard]] KAKEYA_HD uint8_t block_scaled_code(const BlockScaledLayout& l, float v, float sf,
                                                  float inv) noexcept {
  const float q = sf > 0.0f ? (l.rule == ScaleRule::kE4M3Tensor ? v / sf : v * inv) : 0.0f;
  return l.elem == ElemFormat::kE4M3 ? e4m3_fit_product(float_to_e4m3(q), sf)
                                     : e2m1_fit_product(float_to_e2m1(q), sf);
}

/// Decoded value of element code c (byte or nibble) of a group with element scale sf;
/// false for a NaN E4M3 code or a product that overflows float32 (corrupt records: an
/// encoder never writes either).
[[nodiscard]] KAKEYA_HD bool block_scaled_value(const BlockScaledLayout& l, uint8_t c, float sf,
                                                float* v) noexcept {
  if (l.elem == ElemFormat::kE4M3) return e4m3_scaled_value(c, sf, v);
  *v = e2m1_to_float(c) * sf;
  return detail::is_finite(*v);
}

/// First pad byte of a record (v4_native pads its trailing scale bytes to a multiple of
/// 8, written as zero); code_bytes when the layout has none (scales before the values).
[[nodiscard]] KAKEYA_HD int32_t block_scaled_pad_begin(const BlockScaledLayout& l) noexcept {
  return l.scales_offset > l.vals_offset ? l.scales_offset + l.groups() : l.code_bytes;
}

/// Encodes group g (x[g·group, (g+1)·group)) into its scale byte and element codes;
/// false (record untouched past what it wrote) when the group holds a non-finite value.
/// The record's value bytes of the group must be zero on entry (E2M1 codes are ORed).
template <class In>
[[nodiscard]] KAKEYA_HD bool block_scaled_encode_group(const BlockScaledLayout& l, const In* x, int32_t g,
                                                       uint8_t* rec) noexcept {
  const In* xg = x + g * l.group;
  float amax = 0.0f;
  uint32_t nonfinite = 0;
  for (int32_t k = 0; k < l.group; ++k) {
    const float v = element<In>::to_float(xg[k]);
    nonfinite |= static_cast<uint32_t>(!detail::is_finite(v));
    const float a = detail::abs_bits(v);
    amax = a > amax ? a : amax;
  }
  if (nonfinite) return false;
  uint8_t byte = 0;
  float sf = 0.0f;
  block_scale(l, amax, &byte, &sf);
  const float inv = block_scale_inverse(l, sf);
  rec[l.scales_offset + g] = byte;
  for (int32_t k = 0; k < l.group; ++k) {
    const int32_t i = g * l.group + k;
    const uint8_t c = block_scaled_code(l, element<In>::to_float(xg[k]), sf, inv);
    if (l.elem == ElemFormat::kE4M3) rec[l.vals_offset + i] = c;
    else rec[l.vals_offset + i / 2] |= static_cast<uint8_t>(c << (4 * (i & 1)));
  }
  return true;
}

/// Tail (v4_native RoPE) value i as bf16; false when it is non-finite or rounds to
/// infinity (`overflow` tells which).
[[nodiscard]] KAKEYA_HD bool block_scaled_tail(float v, uint16_t* h, bool* overflow) noexcept {
  *h = float_to_bf16(v);
  *overflow = detail::is_finite(v);
  return detail::is_finite(v) && detail::is_finite(bf16_to_float(*h));
}

template <class In>
[[nodiscard]] KAKEYA_HD Diag block_scaled_encode(const BlockScaledLayout& l, const In* x,
                                                 uint8_t* rec) noexcept {
  for (int32_t i = 0; i < l.code_bytes; ++i) rec[i] = 0;
  for (int32_t g = 0; g < l.groups(); ++g)
    if (!block_scaled_encode_group(l, x, g, rec))
      return reject_record(rec, l.code_bytes, input_fault(x, l.scaled_dims, Fault::kNonFinite, 0.0f));
  const In* tail = x + l.scaled_dims;
  for (int32_t i = 0; i < l.tail_dims; ++i) {
    const float v = element<In>::to_float(tail[i]);
    uint16_t h = 0;
    bool overflow = false;
    if (!block_scaled_tail(v, &h, &overflow))
      return reject_record(rec, l.code_bytes,
                           overflow ? Diag::input(Fault::kScaleOverflow, l.scaled_dims + i, v)
                                    : Diag::input(Fault::kNonFinite, l.scaled_dims + i, v));
    format::store_u16(rec + l.tail_offset + 2 * i, h);
  }
  return Diag{};
}

/// Decodes group g into out[g·group, (g+1)·group); on a corrupt scale or value returns
/// its diagnostic (the caller zeroes the row).
template <class Out>
[[nodiscard]] KAKEYA_HD Diag block_scaled_decode_group(const BlockScaledLayout& l, const uint8_t* rec,
                                                       int32_t g, Out* out) noexcept {
  const uint8_t byte = rec[l.scales_offset + g];
  float sf = 0.0f;
  if (!block_scale_value(l, byte, &sf)) return Diag::corrupt(Fault::kBadScale, g, byte);
  for (int32_t k = 0; k < l.group; ++k) {
    const int32_t i = g * l.group + k;
    const uint8_t c = l.elem == ElemFormat::kE4M3 ? rec[l.vals_offset + i]
                                                  : static_cast<uint8_t>((rec[l.vals_offset + i / 2] >> (4 * (i & 1))) & 0xfu);
    float v = 0.0f;
    if (!block_scaled_value(l, c, sf, &v)) return Diag::corrupt(Fault::kBadValue, i, c);
    out[i] = element<Out>::from_float(v);
  }
  return Diag{};
}

template <class Out>
[[nodiscard]] KAKEYA_HD Diag block_scaled_decode(const BlockScaledLayout& l, const uint8_t* rec,
                                                 Out* out) noexcept {
  const int32_t n = l.scaled_dims + l.tail_dims;
  for (int32_t g = 0; g < l.groups(); ++g) {
    const Diag d = block_scaled_decode_group(l, rec, g, out);
    if (!d.ok()) return reject_row(out, n, d, element<Out>::from_float);
  }
  for (int32_t i = 0; i < l.tail_dims; ++i) {
    const uint16_t h = format::load_u16(rec + l.tail_offset + 2 * i);
    const float v = bf16_to_float(h);
    if (!detail::is_finite(v))
      return reject_row(out, n, Diag::corrupt(Fault::kBadValue, l.scaled_dims + i, h), element<Out>::from_float);
    out[l.scaled_dims + i] = element<Out>::from_float(v);
  }
  return Diag{};
}

/// Codec type of the registry for the five block-scaled kinds.
template <CodecKind K>
struct BlockScaledCodec {
  static constexpr CodecKind kKind = K;
  static constexpr bool kScratch = false;
  using Layout = BlockScaledLayout;
  [[nodiscard]] static Layout layout(const CodecSpec& s) noexcept { return block_scaled_layout(s); }
  [[nodiscard]] static int32_t code_bytes(const Layout& l) noexcept { return l.code_bytes; }
  static void validate(const CodecSpec& s) {
    switch (K) {
      case CodecKind::kV4Native:
        KAKEYA_CHECK(s.rope_dims >= 0 && s.rope_dims <= s.dim, "rope_dims = ", s.rope_dims,
                     " must be in [0, dim = ", s.dim, "]");
        KAKEYA_CHECK((s.dim - s.rope_dims) % 64 == 0, "dim - rope_dims = ", s.dim - s.rope_dims,
                     " must be a multiple of 64 for v4_native (dim = ", s.dim, ", rope_dims = ",
                     s.rope_dims, ")");
        break;
      case CodecKind::kNVFP4:
        KAKEYA_CHECK(s.dim % 16 == 0, "dim = ", s.dim, " must be a multiple of 16 for nvfp4");
        KAKEYA_CHECK(detail::is_finite(s.tensor_scale) && s.tensor_scale > 0.0f &&
                         detail::is_finite(s.tensor_scale * (kE4M3Max * kE2M1Max)),
                     "tensor_scale = ", s.tensor_scale,
                     " must be a positive float with 2688·tensor_scale finite for nvfp4 (calibrate it: "
                     "S = max|x| over calibration data / (6 * 448))");
        break;
      default:
        KAKEYA_CHECK(s.dim % 32 == 0, "dim = ", s.dim, " must be a multiple of 32 for this format");
    }
  }
  [[nodiscard]] static int64_t bits(const CodecSpec& s) noexcept {
    return int64_t{8} * block_scaled_layout(s).code_bytes;
  }
  template <class In>
  [[nodiscard]] KAKEYA_HD static Diag encode(const Layout& l, const In* x, float*, uint8_t* rec) noexcept {
    return block_scaled_encode(l, x, rec);
  }
  template <class Out>
  [[nodiscard]] KAKEYA_HD static Diag decode(const Layout& l, const uint8_t* rec, float*, Out* out) noexcept {
    return block_scaled_decode(l, rec, out);
  }
};

/// The nvfp4 tensor scale from calibration data's max |x|: S = amax / (6·448).
[[nodiscard]] inline float nvfp4_tensor_scale(float amax) noexcept {
  return amax / (kE2M1Max * kE4M3Max);
}

}  // namespace kakeya
