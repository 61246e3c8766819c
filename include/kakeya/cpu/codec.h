// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file codec.h
/// Host batch API: encode / decode of strided row batches for every codec in the
/// registry, in parallel over rows (see parallel.h for the thread setting). Calls never
/// allocate per row: each worker takes one dim-sized scratch buffer when the codec
/// needs one.
///
///   x:     rows × dim, row_stride >= dim (elements); float, f16 or bf16
///   codes: rows records of spec.code_bytes() bytes, row_stride >= code_bytes (bytes)
///
/// Errors: a bad spec, shape or stride throws InvalidArgument naming the argument and
/// value. encode: a row that cannot be encoded (NaN/Inf, a side value that overflows
/// its format) gets an all-zero record, every other row is still encoded, and the call
/// then throws InvalidArgument (status kInvalidInput) naming the first such row, column
/// and value. decode: a corrupt record decodes to zeros; without `bad_rows` the call
/// throws CorruptCode naming the first corrupt row and what is wrong with it, with
/// `bad_rows` (rows bytes) it writes 1 for each corrupt row, 0 otherwise, and returns.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "kakeya/codec/diag.h"
#include "kakeya/codec/spec.h"
#include "kakeya/cpu/isa.h"
#include "kakeya/cpu/parallel.h"
#include "kakeya/error.h"
#include "kakeya/view/checks.h"
#include "kakeya/view/strided.h"

namespace kakeya::cpu {

namespace detail {

/// The failing row with the smallest index across workers, with its diagnostic.
class FirstFailure {
 public:
  void note(int64_t r, const Diag& d) {
    const std::lock_guard<std::mutex> lock(mu_);
    if (r < row_) {
      row_ = r;
      diag_ = d;
    }
  }
  [[nodiscard]] bool failed() const noexcept { return row_ != std::numeric_limits<int64_t>::max(); }
  [[nodiscard]] int64_t row() const noexcept { return row_; }
  [[nodiscard]] const Diag& diag() const noexcept { return diag_; }

 private:
  std::mutex mu_;
  int64_t row_ = std::numeric_limits<int64_t>::max();
  Diag diag_;
};

/// The message of an encode failure, from the row's Diag (the row is not re-run).
[[nodiscard]] inline std::string describe_encode_failure(const CodecSpec& spec, int64_t r, const Diag& d) {
  using ::kakeya::detail::concat;
  switch (d.fault) {
    case Fault::kNonFinite:
      return concat("x[", r, ", ", d.where, "] = ", d.value, " is not finite; the codec ", spec.name(),
                    " accepts finite values only");
    case Fault::kRotationOverflow:
      return concat("x row ", r, ": the rotation H x / sqrt(P) overflows float32 for the codec ", spec.name(),
                    "; rescale the input");
    case Fault::kScaleOverflow:
      if (spec.kind == CodecKind::kLattice)
        return concat("x row ", r, " (max |Hx|/sqrt(P) = ", d.value, "): the scale max|y|/q with q = ", spec.q,
                      " cannot be stored in scale format '", to_string(spec.scale), "'",
                      spec.scale == ScaleFormat::kBF16 ? "" : " (fp16 max 65504)",
                      "; use scale='bf16' or rescale the input");
      if (spec.kind == CodecKind::kE8V2)
        return concat("x row ", r, ": the RMS of the rotated vector (", d.value,
                      ") exceeds the e8v2 scale range (2^17.875) of ", spec.name(), "; rescale the input");
      return concat("x row ", r, ": max |x| = ", d.value, " overflows the storage format of ", spec.name());
    case Fault::kFp16Overflow:
      return concat("x row ", r, ": magnitude ", d.value, " exceeds the fp16 range (65504) of the ",
                    spec.kind == CodecKind::kLloydMax ? "norm" : "scale / zero", " of ", spec.name(),
                    "; rescale the input");
    default:
      return concat("x row ", r, " cannot be encoded by ", spec.name());
  }
}

/// The message of a decode failure, from the row's Diag.
[[nodiscard]] inline std::string describe_decode_failure(const CodecSpec& spec, int64_t r, const Diag& d) {
  using ::kakeya::detail::concat;
  using ::kakeya::detail::Hex;
  const std::string head = concat("codes row ", r, " is corrupt for codec ", spec.name(), ": ");
  switch (d.fault) {
    case Fault::kBadScale:
      return head + (d.where < 0 ? concat("scale header 0x", Hex{d.detail})
                                 : concat("group ", d.where, " scale 0x", Hex{d.detail})) +
             " is not a valid scale (NaN, infinite, negative or reserved)";
    case Fault::kBadIndex: {
      const uint64_t n = spec.kind == CodecKind::kLattice ? lattice_codebook_size(spec.lattice, spec.q) : 0;
      return head + concat("block ", d.where, " index ", d.detail, " >= codebook size ", n);
    }
    case Fault::kBadValue:
      return head + (d.where < 0 ? std::string("a scale or value is NaN, infinite or negative")
                                 : concat("stored value ", d.where, " (0x", Hex{d.detail}, ") is NaN or infinite"));
    default: return head + "invalid record";
  }
}

/// Whether codec C has ISA-tuned paths: encode_lanes / decode_lanes<Lanes, T> (both).
template <class C, class = void>
struct HasLanes : std::false_type {};
template <class C>
struct HasLanes<C, std::void_t<decltype(&C::template encode_lanes<0, float>),
                               decltype(&C::template decode_lanes<0, float>)>> : std::true_type {};

/// One row's encode; Lanes = doubles per vector of the calling loop's ISA (0: baseline).
template <class C, int Lanes, class In>
KAKEYA_HD Diag encode_row(const typename C::Layout& lay, const In* x, float* scratch, uint8_t* rec) noexcept {
  if constexpr (HasLanes<C>::value) {
    return C::template encode_lanes<Lanes, In>(lay, x, scratch, rec);
  } else {
    return C::template encode<In>(lay, x, scratch, rec);
  }
}

/// One row's decode; Lanes = doubles per vector of the calling loop's ISA (0: baseline).
template <class C, int Lanes, class Out>
KAKEYA_HD Diag decode_row(const typename C::Layout& lay, const uint8_t* rec, float* scratch, Out* out) noexcept {
  if constexpr (HasLanes<C>::value) {
    return C::template decode_lanes<Lanes, Out>(lay, rec, scratch, out);
  } else {
    return C::template decode<Out>(lay, rec, scratch, out);
  }
}

/// The per-row loops, one copy per ISA (see isa.h). Each copy carries its target
/// attribute; the codec functions are always_inline, so the whole codec is compiled
/// into each copy for that ISA. Distinct names (not one inline function compiled under
/// different flags in different files) keep the linker from merging the copies.
#define KAKEYA_CPU_ROW_LOOPS(SUFFIX, ATTR, LANES)                                                            \
  template <class C, class In>                                                                        \
  ATTR void encode_rows_##SUFFIX(const typename C::Layout& lay, StridedBatch<const In> x, CodeBatch codes, \
                                 int64_t b, int64_t e, float* scratch, FirstFailure& fail) {          \
    for (int64_t r = b; r < e; ++r) {                                                                 \
      const Diag d = encode_row<C, LANES, In>(lay, x.row(r), scratch, codes.row(r));                  \
      if (!d.ok()) fail.note(r, d);                                                                   \
    }                                                                                                 \
  }                                                                                                   \
  template <class C, class Out>                                                                       \
  ATTR void decode_rows_##SUFFIX(const typename C::Layout& lay, ConstCodeBatch codes, StridedBatch<Out> out, \
                                 int64_t b, int64_t e, float* scratch, uint8_t* bad_rows,              \
                                 FirstFailure& fail) {                                                \
    for (int64_t r = b; r < e; ++r) {                                                                 \
      const Diag d = decode_row<C, LANES, Out>(lay, codes.row(r), scratch, out.row(r));               \
      if (bad_rows) bad_rows[r] = d.ok() ? 0 : 1;                                                     \
      if (!d.ok()) fail.note(r, d);                                                                   \
    }                                                                                                 \
  }

