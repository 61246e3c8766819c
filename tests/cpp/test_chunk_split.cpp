// SPDX-License-Identifier: Apache-2.0
// Host proofs for the GPU chunk kernels (include/kakeya/gpu/chunk_kernels.cuh): the
// algebraic rewrites they rely on, and a host replay of their work split (thread per 8
// coordinates, xor-butterfly merges across a group's lanes, whole-byte packing per chunk)
// built from the same KAKEYA_HD pieces, compared byte for byte with the per-vector code.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kakeya/codec/registry.h"

using namespace kakeya;

namespace {

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Random rows with adversarial ones: +-0 mixtures (min/max tie order), spikes, tiny,
// huge, NaN and Inf.
std::vector<float> rows_for(int64_t rows, int dim, uint32_t seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> n;
  std::vector<float> x(static_cast<size_t>(rows * dim));
  for (int64_t r = 0; r < rows; ++r)
    for (int i = 0; i < dim; ++i) {
      float& v = x[static_cast<size_t>(r * dim + i)];
      switch (r % 12) {
        case 0: v = (g() & 1) ? 0.0f : -0.0f; break;
        case 1: v = (g() % 4 == 0) ? n(g) : ((g() & 1) ? 0.0f : -0.0f); break;
        case 2: v = n(g) * 1e-30f; break;
        case 3: v = n(g) * 3e4f; break;
        case 4: v = i == static_cast<int>(r % dim) ? std::numeric_limits<float>::quiet_NaN() : n(g); break;
        case 5: v = i == static_cast<int>((r * 7) % dim) ? -std::numeric_limits<float>::infinity() : n(g); break;
        case 6: v = std::round(n(g) * 4.0f) * 0.25f; break;
        case 7: v = n(g) * 1e5f; break;  // int: fp16 overflow of the zero
        default: v = n(g); break;
      }
    }
  return x;
}

// Replays int_encode_kernel on the host for one row.
void int_encode_chunks(const IntLayout& l, const float* x, uint8_t* rec) {
  const int chunks = l.dim / 8, gl = l.group / 8;
  std::vector<IntMinMax> mm(static_cast<size_t>(chunks));
  std::vector<int> ok(static_cast<size_t>(chunks));
  for (int c = 0; c < chunks; ++c) {
    mm[c] = IntMinMax::first(x[8 * c]);
    ok[c] = 1;
    for (int k = 0; k < 8; ++k) {
      ok[c] = ok[c] && std::isfinite(x[8 * c + k]);
      mm[c].add(x[8 * c + k]);
    }
  }
  for (int k = 1; k < gl; k <<= 1) {  // the xor butterfly, all lanes at once
    std::vector<IntMinMax> nx(mm);
    for (int c = 0; c < chunks; ++c) {
      const IntMinMax other = mm[c ^ k];
      nx[c] = (c & k) ? int_minmax_merge(other, mm[c]) : int_minmax_merge(mm[c], other);
    }
    mm = nx;
  }
  bool bad = false;
  std::vector<uint16_t> s16(chunks), z16(chunks);
  std::vector<uint64_t> packed(chunks, 0);
  for (int c = 0; c < chunks; ++c) {
    float s = 0, z = 0;
    const bool good = ok[c] && int_group_scale(mm[c].lo, mm[c].hi, l.bits, &s16[c], &z16[c], &s, &z);
    bad = bad || !good;
    for (int k = 0; k < 8; ++k) packed[c] |= uint64_t{int_code(x[8 * c + k], s, z, l.bits)} << (l.bits * k);
  }
  for (int c = 0; c < chunks; ++c) {
    if (c % gl == 0) {
      format::store_u16(rec + 2 * (c / gl), bad ? 0 : s16[c]);
      format::store_u16(rec + 2 * (l.groups + c / gl), bad ? 0 : z16[c]);
    }
    for (int b = 0; b < l.bits; ++b)
      rec[l.codes_bit / 8 + c * l.bits + b] = bad ? 0 : static_cast<uint8_t>(packed[c] >> (8 * b));
  }
}

// Replays block_scaled_encode_kernel on the host for one row.
void block_scaled_encode_chunks(const BlockScaledLayout& l, const float* x, uint8_t* rec) {
  const int chunks = (l.scaled_dims + l.tail_dims) / 8, gl = l.group / 8, sc = l.scaled_dims / 8;
  const bool e4m3 = l.elem == ElemFormat::kE4M3;
  std::vector<float> amax(chunks, 0.0f);
  bool bad = false;
  for (int c = 0; c < chunks; ++c)
    for (int k = 0; k < 8; ++k) {
      bad = bad || !std::isfinite(x[8 * c + k]);
      amax[c] = std::fmax(amax[c], std::fabs(x[8 * c + k]));
    }
  for (int k = 1; k < gl; k <<= 1) {
    std::vector<float> nx(amax);
    for (int c = 0; c < chunks; ++c) nx[c] = std::fmax(amax[c], amax[c ^ k]);
    amax = nx;
  }
  std::vector<uint8_t> bytes(chunks);
  std::vector<uint64_t> lo(chunks, 0), hi(chunks, 0);
  for (int c = 0; c < chunks; ++c) {
    if (c < sc) {
      float sf = 0;
      block_scale(l, amax[c], &bytes[c], &sf);
      const float inv = block_scale_inverse(l, sf);
      for (int k = 0; k < 8; ++k)
        lo[c] |= uint64_t{block_scaled_code(l, x[8 * c + k], sf, inv)} << ((e4m3 ? 8 : 4) * k);
    } else {
      for (int k = 0; k < 8; ++k) {
        uint16_t h = 0;
        bool overflow = false;
        bad = !block_scaled_tail(x[8 * c + k], &h, &overflow) || bad;
        (k < 4 ? lo[c] : hi[c]) |= uint64_t{h} << (16 * (k & 3));
      }
    }
  }
  std::memset(rec, 0xa5, static_cast<size_t>(l.code_bytes));  // poison: every byte must be written
  for (int c = 0; c < chunks; ++c) {
    if (c < sc) {
      if (c % gl == 0) rec[l.scales_offset + c / gl] = bad ? 0 : bytes[c];
      const int n = e4m3 ? 8 : 4;
      for (int b = 0; b < n; ++b) rec[l.vals_offset + n * c + b] = bad ? 0 : static_cast<uint8_t>(lo[c] >> (8 * b));
    } else {
      uint8_t* t = rec + l.tail_offset + 16 * (c - sc);
      for (int b = 0; b < 8; ++b) {
        t[b] = bad ? 0 : static_cast<uint8_t>(lo[c] >> (8 * b));
        t[8 + b] = bad ? 0 : static_cast<uint8_t>(hi[c] >> (8 * b));
      }
    }
  }
  for (int32_t i = block_scaled_pad_begin(l); i < l.code_bytes; ++i) rec[i] = 0;
}

}  // namespace

