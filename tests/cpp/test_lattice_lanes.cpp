// SPDX-License-Identifier: Apache-2.0
// The CPU vector decoder of the v1 E8 codec (lattice_codec.h, decode_vector_e8_lanes) and
// its lane-wise unrank (e8_unrank.h) against the one-block paths: random records of
// valid indices of both cosets and the codebook edges, every Hadamard block size, Q from
// 1 to 127, every scale format, output types float / bf16, and corrupt records (an index
// past the codebook, an invalid scale header), under every ISA this CPU runs.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kakeya/codec/format.h"
#include "kakeya/kakeya.h"
#include "kakeya/lattice/e8_unrank.h"

using namespace kakeya;

namespace {

struct IsaGuard {
  std::string saved = cpu::to_string(cpu::active_isa());
  ~IsaGuard() { cpu::set_isa(saved); }
};

// rows records of random valid blocks; some blocks at the codebook's edges. Row r % 5 == 4
// gets one corrupt block (an index >= the codebook size) when `corrupt`.
std::vector<uint8_t> random_records(const CodecSpec& spec, int64_t rows, bool corrupt, std::mt19937_64& g) {
  const LatticeLayout l = lattice_layout(spec);
  const uint64_t n = l.codebook_size, n_int = lattice_traits<E8>::integer_coset_size(spec.q);
  const uint64_t edges[] = {0, 1, n_int - 1, n_int, n - 1};
  std::vector<uint8_t> codes(static_cast<size_t>(rows * l.code_bytes));
  std::uniform_int_distribution<uint64_t> any(0, n - 1);
  std::uniform_int_distribution<int> blk(0, l.nblocks - 1);
  const uint64_t cap = l.bits_per_block == 64 ? ~uint64_t{0} : (uint64_t{1} << l.bits_per_block) - 1;
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* rec = codes.data() + r * l.code_bytes;
    format::BitWriter bw(rec);
    // A scale header: bf16 / fp16 1.0 (0x3F80 / 0x3C00), or norm_qmax's two fp16 1.0.
    bw.put(spec.scale == ScaleFormat::kBF16 ? 0x3F80u : spec.scale == ScaleFormat::kFP16 ? 0x3C00u : 0x3C003C00u,
           l.header_bits);
    const int bad = corrupt && r % 5 == 4 ? blk(g) : -1;
    for (int j = 0; j < l.nblocks; ++j) {
      uint64_t idx = (g() % 4 == 0) ? edges[g() % 5] : any(g);
      if (j == bad) idx = (g() % 2) ? n + g() % (cap - n + 1) : cap;
      bw.put(idx, l.bits_per_block);
    }
    bw.flush();
  }
  return codes;
}

}  // namespace

TEST(LatticeLanes, UnrankLanesMatchesOneIndex) {
#if defined(KAKEYA_LANES)
  typedef lanes::LaneTypes<8>::U64 U64;
  std::mt19937_64 g(3);
  for (int q = 1; q <= kMaxQ; ++q) {
    const E8Unrank u = make_e8_unrank(q);
    if (!u.ok) continue;
    for (int rep = 0; rep < 200; ++rep) {
      alignas(64) uint64_t idx[8];
      for (uint64_t& v : idx) {
        const int k = static_cast<int>(g() % 6);
        v = k == 0 ? u.n_int - 1 + g() % 2 : k == 1 ? u.size - 1 + g() % 2 : k == 2 ? ~uint64_t{0} : g() % u.size;
      }
      U64 d[8], half, ok;
      e8_unrank_lanes(u, lanes::load_vec<U64>(idx), d, half, ok);
      for (int l = 0; l < 8; ++l) {
        uint32_t ds[8];
        int hs = 0;
        const bool oks = e8_unrank_digits(u, idx[l], ds, hs);
        ASSERT_EQ(ok[l] != 0, oks) << "q = " << q << ", idx = " << idx[l];
        if (!oks) continue;
        ASSERT_EQ(half[l] != 0, hs == 1) << "q = " << q << ", idx = " << idx[l];
        for (int i = 0; i < 8; ++i) ASSERT_EQ(d[i][l], ds[i]) << "q = " << q << ", idx = " << idx[l] << ", i = " << i;
      }
    }
  }
#else
  GTEST_SKIP() << "this compiler has no lane paths (KAKEYA_LANES)";
#endif
}

