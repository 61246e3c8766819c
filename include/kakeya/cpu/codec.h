// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file codec.h
/// Host batch API: encode / decode of strided row batches for every codec kind, in
/// parallel over rows (see parallel.h for the thread setting). Calls never allocate
/// per row: each worker takes one dim-sized scratch buffer.
///
///   x:     rows × dim, row_stride >= dim (elements); float, f16 or bf16
///   codes: rows records of spec.code_bytes() bytes, row_stride >= code_bytes (bytes)
///
/// Errors throw kakeya::InvalidArgument naming the argument and value: bad spec, shape
/// or stride mismatch, NaN/Inf input (status kInvalidInput), corrupt records on decode
/// (status kCorruptCode). On an input error, the rows already written are valid and
/// the failing row's record is zeroed; on a decode error, the failing row is zeroed.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "kakeya/codec/baselines.h"
#include "kakeya/codec/lattice_codec.h"
#include "kakeya/codec/spec.h"
#include "kakeya/cpu/parallel.h"
#include "kakeya/error.h"
#include "kakeya/view/checks.h"
#include "kakeya/view/strided.h"

namespace kakeya::cpu {

namespace detail {

/// Smallest failing row across workers.
struct FirstFailure {
  std::atomic<int64_t> row{std::numeric_limits<int64_t>::max()};
  std::atomic<int32_t> status{0};
  void note(int64_t r, Status s) noexcept {
    int64_t cur = row.load();
    while (r < cur && !row.compare_exchange_weak(cur, r)) {
    }
    if (row.load() == r) status.store(static_cast<int32_t>(s));
  }
  [[nodiscard]] bool failed() const noexcept {
    return row.load() != std::numeric_limits<int64_t>::max();
  }
};

template <class In>
[[noreturn]] void throw_encode_error(const CodecSpec& spec, const StridedBatch<const In>& x,
                                     int64_t r) {
  const In* row = x.row(r);
  for (int64_t c = 0; c < x.cols; ++c) {
    const float v = element<In>::to_float(row[c]);
    KAKEYA_CHECK_STATUS(::kakeya::detail::is_finite(v), Status::kInvalidInput, "x[", r, ", ", c,
                        "] = ", v, " is not finite; the codec ", spec.name(),
                        " accepts finite values only");
  }
  std::vector<float> y(static_cast<size_t>(x.cols));
  float amax = 0.f;
  for (int64_t c = 0; c < x.cols; ++c) amax = std::max(amax, std::abs(element<In>::to_float(row[c])));
  if (spec.kind != CodecKind::kLattice)
    throw InvalidArgument(::kakeya::detail::concat("x row ", r, ": max |x| = ", amax,
                                                   " overflows the storage format of ", spec.name()),
                          Status::kInvalidInput);
  for (int64_t c = 0; c < x.cols; ++c) y[static_cast<size_t>(c)] = element<In>::to_float(row[c]);
  hadamard_rotate(y.data(), spec.dim);
  float ya = 0.f;
  for (float v : y) ya = std::max(ya, std::abs(v));
  throw InvalidArgument(
      ::kakeya::detail::concat("x row ", r, " (max |x| = ", amax, ", max |Hx|/sqrt(P) = ", ya,
                               "): the scale max|y|/q with q = ", spec.q,
                               " cannot be stored in scale format '", to_string(spec.scale),
                               "'", spec.scale == ScaleFormat::kBF16 ? "" : " (fp16 max 65504)",
                               "; use scale='bf16' or rescale the input"),
      Status::kInvalidInput);
}

template <class L, class In>
void encode_lattice_rows(const CodecSpec& spec, const StridedBatch<const In>& x,
                         const CodeBatch& codes) {
  const LatticeLayout lay = spec.layout();
  FirstFailure fail;
  parallel_rows(x.rows, [&](int64_t b, int64_t e) {
    std::vector<float> y(static_cast<size_t>(lay.dim));
    for (int64_t r = b; r < e; ++r) {
      const Status st = encode_vector<L>(lay, x.row(r), y.data(), codes.row(r));
      if (st != Status::kOk) fail.note(r, st);
    }
  });
  if (fail.failed()) throw_encode_error(spec, x, fail.row.load());
}

template <class L, class Out>
void decode_lattice_rows(const LatticeLayout& lay, const ConstCodeBatch& codes,
                            const StridedBatch<Out>& out, FirstFailure& fail) {
  parallel_rows(codes.rows, [&](int64_t b, int64_t e) {
    std::vector<float> buf(static_cast<size_t>(lay.dim));
    for (int64_t r = b; r < e; ++r) {
      const Status st = decode_vector<L>(lay, codes.row(r), buf.data(), out.row(r));
      if (st != Status::kOk) fail.note(r, st);
    }
  });
}

[[noreturn]] inline void throw_decode_error(const CodecSpec& spec, const ConstCodeBatch& codes,
                                            int64_t r) {
  const uint8_t* rec = codes.row(r);
  if (spec.kind == CodecKind::kLattice) {
    const LatticeLayout lay = spec.layout();
    const uint32_t hdr = format::read_header(lay, rec);
    float s = 0.f;
    if (scale_from_header(lay.scale, hdr, lay.q, &s) != Status::kOk)
      throw InvalidArgument(::kakeya::detail::concat("codes row ", r, " is corrupt: scale header 0x",
                                                     ::kakeya::detail::Hex{hdr},
                                                     " is negative, NaN or infinite (format '",
                                                     to_string(lay.scale), "')"),
                            Status::kCorruptCode);
    for (int32_t j = 0; j < lay.nblocks; ++j) {
      const uint64_t idx = format::read_bits(rec, format::block_bit_offset(lay, j), lay.bits_per_block);
      if (idx >= lay.codebook_size)
        throw InvalidArgument(::kakeya::detail::concat("codes row ", r, " is corrupt: block ", j,
                                                       " index ", idx, " >= codebook size ",
                                                       lay.codebook_size, " of ", spec.name()),
                              Status::kCorruptCode);
    }
  }
  throw InvalidArgument(::kakeya::detail::concat("codes row ", r, " is corrupt for codec ",
                                                 spec.name(),
                                                 " (a scale or value is NaN, infinite or negative)"),
                        Status::kCorruptCode);
}

}  // namespace detail

/// Encodes x (rows × spec.dim) into codes.
template <class In>
void encode(const CodecSpec& spec, StridedBatch<const In> x, CodeBatch codes) {
  spec.validate();
  ::kakeya::detail::check_rows("x", x, spec.dim);
  ::kakeya::detail::check_codes("codes", codes, x.rows, spec.code_bytes());
  if (x.rows == 0) return;
  if (spec.kind == CodecKind::kLattice) {
    switch (spec.lattice) {
      case LatticeKind::kE8: return detail::encode_lattice_rows<E8>(spec, x, codes);
      case LatticeKind::kD4: return detail::encode_lattice_rows<D4>(spec, x, codes);
      case LatticeKind::kZ8: return detail::encode_lattice_rows<Z8>(spec, x, codes);
    }
  }
  const BaselineLayout bl = baseline_layout(spec);
  detail::FirstFailure fail;
  parallel_rows(x.rows, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const Status st = baseline_encode_vector(bl, x.row(r), codes.row(r));
      if (st != Status::kOk) fail.note(r, st);
    }
  });
  if (fail.failed()) detail::throw_encode_error(spec, x, fail.row.load());
}

