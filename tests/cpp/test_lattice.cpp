// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <numeric>
#include <random>
#include <set>
#include <type_traits>
#include <vector>

#include "kakeya/lattice/d4.h"
#include "kakeya/lattice/e8.h"
#include "kakeya/lattice/z8.h"

using namespace kakeya;

namespace {

template <class L>
constexpr int kN = lattice_traits<L>::kDim;

template <class L>
using Pt = std::array<int32_t, kN<L>>;

template <class L>
std::vector<Pt<L>> enumerate(int q) {
  std::vector<Pt<L>> pts;
  const uint64_t n = lattice_traits<L>::codebook_size(q);
  for (uint64_t i = 0; i < n; ++i) {
    int32_t t[kN<L>];
    EXPECT_TRUE(lattice_traits<L>::unrank(i, q, t));
    Pt<L> p;
    std::copy(t, t + kN<L>, p.begin());
    pts.push_back(p);
  }
  return pts;
}

template <class L>
double dist2(const float* w, const int32_t* t) {
  double d = 0;
  for (int k = 0; k < kN<L>; ++k) d += (double(w[k]) - t[k]) * (double(w[k]) - t[k]);
  return d;
}

template <class L>
void check_bijection(int q) {
  const uint64_t n = lattice_traits<L>::codebook_size(q);
  std::set<Pt<L>> seen;
  for (uint64_t i = 0; i < n; ++i) {
    int32_t t[kN<L>];
    ASSERT_TRUE(lattice_traits<L>::unrank(i, q, t));
    ASSERT_TRUE(lattice_traits<L>::contains(t, q)) << i;
    ASSERT_EQ(lattice_traits<L>::rank(t, q), i);
    Pt<L> p;
    std::copy(t, t + kN<L>, p.begin());
    ASSERT_TRUE(seen.insert(p).second) << "duplicate point at index " << i;
  }
  int32_t t[kN<L>];
  EXPECT_FALSE(lattice_traits<L>::unrank(n, q, t));
  EXPECT_FALSE(lattice_traits<L>::unrank(~uint64_t{0}, q, t));
}

// Count lattice points in the box independently, by brute force over all coordinates.
template <class L>
uint64_t count_by_membership(int q) {
  uint64_t c = 0;
  const int span = 4 * q + 1;  // doubled coordinates -2q..2q
  std::vector<int32_t> t(kN<L>, -2 * q);
  uint64_t total = 1;
  for (int k = 0; k < kN<L>; ++k) total *= span;
  for (uint64_t i = 0; i < total; ++i) {
    uint64_t r = i;
    int32_t tt[kN<L>];
    for (int k = 0; k < kN<L>; ++k) {
      tt[k] = static_cast<int32_t>(r % span) - 2 * q;
      r /= span;
    }
    c += lattice_traits<L>::contains(tt, q) ? 1 : 0;
  }
  return c;
}

template <class L>
void check_nearest_bruteforce(int q, int queries, uint32_t seed) {
  const auto pts = enumerate<L>(q);
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(-2.f * q - 1.5f, 2.f * q + 1.5f);
  for (int s = 0; s < queries; ++s) {
    float w[kN<L>];
    for (auto& v : w) v = u(g);
    int32_t t[kN<L>];
    const float d = lattice_traits<L>::nearest(w, q, t);
    ASSERT_TRUE(lattice_traits<L>::contains(t, q));
    double best = 1e300;
    for (const auto& p : pts) best = std::min(best, dist2<L>(w, p.data()));
    const double mine = dist2<L>(w, t);
    ASSERT_LE(mine, best + 1e-5) << "query " << s;
    ASSERT_NEAR(d, mine, 1e-4 * (1 + mine));
  }
}

}  // namespace

