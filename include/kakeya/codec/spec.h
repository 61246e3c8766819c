// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file spec.h
/// CodecSpec: a plain description of one codec (lattice codec or baseline), validated
/// once on the host, and LatticeLayout: the derived constants a kernel needs.

#include <cstdint>
#include <string>

#include "kakeya/config.h"
#include "kakeya/error.h"
#include "kakeya/lattice/d4.h"
#include "kakeya/lattice/e8.h"
#include "kakeya/lattice/z8.h"
#include "kakeya/numeric/bits.h"
#include "kakeya/transform/hadamard.h"

namespace kakeya {

/// What the codec is: the lattice codec of DESIGN.md §2 or one of the baselines.
enum class CodecKind : int32_t {
  kLattice = 0,   ///< Hadamard + per-vector scale + lattice box codebook
  kFP8Per64 = 1,  ///< E4M3 per 64 coordinates, bf16 scale per group
  kV4Native = 2,  ///< E4M3 per 64 on the first dim-rope_dims coords, bf16 on the rest
  kBF16 = 3,      ///< plain bfloat16
};

enum class LatticeKind : int32_t { kE8 = 0, kD4 = 1, kZ8 = 2 };

/// How the per-vector scale s is stored (header of each record).
enum class ScaleFormat : int32_t {
  kBF16 = 0,      ///< s = max|y|/Q rounded up to bf16; 16 bits; every finite input fits
  kFP16 = 1,      ///< rounded up to fp16; 16 bits; s > 65504 is an error, s < 2^-14 is
                  ///< subnormal (coarser, still exact round-up: see README)
  kNormQmax = 2,  ///< fp16 ||x|| and fp16 max|y|/||x||, both rounded up; 32 bits;
                  ///< s = n·m/Q (the reference design's header)
};

[[nodiscard]] inline const char* to_string(LatticeKind k) noexcept {
  switch (k) {
    case LatticeKind::kE8: return "e8";
    case LatticeKind::kD4: return "d4";
    case LatticeKind::kZ8: return "z";
  }
  return "?";
}
[[nodiscard]] inline const char* to_string(ScaleFormat f) noexcept {
  switch (f) {
    case ScaleFormat::kBF16: return "bf16";
    case ScaleFormat::kFP16: return "fp16";
    case ScaleFormat::kNormQmax: return "norm_qmax";
  }
  return "?";
}
[[nodiscard]] inline const char* to_string(CodecKind k) noexcept {
  switch (k) {
    case CodecKind::kLattice: return "lattice";
    case CodecKind::kFP8Per64: return "fp8_per64";
    case CodecKind::kV4Native: return "v4_native";
    case CodecKind::kBF16: return "bf16";
  }
  return "?";
}

[[nodiscard]] KAKEYA_HD int lattice_block_dim(LatticeKind k) noexcept {
  return k == LatticeKind::kD4 ? 4 : 8;
}

[[nodiscard]] KAKEYA_HD uint64_t lattice_codebook_size(LatticeKind k, int q) noexcept {
  switch (k) {
    case LatticeKind::kE8: return lattice_traits<E8>::codebook_size(q);
    case LatticeKind::kD4: return lattice_traits<D4>::codebook_size(q);
    case LatticeKind::kZ8: return lattice_traits<Z8>::codebook_size(q);
  }
  return 0;
}

[[nodiscard]] KAKEYA_HD int scale_header_bits(ScaleFormat f) noexcept {
  return f == ScaleFormat::kNormQmax ? 32 : 16;
}

/// Group size of the FP8 baselines.
inline constexpr int32_t kFP8Group = 64;

/// Derived constants of a lattice codec; trivially copyable, passed by value to kernels.
struct LatticeLayout {
  LatticeKind lattice;
  ScaleFormat scale;
  int32_t dim;
  int32_t q;
  int32_t block_dim;       ///< lattice dimension n (8 or 4)
  int32_t nblocks;         ///< dim / n
  int32_t bits_per_block;  ///< ceil(log2 |C(L,q)|)
  int32_t header_bits;     ///< 16 or 32
  int32_t code_bytes;      ///< record size, payload padded to a byte
  int32_t hadamard_p;      ///< Hadamard block size P
  int32_t hadamard_log2;   ///< log2 P
  uint64_t codebook_size;  ///< |C(L,q)|
};

/// A codec. Build with the named constructors, then call validate() (every library
/// entry point does it for you).
struct CodecSpec {
  CodecKind kind = CodecKind::kLattice;
  LatticeKind lattice = LatticeKind::kE8;
  int32_t dim = 0;
  int32_t q = 0;  ///< lattice range Q, 1..127 (lattice codecs only)
  ScaleFormat scale = ScaleFormat::kBF16;
  int32_t rope_dims = 64;  ///< v4_native: trailing coords kept in bf16
  uint16_t format_version = KAKEYA_FORMAT_VERSION;

