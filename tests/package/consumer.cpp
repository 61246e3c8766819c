// SPDX-License-Identifier: Apache-2.0
// A downstream program: encodes and decodes a few vectors through the packaged library.
#include <kakeya/kakeya.h>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  const auto spec = kakeya::CodecSpec::make_lattice(kakeya::LatticeKind::kE8, 128, 38);
  std::vector<float> x(4 * 128), y(x.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i));
  std::vector<uint8_t> codes(4 * spec.code_bytes());
  kakeya::cpu::encode<float>(spec, kakeya::contiguous<const float>(x.data(), 4, 128),
                             {codes.data(), 4, spec.code_bytes()});
  kakeya::cpu::decode<float>(spec, {codes.data(), 4, spec.code_bytes()},
                             kakeya::contiguous(y.data(), 4, 128));
  double err = 0, ref = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    err += (x[i] - y[i]) * (x[i] - y[i]);
    ref += x[i] * x[i];
  }
  std::printf("consumer: %lld bits/vector, relative error %.3g\n",
              static_cast<long long>(spec.bits_per_vector()), err / ref);
  return (spec.bits_per_vector() == 832 && err / ref < 1e-2) ? 0 : 1;
}