TEST(Lattice, CodebookSizesMatchDesign) {
  EXPECT_EQ(lattice_traits<E8>::codebook_size(1), 3281u + 128u);
  for (int q : {1, 2, 4, 10, 38, 127}) {
    const uint64_t b = 2 * q + 1, h = 2 * q;
    uint64_t b8 = 1, h8 = 1;
    for (int i = 0; i < 8; ++i) b8 *= b, h8 *= h;
    EXPECT_EQ(lattice_traits<E8>::codebook_size(q), (b8 + 1) / 2 + h8 / 2);
    EXPECT_EQ(lattice_traits<Z8>::codebook_size(q), b8);
  }
  EXPECT_EQ(lattice_traits<E8>::codebook_size(1), count_by_membership<E8>(1));
  EXPECT_EQ(lattice_traits<D4>::codebook_size(2), count_by_membership<D4>(2));
  EXPECT_EQ(lattice_traits<D4>::codebook_size(3), count_by_membership<D4>(3));
}

TEST(Lattice, E8RankBijectiveExhaustive) {
  check_bijection<E8>(1);
  check_bijection<E8>(2);
}
TEST(Lattice, D4RankBijectiveExhaustive) {
  for (int q : {1, 2, 3, 7}) check_bijection<D4>(q);
}
TEST(Lattice, Z8RankBijectiveExhaustive) { check_bijection<Z8>(1); }

template <class L>
void check_random_rank(uint32_t seed) {
  std::mt19937_64 g(seed);
  for (int q : {3, 4, 10, 38, 76, 100, 126, 127}) {
    const uint64_t n = lattice_traits<L>::codebook_size(q);
    for (int s = 0; s < 20000; ++s) {
      uint64_t i = g() % n;
      if (s < 4) i = s < 2 ? s : n - 1 - (s - 2);  // both ends
      int32_t t[kN<L>];
      ASSERT_TRUE(lattice_traits<L>::unrank(i, q, t));
      ASSERT_TRUE(lattice_traits<L>::contains(t, q));
      ASSERT_EQ(lattice_traits<L>::rank(t, q), i) << "q " << q;
    }
  }
}
TEST(Lattice, RankRandomUpToQ127) {
  check_random_rank<E8>(1);
  check_random_rank<D4>(2);
  check_random_rank<Z8>(3);
}

TEST(Lattice, E8NearestMatchesBruteForce) {
  check_nearest_bruteforce<E8>(1, 3000, 1);
  check_nearest_bruteforce<E8>(2, 300, 2);
}
TEST(Lattice, D4NearestMatchesBruteForce) {
  for (int q : {1, 2, 5}) check_nearest_bruteforce<D4>(q, 2000, 10 + q);
}
TEST(Lattice, Z8NearestMatchesBruteForce) { check_nearest_bruteforce<Z8>(1, 500, 4); }

TEST(Lattice, E8BoxBeatsClamp) {
  // A half-integer point at Q+1/2 clamped to Q leaves E8: our search never returns one.
  const int q = 3;
  float w[8];
  for (auto& v : w) v = 2.f * (q + 0.45f);
  int32_t t[8];
  lattice_traits<E8>::nearest(w, q, t);
  EXPECT_TRUE(lattice_traits<E8>::contains(t, q));
  for (int k = 0; k < 8; ++k) EXPECT_LE(t[k], 2 * q);
}

TEST(Lattice, IdempotentOnEveryCodeword) {
  for (int q : {1, 2}) {
    for (const auto& p : enumerate<E8>(q)) {
      float w[8];
      for (int k = 0; k < 8; ++k) w[k] = static_cast<float>(p[k]);
      int32_t t[8];
      const float d = lattice_traits<E8>::nearest(w, q, t);
      ASSERT_EQ(d, 0.f);
      for (int k = 0; k < 8; ++k) ASSERT_EQ(t[k], p[k]);
    }
  }
}

