// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file spec_fields.h
/// CodecSpec's fields and named constructors. Its member functions (validate,
/// bits_per_vector, code_bytes, name, params, layout) are defined by the codec registry:
/// include "kakeya/codec/spec.h" (or "kakeya/kakeya.h"), not this file. Codec headers
/// include this one to see the fields without pulling in every other codec.

#include <cstdint>
#include <map>
#include <string>

#include "kakeya/config.h"

namespace kakeya {

/// Every codec the library ships. Adding one: a codec type in its own header and one
/// line in each table of codec/registry.h (the visitor and the family list).
enum class CodecKind : int32_t {
  kLattice = 0,   ///< Hadamard + per-vector scale + lattice box codebook (format v1)
  kFP8Per64 = 1,  ///< E4M3 per 64 coordinates, bf16 scale per group rounded up
  kV4Native = 2,  ///< DeepSeek-V4's 584-B record: E4M3 + UE8M0 ceil scale per 64, bf16 RoPE
  kBF16 = 3,      ///< plain bfloat16
  kV41MXFP8 = 4,  ///< DeepSeek-V4.1's record: E4M3 + UE8M0 ceil scale per 32, all dims
  kMXFP8 = 5,     ///< OCP MX: E4M3 + E8M0 2^(floor(log2 amax) - 8) per 32
  kMXFP4 = 6,     ///< OCP MX: E2M1 + E8M0 2^(floor(log2 amax) - 2) per 32
  kNVFP4 = 7,     ///< E2M1 + E4M3 block scale per 16 + static fp32 tensor scale
  kInt = 8,       ///< asymmetric uniform b bits per group, fp16 scale and zero
  kLloydMax = 9,  ///< random-sign Hadamard, fp16 norm, b-bit Lloyd–Max of N(0,1)
  kE8V2 = 10,     ///< format v2: Hadamard, 8-bit log scale, zoned E8 Voronoi blocks
};

enum class LatticeKind : int32_t { kE8 = 0, kD4 = 1, kZ8 = 2 };

/// How the per-vector scale s of a lattice record is stored (its header).
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

/// Factory parameters as text, e.g. {{"q", "38"}, {"scale", "bf16"}} (see registry.h).
using CodecParams = std::map<std::string, std::string>;

struct LatticeLayout;  // lattice_codec.h

/// A codec: a plain aggregate, validated once on the host (every library entry point
/// calls validate()). Build it with a named constructor or kakeya::make_codec(family,
/// dim, params); only the fields of its kind are read.
struct CodecSpec {
  CodecKind kind = CodecKind::kLattice;
  LatticeKind lattice = LatticeKind::kE8;  ///< lattice codecs
  int32_t dim = 0;
  int32_t q = 0;                           ///< lattice range Q, 1..127
  ScaleFormat scale = ScaleFormat::kBF16;  ///< lattice scale header
  int32_t rope_dims = 64;                  ///< v4_native: trailing coords kept in bf16
  int32_t bits = 0;                        ///< int: 2..8; lloydmax: 1..8
  int32_t group = 0;                       ///< int: group size 16..256 dividing dim
  float tensor_scale = 0.0f;               ///< nvfp4: static per-tensor fp32 scale S > 0
  float rate = 0.0f;                       ///< e8v2: bits per coordinate (record floor(rate·dim/8) B)
  bool fast_encoder = false;               ///< e8v2: the reference's fast search (same record format)
  uint16_t format_version = KAKEYA_FORMAT_VERSION;

  [[nodiscard]] static CodecSpec make_lattice(LatticeKind l, int32_t dim, int32_t q,
                                              ScaleFormat s = ScaleFormat::kBF16) {
    CodecSpec c = of(CodecKind::kLattice, dim);
    c.lattice = l;
    c.q = q;
    c.scale = s;
    return c;
  }
  [[nodiscard]] static CodecSpec make_fp8_per64(int32_t dim) { return of(CodecKind::kFP8Per64, dim); }
  [[nodiscard]] static CodecSpec make_v4_native(int32_t dim, int32_t rope_dims = 64) {
    CodecSpec c = of(CodecKind::kV4Native, dim);
    c.rope_dims = rope_dims;
    return c;
  }
  [[nodiscard]] static CodecSpec make_bf16(int32_t dim) { return of(CodecKind::kBF16, dim); }
  [[nodiscard]] static CodecSpec make_v41_mxfp8(int32_t dim) { return of(CodecKind::kV41MXFP8, dim); }
  [[nodiscard]] static CodecSpec make_mxfp8(int32_t dim) { return of(CodecKind::kMXFP8, dim); }
  [[nodiscard]] static CodecSpec make_mxfp4(int32_t dim) { return of(CodecKind::kMXFP4, dim); }
  [[nodiscard]] static CodecSpec make_nvfp4(int32_t dim, float tensor_scale) {
    CodecSpec c = of(CodecKind::kNVFP4, dim);
    c.tensor_scale = tensor_scale;
    return c;
  }
  [[nodiscard]] static CodecSpec make_int(int32_t dim, int32_t bits, int32_t group) {
    CodecSpec c = of(CodecKind::kInt, dim);
    c.bits = bits;
    c.group = group;
    return c;
  }
  [[nodiscard]] static CodecSpec make_lloydmax(int32_t dim, int32_t bits) {
    CodecSpec c = of(CodecKind::kLloydMax, dim);
    c.bits = bits;
    return c;
  }
  [[nodiscard]] static CodecSpec make_e8v2(int32_t dim, float bits_per_coord) {
    CodecSpec c = of(CodecKind::kE8V2, dim);
    c.rate = bits_per_coord;
    return c;
  }

  /// Throws InvalidArgument naming the field and value when the spec is not usable.
  void validate() const;
  /// Bits of information per vector (side information + payload + any pad the record
  /// layout fixes), before padding the record to a whole byte.
  [[nodiscard]] int64_t bits_per_vector() const;
  /// Size in bytes of one stored record (bits_per_vector rounded up to a byte).
  [[nodiscard]] int64_t code_bytes() const { return (bits_per_vector() + 7) / 8; }
  [[nodiscard]] double bits_per_coord() const {
    return static_cast<double>(bits_per_vector()) / dim;
  }
  /// Factory family name: "e8", "fp8_per64", "nvfp4", ... (make_codec's first argument).
  [[nodiscard]] const char* family() const;
  /// Factory parameters that rebuild this spec with make_codec(family(), dim, params()).
  [[nodiscard]] CodecParams params() const;
  /// Short readable name, e.g. "e8_q38_bf16_d512", "nvfp4_d512", "int4_g64_d512".
  [[nodiscard]] std::string name() const;
  /// Derived constants of a lattice codec (validates first; lattice_codec.h).
  [[nodiscard]] LatticeLayout layout() const;

 private:
  [[nodiscard]] static CodecSpec of(CodecKind k, int32_t dim) {
    CodecSpec c;
    c.kind = k;
    c.dim = dim;
    return c;
  }
};

}  // namespace kakeya