// x / 2^k == x * 2^-k bit for bit for every UE8M0 scale byte, over every bf16 pattern
// and random float32 patterns (normal, subnormal and overflowing quotients).
TEST(ChunkKernels, ReciprocalOfPowerOfTwoScaleIsExact) {
  std::mt19937 g(7);
  std::vector<float> vals;
  for (uint32_t h = 0; h < 65536; ++h) {
    const float v = from_bits(h << 16);
    if (std::isfinite(v)) vals.push_back(v);
  }
  for (int i = 0; i < 200000; ++i) {
    const float v = from_bits(static_cast<uint32_t>(g()));
    if (std::isfinite(v)) vals.push_back(v);
  }
  BlockScaledLayout l{};
  l.rule = ScaleRule::kUE8M0Floor;
  int64_t bad = 0;
  for (int byte = 0; byte < 255; ++byte) {
    const float sf = e8m0_to_float(static_cast<uint8_t>(byte));
    const float inv = block_scale_inverse(l, sf);
    ASSERT_EQ(inv * sf, 1.0f) << byte;
    for (const float v : vals) bad += bits_of(v / sf) != bits_of(v * inv);
  }
  EXPECT_EQ(bad, 0);
}

TEST(ChunkKernels, IntChunkSplitMatchesPerVectorCode) {
  for (const int dim : {64, 128, 512})
    for (const int group : {16, 32, 64, 128, 256})
      for (const int bits : {2, 3, 4, 5, 8}) {
        if (dim % group) continue;
        const CodecSpec spec = make_codec("int", dim, {{"bits", std::to_string(bits)}, {"group", std::to_string(group)}});
        const IntLayout l = int_layout(spec);
        const auto x = rows_for(240, dim, static_cast<uint32_t>(dim * 1000 + group * 10 + bits));
        std::vector<uint8_t> a(static_cast<size_t>(l.code_bytes)), b(a.size());
        for (int r = 0; r < 240; ++r) {
          (void)int_encode(l, &x[static_cast<size_t>(r) * dim], a.data());
          int_encode_chunks(l, &x[static_cast<size_t>(r) * dim], b.data());
          ASSERT_EQ(a, b) << spec.name() << " row " << r;
        }
      }
}

TEST(ChunkKernels, BlockScaledChunkSplitMatchesPerVectorCode) {
  for (const int dim : {64, 128, 512, 576})
    for (const char* fam : {"v4_native", "v41_mxfp8", "mxfp8", "mxfp4", "nvfp4"}) {
      CodecParams p;
      if (std::string(fam) == "nvfp4") p = {{"tensor_scale", "0.00223"}};
      if (std::string(fam) == "v4_native") {
        if (dim < 128) continue;
        p = {{"rope_dims", "64"}};
      }
      const CodecSpec spec = make_codec(fam, dim, p);
      const BlockScaledLayout l = block_scaled_layout(spec);
      const auto x = rows_for(240, dim, static_cast<uint32_t>(dim * 31 + l.group));
      std::vector<uint8_t> a(static_cast<size_t>(l.code_bytes)), b(a.size());
      for (int r = 0; r < 240; ++r) {
        (void)block_scaled_encode(l, &x[static_cast<size_t>(r) * dim], a.data());
        block_scaled_encode_chunks(l, &x[static_cast<size_t>(r) * dim], b.data());
        ASSERT_EQ(a, b) << spec.name() << " row " << r;
      }
    }
}

TEST(ChunkKernels, LloydMaxTableSearchMatchesIndex) {
  std::mt19937 g(3);
  std::normal_distribution<float> n;
  for (int bits = 1; bits <= 8; ++bits) {
    float thr[256];
    for (int j = 0; j + 1 < (1 << bits); ++j) thr[j] = lloydmax_threshold(bits, j);
    std::vector<float> us;
    for (int j = 0; j + 1 < (1 << bits); ++j) us.insert(us.end(), {thr[j], std::nextafter(thr[j], 10.f), std::nextafter(thr[j], -10.f)});
    for (int i = 0; i < 20000; ++i) us.push_back(n(g) * 2.0f);
    for (const float u : us)
      ASSERT_EQ(lloydmax_search(u, bits, [&](int32_t j) { return thr[j]; }), lloydmax_index(u, bits)) << bits << " " << u;
  }
  for (int i = 0; i < 4096; ++i)
    ASSERT_EQ(bits_of(lloydmax_flip(1.5f, i)), bits_of(flip_sign(1.5f, lloydmax_sign(i))));
}
