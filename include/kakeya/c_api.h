/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* C ABI of kakeyalattice. Every function returns 0 on success or a negative status
 * (-1 invalid argument, -2 invalid input, -3 corrupt code, -4 CUDA, -5 internal); the
 * message of the last failure on this thread is kakeya_last_error(). No C++ type
 * crosses this boundary and no exception escapes it. */
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kakeya_codec kakeya_codec; /* opaque */

/* Legacy constructor. kind: "e8" | "d4" | "z" | "fp8_per64" | "v4_native" | "bf16"; scale: "bf16" | "fp16" |
 * "norm_qmax" (lattice kinds only; may be NULL for "bf16"); rope_dims: v4_native only. */
int kakeya_codec_create(const char* kind, int32_t dim, int32_t q, const char* scale,
                        int32_t rope_dims, kakeya_codec** out);
/* Any codec of the factory: family as kakeya::codec_names() lists it ("e8", "nvfp4",
 * "int", ...), params "key=value" items separated by commas (NULL or "" for none),
 * e.g. kakeya_codec_make("int", 512, "bits=4,group=64", &c). */
int kakeya_codec_make(const char* family, int32_t dim, const char* params, kakeya_codec** out);
void kakeya_codec_destroy(kakeya_codec* codec);
int kakeya_codec_code_bytes(const kakeya_codec* codec, int64_t* out);
int kakeya_codec_bits_per_vector(const kakeya_codec* codec, int64_t* out);

/* x: rows × dim float32, row i at x + i*x_stride (elements); codes: row i at
 * codes + i*code_stride (bytes, >= code_bytes). */
int kakeya_encode_f32(const kakeya_codec* codec, const float* x, int64_t rows, int64_t x_stride,
                      uint8_t* codes, int64_t code_stride);
int kakeya_decode_f32(const kakeya_codec* codec, const uint8_t* codes, int64_t rows,
                      int64_t code_stride, float* out, int64_t out_stride);

/* Like kakeya_decode_f32, but a corrupt record does not fail the call: its row decodes
 * to zeros and bad_rows[i] (rows bytes) is set to 1 (0 for good rows). */
int kakeya_decode_f32_rows(const kakeya_codec* codec, const uint8_t* codes, int64_t rows,
                           int64_t code_stride, float* out, int64_t out_stride, uint8_t* bad_rows);

/* The per-channel affine pre-transform (include/kakeya/transform/affine.h): any codec
 * then encodes z = (x - mean_p) / scale and decodes to z_hat * scale + mean_p.
 * mean: dim floats; scale: dim floats > 0 or NULL (no scale); pairs: npairs triples
 * (channel a, channel b, frequency index) of RoPE-rotated channel pairs, or NULL with
 * npairs = 0. Fit it in Python (kakeyalattice.ChannelAffine.fit) or with
 * kakeya::ChannelAffine::fit, and store mean/scale/pairs next to the codec spec. */
typedef struct kakeya_affine kakeya_affine; /* opaque */
int kakeya_affine_create(int32_t dim, const float* mean, const float* scale, const int32_t* pairs,
                         int32_t npairs, kakeya_affine** out);
void kakeya_affine_destroy(kakeya_affine* affine);
/* cos/sin values each row needs (max frequency index + 1; 0 without pairs). */
int kakeya_affine_nfreq(const kakeya_affine* affine, int32_t* out);
/* As kakeya_encode_f32 / kakeya_decode_f32 through the affine. cos, sin: the row's RoPE
 * cos/sin per frequency, row i at cos + i*rope_stride (floats); NULL when nfreq = 0. */
int kakeya_encode_affine_f32(const kakeya_codec* codec, const kakeya_affine* affine, const float* x,
                             int64_t rows, int64_t x_stride, const float* cos, const float* sin,
                             int64_t rope_stride, uint8_t* codes, int64_t code_stride);
int kakeya_decode_affine_f32(const kakeya_codec* codec, const kakeya_affine* affine,
                             const uint8_t* codes, int64_t rows, int64_t code_stride,
                             const float* cos, const float* sin, int64_t rope_stride, float* out,
                             int64_t out_stride);

const char* kakeya_last_error(void);

#ifdef __cplusplus
}
#endif
