// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file scale.h
/// The per-vector scale s of the lattice codec: chosen from the rotated vector y,
/// stored in the record header, and read back. The encoder quantizes with exactly the
/// s the decoder will read (the stored value), rounded up so y/s stays in [-Q, Q].

#include <cmath>
#include <cstdint>

#include "kakeya/codec/spec_fields.h"
#include "kakeya/error.h"
#include "kakeya/numeric/formats.h"

namespace kakeya {

struct ScaleChoice {
  uint32_t header;  ///< the header bits to store
  float s;          ///< the scale the decoder will reconstruct from `header`
  Status status;    ///< kInvalidInput when s is not representable in the format
};

/// Smallest stored 16-bit scale s with s·q >= amax. `up` rounds a float up to the
/// format, `back` decodes it; s·q is exact in float for both formats (at most
/// 11 + 7 significant bits), so the correction step is exact.
template <class Up, class Back>
[[nodiscard]] KAKEYA_HD uint16_t round_up_scale(float amax, int q, Up up, Back back) noexcept {
  uint16_t h = up(amax / static_cast<float>(q));
  if (back(h) * static_cast<float>(q) < amax) ++h;
  return h;
}

/// Chooses the scale for a rotated vector with max |y_i| = amax and Σ y_i² = sumsq
/// (sumsq is read only by norm_qmax). amax == 0 gives the all-zero header and s = 0.
[[nodiscard]] KAKEYA_HD ScaleChoice choose_scale(ScaleFormat fmt, float amax, float sumsq,
                                                 int q) noexcept {
  ScaleChoice c{0u, 0.0f, Status::kOk};
  if (amax == 0.0f) return c;
  const float qf = static_cast<float>(q);
  switch (fmt) {
    case ScaleFormat::kBF16: {
      const uint16_t h = round_up_scale(
          amax, q, [](float v) { return float_to_bf16_up(v); },
          [](uint16_t b) { return bf16_to_float(b); });
      c.header = h;
      c.s = bf16_to_float(h);
      break;
    }
    case ScaleFormat::kFP16: {
      const uint16_t h = round_up_scale(
          amax, q, [](float v) { return float_to_f16_up(v); },
          [](uint16_t b) { return f16_to_float(b); });
      c.header = h;
      c.s = f16_to_float(h);
      break;
    }
    case ScaleFormat::kNormQmax: {
      // n = ||y|| = ||x|| (the rotation is orthogonal); m = max|y|/n in (0, 1].
      // A norm that underflows float32 (sumsq == 0 with amax > 0) is stored as the
      // smallest fp16 so that s stays positive; such vectors decode to zero.
      uint16_t n16 = float_to_f16_up(sqrtf(sumsq));
      if (n16 == 0) n16 = 1;
      const float n = f16_to_float(n16);
      const uint16_t m16 = float_to_f16_up(amax / n);
      const float m = f16_to_float(m16);
      c.header = static_cast<uint32_t>(n16) | (static_cast<uint32_t>(m16) << 16);
      c.s = (n * m) / qf;
      break;
    }
  }
  if (!detail::is_finite(c.s) || !(c.s > 0.0f)) c.status = Status::kInvalidInput;
  return c;
}

/// The decoded magnitude of a lattice record is at most √P·Q·s (every |p_j| <= Q over a
/// Hadamard block of P coordinates, times s/√P). A scale is in range when twice that bound
/// is finite in float32, so no decode can overflow: the encoder rejects a larger scale
/// (an input error) and the decoder reports a stored one as corrupt. `inv_sqrt_p` is
/// hadamard_norm(log2 P).
[[nodiscard]] KAKEYA_HD bool scale_in_range(float s, int q, float inv_sqrt_p) noexcept {
  return detail::is_finite((s * static_cast<float>(q)) / inv_sqrt_p * 2.0f);
}

/// Scale from a stored header. Returns kCorruptCode for a negative, NaN or infinite
/// stored value (the encoder never writes one).
[[nodiscard]] KAKEYA_HD Status scale_from_header(ScaleFormat fmt, uint32_t header, int q,
                                                 float* s) noexcept {
  *s = 0.0f;
  switch (fmt) {
    case ScaleFormat::kBF16:
    case ScaleFormat::kFP16: {
      const uint16_t h = static_cast<uint16_t>(header);
      const float v = fmt == ScaleFormat::kBF16 ? bf16_to_float(h) : f16_to_float(h);
      if ((h & 0x8000u) || !detail::is_finite(v)) return Status::kCorruptCode;
      *s = v;
      return Status::kOk;
    }
    case ScaleFormat::kNormQmax: {
      const uint16_t n16 = static_cast<uint16_t>(header), m16 = static_cast<uint16_t>(header >> 16);
      const float n = f16_to_float(n16), m = f16_to_float(m16);
      if ((n16 & 0x8000u) || (m16 & 0x8000u) || !detail::is_finite(n) || !detail::is_finite(m))
        return Status::kCorruptCode;
      *s = (n * m) / static_cast<float>(q);
      return Status::kOk;
    }
  }
  return Status::kCorruptCode;
}

}  // namespace kakeya