KAKEYA_CPU_ROW_LOOPS(baseline, , 0)
#if KAKEYA_X86_DISPATCH
KAKEYA_CPU_ROW_LOOPS(avx2, __attribute__((target("avx,avx2,fma,bmi,bmi2,popcnt"))), 4)
KAKEYA_CPU_ROW_LOOPS(avx512, __attribute__((target("avx,avx2,fma,bmi,bmi2,popcnt,avx512f,avx512bw,avx512dq,avx512vl,avx512cd"))), 8)
#endif
#undef KAKEYA_CPU_ROW_LOOPS

/// One batch call with the row loops of ISA I. Instantiated per ISA in its own source
/// file (src/codec_cpu*.cpp), which lets the build give each ISA its own flags.
template <Isa I, class In>
void encode_with(const CodecSpec& spec, StridedBatch<const In> x, CodeBatch codes, FirstFailure& fail) {
  visit_codec(spec, [&](auto tag) {
    using C = typename decltype(tag)::type;
    const typename C::Layout lay = C::layout(spec);
    parallel_rows(x.rows, [&](int64_t b, int64_t e) {
      std::vector<float> scratch(C::kScratch ? static_cast<size_t>(spec.dim) : 0);
#if KAKEYA_X86_DISPATCH
      if constexpr (I == Isa::kAVX512) {
        encode_rows_avx512<C, In>(lay, x, codes, b, e, scratch.data(), fail);
        return;
      } else if constexpr (I == Isa::kAVX2) {
        encode_rows_avx2<C, In>(lay, x, codes, b, e, scratch.data(), fail);
        return;
      }
#endif
      encode_rows_baseline<C, In>(lay, x, codes, b, e, scratch.data(), fail);
    });
  });
}

