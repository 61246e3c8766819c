// SPDX-License-Identifier: Apache-2.0
// Run-time ISA dispatch (cpu/isa.h): every ISA this CPU runs gives the same bytes and
// the same decoded bits for every codec family; names are checked.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "kakeya/kakeya.h"

using namespace kakeya;

namespace {
// Restores the ISA in force before the test.
struct IsaGuard {
  std::string saved = cpu::to_string(cpu::active_isa());
  ~IsaGuard() { cpu::set_isa(saved); }
};
}  // namespace

TEST(Isa, NamesAndSupport) {
  const IsaGuard guard;
  EXPECT_TRUE(cpu::isa_supported(cpu::Isa::kBaseline));
  EXPECT_EQ(cpu::supported_isas().front(), cpu::Isa::kBaseline);
  EXPECT_EQ(cpu::supported_isas().back(), cpu::best_isa());
  for (cpu::Isa i : cpu::supported_isas()) {
    cpu::set_isa(cpu::to_string(i));
    EXPECT_EQ(cpu::active_isa(), i);
  }
  cpu::set_isa("auto");
  EXPECT_EQ(cpu::active_isa(), cpu::best_isa());
  EXPECT_THROW(cpu::set_isa("avx3"), InvalidArgument);
  if (!cpu::isa_supported(cpu::Isa::kAVX512)) {
    EXPECT_THROW(cpu::set_isa("avx512"), InvalidArgument);
  }
}

TEST(Isa, EveryIsaGivesTheSameBits) {
  const IsaGuard guard;
  if (cpu::supported_isas().size() < 2) GTEST_SKIP() << "this CPU runs the baseline only";
  const int64_t rows = 300;  // > kEncodeLanes blocks, several partial lane groups
  std::mt19937 g(7);
  std::normal_distribution<float> nd;
  for (const auto& fam : codec_families()) {
    for (int32_t dim : {64, 512, 200}) {
      CodecParams p;
      if (fam.kind == CodecKind::kNVFP4) p["tensor_scale"] = "0.01";
      CodecSpec spec;
      try {
        spec = make_codec(fam.name, dim, p);
      } catch (const InvalidArgument&) {
        continue;  // a dim this family does not take
      }
      std::vector<float> x(static_cast<size_t>(rows * dim));
      for (size_t k = 0; k < x.size(); ++k) x[k] = nd(g) * static_cast<float>(1 + (k / dim) % 7);  // row scales
      const auto xv = contiguous<const float>(x.data(), rows, dim);
      std::vector<uint8_t> ref_codes, codes(static_cast<size_t>(rows * spec.code_bytes()));
      std::vector<float> ref_out, out(x.size());
      for (cpu::Isa i : cpu::supported_isas()) {
        cpu::set_isa(cpu::to_string(i));
        cpu::encode<float>(spec, xv, {codes.data(), rows, spec.code_bytes()});
        cpu::decode<float>(spec, {codes.data(), rows, spec.code_bytes()}, contiguous(out.data(), rows, dim));
        if (ref_codes.empty()) {
          ref_codes = codes;
          ref_out = out;
          continue;
        }
        EXPECT_EQ(codes, ref_codes) << spec.name() << " codes differ under " << cpu::to_string(i);
        EXPECT_EQ(0, std::memcmp(out.data(), ref_out.data(), out.size() * sizeof(float)))
            << spec.name() << " decoded bits differ under " << cpu::to_string(i);
      }
    }
  }
}
