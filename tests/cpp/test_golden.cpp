// SPDX-License-Identifier: Apache-2.0
// Golden files: codes of fixed inputs computed by the independent NumPy reference
// (tests/golden/make_golden.py). Bytes must match exactly, and decoding must reproduce
// the reference's reconstruction bit for bit.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "kakeya/kakeya.h"

using namespace kakeya;

namespace {
std::vector<uint8_t> unhex(const std::string& h) {
  std::vector<uint8_t> out(h.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(std::stoi(h.substr(2 * i, 2), nullptr, 16));
  return out;
}
std::vector<float> floats(const std::string& h) {
  const auto b = unhex(h);
  std::vector<float> f(b.size() / 4);
  std::memcpy(f.data(), b.data(), b.size());
  return f;
}
}  // namespace

TEST(Golden, FormatVersion1) {
  std::ifstream in(std::string(KAKEYA_GOLDEN_DIR) + "/golden_v1.json");
  ASSERT_TRUE(in.good()) << "missing golden_v1.json";
  const auto j = nlohmann::json::parse(in);
  ASSERT_EQ(j["format_version"].get<int>(), KAKEYA_FORMAT_VERSION);
  int ncases = 0;
  for (const auto& c : j["cases"]) {
    const auto spec = parse_codec(c["kind"].get<std::string>(), c["dim"].get<int>(), c["q"].get<int>(),
                                  c["scale"].get<std::string>(), c["rope_dims"].get<int>());
    const int64_t rows = c["rows"].get<int64_t>();
    ASSERT_EQ(spec.code_bytes(), c["code_bytes"].get<int64_t>()) << spec.name();
    const auto x = floats(c["x_f32_le_hex"].get<std::string>());
    const auto want = unhex(c["codes_hex"].get<std::string>());
    std::vector<uint8_t> got(want.size(), 0xEE);
    cpu::encode<float>(spec, contiguous<const float>(x.data(), rows, spec.dim), {got.data(), rows, spec.code_bytes()});
    for (int64_t r = 0; r < rows; ++r)
      EXPECT_EQ(0, std::memcmp(&got[r * spec.code_bytes()], &want[r * spec.code_bytes()], spec.code_bytes()))
          << spec.name() << " row " << r;
    if (!c["xhat_f32_le_hex"].is_null()) {
      const auto xh = floats(c["xhat_f32_le_hex"].get<std::string>());
      std::vector<float> out(x.size());
      cpu::decode<float>(spec, {want.data(), rows, spec.code_bytes()}, contiguous(out.data(), rows, spec.dim));
      for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], xh[i]) << spec.name() << " element " << i;
    }
    ++ncases;
  }
  EXPECT_GE(ncases, 20);
}
