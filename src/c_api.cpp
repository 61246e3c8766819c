// SPDX-License-Identifier: Apache-2.0
// C ABI: one catch-all per entry point; messages kept thread-locally.
#include "kakeya/c_api.h"

#include <algorithm>
#include <exception>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "kakeya/cpu/affine.h"
#include "kakeya/cpu/codec.h"

struct kakeya_codec {
  kakeya::CodecSpec spec;
};
struct kakeya_affine {
  kakeya::ChannelAffine affine;
};

namespace {
thread_local std::string g_last_error;

int fail(kakeya::Status s, const char* what) noexcept {
  try {
    g_last_error = what;
  } catch (...) {
  }
  return -static_cast<int>(s);
}
}  // namespace

#define KAKEYA_C_TRY(...)                                                    \
  try {                                                                      \
    __VA_ARGS__;                                                             \
    return 0;                                                                \
  } catch (const kakeya::Error& e) {                                         \
    return fail(e.status(), e.message());                                    \
  } catch (const std::bad_alloc&) {                                          \
    return fail(kakeya::Status::kInternal, "out of memory");                 \
  } catch (const std::exception& e) {                                        \
    return fail(kakeya::Status::kInternal, e.what());                        \
  } catch (...) {                                                            \
    return fail(kakeya::Status::kInternal, "unknown exception");             \
  }

#define KAKEYA_C_NONNULL(p) KAKEYA_CHECK((p) != nullptr, #p " is NULL")

