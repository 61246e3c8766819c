// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file registry.h
/// The codec registry: the one place that maps a CodecSpec to the codec type that
/// implements it. The CPU batch layer, the CUDA launchers and the bindings all go
/// through visit_codec; nothing else switches over CodecKind.
///
/// A codec type C provides (see LatticeCodec, BaselineCodec, BlockScaledCodec,
/// IntCodec, LloydMaxCodec):
///   C::Layout                       trivially copyable constants, passed to kernels
///   C::layout(spec), C::code_bytes(layout)
///   C::validate(spec)               throws InvalidArgument naming the field and value
///   C::bits(spec)                   bits per vector
///   C::kScratch                     encode/decode need `dim` floats of scratch
///   C::encode<In>(layout, x, scratch, rec) -> Diag      KAKEYA_HD, never throws
///   C::decode<Out>(layout, rec, scratch, out) -> Diag   KAKEYA_HD, never throws
///
/// Adding a codec: its header with the codec type, a CodecKind value, one case in
/// visit_codec and one row in codec_families(). Every entry point, the C ABI, the
/// Python factory, the fuzzers and the rate–distortion bench pick it up from there.

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "kakeya/codec/baselines.h"
#include "kakeya/codec/block_scaled.h"
#include "kakeya/codec/e8v2.h"
#include "kakeya/codec/intq.h"
#include "kakeya/codec/lattice_codec.h"
#include "kakeya/codec/lloydmax.h"
#include "kakeya/codec/spec_fields.h"
#include "kakeya/error.h"

