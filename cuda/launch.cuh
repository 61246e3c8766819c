// SPDX-License-Identifier: Apache-2.0
#pragma once
// Private launch helpers shared by the codec and attention launchers (not installed).
#include <cuda_runtime.h>

#include <exception>
#include <string>

#include "kakeya/gpu/codec.h"
#include "kakeya/gpu/kernels.cuh"
#include "kakeya/view/checks.h"

namespace kakeya::gpu {

namespace launch {
inline thread_local std::string g_last_error;

inline Status fail(Status s, std::string msg) noexcept {
  try {
    g_last_error = std::move(msg);
  } catch (...) {
  }
  return s;
}

inline Status check_launch(const char* what) noexcept {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess)
    return fail(Status::kCudaError, std::string(what) + ": " + cudaGetErrorString(e));
  return Status::kOk;
}

constexpr int kTargetThreads = 256;

/// CTA size: t·v rounded up to whole warps.
inline int threads_of(const detail::Geometry& g) { return (g.t * g.v + 31) / 32 * 32; }

inline size_t smem_bytes(const detail::Geometry& g) {
  return sizeof(float) * static_cast<size_t>(g.groups) * g.t * 9 + sizeof(uint32_t) * static_cast<size_t>(g.words);
}

inline detail::Geometry geometry(const LatticeLayout& lay) {
  detail::Geometry g{};
  g.t = lay.dim / detail::kChunk;
  g.v = g.t >= kTargetThreads ? 1 : kTargetThreads / g.t;
  g.groups = (threads_of(g) + g.t - 1) / g.t;
  g.words = (g.v * lay.code_bytes + 3) / 4;
  return g;
}

template <class T>
bool aligned16(const T* p, int64_t row_stride_elems) {
  return (reinterpret_cast<uintptr_t>(p) % 16 == 0) && ((row_stride_elems * sizeof(T)) % 16 == 0);
}

template <class L, class In, class Dst = CodeBatch>
void launch_lattice_encode(const LatticeLayout& lay, StridedBatch<const In> x, Dst codes,
                           int32_t* flag, cudaStream_t st) {
  const auto g = geometry(lay);
  const int threads = threads_of(g);
  const size_t smem = smem_bytes(g);
  const auto kernel = detail::lattice_encode_kernel<L, In, Dst>;
  if (smem > 48 * 1024) cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
  const int64_t blocks = (x.rows + g.v - 1) / g.v;
  kernel<<<static_cast<unsigned>(blocks), threads, smem, st>>>(lay, g, x, codes, flag,
                                                              aligned16(x.data, x.row_stride));
}

template <class L, class Out>
void launch_lattice_decode(const LatticeLayout& lay, ConstCodeBatch codes, StridedBatch<Out> out,
                           int32_t* flag, cudaStream_t st) {
  const auto g = geometry(lay);
  const int threads = threads_of(g);
  const size_t smem = smem_bytes(g);
  const auto kernel = detail::lattice_decode_kernel<L, Out>;
  if (smem > 48 * 1024) cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
  const int64_t blocks = (codes.rows + g.v - 1) / g.v;
  kernel<<<static_cast<unsigned>(blocks), threads, smem, st>>>(lay, g, codes, out, flag,
                                                              aligned16(out.data, out.row_stride));
}

template <class C>
inline constexpr bool kIsLatticeCodec = C::kKind == CodecKind::kLattice;

/// Row-wise kernels for codecs that need scratch take dims up to kRowwiseScratchDim.
template <class C>
void check_rowwise(const CodecSpec& spec) {
  if (C::kScratch)
    KAKEYA_CHECK(spec.dim <= detail::kRowwiseScratchDim, "dim = ", spec.dim, " exceeds the GPU ", spec.family(),
                 " kernel's limit ", detail::kRowwiseScratchDim);
}

/// Encode of x into any destination (CodeBatch or PagedDst) for every codec of the
/// registry: dedicated kernels for the lattice codecs and fp8_per64, the row-wise
/// kernel over the shared per-vector code for the others.
template <class In, class Dst>
void launch_encode(const CodecSpec& spec, StridedBatch<const In> x, Dst codes, bool fp8_words, int32_t* flag,
                   cudaStream_t st) {
  visit_codec(spec, [&](auto tag) {
    using C = typename decltype(tag)::type;
    if constexpr (kIsLatticeCodec<C>) {
      KAKEYA_CHECK(spec.dim <= kMaxGroupDim, "dim = ", spec.dim, " exceeds the GPU lattice kernels' limit ",
                   kMaxGroupDim);
      launch_lattice_encode<typename C::Lattice>(spec.layout(), x, codes, flag, st);
    } else if constexpr (C::kKind == CodecKind::kFP8Per64) {
      KAKEYA_CHECK(spec.dim <= kMaxGroupDim, "dim = ", spec.dim, " exceeds the GPU fp8 kernels' limit ", kMaxGroupDim);
      const detail::Fp8Geometry g = detail::fp8_geometry(spec.dim);
      detail::fp8_encode_kernel<In, Dst><<<static_cast<unsigned>((x.rows + g.rows - 1) / g.rows), g.threads, 0, st>>>(
          g, x, codes, flag, aligned16(x.data, x.row_stride), fp8_words);
    } else {
      check_rowwise<C>(spec);
      detail::rowwise_encode_kernel<C, In, Dst><<<static_cast<unsigned>((x.rows + 127) / 128), 128, 0, st>>>(
          C::layout(spec), x, codes, flag);
    }
  });
}

/// Decode for every codec of the registry (same kernel choice as launch_encode).
template <class Out>
void launch_decode(const CodecSpec& spec, ConstCodeBatch codes, StridedBatch<Out> out, bool fp8_words, int32_t* flag,
                   cudaStream_t st) {
  visit_codec(spec, [&](auto tag) {
    using C = typename decltype(tag)::type;
    if constexpr (kIsLatticeCodec<C>) {
      KAKEYA_CHECK(spec.dim <= kMaxGroupDim, "dim = ", spec.dim, " exceeds the GPU lattice kernels' limit ",
                   kMaxGroupDim);
      launch_lattice_decode<typename C::Lattice>(spec.layout(), codes, out, flag, st);
    } else if constexpr (C::kKind == CodecKind::kFP8Per64) {
      KAKEYA_CHECK(spec.dim <= kMaxGroupDim, "dim = ", spec.dim, " exceeds the GPU fp8 kernels' limit ", kMaxGroupDim);
      const detail::Fp8Geometry g = detail::fp8_geometry(spec.dim);
      detail::fp8_decode_kernel<Out><<<static_cast<unsigned>((out.rows + g.rows - 1) / g.rows), g.threads, 0, st>>>(
          g, codes, out, flag, aligned16(out.data, out.row_stride), fp8_words);
    } else {
      check_rowwise<C>(spec);
      detail::rowwise_decode_kernel<C, Out><<<static_cast<unsigned>((out.rows + 127) / 128), 128, 0, st>>>(
          C::layout(spec), codes, out, flag);
    }
  });
}

/// 32-bit value accesses in the FP8 kernels: the value block (after dim/64 bf16 scales)
/// of every record must be 4-byte aligned.
template <class B>
bool fp8_word_io(const CodeView<B>& c, int32_t dim) {
  return (reinterpret_cast<uintptr_t>(c.data) + BaselineLayout{dim, 0}.vals_offset()) % 4 == 0 && c.row_stride % 4 == 0;
}

}  // namespace launch
}  // namespace kakeya::gpu
