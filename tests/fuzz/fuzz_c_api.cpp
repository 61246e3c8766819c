// SPDX-License-Identifier: Apache-2.0
// libFuzzer harness for the C ABI (include/kakeya/c_api.h): codec creation from arbitrary
// names, parameter strings and integers (kakeya_codec_make over every family of the
// registry, and the legacy kakeya_codec_create), then encode and decode (both decode
// forms) with fuzzed strides, row counts and data.
//
// Properties (the contract stated in c_api.h):
//   - every call returns 0 or one of the documented negative statuses, never -5
//     (internal) and never an exception (the harness is built with exceptions on: an
//     escaping exception terminates, which libFuzzer reports);
//   - after a failure kakeya_last_error() is a non-empty message and a failed create
//     leaves *out == NULL;
//   - a stride below the row size is rejected with -1 (the buffers here are sized for
//     any stride the contract allows, so an accepted bad stride shows up under ASan);
//   - a successful decode writes finite values; kakeya_decode_f32_rows flags exactly the
//     rows that make kakeya_decode_f32 fail and zeroes them; a successful encode writes
//     records that decode successfully;
//   - the affine pre-transform (kakeya_affine_*) keeps the same status contract, and a
//     successful affine decode is finite.
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kakeya/c_api.h"
#include "kakeya/codec/registry.h"  // family and parameter names only

namespace {

constexpr const char* kKinds[] = {"e8", "d4", "z", "fp8_per64", "v4_native", "bf16"};
constexpr const char* kScales[] = {"bf16", "fp16", "norm_qmax"};

/// "key=value,..." for a family: its parameters with fuzzed values, sometimes extra
/// or malformed items, sometimes any text.
std::string params_from(FuzzedDataProvider& p, const kakeya::CodecFamily& fam) {
  if (p.ConsumeIntegralInRange<int>(0, 7) == 0) return p.ConsumeRandomLengthString(24);
  std::string s;
  for (const auto& kv : fam.params) {
    if (!p.ConsumeBool()) continue;
    std::string v;
    if (std::string(kv.first) == "encoder") {  // e8v2: mostly the two valid names
      const int k = p.ConsumeIntegralInRange<int>(0, 3);
      v = k == 0 ? "exact" : k == 1 ? "fast" : k == 2 ? "quick" : p.ConsumeRandomLengthString(6);
      s += (s.empty() ? "" : ",") + std::string(kv.first) + "=" + v;
      continue;
    }
    switch (p.ConsumeIntegralInRange<int>(0, 2)) {
      case 0:
        v = std::to_string(p.ConsumeIntegralInRange<int32_t>(-2, 130));
        break;
      case 1:
        v = kScales[p.ConsumeIntegralInRange<int>(0, 2)];
        break;
      default:
        v = std::to_string(p.ConsumeFloatingPointInRange<float>(-1.f, 1.f));
        break;
    }
    s += (s.empty() ? "" : ",") + std::string(kv.first) + "=" + v;
  }
  if (p.ConsumeIntegralInRange<int>(0, 15) == 0) s += "," + p.ConsumeRandomLengthString(8);
  return s;
}

[[noreturn]] void finding(const char* what, int rc) {
  std::fprintf(stderr, "fuzz_c_api finding: %s (rc %d, last error '%s')\n", what, rc,
               kakeya_last_error());
  std::abort();
}

void check_status(int rc, const char* call) {
  if (rc == 0) return;
  if (rc != -1 && rc != -2 && rc != -3) finding(call, rc);
  const char* msg = kakeya_last_error();
  if (msg == nullptr || msg[0] == '\0') finding("failure without a message", rc);
}

std::string name_from(FuzzedDataProvider& p, const char* const* table, size_t n) {
  if (p.ConsumeBool()) return table[p.ConsumeIntegralInRange<size_t>(0, n - 1)];
  return p.ConsumeRandomLengthString(12);
}

bool all_finite(const std::vector<float>& v, int64_t rows, int64_t cols, int64_t stride) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      if (!std::isfinite(v[static_cast<size_t>(r * stride + c)])) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider p(data, size);
  // Mostly small dims (the interesting range); sometimes any int32.
  const int32_t dim =
      p.ConsumeBool() ? p.ConsumeIntegralInRange<int32_t>(-8, 640) : p.ConsumeIntegral<int32_t>();
  kakeya_codec* codec = reinterpret_cast<kakeya_codec*>(&size);  // must be reset to NULL
  int rc;
  if (p.ConsumeBool()) {
    const auto& families = kakeya::codec_families();
    const kakeya::CodecFamily& fam =
        families[p.ConsumeIntegralInRange<size_t>(0, families.size() - 1)];
    const std::string family = p.ConsumeIntegralInRange<int>(0, 7)
                                   ? std::string(fam.name)
                                   : p.ConsumeRandomLengthString(12);
    const bool null_params = p.ConsumeIntegralInRange<int>(0, 7) == 0;
    const std::string params = params_from(p, fam);
    rc = kakeya_codec_make(family.c_str(), dim, null_params ? nullptr : params.c_str(), &codec);
    check_status(rc, "kakeya_codec_make");
  } else {
    const std::string kind = name_from(p, kKinds, 6);
    const bool null_scale = p.ConsumeIntegralInRange<int>(0, 7) == 0;
    const std::string scale = name_from(p, kScales, 3);
    const int32_t q =
        p.ConsumeBool() ? p.ConsumeIntegralInRange<int32_t>(-2, 130) : p.ConsumeIntegral<int32_t>();
    const int32_t rope = p.ConsumeBool() ? 64 : p.ConsumeIntegralInRange<int32_t>(-70, 700);
    rc = kakeya_codec_create(kind.c_str(), dim, q, null_scale ? nullptr : scale.c_str(), rope,
                             &codec);
    check_status(rc, "kakeya_codec_create");
  }
  if (rc != 0) {
    if (codec != nullptr) finding("failed create left *out set", rc);
    return 0;
  }
  int64_t cb = 0, bits = 0;
  check_status(rc = kakeya_codec_code_bytes(codec, &cb), "kakeya_codec_code_bytes");
  if (rc != 0) finding("code_bytes of a created codec failed", rc);
  check_status(rc = kakeya_codec_bits_per_vector(codec, &bits), "kakeya_codec_bits_per_vector");
  if (rc != 0) finding("bits_per_vector of a created codec failed", rc);
  if (cb <= 0 || bits <= 0 || bits > cb * 8 || bits <= (cb - 1) * 8)
    finding("code_bytes does not hold bits_per_vector rounded up to a byte", 0);
  if (dim > 4096) {  // valid but large: only the size queries above, to keep executions fast
    kakeya_codec_destroy(codec);
    return 0;
  }