namespace kakeya {

/// Type tag carrying a codec type to a generic lambda: f(CodecTag<C>{}).
template <class C>
struct CodecTag {
  using type = C;
};

/// Calls f(CodecTag<C>{}) with the codec type C of `spec` (fields not validated).
template <class F>
decltype(auto) visit_codec(const CodecSpec& spec, F&& f) {
  switch (spec.kind) {
    case CodecKind::kLattice:
      switch (spec.lattice) {
        case LatticeKind::kD4: return f(CodecTag<LatticeCodec<D4>>{});
        case LatticeKind::kZ8: return f(CodecTag<LatticeCodec<Z8>>{});
        case LatticeKind::kE8: break;
        default:
          throw InvalidArgument(detail::concat("lattice = ", static_cast<int32_t>(spec.lattice),
                                               " is not e8, d4 or z"));
      }
      return f(CodecTag<LatticeCodec<E8>>{});
    case CodecKind::kFP8Per64: return f(CodecTag<BaselineCodec<CodecKind::kFP8Per64>>{});
    case CodecKind::kBF16: return f(CodecTag<BaselineCodec<CodecKind::kBF16>>{});
    case CodecKind::kV4Native: return f(CodecTag<BlockScaledCodec<CodecKind::kV4Native>>{});
    case CodecKind::kV41MXFP8: return f(CodecTag<BlockScaledCodec<CodecKind::kV41MXFP8>>{});
    case CodecKind::kMXFP8: return f(CodecTag<BlockScaledCodec<CodecKind::kMXFP8>>{});
    case CodecKind::kMXFP4: return f(CodecTag<BlockScaledCodec<CodecKind::kMXFP4>>{});
    case CodecKind::kNVFP4: return f(CodecTag<BlockScaledCodec<CodecKind::kNVFP4>>{});
    case CodecKind::kInt: return f(CodecTag<IntCodec>{});
    case CodecKind::kLloydMax: return f(CodecTag<LloydMaxCodec>{});
    case CodecKind::kE8V2: return f(CodecTag<E8V2Codec>{});
  }
  throw InvalidArgument(detail::concat("kind = ", static_cast<int32_t>(spec.kind), " is not a codec kind"));
}

/// One factory family: its name, what it builds, and its parameters with defaults
/// ("" = required).
struct CodecFamily {
  const char* name;
  CodecKind kind;
  LatticeKind lattice;
  std::vector<std::pair<const char*, const char*>> params;
  const char* summary;
};

/// Every family the factory knows, in the order codec_names() lists them.
[[nodiscard]] inline const std::vector<CodecFamily>& codec_families() {
  static const std::vector<CodecFamily> kFamilies = {
      {"e8", CodecKind::kLattice, LatticeKind::kE8, {{"q", "38"}, {"scale", "bf16"}},
       "v1 lattice codec: Hadamard, per-vector scale, E8 box codebook"},
      {"d4", CodecKind::kLattice, LatticeKind::kD4, {{"q", "38"}, {"scale", "bf16"}},
       "v1 lattice codec over D4 (ablation)"},
      {"z", CodecKind::kLattice, LatticeKind::kZ8, {{"q", "38"}, {"scale", "bf16"}},
       "v1 lattice codec over Z^8 (scalar ablation)"},
      {"fp8_per64", CodecKind::kFP8Per64, LatticeKind::kE8, {}, "E4M3 per 64, bf16 scale (8.25 b/c)"},
      {"v4_native", CodecKind::kV4Native, LatticeKind::kE8, {{"rope_dims", "64"}},
       "DeepSeek-V4 KV record: E4M3 + UE8M0 per 64, bf16 RoPE dims (584 B at 512)"},
      {"v41_mxfp8", CodecKind::kV41MXFP8, LatticeKind::kE8, {},
       "DeepSeek-V4.1 KV record: E4M3 + UE8M0 ceil per 32 (528 B at 512)"},
      {"bf16", CodecKind::kBF16, LatticeKind::kE8, {}, "bfloat16 (16 b/c)"},
      {"nvfp4", CodecKind::kNVFP4, LatticeKind::kE8, {{"tensor_scale", ""}},
       "NVFP4: E2M1 + E4M3 per 16 + fp32 tensor scale (4.5 b/c)"},
      {"mxfp4", CodecKind::kMXFP4, LatticeKind::kE8, {}, "OCP MXFP4: E2M1 + E8M0 per 32 (4.25 b/c)"},
      {"mxfp8", CodecKind::kMXFP8, LatticeKind::kE8, {}, "OCP MXFP8: E4M3 + E8M0 per 32 (8.25 b/c)"},
      {"int", CodecKind::kInt, LatticeKind::kE8, {{"bits", "4"}, {"group", "64"}},
       "asymmetric uniform per group, fp16 scale + zero (b + 32/g b/c)"},
      {"lloydmax", CodecKind::kLloydMax, LatticeKind::kE8, {{"bits", "4"}},
       "random-sign Hadamard + fp16 norm + Lloyd-Max of N(0,1) (b + 16/D b/c)"},
      {"e8v2", CodecKind::kE8V2, LatticeKind::kE8, {{"bits", "6"}, {"encoder", "exact"}},
       "format v2: Hadamard, 8-bit log scale, zoned E8 Voronoi blocks (floor(bits*D/8) B); "
       "encoder exact|fast"},
  };
  return kFamilies;
}

/// Names of every codec family, e.g. for help texts and the fuzzers.
[[nodiscard]] inline std::vector<std::string> codec_names() {
  std::vector<std::string> out;
  for (const auto& f : codec_families()) out.emplace_back(f.name);
  return out;
}

namespace detail {

[[nodiscard]] inline int32_t parse_int_param(const std::string& key, const std::string& v) {
  char* end = nullptr;
  const long long n = std::strtoll(v.c_str(), &end, 10);
  KAKEYA_CHECK(!v.empty() && end && *end == '\0' && n >= -(1LL << 31) && n < (1LL << 31), key,
               " = '", v, "' is not an integer");
  return static_cast<int32_t>(n);
}

[[nodiscard]] inline float parse_float_param(const std::string& key, const std::string& v) {
  char* end = nullptr;
  const float f = std::strtof(v.c_str(), &end);
  KAKEYA_CHECK(!v.empty() && end && *end == '\0', key, " = '", v, "' is not a number");
  return f;
}

[[nodiscard]] inline ScaleFormat parse_scale(const std::string& v) {
  if (v == "bf16") return ScaleFormat::kBF16;
  if (v == "fp16") return ScaleFormat::kFP16;
  if (v == "norm_qmax") return ScaleFormat::kNormQmax;
  throw InvalidArgument(concat("scale = '", v, "' is not one of 'bf16', 'fp16', 'norm_qmax'"));
}

/// Shortest text that reads back as the same float (for params() round trips).
[[nodiscard]] inline std::string float_text(float f) {
  char buf[32];
  for (int prec = 6; prec <= 9; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, static_cast<double>(f));
    if (std::strtof(buf, nullptr) == f) break;
  }
  return buf;
}

}  // namespace detail

/// The factory: builds and validates the spec of `family` (see codec_families()) for
/// `dim` with text parameters; unknown parameters and missing required ones are errors
/// naming them.
[[nodiscard]] inline CodecSpec make_codec(const std::string& family, int32_t dim,
                                          const CodecParams& params = {}) {
  const CodecFamily* fam = nullptr;
  for (const auto& f : codec_families())
    if (family == f.name) fam = &f;
  if (!fam) {
    std::string names;
    for (const auto& f : codec_families()) names += (names.empty() ? "'" : ", '") + std::string(f.name) + "'";
    throw InvalidArgument(detail::concat("codec = '", family, "' is not one of ", names));
  }
  for (const auto& kv : params) {
    bool known = false;
    for (const auto& p : fam->params) known = known || kv.first == p.first;
    if (!known) {
      std::string keys;
      for (const auto& p : fam->params) keys += (keys.empty() ? "" : ", ") + std::string(p.first);
      throw InvalidArgument(detail::concat("parameter '", kv.first, "' is not accepted by codec '", family,
                                           "' (accepted: ", keys.empty() ? "none" : keys, ")"));
    }
  }
  CodecSpec s;
  s.kind = fam->kind;
  s.lattice = fam->lattice;
  s.dim = dim;
  for (const auto& p : fam->params) {
    const auto it = params.find(p.first);
    KAKEYA_CHECK(it != params.end() || p.second[0] != '\0', "codec '", family, "' needs parameter '",
                 p.first, "'");
    const std::string key = p.first;
    const std::string v = it != params.end() ? it->second : std::string(p.second);
    if (key == "q") s.q = detail::parse_int_param(key, v);
    else if (key == "scale") s.scale = detail::parse_scale(v);
    else if (key == "rope_dims") s.rope_dims = detail::parse_int_param(key, v);
    else if (key == "bits" && s.kind == CodecKind::kE8V2) s.rate = detail::parse_float_param(key, v);
    else if (key == "encoder") {
      KAKEYA_CHECK(v == "exact" || v == "fast", "encoder = '", v, "' is not one of 'exact', 'fast'");
      s.fast_encoder = v == "fast";
    }
    else if (key == "bits") s.bits = detail::parse_int_param(key, v);
    else if (key == "group") s.group = detail::parse_int_param(key, v);
    else if (key == "tensor_scale") s.tensor_scale = detail::parse_float_param(key, v);
  }
  s.validate();
  return s;
}