// Symmetries of the nearest-point map, each asserted on its own (DESIGN.md §5). Inputs
// are drawn well inside the box (q = 20: |w| <= 10 in doubled units, translations by at
// most 6), so the box edge plays no part and Q(g·w) = g·Q(w) must hold for every
// symmetry g of the lattice. The only allowed exception is an exact tie, where Q(g·w) is
// then a different point at the same distance; ties have measure zero, so at most a
// handful of the 20 000 samples may be ties.
namespace {

enum class Sym { kTranslation, kPermutation, kSignFlip };

template <class L>
void check_symmetry(Sym sym, uint32_t seed) {
  constexpr int n = kN<L>;
  const int q = 20;
  const bool even_flips_only = std::is_same_v<L, E8>;  // D4, Z8: every sign flip
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(-10.f, 10.f);
  std::uniform_int_distribution<int32_t> small(-6, 6);
  int ties = 0;
  const int samples = 20000;
  for (int s = 0; s < samples; ++s) {
    float w[n], gw[n];
    for (auto& v : w) v = u(g);
    int32_t t[n], gt_expected[n], gt[n];
    lattice_traits<L>::nearest(w, q, t);
    switch (sym) {
      case Sym::kTranslation: {
        int32_t v[n];  // a lattice vector (doubled units) with |v_i| <= 6
        do {
          for (auto& c : v) c = small(g);
        } while (!lattice_traits<L>::contains(v, 3));
        for (int k = 0; k < n; ++k) {
          gw[k] = w[k] + static_cast<float>(v[k]);
          gt_expected[k] = t[k] + v[k];
        }
        break;
      }
      case Sym::kPermutation: {
        int perm[n];
        std::iota(perm, perm + n, 0);
        std::shuffle(perm, perm + n, g);
        for (int k = 0; k < n; ++k) {
          gw[k] = w[perm[k]];
          gt_expected[k] = t[perm[k]];
        }
        break;
      }
      case Sym::kSignFlip: {
        bool flip[n];
        int flips = 0;
        for (auto& f : flip) flips += (f = (g() & 1) != 0);
        if (even_flips_only && (flips & 1)) flip[g() % n] ^= true;  // make the count even
        for (int k = 0; k < n; ++k) {
          gw[k] = flip[k] ? -w[k] : w[k];
          gt_expected[k] = flip[k] ? -t[k] : t[k];
        }
        break;
      }
    }
    ASSERT_TRUE(lattice_traits<L>::contains(gt_expected, q)) << "g·Q(w) left the lattice box";
    lattice_traits<L>::nearest(gw, q, gt);
    if (!std::equal(gt, gt + n, gt_expected)) {
      ASSERT_NEAR(dist2<L>(gw, gt), dist2<L>(gw, gt_expected), 1e-3)
          << "sample " << s << ": Q(g·w) != g·Q(w) away from a tie";
      ++ties;
    }
  }
  EXPECT_LE(ties, samples / 1000) << "too many ties for random inputs";
}

}  // namespace

TEST(Lattice, NearestCommutesWithLatticeTranslations) {
  check_symmetry<E8>(Sym::kTranslation, 21);
  check_symmetry<D4>(Sym::kTranslation, 22);
  check_symmetry<Z8>(Sym::kTranslation, 23);
}

TEST(Lattice, NearestCommutesWithPermutations) {
  check_symmetry<E8>(Sym::kPermutation, 31);
  check_symmetry<D4>(Sym::kPermutation, 32);
  check_symmetry<Z8>(Sym::kPermutation, 33);
}

TEST(Lattice, NearestCommutesWithSignFlips) {
  check_symmetry<E8>(Sym::kSignFlip, 41);  // even numbers of flips: E8's symmetry
  check_symmetry<D4>(Sym::kSignFlip, 42);  // any flips: D4 and Z8 are closed under each
  check_symmetry<Z8>(Sym::kSignFlip, 43);
}

TEST(Lattice, E8ErrorWithinCoveringRadius) {
  // The covering radius of E8 is 1: ||u - y|| <= 1, i.e. ||w - t||^2 <= 4 in doubled
  // units, for any input inside the box.
  std::mt19937 g(51);
  std::uniform_real_distribution<float> u(-38.f, 38.f);
  for (int s = 0; s < 20000; ++s) {
    float w[8];
    for (auto& v : w) v = u(g);
    int32_t t[8];
    const float d = lattice_traits<E8>::nearest(w, 20, t);
    ASSERT_LE(d, 4.0f + 1e-4f) << "sample " << s;
    ASSERT_NEAR(d, dist2<E8>(w, t), 1e-3 * (1 + d));
  }
}