template <Isa I, class Out>
void decode_with(const CodecSpec& spec, ConstCodeBatch codes, StridedBatch<Out> out, uint8_t* bad_rows,
                 FirstFailure& fail) {
  visit_codec(spec, [&](auto tag) {
    using C = typename decltype(tag)::type;
    const typename C::Layout lay = C::layout(spec);
    parallel_rows(codes.rows, [&](int64_t b, int64_t e) {
      std::vector<float> scratch(C::kScratch ? static_cast<size_t>(spec.dim) : 0);
#if KAKEYA_X86_DISPATCH
      if constexpr (I == Isa::kAVX512) {
        decode_rows_avx512<C, Out>(lay, codes, out, b, e, scratch.data(), bad_rows, fail);
        return;
      } else if constexpr (I == Isa::kAVX2) {
        decode_rows_avx2<C, Out>(lay, codes, out, b, e, scratch.data(), bad_rows, fail);
        return;
      }
#endif
      decode_rows_baseline<C, Out>(lay, codes, out, b, e, scratch.data(), bad_rows, fail);
    });
  });
}

}  // namespace detail

/// Encodes x (rows × spec.dim) into codes.
template <class In>
void encode(const CodecSpec& spec, StridedBatch<const In> x, CodeBatch codes) {
  spec.validate();
  ::kakeya::detail::check_rows("x", x, spec.dim);
  ::kakeya::detail::check_codes("codes", codes, x.rows, spec.code_bytes());
  if (x.rows == 0) return;
  const Isa isa = active_isa();
  detail::FirstFailure fail;
  switch (isa) {
    case Isa::kAVX512: detail::encode_with<Isa::kAVX512, In>(spec, x, codes, fail); break;
    case Isa::kAVX2: detail::encode_with<Isa::kAVX2, In>(spec, x, codes, fail); break;
    default: detail::encode_with<Isa::kBaseline, In>(spec, x, codes, fail); break;
  }
  if (fail.failed())
    throw InvalidArgument(detail::describe_encode_failure(spec, fail.row(), fail.diag()), fail.diag().status);
}

/// Decodes codes into out (rows × spec.dim). `bad_rows`: see the file comment.
template <class Out>
void decode(const CodecSpec& spec, ConstCodeBatch codes, StridedBatch<Out> out,
            uint8_t* bad_rows = nullptr) {
  spec.validate();
  ::kakeya::detail::check_rows("out", out, spec.dim);
  ::kakeya::detail::check_codes("codes", codes, out.rows, spec.code_bytes());
  if (out.rows == 0) return;
  const Isa isa = active_isa();
  detail::FirstFailure fail;
  switch (isa) {
    case Isa::kAVX512: detail::decode_with<Isa::kAVX512, Out>(spec, codes, out, bad_rows, fail); break;
    case Isa::kAVX2: detail::decode_with<Isa::kAVX2, Out>(spec, codes, out, bad_rows, fail); break;
    default: detail::decode_with<Isa::kBaseline, Out>(spec, codes, out, bad_rows, fail); break;
  }
  if (fail.failed() && !bad_rows) throw CorruptCode(detail::describe_decode_failure(spec, fail.row(), fail.diag()));
}

#if KAKEYA_EXTERN_TEMPLATE
#define KAKEYA_CPU_EXTERN_ISA(I)                                                                      \
  extern template void detail::encode_with<I, float>(const CodecSpec&, StridedBatch<const float>, CodeBatch, \
                                                     detail::FirstFailure&);                            \
  extern template void detail::encode_with<I, f16>(const CodecSpec&, StridedBatch<const f16>, CodeBatch, \
                                                   detail::FirstFailure&);                              \
  extern template void detail::encode_with<I, bf16>(const CodecSpec&, StridedBatch<const bf16>, CodeBatch, \
                                                    detail::FirstFailure&);                             \
  extern template void detail::decode_with<I, float>(const CodecSpec&, ConstCodeBatch, StridedBatch<float>, \
                                                     uint8_t*, detail::FirstFailure&);                  \
  extern template void detail::decode_with<I, f16>(const CodecSpec&, ConstCodeBatch, StridedBatch<f16>, \
                                                   uint8_t*, detail::FirstFailure&);                    \
  extern template void detail::decode_with<I, bf16>(const CodecSpec&, ConstCodeBatch, StridedBatch<bf16>, \
                                                    uint8_t*, detail::FirstFailure&);
KAKEYA_CPU_EXTERN_ISA(Isa::kBaseline)
KAKEYA_CPU_EXTERN_ISA(Isa::kAVX2)
KAKEYA_CPU_EXTERN_ISA(Isa::kAVX512)
#undef KAKEYA_CPU_EXTERN_ISA
extern template void encode<float>(const CodecSpec&, StridedBatch<const float>, CodeBatch);
extern template void encode<f16>(const CodecSpec&, StridedBatch<const f16>, CodeBatch);
extern template void encode<bf16>(const CodecSpec&, StridedBatch<const bf16>, CodeBatch);
extern template void decode<float>(const CodecSpec&, ConstCodeBatch, StridedBatch<float>, uint8_t*);
extern template void decode<f16>(const CodecSpec&, ConstCodeBatch, StridedBatch<f16>, uint8_t*);
extern template void decode<bf16>(const CodecSpec&, ConstCodeBatch, StridedBatch<bf16>, uint8_t*);
#endif

}  // namespace kakeya::cpu