/// Decodes codes into out (rows × spec.dim).
template <class Out>
void decode(const CodecSpec& spec, ConstCodeBatch codes, StridedBatch<Out> out) {
  spec.validate();
  ::kakeya::detail::check_rows("out", out, spec.dim);
  ::kakeya::detail::check_codes("codes", codes, out.rows, spec.code_bytes());
  if (out.rows == 0) return;
  detail::FirstFailure fail;
  if (spec.kind == CodecKind::kLattice) {
    const LatticeLayout lay = spec.layout();
    switch (spec.lattice) {
      case LatticeKind::kE8: detail::decode_lattice_rows<E8>(lay, codes, out, fail); break;
      case LatticeKind::kD4: detail::decode_lattice_rows<D4>(lay, codes, out, fail); break;
      case LatticeKind::kZ8: detail::decode_lattice_rows<Z8>(lay, codes, out, fail); break;
    }
  } else {
    const BaselineLayout bl = baseline_layout(spec);
    parallel_rows(codes.rows, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const Status st = baseline_decode_vector(bl, codes.row(r), out.row(r));
        if (st != Status::kOk) fail.note(r, st);
      }
    });
  }
  if (fail.failed()) detail::throw_decode_error(spec, codes, fail.row.load());
}

#if KAKEYA_EXTERN_TEMPLATE
extern template void encode<float>(const CodecSpec&, StridedBatch<const float>, CodeBatch);
extern template void encode<f16>(const CodecSpec&, StridedBatch<const f16>, CodeBatch);
extern template void encode<bf16>(const CodecSpec&, StridedBatch<const bf16>, CodeBatch);
extern template void decode<float>(const CodecSpec&, ConstCodeBatch, StridedBatch<float>);
extern template void decode<f16>(const CodecSpec&, ConstCodeBatch, StridedBatch<f16>);
extern template void decode<bf16>(const CodecSpec&, ConstCodeBatch, StridedBatch<bf16>);
#endif

}  // namespace kakeya::cpu
