// SPDX-License-Identifier: Apache-2.0
// The per-channel affine pre-transform (transform/affine.h, cpu/affine.h): the float32
// contract against a float64 reference, the RoPE-aware fit, argument checks, and the
// codec over z on offset-heavy data.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kakeya/cpu/affine.h"

namespace {

using kakeya::ChannelAffine;
using kakeya::RopePair;
using kakeya::StridedBatch;

struct Data {
  int32_t dim, rows, nfreq;
  std::vector<float> x, cos, sin, mean_pre, spread;
  std::vector<RopePair> pairs;
};

// Offset-heavy rows: pre-RoPE keys k = μ + spread ⊙ g, then the pairs (interleaved over
// channels [dim/2, dim), frequency = pair index) rotated by the row's position.
Data make_data(int32_t dim, int32_t rows, uint32_t seed) {
  Data d{dim, rows, dim / 4, {}, {}, {}, {}, {}, {}};
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  d.mean_pre.resize(dim);
  d.spread.resize(dim);
  for (int32_t i = 0; i < dim; ++i) {
    d.mean_pre[i] = 6.0f * g(rng);
    d.spread[i] = std::exp(0.7f * g(rng));
  }
  for (int32_t j = 0; j < d.nfreq; ++j) {
    d.pairs.push_back({dim / 2 + 2 * j, dim / 2 + 2 * j + 1, j});
    d.spread[dim / 2 + 2 * j + 1] = d.spread[dim / 2 + 2 * j];
  }
  d.x.resize(static_cast<size_t>(rows) * dim);
  d.cos.resize(static_cast<size_t>(rows) * d.nfreq);
  d.sin.resize(d.cos.size());
  for (int32_t r = 0; r < rows; ++r) {
    float* xr = d.x.data() + static_cast<size_t>(r) * dim;
    for (int32_t i = 0; i < dim; ++i) xr[i] = d.mean_pre[i] + d.spread[i] * g(rng);
    for (int32_t j = 0; j < d.nfreq; ++j) {
      const double ang = r * std::pow(100.0, -static_cast<double>(j) / d.nfreq);
      const float c = static_cast<float>(std::cos(ang)), s = static_cast<float>(std::sin(ang));
      d.cos[static_cast<size_t>(r) * d.nfreq + j] = c;
      d.sin[static_cast<size_t>(r) * d.nfreq + j] = s;
      const RopePair p = d.pairs[j];
      const float a = xr[p.a], b = xr[p.b];
      xr[p.a] = a * c - b * s;
      xr[p.b] = a * s + b * c;
    }
  }
  return d;
}

StridedBatch<const float> view(const std::vector<float>& v, int64_t rows, int64_t cols) {
  return {v.data(), rows, cols, cols};
}

TEST(Affine, ForwardInverseFollowTheFloatContract) {
  const Data d = make_data(64, 50, 3);
  std::vector<float> scale(64);
  for (int32_t i = 0; i < 64; ++i) scale[i] = 0.5f + 0.01f * static_cast<float>(i);
  for (const RopePair& p : d.pairs) scale[p.b] = scale[p.a];
  const ChannelAffine aff(d.mean_pre, scale, d.pairs);
  std::vector<float> z(d.x.size()), back(d.x.size());
  aff.forward<float>(view(d.x, 50, 64), view(d.cos, 50, d.nfreq), view(d.sin, 50, d.nfreq),
                     {z.data(), 50, 64, 64});
  aff.inverse<float>(view(z, 50, 64), view(d.cos, 50, d.nfreq), view(d.sin, 50, d.nfreq),
                     {back.data(), 50, 64, 64});
  double err = 0.0, ref_gap = 0.0;
  for (int32_t r = 0; r < 50; ++r) {
    const float* c = d.cos.data() + r * d.nfreq;
    const float* s = d.sin.data() + r * d.nfreq;
    std::vector<float> mu(d.mean_pre);
    for (const RopePair& p : d.pairs) {  // the documented float32 contract, written out
      const float ma = d.mean_pre[p.a], mb = d.mean_pre[p.b];
      const float ac = ma * c[p.freq], bs = mb * s[p.freq], as = ma * s[p.freq],
                  bc = mb * c[p.freq];
      mu[p.a] = ac - bs;
      mu[p.b] = as + bc;
    }
    for (int32_t i = 0; i < 64; ++i) {
      const float xv = d.x[r * 64 + i];
      const float want = (xv - mu[i]) / scale[i];
      ASSERT_EQ(z[r * 64 + i], want) << "row " << r << " channel " << i;
      // float64 reference of the same maths: the float path is within rounding
      double m64 = d.mean_pre[i];
      for (const RopePair& p : d.pairs) {
        if (p.a == i)
          m64 = double(d.mean_pre[p.a]) * c[p.freq] - double(d.mean_pre[p.b]) * s[p.freq];
        if (p.b == i)
          m64 = double(d.mean_pre[p.a]) * s[p.freq] + double(d.mean_pre[p.b]) * c[p.freq];
      }
      ref_gap =
          std::max(ref_gap, std::fabs((xv - m64) / scale[i] - want) / (1.0 + std::fabs(want)));
      err = std::max(err, std::fabs(double(back[r * 64 + i]) - xv) / (1.0 + std::fabs(xv)));
    }
  }
  EXPECT_LT(ref_gap, 1e-5);
  EXPECT_LT(err, 1e-5);  // inverse(forward(x)) = x up to float rounding
}

TEST(Affine, FitRecoversThePreRopeMeanAndTiesPairScales) {
  const Data d = make_data(64, 4000, 5);
  const ChannelAffine aff = ChannelAffine::fit(
      view(d.x, 4000, 64), true, d.pairs, view(d.cos, 4000, d.nfreq), view(d.sin, 4000, d.nfreq));
  ASSERT_TRUE(aff.has_scale());
  for (int32_t i = 0; i < 64; ++i) {
    // standard error of a 4000-row mean: spread/63; allow 5 of them
    EXPECT_NEAR(aff.mean()[i], d.mean_pre[i], 5.0 * d.spread[i] / 63.0) << "channel " << i;
    EXPECT_NEAR(aff.scale()[i] / d.spread[i], 1.0, 0.08) << "channel " << i;
  }
  for (const RopePair& p : d.pairs) EXPECT_EQ(aff.scale()[p.a], aff.scale()[p.b]);
  // Fitted after RoPE without the pairs, the rotated channels' mean washes out.
  const ChannelAffine flat = ChannelAffine::fit(view(d.x, 4000, 64), false);
  double rot_gap = 0.0, flat_gap = 0.0;
  for (const RopePair& p : d.pairs)
    for (int32_t i : {p.a, p.b}) {
      rot_gap += std::fabs(aff.mean()[i] - d.mean_pre[i]);
      flat_gap += std::fabs(flat.mean()[i] - d.mean_pre[i]);
    }
  EXPECT_LT(rot_gap * 5.0, flat_gap);
}

TEST(Affine, ConstantChannelsGetAFlooredScale) {
  std::vector<float> x(10 * 8, 3.0f);
  const ChannelAffine c = ChannelAffine::fit(view(x, 10, 8), true);
  for (float s : c.scale()) EXPECT_EQ(s, 1.0f);
  for (float m : c.mean()) EXPECT_EQ(m, 3.0f);
  for (int r = 0; r < 10; ++r) x[r * 8] = static_cast<float>(r);  // one channel varies
  const ChannelAffine v = ChannelAffine::fit(view(x, 10, 8), true);
  EXPECT_GT(v.scale()[1], 0.0f);
  EXPECT_LT(v.scale()[1], 1e-5f * v.scale()[0]);
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const kakeya::InvalidArgument& e) {
    return e.what();
  }
  return "";
}