  [[nodiscard]] static CodecSpec make_lattice(LatticeKind l, int32_t dim, int32_t q,
                                              ScaleFormat s = ScaleFormat::kBF16) {
    CodecSpec c;
    c.kind = CodecKind::kLattice;
    c.lattice = l;
    c.dim = dim;
    c.q = q;
    c.scale = s;
    return c;
  }
  [[nodiscard]] static CodecSpec make_fp8_per64(int32_t dim) {
    CodecSpec c;
    c.kind = CodecKind::kFP8Per64;
    c.dim = dim;
    return c;
  }
  [[nodiscard]] static CodecSpec make_v4_native(int32_t dim, int32_t rope_dims = 64) {
    CodecSpec c;
    c.kind = CodecKind::kV4Native;
    c.dim = dim;
    c.rope_dims = rope_dims;
    return c;
  }
  [[nodiscard]] static CodecSpec make_bf16(int32_t dim) {
    CodecSpec c;
    c.kind = CodecKind::kBF16;
    c.dim = dim;
    return c;
  }

  /// Throws InvalidArgument naming the field and value when the spec is not usable.
  void validate() const {
    KAKEYA_CHECK(format_version == KAKEYA_FORMAT_VERSION, "format_version = ", format_version,
                 " is not supported (this library writes version ", KAKEYA_FORMAT_VERSION, ")");
    KAKEYA_CHECK(dim > 0 && dim <= (1 << 20), "dim = ", dim, " must be in [1, 1048576]");
    switch (kind) {
      case CodecKind::kLattice:
        KAKEYA_CHECK(static_cast<int32_t>(lattice) >= 0 && static_cast<int32_t>(lattice) <= 2,
                     "lattice = ", static_cast<int32_t>(lattice), " is not e8, d4 or z");
        KAKEYA_CHECK(dim % 8 == 0, "dim = ", dim, " must be a multiple of 8");
        KAKEYA_CHECK(q >= 1 && q <= kMaxQ, "q = ", q, " must be an integer in [1, ", kMaxQ, "]");
        KAKEYA_CHECK(static_cast<int32_t>(scale) >= 0 && static_cast<int32_t>(scale) <= 2,
                     "scale = ", static_cast<int32_t>(scale), " is not bf16, fp16 or norm_qmax");
        break;
      case CodecKind::kFP8Per64:
        KAKEYA_CHECK(dim % kFP8Group == 0, "dim = ", dim, " must be a multiple of 64 for fp8_per64");
        break;
      case CodecKind::kV4Native:
        KAKEYA_CHECK(rope_dims >= 0 && rope_dims <= dim, "rope_dims = ", rope_dims,
                     " must be in [0, dim = ", dim, "]");
        KAKEYA_CHECK((dim - rope_dims) % kFP8Group == 0, "dim - rope_dims = ", dim - rope_dims,
                     " must be a multiple of 64 for v4_native (dim = ", dim,
                     ", rope_dims = ", rope_dims, ")");
        break;
      case CodecKind::kBF16:
        break;
      default:
        KAKEYA_CHECK(false, "kind = ", static_cast<int32_t>(kind), " is not a codec kind");
    }
  }

