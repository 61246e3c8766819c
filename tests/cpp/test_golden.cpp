// SPDX-License-Identifier: Apache-2.0
// Golden files: codes of fixed inputs computed by the independent NumPy references
// (tests/golden/make_golden.py). Bytes must match exactly, and decoding must reproduce
// the reference's reconstruction bit for bit (-0 and +0 differ).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <set>
#include <nlohmann/json.hpp>

#include "kakeya/kakeya.h"
#include "test_util.h"

using namespace kakeya;

namespace {
using kt::unhex;
const auto floats = kt::floats_from_hex;
const auto bits_of = kt::bits_of;

/// Encodes the case's x, compares every record with the golden codes, decodes the
/// golden codes and compares every output bit (stops at the first differing value).
void check_case(const CodecSpec& spec, const nlohmann::json& c) {
  const int64_t rows = c["rows"].get<int64_t>();
  ASSERT_EQ(spec.code_bytes(), c["code_bytes"].get<int64_t>()) << spec.name();
  const int64_t cb = spec.code_bytes();
  const auto x = floats(c["x_f32_le_hex"].get<std::string>());
  const auto want = unhex(c["codes_hex"].get<std::string>());
  ASSERT_EQ(x.size(), static_cast<size_t>(rows * spec.dim)) << spec.name();
  ASSERT_EQ(want.size(), static_cast<size_t>(rows * cb)) << spec.name();
  std::vector<uint8_t> got(want.size(), 0xEE);
  cpu::encode<float>(spec, contiguous<const float>(x.data(), rows, spec.dim), {got.data(), rows, cb});
  for (int64_t r = 0; r < rows; ++r)
    EXPECT_EQ(0, std::memcmp(&got[r * cb], &want[r * cb], cb)) << spec.name() << " row " << r;
  if (!c["xhat_f32_le_hex"].is_null()) {
    const auto xh = floats(c["xhat_f32_le_hex"].get<std::string>());
    std::vector<float> out(x.size());
    cpu::decode<float>(spec, {want.data(), rows, cb}, contiguous(out.data(), rows, spec.dim));
    for (size_t i = 0; i < out.size(); ++i)
      ASSERT_EQ(bits_of(out[i]), bits_of(xh[i]))
          << spec.name() << " row " << i / spec.dim << " col " << i % spec.dim << ": " << out[i] << " vs " << xh[i];
  }
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
    check_case(spec, c);
    if (HasFatalFailure()) return;
    ++ncases;
  }
  EXPECT_GE(ncases, 20);
}

// The peer formats (v4_native, v41_mxfp8, mxfp8, mxfp4, nvfp4, int, lloydmax): every
// case names its factory family and parameters, so the check is generic.
TEST(Golden, PeersFormatVersion1) {
  std::ifstream in(std::string(KAKEYA_GOLDEN_DIR) + "/golden_peers_v1.json");
  ASSERT_TRUE(in.good()) << "missing golden_peers_v1.json";
  const auto j = nlohmann::json::parse(in);
  ASSERT_EQ(j["format_version"].get<int>(), KAKEYA_FORMAT_VERSION);
  std::set<std::string> families;
  int ncases = 0;
  for (const auto& c : j["cases"]) {
    CodecParams params;
    for (const auto& kv : c["params"].items()) params[kv.key()] = kv.value().get<std::string>();
    const auto spec = make_codec(c["codec"].get<std::string>(), c["dim"].get<int32_t>(), params);
    EXPECT_EQ(spec.family(), c["codec"].get<std::string>());
    families.insert(spec.family());
    check_case(spec, c);
    if (HasFatalFailure()) return;
    ++ncases;
  }
  EXPECT_GE(ncases, 20);
  EXPECT_EQ(families, (std::set<std::string>{"v4_native", "v41_mxfp8", "mxfp8", "mxfp4", "nvfp4", "int", "lloydmax"}));
}
