// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

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
