// SPDX-License-Identifier: Apache-2.0
// libFuzzer harness for the codec factory (include/kakeya/codec/registry.h): make_codec
// with arbitrary family names, parameter names and values, and the legacy parse_codec
// with arbitrary names and integers. Families and their parameter names come from
// codec_families(), so a new family is fuzzed without a change here.
//
// Properties: the factory returns a spec or throws kakeya::InvalidArgument (nothing else);
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

constexpr const char* kScales[] = {"bf16", "fp16", "norm_qmax"};

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_spec finding: %s: %s\n", what, detail.c_str());
  std::abort();
}

/// A parameter value: mostly a small integer or a scale name, sometimes any text.
std::string value_from(FuzzedDataProvider& p) {
  switch (p.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      return std::to_string(p.ConsumeIntegralInRange<int32_t>(-4, 130));
    case 1:
      return kScales[p.ConsumeIntegralInRange<int>(0, 2)];
    case 2:
      return std::to_string(p.ConsumeFloatingPoint<float>());
    default:
      return p.ConsumeRandomLengthString(12);
  }
}

/// make_codec or parse_codec from the input; throws what they throw.
kakeya::CodecSpec spec_from(FuzzedDataProvider& p) {
  const auto& families = kakeya::codec_families();
  const int32_t dim =
      p.ConsumeBool() ? p.ConsumeIntegralInRange<int32_t>(-8, 1100) : p.ConsumeIntegral<int32_t>();
  if (p.ConsumeIntegralInRange<int>(0, 3) == 0) {  // the legacy C ABI parser
    const std::string kind =
        p.ConsumeBool() ? families[p.ConsumeIntegralInRange<size_t>(0, families.size() - 1)].name
                        : p.ConsumeRandomLengthString(12);
    const std::string scale = p.ConsumeBool() ? kScales[p.ConsumeIntegralInRange<int>(0, 2)]
                                              : p.ConsumeRandomLengthString(12);
    const int32_t q = p.ConsumeIntegralInRange<int32_t>(-2, 130);
    const int32_t rope = p.ConsumeBool() ? 64 : p.ConsumeIntegral<int32_t>();
    return kakeya::parse_codec(kind, dim, q, scale, rope);
  }
  const bool known = p.ConsumeIntegralInRange<int>(0, 7) != 0;
  const kakeya::CodecFamily& fam =
      families[p.ConsumeIntegralInRange<size_t>(0, families.size() - 1)];
  const std::string name = known ? std::string(fam.name) : p.ConsumeRandomLengthString(12);
  kakeya::CodecParams params;
  for (const auto& kv : fam.params)
    if (p.ConsumeBool()) params[kv.first] = value_from(p);
  if (p.ConsumeIntegralInRange<int>(0, 15) == 0)
    params[p.ConsumeRandomLengthString(8)] = value_from(p);
  return kakeya::make_codec(name, dim, params);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  kakeya::cpu::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider p(data, size);
  kakeya::CodecSpec spec;
  try {
    spec = spec_from(p);
  } catch (const kakeya::InvalidArgument&) {
    return 0;
  } catch (const std::exception& e) {
    finding("the factory threw something other than kakeya::InvalidArgument", e.what());
  }
  try {
    spec.validate();
  } catch (const std::exception& e) {
    finding("a spec returned by parse_codec does not validate", e.what());
  }
  const int64_t bits = spec.bits_per_vector(), cb = spec.code_bytes();
  if (bits <= 0 || cb != (bits + 7) / 8) finding("inconsistent sizes", spec.name());
  if (spec.name().empty()) finding("empty name", spec.family());
  try {  // the spec's own family and parameters rebuild it
    const kakeya::CodecSpec again = kakeya::make_codec(spec.family(), spec.dim, spec.params());
    if (again.name() != spec.name() || again.code_bytes() != cb)
      finding("make_codec(family(), dim, params()) differs", spec.name() + " vs " + again.name());
  } catch (const std::exception& e) {
    finding("make_codec(family(), dim, params()) threw", spec.name() + ": " + e.what());
  }
  if (spec.kind == kakeya::CodecKind::kLattice) {
    const kakeya::LatticeLayout lay = spec.layout();
    if (lay.code_bytes != cb || lay.nblocks * lay.block_dim != spec.dim)
      finding("layout disagrees with the spec", spec.name());
  }
  // Larger specs: sizes only, to keep executions fast. e8v2's encoder is a search (~1 ms a
  // row at dim 1024 under ASan, 100x the other codecs), so its usability check runs up to
  // dim 256; fuzz_decode (dims to 576) and fuzz_c_api re-encode e8v2 rows as well.
  if (spec.dim > (spec.kind == kakeya::CodecKind::kE8V2 ? 256 : 1100)) return 0;

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
