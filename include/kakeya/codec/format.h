// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file format.h
/// The packed record layout, format version 1. This header alone knows the bit layout.
///
/// Lattice record (DESIGN.md §2): a little-endian, LSB-first bit stream
///   bits [0, H)                 scale header: bf16 or fp16 bits of s (H = 16), or
///                               fp16 ||x|| then fp16 max|y|/||x|| (H = 32)
///   bits [H + j·b, H + (j+1)·b) index of block j, least significant bit first
///   then zero bits up to the next byte.
/// Bit k of the stream is bit (k mod 8) of byte k/8, on every platform.
///
/// Byte-aligned records (multi-byte fields little-endian; "E4M3", "E8M0" one byte
/// each, "E2M1" a nibble, element 2i in the low nibble of byte i):
///   fp8_per64   [dim/64 bf16 scales][dim E4M3]
///   v4_native   [F E4M3][R bf16][F/64 UE8M0 scales][zero pad to a multiple of 8
///               scale bytes]    F = dim - R; dim 512, R 64: 448 + 128 + 7 + 1 = 584 B,
///               FlashMLA's "MODEL1" FP8 record
///   v41_mxfp8   [dim E4M3][dim/32 UE8M0 scales]             (dim 512: 528 B)
///   mxfp8       [dim/32 E8M0 scales][dim E4M3]
///   mxfp4       [dim/32 E8M0 scales][dim/2 bytes of E2M1 pairs]
///   nvfp4       [dim/16 E4M3 block scales][dim/2 bytes of E2M1 pairs]; the fp32
///               tensor scale is a codec parameter, stored outside the records
///   bf16        [dim bf16]
/// Bit-packed records (LSB-first stream as above):
///   int         [dim/g fp16 scales][dim/g fp16 zeros] then dim codes of b bits
///   lloydmax    [fp16 norm] then dim level indices of b bits
///   e8v2        [8-bit scale index i] then block k = 0..dim/8-1 of b_k bits:
///               [zone z: j_k bits][digit w_0]...[digit w_7], digit widths m_k (base
///               8m_k: all eight) or m_k, m_k, m_k, m_k, m_k+1 x 4 (base 8m_k + 4), where
///               j_k = zone bits and base_k = b_k - j_k from e8v2_tables.h, then zero bits
///               up to floor(bits·dim/8) bytes. The block sizes b_k are the exact
///               allocation of (dim, bits) (e8v2_allocation, ascending). i = 0: the zero
///               vector (the rest of the record is then zero).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "kakeya/codec/e8v2_tables.h"
#include "kakeya/codec/spec_fields.h"
#include "kakeya/config.h"
#include "kakeya/lattice/d4.h"
#include "kakeya/lattice/e8.h"
#include "kakeya/lattice/z8.h"
#include "kakeya/numeric/bits.h"
#include "kakeya/transform/hadamard.h"

