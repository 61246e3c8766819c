// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kakeya/numeric/formats.h"

using namespace kakeya;

namespace {
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Brute force: nearest of the 254 finite E4M3 values in double, ties to even code
// (= even mantissa), saturating beyond 448.
uint8_t e4m3_brute(float f) {
  if (std::isnan(f)) return 0x7f;
  double v = std::fmax(-448.0, std::fmin(448.0, static_cast<double>(f)));
  int best = -1;
  double bd = 0;
  for (int c = 0; c < 256; ++c) {
    if ((c & 0x7f) == 0x7f) continue;
    if (((c & 0x80) != 0) != std::signbit(v)) continue;  // same sign (keeps -0 -> 0x80)
    const double d = std::fabs(v - static_cast<double>(e4m3_to_float(static_cast<uint8_t>(c))));
    if (best < 0 || d < bd || (d == bd && (c & 1) == 0 && (best & 1) == 1)) {
      best = c;
      bd = d;
    }
  }
  return static_cast<uint8_t>(best);
}
}  // namespace

TEST(E4M3, DecodeTable) {
  EXPECT_EQ(e4m3_to_float(0x7e), 448.0f);
  EXPECT_EQ(e4m3_to_float(0x01), std::ldexp(1.0f, -9));
  EXPECT_EQ(e4m3_to_float(0x08), std::ldexp(1.0f, -6));
  EXPECT_TRUE(std::isnan(e4m3_to_float(0x7f)));
  EXPECT_TRUE(std::isnan(e4m3_to_float(0xff)));
  for (int c = 0; c < 256; ++c) {
    if ((c & 0x7f) == 0x7f) continue;
    EXPECT_EQ(float_to_e4m3(e4m3_to_float(static_cast<uint8_t>(c))), c) << c;
  }
}

TEST(E4M3, ExhaustiveOverBf16AndMidpoints) {
  // Every bf16 bit pattern (covers every exponent and sign), plus every midpoint between
  // neighbouring E4M3 values and its float32 neighbours (the tie cases).
  std::vector<float> probes;
  for (uint32_t h = 0; h < 65536; ++h) probes.push_back(from_bits(h << 16));
  for (int c = 0; c < 0x7e; ++c) {
    const float a = e4m3_to_float(static_cast<uint8_t>(c)), b = e4m3_to_float(static_cast<uint8_t>(c + 1));
    const float m = 0.5f * (a + b);
    for (float v : {m, std::nextafter(m, 0.f), std::nextafter(m, 1e9f)}) {
      probes.push_back(v);
      probes.push_back(-v);
    }
  }
  for (float v : {448.0f, 456.0f, 464.0f, 500.0f, 1e30f, std::numeric_limits<float>::infinity()}) {
    probes.push_back(v);
    probes.push_back(-v);
  }
  for (float v : probes) {
    if (std::isnan(v)) {
      EXPECT_EQ(float_to_e4m3(v), 0x7f);
      continue;
    }
    ASSERT_EQ(float_to_e4m3(v), e4m3_brute(v)) << "v = " << v;
  }
}

TEST(E4M3, RandomFloats) {
  std::mt19937 g(7);
  std::uniform_int_distribution<uint32_t> u;
  for (int i = 0; i < 200000; ++i) {
    float v = from_bits(u(g));
    if (std::isnan(v)) continue;
    // concentrate near the representable range
    if (std::fabs(v) > 1e4f || std::fabs(v) < 1e-6f) v = std::ldexp(std::fmod(std::fabs(v), 1.0f) + 0.5f, static_cast<int>(u(g) % 24) - 12) * (u(g) & 1 ? -1.f : 1.f);
    ASSERT_EQ(float_to_e4m3(v), e4m3_brute(v)) << v;
  }
}

TEST(F16, MatchesCompilerConversion) {
#if defined(__FLT16_MAX__)
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = f16_to_float(static_cast<uint16_t>(h));
    _Float16 ref;
    uint16_t hb = static_cast<uint16_t>(h);
    std::memcpy(&ref, &hb, 2);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(static_cast<float>(ref)));
      continue;
    }
    ASSERT_EQ(f, static_cast<float>(ref)) << h;
    ASSERT_EQ(float_to_f16(f), h) << h;
  }
  std::mt19937 g(3);
  std::uniform_int_distribution<uint32_t> u;
  for (int i = 0; i < 1000000; ++i) {
    const float v = from_bits(u(g));
    if (std::isnan(v)) continue;
    const _Float16 r = static_cast<_Float16>(v);
    uint16_t rb;
    std::memcpy(&rb, &r, 2);
    ASSERT_EQ(float_to_f16(v), rb) << v;
  }
#else
  GTEST_SKIP() << "compiler has no _Float16 to compare against";
#endif
}

TEST(F16, RoundUp) {
  std::mt19937 g(5);
  std::uniform_real_distribution<float> u(0.f, 70000.f);
  for (int i = 0; i < 100000; ++i) {
    const float v = i % 2 ? u(g) : u(g) * 1e-9f;
    const uint16_t h = float_to_f16_up(v);
    if (h == 0x7c00) {
      EXPECT_GT(v, 65504.f);
      continue;
    }
    ASSERT_GE(f16_to_float(h), v);
    if (h > 0) {
      ASSERT_LT(f16_to_float(static_cast<uint16_t>(h - 1)), v);
    }
  }
}

TEST(BF16, RoundNearestEvenAndUp) {
  std::mt19937 g(11);
  std::uniform_int_distribution<uint32_t> u;
  for (int i = 0; i < 1000000; ++i) {
    const float v = from_bits(u(g) & 0xff7fffffu);  // finite
    if (std::fabs(v) < std::numeric_limits<float>::min()) continue;  // checked below
    const uint16_t h = float_to_bf16(v);
    // Reference: round in double to 8 significant bits, ties to even.
    int e;
    const double m = std::frexp(static_cast<double>(v), &e);  // v = m 2^e, m in [0.5,1)
    double scaled = std::ldexp(m, 8);
    double r = std::nearbyint(scaled);  // default rounding: ties to even
    const double ref = std::ldexp(r, e - 8);
    if (std::isinf(static_cast<float>(ref))) continue;
    ASSERT_EQ(bf16_to_float(h), static_cast<float>(ref)) << v;
    const uint16_t up = float_to_bf16_up(std::fabs(v));
    ASSERT_GE(bf16_to_float(up), std::fabs(v));
  }
  // float32 subnormals: bf16 keeps the top 16 bits, rounded to nearest even.
  EXPECT_EQ(float_to_bf16(from_bits(0x00018000u)), 0x0002);  // tie -> even
  EXPECT_EQ(float_to_bf16(from_bits(0x00008000u)), 0x0000);  // tie -> even (0)
  EXPECT_EQ(float_to_bf16(from_bits(0x00008001u)), 0x0001);
  EXPECT_EQ(float_to_bf16_up(from_bits(0x00000001u)), 0x0001);
  EXPECT_EQ(float_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::nanf("")))));
}

TEST(E8M0, Values) {
  EXPECT_EQ(e8m0_to_float(127), 1.0f);
  EXPECT_EQ(e8m0_to_float(128), 2.0f);
  EXPECT_EQ(e8m0_to_float(120), std::ldexp(1.0f, -7));
  EXPECT_EQ(e8m0_to_float(0), std::ldexp(1.0f, -127));
  EXPECT_EQ(e8m0_to_float(254), std::ldexp(1.0f, 127));
  EXPECT_TRUE(std::isnan(e8m0_to_float(255)));
}