  const int64_t rows = p.ConsumeIntegralInRange<int64_t>(0, 4);
  const int64_t x_stride = dim + p.ConsumeIntegralInRange<int64_t>(-3, 5);
  const int64_t c_stride = cb + p.ConsumeIntegralInRange<int64_t>(-3, 5);
  const bool bad_stride = rows > 1 && (x_stride < dim || c_stride < cb);
  // Buffers hold rows rows at the largest of the given and the minimal stride.
  const int64_t xs = std::max<int64_t>(x_stride, dim), cs = std::max<int64_t>(c_stride, cb);
  std::vector<float> x(static_cast<size_t>(rows * xs + 1), 0.0f);
  for (auto& v : x) {
    if (p.remaining_bytes() < 4) break;
    v = p.ConsumeBool() ? p.ConsumeFloatingPointInRange<float>(-8.f, 8.f)
                        : p.ConsumeFloatingPoint<float>();
  }
  std::vector<uint8_t> codes(static_cast<size_t>(rows * cs + 1));
  const std::vector<uint8_t> tail = p.ConsumeRemainingBytes<uint8_t>();
  for (size_t i = 0; i < codes.size(); ++i) codes[i] = tail.empty() ? 0 : tail[i % tail.size()];

  // Decode of arbitrary bytes, both forms.
  std::vector<float> out(x.size(), 0.0f), out_rows(x.size(), 0.0f);
  std::vector<uint8_t> bad(static_cast<size_t>(rows) + 1, 2);
  rc = kakeya_decode_f32(codec, codes.data(), rows, c_stride, out.data(), x_stride);
  check_status(rc, "kakeya_decode_f32");
  if (rc == 0 && bad_stride) finding("decode accepted a stride below the row size", rc);
  if (rc == 0 && !all_finite(out, rows, dim, x_stride))
    finding("decode returned 0 with a non-finite value", rc);
  const int rc_rows = kakeya_decode_f32_rows(codec, codes.data(), rows, c_stride, out_rows.data(),
                                             x_stride, bad.data());
  check_status(rc_rows, "kakeya_decode_f32_rows");
  if (rc_rows == -3) finding("decode_f32_rows failed on a corrupt record", rc_rows);
  if ((rc_rows == -1) != (rc == -1))
    finding("the two decode forms disagree on the arguments", rc_rows);
  if (rc_rows == 0) {
    bool any_bad = false;
    for (int64_t r = 0; r < rows; ++r) {
      const uint8_t b = bad[static_cast<size_t>(r)];
      if (b > 1) finding("bad_rows entry not written", rc_rows);
      any_bad |= b == 1;
      for (int64_t c = 0; c < dim; ++c) {
        const float v = out_rows[static_cast<size_t>(r * x_stride + c)];
        if (b ? v != 0.0f : !std::isfinite(v))
          finding("decode_f32_rows: bad value in a row", rc_rows);
      }
    }
    if (any_bad != (rc == -3)) finding("bad_rows disagrees with kakeya_decode_f32", rc);
  }