namespace kakeya {

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

/// Layout of a lattice spec whose lattice, dim, q and scale are already valid.
[[nodiscard]] inline LatticeLayout lattice_layout(const CodecSpec& spec) noexcept {
  LatticeLayout l{};
  l.lattice = spec.lattice;
  l.scale = spec.scale;
  l.dim = spec.dim;
  l.q = spec.q;
  l.block_dim = lattice_block_dim(spec.lattice);
  l.nblocks = spec.dim / l.block_dim;
  l.codebook_size = lattice_codebook_size(spec.lattice, spec.q);
  l.bits_per_block = detail::ceil_log2(l.codebook_size);
  l.header_bits = scale_header_bits(spec.scale);
  l.code_bytes = (l.header_bits + l.nblocks * l.bits_per_block + 7) / 8;
  l.hadamard_p = hadamard_block(spec.dim);
  l.hadamard_log2 = detail::log2_exact(static_cast<uint32_t>(l.hadamard_p));
  return l;
}


/// fp8_per64 / bf16 records: `fp8_dims` E4M3 values under bf16 scales per 64, then
/// `bf16_dims` bf16 values (fp8_per64: {dim, 0}; bf16: {0, dim}).
struct BaselineLayout {
  int32_t fp8_dims;   ///< coordinates stored as E4M3
  int32_t bf16_dims;  ///< trailing coordinates stored as bf16
  [[nodiscard]] KAKEYA_HD int32_t scales_offset() const noexcept { return 0; }
  [[nodiscard]] KAKEYA_HD int32_t vals_offset() const noexcept { return 2 * (fp8_dims / 64); }
  [[nodiscard]] KAKEYA_HD int32_t bf16_offset() const noexcept { return vals_offset() + fp8_dims; }
  [[nodiscard]] KAKEYA_HD int32_t code_bytes() const noexcept { return bf16_offset() + 2 * bf16_dims; }
};

/// Element formats and scale rules of the block-scaled (microscaling) records.
enum class ElemFormat : int32_t { kE4M3 = 0, kE2M1 = 1 };
enum class ScaleRule : int32_t {
  kUE8M0Ceil = 0,   ///< byte of 2^ceil(log2(max(amax, 1e-4) / 448)) (DeepSeek V4 / V4.1)
  kUE8M0Floor = 1,  ///< byte of 2^(floor(log2 amax) - emax_elem) (OCP MX v1.0)
  kE4M3Tensor = 2,  ///< E4M3(amax / 6 / S), element scale E4M3 value · S (NVFP4)
};

/// v4_native, v41_mxfp8, mxfp8, mxfp4, nvfp4: `scaled_dims` values in groups of
/// `group`, each group with one scale byte, then `tail_dims` bf16 values.
struct BlockScaledLayout {
  ElemFormat elem;
  ScaleRule rule;
  int32_t group;
  int32_t scaled_dims;
  int32_t tail_dims;
  int32_t vals_offset;    ///< bytes
  int32_t scales_offset;  ///< bytes
  int32_t tail_offset;    ///< bytes
  int32_t code_bytes;
  int32_t emax;           ///< kUE8M0Floor: the element format's largest exponent
  float tensor_scale;     ///< kE4M3Tensor: S
  [[nodiscard]] KAKEYA_HD int32_t groups() const noexcept { return scaled_dims / group; }
};

/// The block-scaled layout of a valid spec of one of those five kinds.
[[nodiscard]] inline BlockScaledLayout block_scaled_layout(const CodecSpec& s) noexcept {
  BlockScaledLayout l{};
  l.scaled_dims = s.dim;
  l.tail_dims = 0;
  l.tensor_scale = 0.0f;
  l.emax = 0;
  const auto val_bytes = [&] { return l.elem == ElemFormat::kE4M3 ? l.scaled_dims : l.scaled_dims / 2; };
  switch (s.kind) {
    case CodecKind::kV4Native:
    case CodecKind::kV41MXFP8: {
      const bool v4 = s.kind == CodecKind::kV4Native;
      l.elem = ElemFormat::kE4M3;
      l.rule = ScaleRule::kUE8M0Ceil;
      l.group = v4 ? 64 : 32;
      l.scaled_dims = v4 ? s.dim - s.rope_dims : s.dim;
      l.tail_dims = v4 ? s.rope_dims : 0;
      l.vals_offset = 0;
      l.tail_offset = l.scaled_dims;
      l.scales_offset = l.tail_offset + 2 * l.tail_dims;
      const int32_t scale_bytes = v4 ? (l.groups() + 7) / 8 * 8 : l.groups();
      l.code_bytes = l.scales_offset + scale_bytes;
      return l;
    }
    case CodecKind::kNVFP4:
      l.elem = ElemFormat::kE2M1;
      l.rule = ScaleRule::kE4M3Tensor;
      l.group = 16;
      l.tensor_scale = s.tensor_scale;
      break;
    default:  // kMXFP8, kMXFP4
      l.elem = s.kind == CodecKind::kMXFP8 ? ElemFormat::kE4M3 : ElemFormat::kE2M1;
      l.rule = ScaleRule::kUE8M0Floor;
      l.group = 32;
      l.emax = s.kind == CodecKind::kMXFP8 ? 8 : 2;
      break;
  }
  l.scales_offset = 0;
  l.vals_offset = l.groups();
  l.tail_offset = l.vals_offset + val_bytes();
  l.code_bytes = l.tail_offset;
  return l;
}

/// int records: dim/group fp16 scales, then as many fp16 zeros, then dim codes of
/// `bits` bits from bit `codes_bit`.
struct IntLayout {
  int32_t dim;
  int32_t bits;
  int32_t group;
  int32_t groups;
  int64_t codes_bit;
  int32_t code_bytes;
};

[[nodiscard]] inline IntLayout int_layout(const CodecSpec& s) noexcept {
  IntLayout l{};
  l.dim = s.dim;
  l.bits = s.bits;
  l.group = s.group;
  l.groups = s.dim / s.group;
  l.codes_bit = int64_t{32} * l.groups;
  l.code_bytes = static_cast<int32_t>((l.codes_bit + int64_t{s.bits} * s.dim + 7) / 8);
  return l;
}

/// lloydmax records: a 16-bit fp16 norm, then dim indices of `bits` bits.
struct LloydMaxLayout {
  int32_t dim;
  int32_t bits;
  int32_t code_bytes;
  int32_t hadamard_p;
  int32_t hadamard_log2;
};

[[nodiscard]] inline LloydMaxLayout lloydmax_layout(const CodecSpec& s) noexcept {
  LloydMaxLayout l{};
  l.dim = s.dim;
  l.bits = s.bits;
  l.code_bytes = static_cast<int32_t>((16 + int64_t{s.bits} * s.dim + 7) / 8);
  l.hadamard_p = hadamard_block(s.dim);
  l.hadamard_log2 = detail::log2_exact(static_cast<uint32_t>(l.hadamard_p));
  return l;
}

/// e8v2 records (zoned E8 Voronoi code, reports/2026-11-27-e8v2.md). Trivially copyable
/// and passed by value to kernels: per-block sizes and bit offsets, computed on the host
/// once by e8v2_layout from the allocation.
inline constexpr int32_t kE8V2MaxDim = 1024;
inline constexpr int32_t kE8V2MaxBlocks = kE8V2MaxDim / 8;
inline constexpr int32_t kE8V2ScaleBits = 8;

struct E8V2Layout {
  int32_t dim;
  int32_t nblocks;                     ///< dim / 8
  int32_t code_bytes;                  ///< floor(bits·dim/8)
  int32_t hadamard_p;                  ///< h = dim & -dim
  float rate;                          ///< bits per coordinate (the spec's value)
  bool fast;                           ///< encoder: the fast search (decode ignores it)
  uint8_t block_bits[kE8V2MaxBlocks];  ///< b_k, ascending
  uint16_t block_pos[kE8V2MaxBlocks];  ///< bit offset of block k's zone field
  uint8_t zone_bits[kE8V2MaxBlocks];   ///< j_k (table row of b_k)
  uint16_t step0[kE8V2MaxBlocks];      ///< first zone step of block k in kE8V2Steps_
};

/// floor(bits·dim/8 + 1e-9) in double, as the reference (bits = the float32 rate).
[[nodiscard]] inline int64_t e8v2_record_bytes(int32_t dim, float rate) noexcept {
  return static_cast<int64_t>(std::floor(static_cast<double>(rate) * dim / 8 + 1e-9));
}

/// Payload bits T = 8·record_bytes − 8 the allocation may fill.
[[nodiscard]] inline int64_t e8v2_payload_bits(int32_t dim, float rate) noexcept {
  return 8 * e8v2_record_bytes(dim, rate) - kE8V2ScaleBits;
}

/// Whether the weights W[b] of e8v2_tables.h fall strictly with b (e8v2_allocation's band).
[[nodiscard]] constexpr bool e8v2_weights_fall() noexcept {
  for (int b = detail::kE8V2BMin + 1; b <= detail::kE8V2BMax; ++b)
    if (!(detail::kE8V2Rows[b - detail::kE8V2BMin].weight < detail::kE8V2Rows[b - 1 - detail::kE8V2BMin].weight))
      return false;
  return true;
}
static_assert(e8v2_weights_fall(), "e8v2_allocation's band needs weights that fall strictly with the block size");

/// Block sizes b_0 <= ... <= b_{B-1} (B = dim/8) minimising sum W[b_k] subject to
/// sum b_k <= T, W the integer weights of e8v2_tables.h: the reference's exact dynamic
/// programme (strict improvement over ascending b; final total: the largest of the
/// minimal weight; backtrack). Returns false when no allocation fits.
///
/// Band (same result, fewer states): W falls strictly with b, so an optimum's total is
/// Tf = min(T, bmax·B) (otherwise one block could grow by a bit), and it is the only total
/// of minimal weight. Layer k (blocks 0..k) therefore needs only the totals from which Tf
/// is still reachable, [Tf − bmax·(B−1−k), Tf − bmin·(B−1−k)]; every such state depends
/// only on states of the previous layer's band, so its value and argmin are the full DP's.
[[nodiscard]] inline bool e8v2_allocation(int32_t dim, float rate, uint8_t* out) {
  using detail::kE8V2BMax;
  using detail::kE8V2BMin;
  const int32_t B = dim / 8;
  const int64_t T64 = e8v2_payload_bits(dim, rate);
  if (B <= 0 || T64 < int64_t{kE8V2BMin} * B) return false;
  const int32_t T = static_cast<int32_t>(std::min<int64_t>(T64, int64_t{kE8V2BMax} * B));  // Tf
  constexpr int64_t kInf = INT64_MAX / 4;
  std::vector<int64_t> f(T + 1, kInf), g(T + 1, kInf);
  std::vector<uint8_t> hist(static_cast<size_t>(B) * (T + 1), 0);
  f[0] = 0;
  for (int32_t k = 0; k < B; ++k) {
    uint8_t* arg = hist.data() + static_cast<size_t>(k) * (T + 1);
    const int32_t left = B - 1 - k;  // blocks after this one
    const int32_t lo = std::max(kE8V2BMin * (k + 1), T - kE8V2BMax * left);
    const int32_t hi = std::min(kE8V2BMax * (k + 1), T - kE8V2BMin * left);
    for (int32_t b = kE8V2BMin; b <= kE8V2BMax && b <= T; ++b) {
      const int64_t w = detail::kE8V2Rows[b - kE8V2BMin].weight;
      for (int32_t t = std::max(b, lo); t <= hi; ++t) {
        const int64_t c = std::min(f[t - b] + w, kInf);
        if (c < g[t]) {
          g[t] = c;
          arg[t] = static_cast<uint8_t>(b);
        }
      }
    }
    f.swap(g);
    std::fill(g.begin(), g.end(), kInf);  // g held layer k − 1: only layer k stays finite
  }
  int32_t t = -1;
  int64_t best = kInf;
  for (int32_t i = T; i >= 0; --i)
    if (f[i] < best) best = f[i], t = i;  // smallest weight; ties -> larger total
  if (t < 0) return false;
  for (int32_t k = B - 1; k >= 0; --k) {
    const uint8_t b = hist[static_cast<size_t>(k) * (T + 1) + t];
    out[B - 1 - k] = b;
    t -= b;
  }
  std::sort(out, out + B);
  return true;
}

/// Layout of a valid e8v2 spec. The allocation (a DP) depends on the rate only through the
/// record size, so layouts are cached per (dim, code_bytes): a bounded set (dims up to 1024,
/// records up to 1056 bytes), however many distinct float rates callers name.
[[nodiscard]] inline E8V2Layout e8v2_layout(const CodecSpec& s) {
  static std::mutex mu;
  static std::map<std::pair<int32_t, int64_t>, E8V2Layout> cache;
  const int64_t bytes = e8v2_record_bytes(s.dim, s.rate);
  const auto key = std::make_pair(s.dim, bytes);
  {
    const std::lock_guard<std::mutex> lock(mu);
    const auto it = cache.find(key);
    if (it != cache.end()) {
      E8V2Layout l = it->second;
      l.rate = s.rate;
      l.fast = s.fast_encoder;
      return l;
    }
  }
  E8V2Layout l{};
  l.dim = s.dim;
  l.nblocks = s.dim / 8;
  l.code_bytes = static_cast<int32_t>(bytes);
  l.hadamard_p = s.dim & -s.dim;
  l.rate = s.rate;
  l.fast = s.fast_encoder;
  if (l.nblocks <= kE8V2MaxBlocks && e8v2_allocation(s.dim, s.rate, l.block_bits)) {
    int32_t pos = kE8V2ScaleBits;
    for (int32_t k = 0; k < l.nblocks; ++k) {
      const detail::E8V2BlockRow& row = detail::kE8V2Rows[l.block_bits[k] - detail::kE8V2BMin];
      l.block_pos[k] = static_cast<uint16_t>(pos);
      l.zone_bits[k] = row.zone_bits;
      l.step0[k] = row.step0;
      pos += l.block_bits[k];
    }
  }
  const std::lock_guard<std::mutex> lock(mu);
  cache.emplace(key, l);
  return l;
}

}  // namespace kakeya

