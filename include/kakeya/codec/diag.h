// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file diag.h
/// Diag: what one per-vector encode or decode call reports, on host and device. A
/// failing call says why (Fault) and where (a column, block or group index), so the
/// batch layer can name the first failing row without running the row again. The two
/// helpers below are the one place where a failing record or output row is cleared:
/// a rejected input leaves an all-zero record, a corrupt record decodes to zeros.

#include <cstdint>

#include "kakeya/config.h"
#include "kakeya/error.h"
#include "kakeya/numeric/formats.h"

namespace kakeya {

/// Why a vector was rejected.
enum class Fault : uint8_t {
  kNone = 0,
  kNonFinite,         ///< encode: x[where] is NaN or infinite (value = x[where])
  kRotationOverflow,  ///< encode: the rotation of a finite input overflows float32
  kScaleOverflow,     ///< encode: the per-vector scale does not fit its 16-bit format
  kFp16Overflow,      ///< encode: an fp16 side value (scale, zero, norm) overflows
  kBadScale,          ///< decode: a stored scale / header is NaN, infinite or negative
  kBadIndex,          ///< decode: block `where` holds index `detail` outside the codebook
  kBadValue,          ///< decode: stored value `where` is NaN / infinite
};

/// Result of one per-vector call: status kOk, or the category and the details.
struct Diag {
  Status status = Status::kOk;
  Fault fault = Fault::kNone;
  int32_t where = -1;   ///< column (encode), block / group / value index (decode)
  float value = 0.0f;   ///< the offending input value or magnitude (encode)
  uint64_t detail = 0;  ///< the offending stored bits or index (decode)

  [[nodiscard]] KAKEYA_HD bool ok() const noexcept { return status == Status::kOk; }
  [[nodiscard]] KAKEYA_HD static Diag input(Fault f, int32_t where, float value) noexcept {
    Diag d;
    d.status = Status::kInvalidInput;
    d.fault = f;
    d.where = where;
    d.value = value;
    return d;
  }
  [[nodiscard]] KAKEYA_HD static Diag corrupt(Fault f, int32_t where, uint64_t detail) noexcept {
    Diag d;
    d.status = Status::kCorruptCode;
    d.fault = f;
    d.where = where;
    d.detail = detail;
    return d;
  }
};

/// Rejects an input vector: zeroes its record of `bytes` bytes and returns `d`.
[[nodiscard]] KAKEYA_HD Diag reject_record(uint8_t* rec, int32_t bytes, Diag d) noexcept {
  for (int32_t i = 0; i < bytes; ++i) rec[i] = 0;
  return d;
}

/// Rejects a corrupt record: zeroes the output row of `n` values and returns `d`.
template <class Out, class FromFloat>
[[nodiscard]] KAKEYA_HD Diag reject_row(Out* out, int32_t n, Diag d, FromFloat from_float) noexcept {
  for (int32_t i = 0; i < n; ++i) out[i] = from_float(0.0f);
  return d;
}

/// First non-finite coordinate of x[0..n), or -1.
template <class In>
[[nodiscard]] KAKEYA_HD int32_t first_nonfinite(const In* x, int32_t n) noexcept {
  for (int32_t i = 0; i < n; ++i)
    if (!detail::is_finite(element<In>::to_float(x[i]))) return i;
  return -1;
}

/// The input diagnostic of a row whose encode failed on a non-finite value or an
/// overflow: names the first non-finite column when there is one.
template <class In>
[[nodiscard]] KAKEYA_HD Diag input_fault(const In* x, int32_t n, Fault overflow_fault,
                                         float overflow_value) noexcept {
  const int32_t c = first_nonfinite(x, n);
  if (c >= 0) return Diag::input(Fault::kNonFinite, c, element<In>::to_float(x[c]));
  return Diag::input(overflow_fault, -1, overflow_value);
}

}  // namespace kakeya
