// SPDX-License-Identifier: Apache-2.0
// libFuzzer harness: kakeya::cpu::decode of arbitrary records, for every codec family
// of the factory (include/kakeya/codec/registry.h).
//
// Input layout (kept fixed so the committed corpus keeps its meaning):
//   byte 0     family: codec_families()[b0 % count]
//   byte 1     q = 1 + b1 % 127 (lattice), bits = 1 + b1 % 8 (int, lloydmax)
//   byte 2     scale = kScales[b2 % 3], dim = kDims[(b2 >> 2) % count]
//   byte 3     rows = 1 + (b3 & 3), rope_dims = kRopeDims[(b3 >> 2) & 3],
//              group = kGroups[(b3 >> 4) & 3]
//   bytes 4-7  tensor_scale (nvfp4): the little-endian float32 bits, any value
//   rest       rows records of code_bytes each (zero-padded when short)
// A parameter combination the factory rejects ends the input: spec validation is fuzzed
// by fuzz_spec. For a valid spec the property checked is the decode contract of
// include/kakeya/cpu/codec.h: a record either decodes to finite values or the call
// throws kakeya::InvalidArgument (CorruptCode derives from it); with `bad_rows` the
// corrupt rows are flagged and zeroed instead, and both forms agree. Any other
// exception, a non-finite value, or a sanitizer report is a finding. A decoded batch
// must also re-encode without crashing (it may be rejected with InvalidArgument) and
// that re-encode must decode finitely.
//
// Where to add a codec: nowhere here. The families come from codec_families() (the
// registry, in its order; new families are appended there, so byte 0 of the committed
// corpus keeps pointing at the same ones). A family with a new parameter needs one line
// in param_value() below and seeds in tests/fuzz/corpus/fuzz_decode/ (make_corpus.py).
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

constexpr const char* kScales[] = {"bf16", "fp16", "norm_qmax"};
constexpr int32_t kDims[] = {8, 16, 24, 32, 64, 96, 128, 192, 256, 320, 512, 576};
constexpr int32_t kRopeDims[] = {64, 0, 32, 128};
constexpr int32_t kGroups[] = {64, 16, 32, 128};

template <class T, size_t N>
constexpr size_t count_of(const T (&)[N]) noexcept {
  return N;
}

/// The value of factory parameter `key` drawn from the input header `h` (bytes 0-7);
/// false for a parameter this harness does not know (the family default is then used).
bool param_value(const std::string& key, const uint8_t* h, std::string* v) {
  if (key == "q")
    *v = std::to_string(1 + h[1] % 127);
  else if (key == "bits")
    *v = std::to_string(1 + h[1] % 8);
  else if (key == "scale")
    *v = kScales[h[2] % count_of(kScales)];
  else if (key == "rope_dims")
    *v = std::to_string(kRopeDims[(h[3] >> 2) & 3]);
  else if (key == "group")
    *v = std::to_string(kGroups[(h[3] >> 4) & 3]);
  else if (key == "tensor_scale") {
    float f;
    std::memcpy(&f, h + 4, sizeof f);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(f));
    *v = buf;
  } else {
    return false;
  }
  return true;
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
  constexpr size_t kHeader = 8;
  if (size < kHeader) return 0;
  const auto& families = kakeya::codec_families();
  const kakeya::CodecFamily& fam = families[data[0] % families.size()];
  const int32_t dim = kDims[(data[2] >> 2) % count_of(kDims)];
  const int64_t rows = 1 + (data[3] & 3);
  kakeya::CodecParams params;
  for (const auto& p : fam.params) {
    std::string v;
    if (param_value(p.first, data, &v)) params[p.first] = v;
  }
  kakeya::CodecSpec spec;
  try {
    spec = kakeya::make_codec(fam.name, dim, params);
  } catch (const kakeya::InvalidArgument&) {
    return 0;
  }
  const int64_t cb = spec.code_bytes();
  std::vector<uint8_t> codes(static_cast<size_t>(rows * cb), 0);
  std::memcpy(codes.data(), data + kHeader, std::min(codes.size(), size - kHeader));
  std::vector<float> out(static_cast<size_t>(rows * dim), -1.0f);

  // decode with bad_rows: never throws for corrupt records; a flagged row is all zero,
  // every other row finite. The throwing form must fail exactly when a row is flagged.
  std::vector<uint8_t> bad(static_cast<size_t>(rows), 2);
  try {
    kakeya::cpu::decode<float>(spec, {codes.data(), rows, cb},
                               kakeya::contiguous(out.data(), rows, dim), bad.data());
  } catch (const std::exception& e) {
    finding("decode with bad_rows threw", e.what());
  }
  bool any_bad = false;
  for (int64_t r = 0; r < rows; ++r) {
    if (bad[static_cast<size_t>(r)] > 1) finding("bad_rows entry not written", spec.name());
    any_bad |= bad[static_cast<size_t>(r)] == 1;
    for (int32_t c = 0; c < dim; ++c) {
      const float v = out[static_cast<size_t>(r * dim + c)];
      if (bad[static_cast<size_t>(r)] ? v != 0.0f : !std::isfinite(v))
        finding("decode with bad_rows",
                spec.name() + ": row " + std::to_string(r) + " value " + std::to_string(c) + " = " +
                    std::to_string(v) + (bad[static_cast<size_t>(r)] ? " in a flagged row" : ""));
    }
  }
  std::vector<float> out_throw(out.size());
  try {
    kakeya::cpu::decode<float>(spec, {codes.data(), rows, cb},
                               kakeya::contiguous(out_throw.data(), rows, dim));
    if (any_bad) finding("decode did not throw although bad_rows flags a row", spec.name());
  } catch (const kakeya::InvalidArgument&) {
    if (!any_bad) finding("decode threw although bad_rows flags no row", spec.name());
    return 0;  // documented: a corrupt record is reported, nothing else is promised
  } catch (const std::exception& e) {
    finding("decode threw something other than kakeya::InvalidArgument", e.what());
  }
  if (std::memcmp(out.data(), out_throw.data(), out.size() * sizeof(float)) != 0)
    finding("the two decode forms disagree", spec.name());
  require_finite(out, spec, "decode");

  // The decoded values are ordinary finite inputs: encoding them may be refused (e.g. a
  // scale the format cannot hold) but only with InvalidArgument, and what it writes
  // decodes to finite values. e8v2's encoder is a search (~100x the other codecs, and
  // random records decode to heavily overloaded blocks): its re-encode covers the first
  // row only, so that executions stay spent on decoding.
  const int64_t enc_rows = spec.kind == kakeya::CodecKind::kE8V2 ? 1 : rows;
  std::vector<uint8_t> again(codes.size(), 0);
  try {
    kakeya::cpu::encode<float>(spec, kakeya::contiguous<const float>(out.data(), enc_rows, dim),
                               {again.data(), enc_rows, cb});
  } catch (const kakeya::InvalidArgument&) {
    return 0;
  } catch (const std::exception& e) {
    finding("re-encode threw something other than kakeya::InvalidArgument", e.what());
  }
  std::vector<float> out2(static_cast<size_t>(enc_rows) * dim);
  try {
    kakeya::cpu::decode<float>(spec, {again.data(), enc_rows, cb},
                               kakeya::contiguous(out2.data(), enc_rows, dim));
  } catch (const std::exception& e) {
    finding("a record written by encode does not decode", e.what());
  }
  require_finite(out2, spec, "decode of the re-encoded batch");
  return 0;
}