TEST(Affine, BadArgumentsNameTheArgument) {
  EXPECT_NE(error_of([] { ChannelAffine({}); }).find("mean has 0 values"), std::string::npos);
  EXPECT_NE(error_of([] { ChannelAffine({0.f, NAN}); }).find("mean[1] = nan"), std::string::npos);
  EXPECT_NE(error_of([] {
              ChannelAffine({0.f, 0.f}, {1.f});
            }).find("scale has 1 values"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              ChannelAffine({0.f, 0.f}, {1.f, 0.f});
            }).find("scale[1] = 0"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              ChannelAffine({0.f, 0.f}, {}, {{0, 2, 0}});
            }).find("pairs[0] = (0, 2)"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              ChannelAffine({0.f, 0.f, 0.f, 0.f}, {}, {{0, 1, 0}, {1, 2, 0}});
            }).find("reuses"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              ChannelAffine({0.f, 0.f}, {1.f, 2.f}, {{0, 1, 0}});
            }).find("differ"),
            std::string::npos);
  const ChannelAffine rope({0.f, 0.f, 0.f, 0.f}, {}, {{0, 1, 0}, {2, 3, 1}});
  std::vector<float> x(8), z(8), cs(2);
  EXPECT_NE(
      error_of([&] {
        rope.forward<float>(view(x, 2, 4), view(cs, 1, 2), view(cs, 1, 2), {z.data(), 2, 4, 4});
      }).find("cos.rows = 1"),
      std::string::npos);
  EXPECT_NE(
      error_of([&] {
        rope.forward<float>(view(x, 2, 4), view(cs, 2, 1), view(cs, 2, 1), {z.data(), 2, 4, 4});
      }).find("cos.cols = 1 does not match nfreq = 2"),
      std::string::npos);
  const auto spec = kakeya::make_codec("e8v2", 64, {{"bits", "6"}});
  std::vector<uint8_t> codes(static_cast<size_t>(spec.code_bytes()) * 2);
  EXPECT_NE(error_of([&] {
              kakeya::cpu::encode_affine<float>(spec, rope, view(x, 2, 4), view(cs, 2, 2),
                                                view(cs, 2, 2),
                                                {codes.data(), 2, spec.code_bytes()});
            }).find("affine dim = 4 does not match the codec dim = 64"),
            std::string::npos);
  std::vector<float> xs(2 * 8);
  xs[3] = 1.0f;
  EXPECT_NE(error_of([&] {
              (void)ChannelAffine::fit(view(xs, 2, 8), false, {{0, 1, 0}});
            }).find("cos.rows = 0"),
            std::string::npos);
  xs[3] = INFINITY;
  EXPECT_NE(
      error_of([&] { (void)ChannelAffine::fit(view(xs, 2, 8), false); }).find("x[0, 3] = inf"),
      std::string::npos);
}

