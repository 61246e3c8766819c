// SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <random>
#include <vector>

#include "kakeya/kakeya.h"

namespace kt {

inline std::vector<float> gaussian(int64_t rows, int64_t dim, uint32_t seed, float sigma = 1.f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> n(0.f, sigma);
  std::vector<float> x(static_cast<size_t>(rows * dim));
  for (auto& v : x) v = n(g);
  return x;
}

struct RoundTrip {
  std::vector<uint8_t> codes;
  std::vector<float> xhat;
};

inline RoundTrip roundtrip(const kakeya::CodecSpec& spec, const std::vector<float>& x, int64_t rows) {
  RoundTrip r;
  const int64_t cb = spec.code_bytes();
  r.codes.assign(static_cast<size_t>(rows * cb), 0xAB);
  r.xhat.assign(x.size(), -7.f);
  kakeya::cpu::encode<float>(spec, kakeya::contiguous<const float>(x.data(), rows, spec.dim),
                             {r.codes.data(), rows, cb});
  kakeya::cpu::decode<float>(spec, {r.codes.data(), rows, cb},
                             kakeya::contiguous(r.xhat.data(), rows, spec.dim));
  return r;
}

inline double rel_mse(const std::vector<float>& x, const std::vector<float>& y, int64_t rows, int64_t dim) {
  return kakeya::cpu::rel_mse<float, float>(kakeya::contiguous<const float>(x.data(), rows, dim),
                                            kakeya::contiguous<const float>(y.data(), rows, dim));
}

/// Golden files: bytes from a hex string, little-endian float32s from hex, a float's bits.
inline std::vector<uint8_t> unhex(const std::string& h) {
  std::vector<uint8_t> out(h.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(std::stoi(h.substr(2 * i, 2), nullptr, 16));
  return out;
}
inline std::vector<float> floats_from_hex(const std::string& h) {
  const auto b = unhex(h);
  std::vector<float> f(b.size() / 4);
  std::memcpy(f.data(), b.data(), b.size());
  return f;
}
inline uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

}  // namespace kt