  /// Bits of information per vector (header + payload), before byte padding.
  [[nodiscard]] int64_t bits_per_vector() const {
    switch (kind) {
      case CodecKind::kLattice: {
        const int64_t nb = dim / lattice_block_dim(lattice);
        return scale_header_bits(scale) +
               nb * detail::ceil_log2(lattice_codebook_size(lattice, q));
      }
      case CodecKind::kFP8Per64: return int64_t{dim} * 8 + int64_t{16} * (dim / kFP8Group);
      case CodecKind::kV4Native: {
        const int64_t f = dim - rope_dims;
        return f * 8 + 16 * (f / kFP8Group) + int64_t{16} * rope_dims;
      }
      case CodecKind::kBF16: return int64_t{16} * dim;
    }
    return 0;
  }

  /// Size in bytes of one stored record (bits_per_vector rounded up to a byte).
  [[nodiscard]] int64_t code_bytes() const { return (bits_per_vector() + 7) / 8; }

  [[nodiscard]] double bits_per_coord() const {
    return static_cast<double>(bits_per_vector()) / dim;
  }

  /// Short readable name, e.g. "e8_q38_bf16_d512", "fp8_per64_d512".
  [[nodiscard]] std::string name() const {
    if (kind == CodecKind::kLattice)
      return detail::concat(to_string(lattice), "_q", q, "_", to_string(scale), "_d", dim);
    if (kind == CodecKind::kV4Native)
      return detail::concat("v4_native_d", dim, "_rope", rope_dims);
    return detail::concat(to_string(kind), "_d", dim);
  }

  /// Derived constants (lattice codecs only; validates first).
  [[nodiscard]] LatticeLayout layout() const {
    validate();
    KAKEYA_CHECK(kind == CodecKind::kLattice, "layout() needs a lattice codec, got ",
                 to_string(kind));
    LatticeLayout l{};
    l.lattice = lattice;
    l.scale = scale;
    l.dim = dim;
    l.q = q;
    l.block_dim = lattice_block_dim(lattice);
    l.nblocks = dim / l.block_dim;
    l.codebook_size = lattice_codebook_size(lattice, q);
    l.bits_per_block = detail::ceil_log2(l.codebook_size);
    l.header_bits = scale_header_bits(scale);
    l.code_bytes = static_cast<int32_t>(code_bytes());
    l.hadamard_p = hadamard_block(dim);
    l.hadamard_log2 = detail::log2_exact(static_cast<uint32_t>(l.hadamard_p));
    return l;
  }
};

/// Parses the names used by the C ABI and Python: kind "e8" | "d4" | "z" | "fp8_per64" |
/// "v4_native" | "bf16"; scale "bf16" | "fp16" | "norm_qmax". Validates the result.
[[nodiscard]] inline CodecSpec parse_codec(const std::string& kind, int32_t dim, int32_t q,
                                           const std::string& scale, int32_t rope_dims = 64) {
  CodecSpec c;
  c.dim = dim;
  if (kind == "e8" || kind == "d4" || kind == "z") {
    c.kind = CodecKind::kLattice;
    c.lattice = kind == "e8" ? LatticeKind::kE8 : kind == "d4" ? LatticeKind::kD4 : LatticeKind::kZ8;
    c.q = q;
    if (scale == "bf16") c.scale = ScaleFormat::kBF16;
    else if (scale == "fp16") c.scale = ScaleFormat::kFP16;
    else if (scale == "norm_qmax") c.scale = ScaleFormat::kNormQmax;
    else KAKEYA_CHECK(false, "scale = '", scale, "' is not one of 'bf16', 'fp16', 'norm_qmax'");
  } else if (kind == "fp8_per64") {
    c.kind = CodecKind::kFP8Per64;
  } else if (kind == "v4_native") {
    c.kind = CodecKind::kV4Native;
    c.rope_dims = rope_dims;
  } else if (kind == "bf16") {
    c.kind = CodecKind::kBF16;
  } else {
    KAKEYA_CHECK(false, "lattice/kind = '", kind,
                 "' is not one of 'e8', 'd4', 'z', 'fp8_per64', 'v4_native', 'bf16'");
  }
  c.validate();
  return c;
}

}  // namespace kakeya