// On offset-heavy rows the codec over z has a much lower error than over x; the bytes of
// encode_affine are those of encode over forward(x); chunking keeps row numbers right.
TEST(Affine, CodecOverZBeatsPlainOnOffsetRows) {
  const int32_t dim = 64, rows = 2100;  // > one 2048-row chunk
  const Data d = make_data(dim, rows, 9);
  const auto spec = kakeya::make_codec("e8v2", dim, {{"bits", "5"}});
  const int64_t cb = spec.code_bytes();
  const auto cs = view(d.cos, rows, d.nfreq), sn = view(d.sin, rows, d.nfreq);
  const ChannelAffine aff = ChannelAffine::fit(
      view(d.x, 1000, dim), false, d.pairs, view(d.cos, 1000, d.nfreq), view(d.sin, 1000, d.nfreq));
  std::vector<uint8_t> a(rows * cb), p(rows * cb), ref(rows * cb);
  kakeya::cpu::encode_affine<float>(spec, aff, view(d.x, rows, dim), cs, sn, {a.data(), rows, cb});
  kakeya::cpu::encode<float>(spec, view(d.x, rows, dim), {p.data(), rows, cb});
  std::vector<float> z(d.x.size()), ya(d.x.size()), yp(d.x.size());
  aff.forward<float>(view(d.x, rows, dim), cs, sn, {z.data(), rows, dim, dim});
  kakeya::cpu::encode<float>(spec, view(z, rows, dim), {ref.data(), rows, cb});
  EXPECT_EQ(a, ref);
  kakeya::cpu::decode_affine<float>(spec, aff, {a.data(), rows, cb}, cs, sn,
                                    {ya.data(), rows, dim, dim});
  kakeya::cpu::decode<float>(spec, {p.data(), rows, cb}, {yp.data(), rows, dim, dim});
  double ea = 0.0, ep = 0.0;
  for (size_t i = 0; i < d.x.size(); ++i) {
    ea += (ya[i] - d.x[i]) * double(ya[i] - d.x[i]);
    ep += (yp[i] - d.x[i]) * double(yp[i] - d.x[i]);
  }
  EXPECT_LT(ea * 4.0, ep) << "affine " << ea << " plain " << ep;  // ≥ 6 dB here
  std::vector<float> bad(d.x);
  bad[2050 * dim + 7] = NAN;
  const std::string msg = error_of([&] {
    kakeya::cpu::encode_affine<float>(spec, aff, view(bad, rows, dim), cs, sn,
                                      {a.data(), rows, cb});
  });
  EXPECT_NE(msg.find("from 2048 on"), std::string::npos) << msg;
  EXPECT_NE(msg.find("x[2, 7]"), std::string::npos) << msg;
}

}  // namespace

// Nothing silently non-finite: a decode whose ẑ·σ + μ overflows, or a row whose cos/sin
// are not finite, is an error naming the row and channel.
TEST(Affine, OverflowAndNonFiniteRopeAreErrors) {
  const ChannelAffine big({3e38f, 0.0f, 0.0f, 0.0f}, {3e38f, 1.0f, 1.0f, 1.0f});
  std::vector<float> z = {2.0f, 0.0f, 0.0f, 0.0f}, out(4);
  const std::string msg = error_of([&] {
    big.inverse<float>(view(z, 1, 4), {}, {}, {out.data(), 1, 4, 4});
  });
  EXPECT_NE(msg.find("out[0, 0]: z * scale + mean overflows float32"), std::string::npos) << msg;
  const ChannelAffine rope({1.0f, 2.0f, 0.0f, 0.0f}, {}, {{0, 1, 0}});
  std::vector<float> x(4, 1.0f), zz(4), c = {NAN}, s = {0.0f};
  const std::string m2 = error_of([&] {
    rope.forward<float>(view(x, 1, 4), view(c, 1, 1), view(s, 1, 1), {zz.data(), 1, 4, 4});
  });
  EXPECT_NE(m2.find("cos[0, 0] = nan"), std::string::npos) << m2;
}