namespace kakeya::format {

/// Bit offset of block j's index inside a lattice record.
[[nodiscard]] KAKEYA_HD int64_t block_bit_offset(const LatticeLayout& l, int32_t j) noexcept {
  return l.header_bits + static_cast<int64_t>(j) * l.bits_per_block;
}

/// Reads nbits (0..64) starting at bit `pos` of the stream at `rec`.
[[nodiscard]] KAKEYA_HD uint64_t read_bits(const uint8_t* rec, int64_t pos, int nbits) noexcept {
  uint64_t v = 0;
  int got = 0;
  int64_t byte = pos >> 3;
  int shift = static_cast<int>(pos & 7);
  while (got < nbits) {
    const uint64_t chunk = static_cast<uint64_t>(rec[byte] >> shift);
    v |= chunk << got;
    got += 8 - shift;
    shift = 0;
    ++byte;
  }
  return nbits == 64 ? v : (v & ((uint64_t{1} << nbits) - 1u));
}

/// The same stream written into 32-bit words (little-endian word w holds stream bits
/// [32w, 32w+32)). `emit(w, bits)` is called for each word touched; the caller ORs
/// (or atomically ORs) `bits` into word w. Used where several threads share a record.
template <class Emit>
KAKEYA_HD void for_each_word(int64_t pos, uint64_t v, int nbits, Emit&& emit) noexcept {
  if (nbits < 64) v &= (uint64_t{1} << nbits) - 1u;
  int64_t w = pos >> 5;
  int shift = static_cast<int>(pos & 31);
  int left = nbits;
  while (left > 0) {
    emit(w, static_cast<uint32_t>(v << shift));
    const int used = 32 - shift;
    v = used >= 64 ? 0 : v >> used;
    left -= used;
    shift = 0;
    ++w;
  }
}

/// Sequential LSB-first writer for one record on one thread: a 64-bit accumulator
/// stored whole each time it fills (as eight byte stores, which compilers merge); the
/// stream read_bits reads and for_each_word writes. Call flush() once at the end to emit
/// the last 0–8 bytes (zero padded); nothing past the record's last byte is written.
struct BitWriter {
  uint8_t* out;
  uint64_t acc = 0;
  int fill = 0;  // pending bits in acc, always < 64 between calls