extern "C" {

int kakeya_codec_create(const char* kind, int32_t dim, int32_t q, const char* scale,
                        int32_t rope_dims, kakeya_codec** out) {
  KAKEYA_C_TRY({
    KAKEYA_C_NONNULL(kind);
    KAKEYA_C_NONNULL(out);
    *out = nullptr;
    auto spec = kakeya::parse_codec(kind, dim, q, scale ? scale : "bf16", rope_dims);
    *out = new kakeya_codec{spec};
  })
}

int kakeya_codec_make(const char* family, int32_t dim, const char* params, kakeya_codec** out) {
  KAKEYA_C_TRY({
    KAKEYA_C_NONNULL(family);
    KAKEYA_C_NONNULL(out);
    *out = nullptr;
    kakeya::CodecParams p;
    const std::string text = params ? params : "";
    size_t pos = 0;
    while (pos < text.size()) {
      const size_t end = std::min(text.find(',', pos), text.size());
      const std::string item = text.substr(pos, end - pos);
      const size_t eq = item.find('=');
      KAKEYA_CHECK(eq != std::string::npos && eq > 0, "params item '", item, "' is not key=value");
      p[item.substr(0, eq)] = item.substr(eq + 1);
      pos = end + 1;
    }
    *out = new kakeya_codec{kakeya::make_codec(family, dim, p)};
  })
}

void kakeya_codec_destroy(kakeya_codec* codec) { delete codec; }

int kakeya_codec_code_bytes(const kakeya_codec* codec, int64_t* out) {
  KAKEYA_C_TRY({
    KAKEYA_C_NONNULL(codec);
    KAKEYA_C_NONNULL(out);
    *out = codec->spec.code_bytes();
  })
}

int kakeya_codec_bits_per_vector(const kakeya_codec* codec, int64_t* out) {
  KAKEYA_C_TRY({
    KAKEYA_C_NONNULL(codec);
    KAKEYA_C_NONNULL(out);
    *out = codec->spec.bits_per_vector();
  })
}

int kakeya_encode_f32(const kakeya_codec* codec, const float* x, int64_t rows, int64_t x_stride,
                      uint8_t* codes, int64_t code_stride) {
  KAKEYA_C_TRY({
    KAKEYA_C_NONNULL(codec);
    kakeya::cpu::encode<float>(codec->spec, {x, rows, codec->spec.dim, x_stride},
                               {codes, rows, code_stride});
  })
}

int kakeya_decode_f32(const kakeya_codec* codec, const uint8_t* codes, int64_t rows,
                      int64_t code_stride, float* out, int64_t out_stride) {
  KAKEYA_C_TRY({
    KAKEYA_C_NONNULL(codec);
    kakeya::cpu::decode<float>(codec->spec, {codes, rows, code_stride},
                               {out, rows, codec->spec.dim, out_stride});
  })
}

int kakeya_decode_f32_rows(const kakeya_codec* codec, const uint8_t* codes, int64_t rows,
                           int64_t code_stride, float* out, int64_t out_stride, uint8_t* bad_rows) {
  KAKEYA_C_TRY({
    KAKEYA_C_NONNULL(codec);
    KAKEYA_C_NONNULL(bad_rows);
    kakeya::cpu::decode<float>(codec->spec, {codes, rows, code_stride},
                               {out, rows, codec->spec.dim, out_stride}, bad_rows);
  })
}

int kakeya_affine_create(int32_t dim, const float* mean, const float* scale, const int32_t* pairs,
                         int32_t npairs, kakeya_affine** out) {
  KAKEYA_C_TRY({
    KAKEYA_C_NONNULL(out);
    *out = nullptr;
    KAKEYA_C_NONNULL(mean);
    KAKEYA_CHECK(dim >= 1, "dim = ", dim, " must be >= 1");
    KAKEYA_CHECK(npairs >= 0, "npairs = ", npairs, " must be >= 0");
    KAKEYA_CHECK(npairs == 0 || pairs != nullptr, "pairs is NULL with npairs = ", npairs);
    std::vector<kakeya::RopePair> pv(static_cast<size_t>(npairs));
    for (int32_t j = 0; j < npairs; ++j) pv[j] = {pairs[3 * j], pairs[3 * j + 1], pairs[3 * j + 2]};
    std::vector<float> sv = scale ? std::vector<float>(scale, scale + dim) : std::vector<float>{};
    *out = new kakeya_affine{kakeya::ChannelAffine(std::vector<float>(mean, mean + dim), std::move(sv), std::move(pv))};
  })
}

void kakeya_affine_destroy(kakeya_affine* affine) { delete affine; }

int kakeya_affine_nfreq(const kakeya_affine* affine, int32_t* out) {
  KAKEYA_C_TRY({
    KAKEYA_C_NONNULL(affine);
    KAKEYA_C_NONNULL(out);
    *out = affine->affine.nfreq();
  })
}

int kakeya_encode_affine_f32(const kakeya_codec* codec, const kakeya_affine* affine, const float* x,
                             int64_t rows, int64_t x_stride, const float* cos, const float* sin,
                             int64_t rope_stride, uint8_t* codes, int64_t code_stride) {
  KAKEYA_C_TRY({
    KAKEYA_C_NONNULL(codec);
    KAKEYA_C_NONNULL(affine);
    const int32_t nf = affine->affine.nfreq();
    kakeya::cpu::encode_affine<float>(codec->spec, affine->affine, {x, rows, codec->spec.dim, x_stride},
                                      {cos, cos ? rows : 0, nf, rope_stride}, {sin, sin ? rows : 0, nf, rope_stride},
                                      {codes, rows, code_stride});
  })
}

int kakeya_decode_affine_f32(const kakeya_codec* codec, const kakeya_affine* affine,
                             const uint8_t* codes, int64_t rows, int64_t code_stride,
                             const float* cos, const float* sin, int64_t rope_stride, float* out,
                             int64_t out_stride) {
  KAKEYA_C_TRY({
    KAKEYA_C_NONNULL(codec);
    KAKEYA_C_NONNULL(affine);
    const int32_t nf = affine->affine.nfreq();
    kakeya::cpu::decode_affine<float>(codec->spec, affine->affine, {codes, rows, code_stride},
                                      {cos, cos ? rows : 0, nf, rope_stride}, {sin, sin ? rows : 0, nf, rope_stride},
                                      {out, rows, codec->spec.dim, out_stride});
  })
}

const char* kakeya_last_error(void) { return g_last_error.c_str(); }

}  // extern "C"