/// Parses the names used by the C ABI (kept for it): kind "e8" | "d4" | "z" |
/// "fp8_per64" | "v4_native" | "bf16"; scale for lattice kinds. Prefer make_codec.
[[nodiscard]] inline CodecSpec parse_codec(const std::string& kind, int32_t dim, int32_t q,
                                           const std::string& scale, int32_t rope_dims = 64) {
  CodecParams p;
  if (kind == "e8" || kind == "d4" || kind == "z") {
    p = {{"q", std::to_string(q)}, {"scale", scale}};
  } else if (kind == "v4_native") {
    p = {{"rope_dims", std::to_string(rope_dims)}};
  } else if (kind != "fp8_per64" && kind != "bf16") {
    throw InvalidArgument(detail::concat("lattice/kind = '", kind,
                                         "' is not one of 'e8', 'd4', 'z', 'fp8_per64', 'v4_native', 'bf16'"));
  }
  return make_codec(kind, dim, p);
}

// ------------------------------------------------------------------ CodecSpec members

inline void CodecSpec::validate() const {
  KAKEYA_CHECK(format_version == KAKEYA_FORMAT_VERSION, "format_version = ", format_version,
               " is not supported (this library writes version ", KAKEYA_FORMAT_VERSION, ")");
  KAKEYA_CHECK(dim > 0 && dim <= (1 << 20), "dim = ", dim, " must be in [1, 1048576]");
  visit_codec(*this, [&](auto tag) { decltype(tag)::type::validate(*this); });
}

inline int64_t CodecSpec::bits_per_vector() const {
  return visit_codec(*this, [&](auto tag) -> int64_t { return decltype(tag)::type::bits(*this); });
}

inline const char* CodecSpec::family() const {
  for (const auto& f : codec_families())
    if (f.kind == kind && (kind != CodecKind::kLattice || f.lattice == lattice)) return f.name;
  return "?";
}

inline CodecParams CodecSpec::params() const {
  CodecParams p;
  for (const auto& f : codec_families()) {
    if (f.kind != kind || (kind == CodecKind::kLattice && f.lattice != lattice)) continue;
    for (const auto& kv : f.params) {
      const std::string key = kv.first;
      if (key == "q") p[key] = std::to_string(q);
      else if (key == "scale") p[key] = to_string(scale);
      else if (key == "rope_dims") p[key] = std::to_string(rope_dims);
      else if (key == "bits" && kind == CodecKind::kE8V2) p[key] = detail::float_text(rate);
      else if (key == "encoder") p[key] = fast_encoder ? "fast" : "exact";
      else if (key == "bits") p[key] = std::to_string(bits);
      else if (key == "group") p[key] = std::to_string(group);
      else if (key == "tensor_scale") p[key] = detail::float_text(tensor_scale);
    }
  }
  return p;
}

inline std::string CodecSpec::name() const {
  switch (kind) {
    case CodecKind::kLattice:
      return detail::concat(to_string(lattice), "_q", q, "_", to_string(scale), "_d", dim);
    case CodecKind::kV4Native: return detail::concat("v4_native_d", dim, "_rope", rope_dims);
    case CodecKind::kInt: return detail::concat("int", bits, "_g", group, "_d", dim);
    case CodecKind::kLloydMax: return detail::concat("lloydmax", bits, "_d", dim);
    case CodecKind::kE8V2:
      return detail::concat("e8v2_b", detail::float_text(rate), "_d", dim, fast_encoder ? "_fast" : "");
    default: return detail::concat(family(), "_d", dim);
  }
}

inline LatticeLayout CodecSpec::layout() const {
  validate();
  KAKEYA_CHECK(kind == CodecKind::kLattice, "layout() needs a lattice codec, got ", family());
  return lattice_layout(*this);
}

}  // namespace kakeya
