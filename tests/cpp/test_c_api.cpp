// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kakeya/c_api.h"

TEST(CApi, RoundTripAndErrors) {
  kakeya_codec* c = nullptr;
  ASSERT_EQ(kakeya_codec_create("e8", 128, 38, "bf16", 0, &c), 0);
  int64_t cb = 0, bits = 0;
  ASSERT_EQ(kakeya_codec_code_bytes(c, &cb), 0);
  ASSERT_EQ(kakeya_codec_bits_per_vector(c, &bits), 0);
  EXPECT_EQ(bits, 832);
  EXPECT_EQ(cb, 104);
  std::vector<float> x(3 * 128), y(x.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.1f * static_cast<float>(i));
  std::vector<uint8_t> codes(3 * cb);
  ASSERT_EQ(kakeya_encode_f32(c, x.data(), 3, 128, codes.data(), cb), 0);
  ASSERT_EQ(kakeya_decode_f32(c, codes.data(), 3, cb, y.data(), 128), 0);
  double e = 0, n = 0;
  for (size_t i = 0; i < x.size(); ++i) e += (x[i] - y[i]) * (x[i] - y[i]), n += x[i] * x[i];
  EXPECT_LT(e / n, 1e-2);

  x[5] = NAN;
  EXPECT_EQ(kakeya_encode_f32(c, x.data(), 3, 128, codes.data(), cb), -2);
  EXPECT_NE(std::string(kakeya_last_error()).find("x[0, 5]"), std::string::npos);
  EXPECT_EQ(kakeya_encode_f32(c, x.data(), 3, 128, codes.data(), cb - 1), -1);
  EXPECT_EQ(kakeya_encode_f32(nullptr, x.data(), 3, 128, codes.data(), cb), -1);
  kakeya_codec_destroy(c);

  kakeya_codec* bad = nullptr;
  EXPECT_EQ(kakeya_codec_create("e8", 100, 38, "bf16", 0, &bad), -1);
  EXPECT_EQ(bad, nullptr);
  EXPECT_NE(std::string(kakeya_last_error()).find("dim = 100"), std::string::npos);
  EXPECT_EQ(kakeya_codec_create(nullptr, 128, 38, "bf16", 0, &bad), -1);
}

TEST(CApi, AffineRoundTripAndErrors) {
  kakeya_codec* c = nullptr;
  ASSERT_EQ(kakeya_codec_make("e8v2", 32, "bits=6", &c), 0);
  int64_t cb = 0;
  ASSERT_EQ(kakeya_codec_code_bytes(c, &cb), 0);
  std::vector<float> mean(32), scale(32, 2.0f);
  for (int i = 0; i < 32; ++i) mean[i] = 50.0f + static_cast<float>(i);
  const int32_t pairs[] = {0, 1, 0, 2, 3, 1};
  kakeya_affine* a = nullptr;
  ASSERT_EQ(kakeya_affine_create(32, mean.data(), scale.data(), pairs, 2, &a), 0);
  int32_t nf = -1;
  ASSERT_EQ(kakeya_affine_nfreq(a, &nf), 0);
  EXPECT_EQ(nf, 2);
  const int rows = 4;
  std::vector<float> x(rows * 32), y(x.size()), cs(rows * 2), sn(rows * 2);
  for (size_t i = 0; i < x.size(); ++i) x[i] = mean[i % 32] + std::sin(0.3f * static_cast<float>(i));
  for (int r = 0; r < rows; ++r)
    for (int f = 0; f < 2; ++f) {  // rows at position r: channels (2f, 2f+1) rotated by 0.1·r
      const float c0 = std::cos(0.1f * r), s0 = std::sin(0.1f * r);
      cs[r * 2 + f] = c0, sn[r * 2 + f] = s0;
      float* xr = x.data() + r * 32;
      const float a = xr[2 * f], b = xr[2 * f + 1];
      xr[2 * f] = a * c0 - b * s0, xr[2 * f + 1] = a * s0 + b * c0;
    }
  std::vector<uint8_t> codes(rows * cb);
  ASSERT_EQ(kakeya_encode_affine_f32(c, a, x.data(), rows, 32, cs.data(), sn.data(), 2, codes.data(), cb), 0)
      << kakeya_last_error();
  ASSERT_EQ(kakeya_decode_affine_f32(c, a, codes.data(), rows, cb, cs.data(), sn.data(), 2, y.data(), 32), 0);
  double e = 0;
  for (size_t i = 0; i < x.size(); ++i) e = std::max(e, double(std::fabs(x[i] - y[i])));
  EXPECT_LT(e, 0.05);
  EXPECT_EQ(kakeya_encode_affine_f32(c, a, x.data(), rows, 32, nullptr, nullptr, 2, codes.data(), cb), -1);
  EXPECT_NE(std::string(kakeya_last_error()).find("cos.rows = 0"), std::string::npos);
  kakeya_affine* bad = nullptr;
  scale[3] = -1.0f;
  EXPECT_EQ(kakeya_affine_create(32, mean.data(), scale.data(), nullptr, 0, &bad), -1);
  EXPECT_EQ(bad, nullptr);
  EXPECT_NE(std::string(kakeya_last_error()).find("scale[3] = -1"), std::string::npos);
  kakeya_affine_destroy(a);
  kakeya_codec_destroy(c);
}
