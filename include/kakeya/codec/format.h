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
/// Baseline records, byte aligned:
///   fp8_per64   [dim/64 bf16 scales, little-endian][dim E4M3 bytes]
///   v4_native   [(dim-R)/64 bf16 scales][dim-R E4M3 bytes][R bf16 values]
///   bf16        [dim bf16 values]

#include <cstdint>

#include "kakeya/codec/spec.h"
#include "kakeya/config.h"

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

/// Sequential LSB-first writer for one record on one thread: an accumulator flushed a
/// byte at a time; the stream read_bits reads and for_each_word writes. Call flush()
/// once at the end to emit the last partial byte (zero padded).
struct BitWriter {
  uint8_t* out;
  uint64_t acc = 0;
  int fill = 0;  // pending bits in acc, always < 8 between calls

  KAKEYA_HD explicit BitWriter(uint8_t* o) noexcept : out(o) {}
  KAKEYA_HD void put(uint64_t v, int nbits) noexcept {
    if (nbits < 64) v &= (uint64_t{1} << nbits) - 1u;
    // Split so that fill + piece <= 63 and the shift never loses bits.
    const int lo_bits = nbits > 56 ? 32 : nbits;
    put_small(lo_bits == 64 ? v : (v & ((uint64_t{1} << lo_bits) - 1u)), lo_bits);
    if (nbits > lo_bits) put_small(v >> 32, nbits - 32);
  }
  KAKEYA_HD void flush() noexcept {
    if (fill > 0) *out++ = static_cast<uint8_t>(acc);
    acc = 0;
    fill = 0;
  }

 private:
  KAKEYA_HD void put_small(uint64_t v, int nbits) noexcept {
    acc |= v << fill;
    fill += nbits;
    while (fill >= 8) {
      *out++ = static_cast<uint8_t>(acc);
      acc >>= 8;
      fill -= 8;
    }
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