  // Encode of arbitrary floats, then decode of what it wrote.
  rc = kakeya_encode_f32(codec, x.data(), rows, x_stride, codes.data(), c_stride);
  check_status(rc, "kakeya_encode_f32");
  if (rc == 0 && bad_stride) finding("encode accepted a stride below the row size", rc);
  if (rc == 0) {
    rc = kakeya_decode_f32(codec, codes.data(), rows, c_stride, out.data(), x_stride);
    if (rc != 0) finding("a record written by encode does not decode", rc);
    if (!all_finite(out, rows, dim, x_stride)) finding("decode of encoded data is not finite", rc);
  }

  // The affine pre-transform over this codec: mean from x's first row, scale from its
  // second (or none), up to 3 pairs and the cos/sin rows from the record bytes and from x
  // (so NaN, inf, bad channels and equal-scale violations all occur). Encode must return a
  // documented status; a successful encode must decode; a successful decode is finite.
  if (rows > 0 && dim >= 1 && !bad_stride && !tail.empty()) {
    const auto byte = [&](size_t i) { return tail[i % tail.size()]; };
    const bool with_scale = byte(0) & 1;
    const int32_t npairs = byte(1) % 4;
    std::vector<int32_t> pairs;
    for (int32_t j = 0; j < npairs; ++j)
      for (int32_t k : {byte(2 + 3 * j) % (dim + 1), byte(3 + 3 * j) % (dim + 1), byte(4 + 3 * j) % 3})
        pairs.push_back(k);
    std::vector<float> scale(static_cast<size_t>(dim));
    for (int32_t i = 0; i < dim; ++i) scale[i] = rows > 1 ? std::fabs(x[static_cast<size_t>(xs + i)]) : 1.0f;
    kakeya_affine* aff = reinterpret_cast<kakeya_affine*>(&size);
    rc = kakeya_affine_create(dim, x.data(), with_scale ? scale.data() : nullptr, pairs.data(), npairs, &aff);
    check_status(rc, "kakeya_affine_create");
    if (rc != 0 && aff != nullptr) finding("failed affine create left *out set", rc);
    if (rc == 0) {
      int32_t nf = -1;
      check_status(rc = kakeya_affine_nfreq(aff, &nf), "kakeya_affine_nfreq");
      if (rc != 0 || nf < 0 || nf > 3) finding("affine nfreq", rc);
      std::vector<float> cs(static_cast<size_t>(rows * 3 + 1)), sn(cs.size());
      for (size_t i = 0; i < cs.size(); ++i) {
        cs[i] = byte(7 + i) & 1 ? x[i % x.size()] : std::cos(0.1f * static_cast<float>(i));
        sn[i] = byte(8 + i) & 1 ? x[(i + 1) % x.size()] : std::sin(0.1f * static_cast<float>(i));
      }
      rc = kakeya_encode_affine_f32(codec, aff, x.data(), rows, x_stride, cs.data(), sn.data(), 3, codes.data(),
                                    c_stride);
      check_status(rc, "kakeya_encode_affine_f32");
      const int rcd = kakeya_decode_affine_f32(codec, aff, codes.data(), rows, c_stride, cs.data(), sn.data(), 3,
                                               out.data(), x_stride);
      check_status(rcd, "kakeya_decode_affine_f32");
      if (rc == 0 && rcd == -3) finding("a record written by encode_affine is corrupt", rcd);
      if (rcd == 0 && !all_finite(out, rows, dim, x_stride)) finding("decode_affine returned non-finite values", rcd);
      kakeya_affine_destroy(aff);
    }
  }

  // NULL buffers with rows > 0 are argument errors, not crashes.
  if (rows > 0) {
    rc = kakeya_decode_f32(codec, nullptr, rows, c_stride, out.data(), x_stride);
    if (rc != -1) finding("decode accepted NULL codes", rc);
    rc = kakeya_encode_f32(codec, x.data(), rows, x_stride, nullptr, c_stride);
    if (rc != -1) finding("encode accepted NULL codes", rc);
  }
  kakeya_codec_destroy(codec);
  return 0;
}