TEST(LatticeLanes, DecodeMatchesOneBlockPathUnderEveryIsa) {
  const IsaGuard guard;
  std::mt19937_64 g(11);
  const int64_t rows = 23;
  for (int32_t dim : {8, 16, 24, 40, 48, 64, 96, 200, 512, 1024})
    for (int q : {1, 2, 3, 38, 48, 100, 116, 120, 127})
      for (const char* scale : {"bf16", "fp16", "norm_qmax"}) {
        if (dim > 64 && q != 38 && q != 127 && std::string(scale) != "bf16") continue;  // keep it quick
        const CodecSpec spec = make_codec("e8", dim, {{"q", std::to_string(q)}, {"scale", scale}});
        const LatticeLayout lay = lattice_layout(spec);
        for (bool corrupt : {false, true}) {
          const std::vector<uint8_t> codes = random_records(spec, rows, corrupt, g);
          const ConstCodeBatch cb{codes.data(), rows, spec.code_bytes()};
          // Reference: the one-block decoder (the GPU kernels' code), row by row.
          std::vector<float> ref(static_cast<size_t>(rows * dim)), scratch(dim), out(ref.size());
          std::vector<bf16> refb(ref.size()), outb(ref.size());
          std::vector<uint8_t> ref_bad(rows), bad(rows);
          int64_t first_bad = -1;
          Diag first;
          for (int64_t r = 0; r < rows; ++r) {
            const uint8_t* rec = codes.data() + r * lay.code_bytes;
            const Diag d = decode_vector<E8>(lay, rec, scratch.data(), ref.data() + r * dim);
            (void)decode_vector<E8>(lay, rec, scratch.data(), refb.data() + r * dim);
            ref_bad[r] = d.ok() ? 0 : 1;
            if (!d.ok() && first_bad < 0) {
              first_bad = r;
              first = d;
            }
          }
          ASSERT_EQ(first_bad >= 0, corrupt) << spec.name();
          for (cpu::Isa i : cpu::supported_isas()) {
            cpu::set_isa(cpu::to_string(i));
            std::fill(out.begin(), out.end(), -1.0f);
            cpu::decode<float>(spec, cb, contiguous(out.data(), rows, dim), bad.data());
            cpu::decode<bf16>(spec, cb, contiguous(outb.data(), rows, dim), bad.data());
            const std::string where = spec.name() + " under " + cpu::to_string(i);
            ASSERT_EQ(0, std::memcmp(out.data(), ref.data(), out.size() * sizeof(float))) << where;
            ASSERT_EQ(0, std::memcmp(outb.data(), refb.data(), outb.size() * sizeof(bf16))) << where;
            ASSERT_EQ(bad, ref_bad) << where;
            if (corrupt) {  // the error names the first corrupt row, block and index
              std::string msg;
              try {
                cpu::decode<float>(spec, cb, contiguous(out.data(), rows, dim));
              } catch (const CorruptCode& e) {
                msg = e.what();
              }
              const std::string want = "codes row " + std::to_string(first_bad) + " is corrupt for codec " + spec.name() +
                                       ": block " + std::to_string(first.where) + " index " + std::to_string(first.detail);
              EXPECT_EQ(msg.rfind(want, 0), 0u) << where << ": " << msg << " (want: " << want << ")";
            }
          }
        }
      }
}

TEST(LatticeLanes, BadHeaderSameUnderEveryIsa) {
  const IsaGuard guard;
  const CodecSpec spec = make_codec("e8", 512, {{"q", "38"}});
  std::mt19937_64 g(5);
  std::vector<uint8_t> codes = random_records(spec, 4, false, g);
  codes[0] = 0x80;  // row 0: bf16 header 0xFF80 = −inf
  codes[1] = 0xFF;
  const ConstCodeBatch cb{codes.data(), 4, spec.code_bytes()};
  std::vector<float> ref(4 * 512), out(ref.size());
  std::vector<uint8_t> ref_bad(4), bad(4);
  cpu::set_isa("baseline");
  cpu::decode<float>(spec, cb, contiguous(ref.data(), 4, 512), ref_bad.data());
  EXPECT_EQ(ref_bad[0], 1);
  EXPECT_EQ(ref_bad[1], 0);
  for (cpu::Isa i : cpu::supported_isas()) {
    cpu::set_isa(cpu::to_string(i));
    cpu::decode<float>(spec, cb, contiguous(out.data(), 4, 512), bad.data());
    EXPECT_EQ(bad, ref_bad) << cpu::to_string(i);
    EXPECT_EQ(0, std::memcmp(out.data(), ref.data(), out.size() * sizeof(float))) << cpu::to_string(i);
  }
}

// The box searches with VL blocks per vector (the CPU encoder) against the one-block
// search (the GPU's): same points and the same distance bits, on random inputs and on
// adversarial ones (exact ties between two coset values, the box edges, far outside).
template <class L, int VL>
static void check_search_lanes(int q, std::mt19937_64& g) {
  constexpr int n = lattice_traits<L>::kDim, W = 16;
  std::normal_distribution<float> nd;
  std::uniform_int_distribution<int> pick(0, 6), step(-2 * q - 3, 2 * q + 3);
  for (int rep = 0; rep < 300; ++rep) {
    alignas(64) float w[n * W];
    for (float& v : w) {
      switch (pick(g)) {
        case 0: v = static_cast<float>(step(g)); break;            // a lattice value or an edge
        case 1: v = static_cast<float>(step(g)) + 0.5f; break;     // ... halfway between two
        case 2: v = nd(g) * 1e4f; break;                           // far outside the box
        case 3: v = (g() % 2 ? -1.0f : 1.0f) * 2.0f * q; break;    // on the edge
        default: v = nd(g) * static_cast<float>(q); break;
      }
    }
    alignas(64) int32_t t[n * W];
    alignas(64) float dist[W];
    lattice_traits<L>::template nearest_lanes<W, VL>(w, q, t, dist);
    for (int l = 0; l < W; ++l) {
      float wl[n];
      int32_t tl[n];
      float dl;
      for (int i = 0; i < n; ++i) wl[i] = w[i * W + l];
      lattice_traits<L>::template nearest_lanes<1>(wl, q, tl, &dl);
      for (int i = 0; i < n; ++i) ASSERT_EQ(t[i * W + l], tl[i]) << lattice_traits<L>::kName << " q = " << q;
      ASSERT_EQ(0, std::memcmp(&dist[l], &dl, sizeof dl)) << lattice_traits<L>::kName << " q = " << q;
    }
  }
}

TEST(LatticeLanes, SearchLanesMatchOneBlock) {
  std::mt19937_64 g(17);
  for (int q : {1, 2, 5, 38, 127}) {
    check_search_lanes<E8, 4>(q, g);
    check_search_lanes<E8, 8>(q, g);
    check_search_lanes<E8, 16>(q, g);
    check_search_lanes<D4, 8>(q, g);
    check_search_lanes<Z8, 8>(q, g);
  }
}