  KAKEYA_HD explicit BitWriter(uint8_t* o) noexcept : out(o) {}
  KAKEYA_HD void put(uint64_t v, int nbits) noexcept {
    if (nbits < 64) v &= (uint64_t{1} << nbits) - 1u;
    if (nbits == 0) return;
    acc |= v << fill;  // the bits of v that fit; fill < 64
    if (fill + nbits < 64) {
      fill += nbits;
      return;
    }
    for (int k = 0; k < 8; ++k) out[k] = static_cast<uint8_t>(acc >> (8 * k));
    out += 8;
    // The bits of v that did not fit (none when fill = 0: a shift by 64 is avoided).
    acc = fill == 0 ? 0 : v >> (64 - fill);
    fill = fill + nbits - 64;
  }
  KAKEYA_HD void flush() noexcept {
    for (; fill > 0; fill -= 8) {
      *out++ = static_cast<uint8_t>(acc);
      acc >>= 8;
    }
    acc = 0;
    fill = 0;
  }
};

/// Header of a lattice record: 16 or 32 bits at offset 0.
[[nodiscard]] KAKEYA_HD uint32_t read_header(const LatticeLayout& l, const uint8_t* rec) noexcept {
  return static_cast<uint32_t>(read_bits(rec, 0, l.header_bits));
}

/// 16-bit little-endian load/store for the byte-aligned baseline records.
[[nodiscard]] KAKEYA_HD uint16_t load_u16(const uint8_t* p) noexcept {
  return static_cast<uint16_t>(p[0] | (static_cast<uint16_t>(p[1]) << 8));
}
KAKEYA_HD void store_u16(uint8_t* p, uint16_t v) noexcept {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

}  // namespace kakeya::format
