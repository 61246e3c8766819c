// SPDX-License-Identifier: Apache-2.0
// libFuzzer harness: kakeya::cpu::decode of arbitrary records, for every codec kind.
//
// Input layout (kept fixed so the committed corpus keeps its meaning):
//   byte 0   codec: kCodecs[b0 % size]
//   byte 1   q = 1 + b1 % 127                        (ignored by codecs without q)
//   byte 2   scale = kScales[b2 % 3], dim = kDims[(b2 >> 2) % size]
//   byte 3   rows = 1 + (b3 & 3), rope_dims = kRopeDims[(b3 >> 2) % size]
//   rest     rows records of code_bytes each (zero-padded when short)
// A parameter combination the spec rejects ends the input: spec validation is fuzzed by
// fuzz_spec. For a valid spec the property checked is the decode contract of
// include/kakeya/cpu/codec.h: a record either decodes to finite values or the call
// throws kakeya::InvalidArgument. Any other exception, a non-finite value, or a
// sanitizer report is a finding. A decoded batch must also re-encode without crashing
// (it may be rejected with InvalidArgument) and that re-encode must decode finitely.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "kakeya/kakeya.h"

namespace {

// Every codec name the library parses. To fuzz a new codec, append its name here (at the
// end, so byte 0 of the committed corpus keeps pointing at the same codecs) and add one
// or two seed records to tests/fuzz/corpus/fuzz_decode/ (tests/fuzz/make_corpus.py).
constexpr const char* kCodecs[] = {
    "e8", "d4", "z", "fp8_per64", "v4_native", "bf16",
};
constexpr const char* kScales[] = {"bf16", "fp16", "norm_qmax"};
constexpr int32_t kDims[] = {8, 16, 24, 32, 64, 96, 128, 192, 256, 320, 512, 576};
constexpr int32_t kRopeDims[] = {64, 0, 32, 128};

template <class T, size_t N>
constexpr size_t count_of(const T (&)[N]) noexcept {
  return N;
}

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_decode finding: %s: %s\n", what, detail.c_str());
  std::abort();
}

void require_finite(const std::vector<float>& v, const kakeya::CodecSpec& spec, const char* step) {
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i]))
      finding(step, spec.name() + ": value " + std::to_string(i) + " = " + std::to_string(v[i]) +
                        " is not finite and the call did not throw");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  kakeya::cpu::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const char* kind = kCodecs[data[0] % count_of(kCodecs)];
  const int32_t q = 1 + data[1] % 127;
  const char* scale = kScales[data[2] % count_of(kScales)];
  const int32_t dim = kDims[(data[2] >> 2) % count_of(kDims)];
  const int64_t rows = 1 + (data[3] & 3);
  const int32_t rope = kRopeDims[(data[3] >> 2) % count_of(kRopeDims)];

  kakeya::CodecSpec spec;
  try {
    spec = kakeya::parse_codec(kind, dim, q, scale, rope);
  } catch (const kakeya::InvalidArgument&) {
    return 0;
  }
  const int64_t cb = spec.code_bytes();
  std::vector<uint8_t> codes(static_cast<size_t>(rows * cb), 0);
  std::memcpy(codes.data(), data + 4, std::min(codes.size(), size - 4));
  std::vector<float> out(static_cast<size_t>(rows * dim), -1.0f);

  try {
    kakeya::cpu::decode<float>(spec, {codes.data(), rows, cb},
                               kakeya::contiguous(out.data(), rows, dim));
  } catch (const kakeya::InvalidArgument&) {
    return 0;  // documented: a corrupt record is reported, nothing else is promised
  } catch (const std::exception& e) {
    finding("decode threw something other than kakeya::InvalidArgument", e.what());
  }
  require_finite(out, spec, "decode");

  // The decoded values are ordinary finite inputs: encoding them may be refused (e.g. a
  // scale the format cannot hold) but only with InvalidArgument, and what it writes
  // decodes to finite values.
  std::vector<uint8_t> again(codes.size(), 0);
  try {
    kakeya::cpu::encode<float>(spec, kakeya::contiguous<const float>(out.data(), rows, dim),
                               {again.data(), rows, cb});
  } catch (const kakeya::InvalidArgument&) {
    return 0;
  } catch (const std::exception& e) {
    finding("re-encode threw something other than kakeya::InvalidArgument", e.what());
  }
  std::vector<float> out2(out.size());
  try {
    kakeya::cpu::decode<float>(spec, {again.data(), rows, cb},
                               kakeya::contiguous(out2.data(), rows, dim));
  } catch (const std::exception& e) {
    finding("a record written by encode does not decode", e.what());
  }
  require_finite(out2, spec, "decode of the re-encoded batch");
  return 0;
}
