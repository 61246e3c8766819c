// SPDX-License-Identifier: Apache-2.0
// The division-free E8 unrank (lattice/e8_unrank.h) equals lattice_traits<E8>::unrank for
// every Q that has constants: random indices of both cosets, the coset edges and indices
// past the codebook (which must be rejected).
#include <gtest/gtest.h>

#include <random>

#include "kakeya/lattice/e8_unrank.h"

namespace kakeya {
namespace {

TEST(E8Unrank, MatchesLibraryUnrank) {
  std::mt19937_64 g(13);
  int with_magic = 0;
  for (int q = 1; q <= kMaxQ; ++q) {
    const E8Unrank u = make_e8_unrank(q);
    if (q <= 116) {
      EXPECT_TRUE(u.ok) << "q = " << q;
    }
    if (!u.ok) continue;
    ++with_magic;
    const auto check = [&](uint64_t idx) {
      uint32_t d[8];
      int half = 0;
      int32_t t[8];
      const bool ok = e8_unrank_digits(u, idx, d, half);
      ASSERT_EQ(ok, lattice_traits<E8>::unrank(idx, q, t)) << "q = " << q << ", idx = " << idx;
      if (!ok) return;
      for (int i = 0; i < 8; ++i)
        ASSERT_EQ(2 * (static_cast<int32_t>(d[i]) - q) + half, t[i]) << "q = " << q << ", idx = " << idx;
    };
    for (uint64_t e : {uint64_t{0}, uint64_t{1}, u.n_int - 1, u.n_int, u.n_int + 1, u.size - 1, u.size, ~uint64_t{0}})
      check(e);
    std::uniform_int_distribution<uint64_t> in_int(0, u.n_int - 1), in_half(u.n_int, u.size - 1);
    for (int i = 0; i < 5000; ++i) {
      check(in_int(g));
      check(in_half(g));
    }
  }
  EXPECT_GE(with_magic, 116);
}

}  // namespace
}  // namespace kakeya
