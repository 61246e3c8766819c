// SPDX-License-Identifier: Apache-2.0
// libFuzzer harness for kakeya::parse_codec (include/kakeya/codec/spec.h): arbitrary
// names and integers.
//
// Properties: parse_codec returns a spec or throws kakeya::InvalidArgument (nothing else);
// a returned spec passes validate(), its sizes are consistent (code_bytes is
// bits_per_vector rounded up to a byte), lattice specs have a layout, and the spec is
// usable: a row of finite values encodes (or is refused with InvalidArgument) and what
// encode writes decodes to finite values.
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "kakeya/kakeya.h"

namespace {

constexpr const char* kKinds[] = {"e8", "d4", "z", "fp8_per64", "v4_native", "bf16"};
constexpr const char* kScales[] = {"bf16", "fp16", "norm_qmax"};

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_spec finding: %s: %s\n", what, detail.c_str());
  std::abort();
}

std::string name_from(FuzzedDataProvider& p, const char* const* table, size_t n) {
  if (p.ConsumeBool()) return table[p.ConsumeIntegralInRange<size_t>(0, n - 1)];
  return p.ConsumeRandomLengthString(12);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  kakeya::cpu::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider p(data, size);
  const std::string kind = name_from(p, kKinds, 6);
  const std::string scale = name_from(p, kScales, 3);
  const int32_t dim =
      p.ConsumeBool() ? p.ConsumeIntegralInRange<int32_t>(-8, 1100) : p.ConsumeIntegral<int32_t>();
  const int32_t q =
      p.ConsumeBool() ? p.ConsumeIntegralInRange<int32_t>(-2, 130) : p.ConsumeIntegral<int32_t>();
  const int32_t rope = p.ConsumeBool() ? 64 : p.ConsumeIntegral<int32_t>();

  kakeya::CodecSpec spec;
  try {
    spec = kakeya::parse_codec(kind, dim, q, scale, rope);
  } catch (const kakeya::InvalidArgument&) {
    return 0;
  } catch (const std::exception& e) {
    finding("parse_codec threw something other than kakeya::InvalidArgument", e.what());
  }
  try {
    spec.validate();
  } catch (const std::exception& e) {
    finding("a spec returned by parse_codec does not validate", e.what());
  }
  const int64_t bits = spec.bits_per_vector(), cb = spec.code_bytes();
  if (bits <= 0 || cb != (bits + 7) / 8) finding("inconsistent sizes", spec.name());
  if (spec.name().empty()) finding("empty name", kind);
  if (spec.kind == kakeya::CodecKind::kLattice) {
    const kakeya::LatticeLayout lay = spec.layout();
    if (lay.code_bytes != cb || lay.nblocks * lay.block_dim != spec.dim)
      finding("layout disagrees with the spec", spec.name());
  }
  if (spec.dim > 1100) return 0;  // larger specs: sizes only, to keep executions fast

  std::vector<float> x(static_cast<size_t>(spec.dim));
  for (auto& v : x) v = p.ConsumeFloatingPointInRange<float>(-100.f, 100.f);
  std::vector<uint8_t> codes(static_cast<size_t>(cb));
  try {
    kakeya::cpu::encode<float>(spec, kakeya::contiguous<const float>(x.data(), 1, spec.dim),
                               {codes.data(), 1, cb});
  } catch (const kakeya::InvalidArgument&) {
    return 0;
  } catch (const std::exception& e) {
    finding("encode threw something other than kakeya::InvalidArgument", e.what());
  }
  std::vector<float> out(x.size());
  try {
    kakeya::cpu::decode<float>(spec, {codes.data(), 1, cb},
                               kakeya::contiguous(out.data(), 1, spec.dim));
  } catch (const std::exception& e) {
    finding("a record written by encode does not decode", spec.name() + ": " + e.what());
  }
  for (float v : out)
    if (!std::isfinite(v)) finding("decode of an encoded row is not finite", spec.name());
  return 0;
}
