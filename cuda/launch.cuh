// SPDX-License-Identifier: Apache-2.0
#pragma once
// Private launch helpers shared by the codec and attention launchers (not installed).
#include <cuda_runtime.h>

#include <exception>
#include <type_traits>
#include <string>

#include "kakeya/gpu/codec.h"
#include "kakeya/gpu/chunk_kernels.cuh"
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

/// CTAs of a persistent chunk-kernel launch: enough for every row batch, at most what
/// the device holds at once (2048 threads per multiprocessor).
inline unsigned persistent_blocks(int64_t batches, int threads) {
  int dev = 0, sms = 132;
  if (cudaGetDevice(&dev) == cudaSuccess) cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
  const int64_t cap = static_cast<int64_t>(sms) * (2048 / threads);
  return static_cast<unsigned>(batches < cap ? batches : cap);
}

inline bool pow2_upto32(int32_t n) { return n >= 1 && n <= 32 && (n & (n - 1)) == 0; }

/// Whether the chunk kernels (thread per 8 coordinates, group lanes aligned in the row)
/// take this codec; the others run the row-wise kernel.
template <class C>
bool use_chunk_kernels(const CodecSpec& spec) {
  if (spec.dim % detail::kChunk != 0 || spec.dim > kMaxGroupDim) return false;
  if constexpr (C::kKind == CodecKind::kLloydMax || C::kKind == CodecKind::kBF16) {
    return true;
  } else if constexpr (C::kKind == CodecKind::kInt) {
    return spec.group % detail::kChunk == 0 && pow2_upto32(spec.group / detail::kChunk);
  } else if constexpr (std::is_same_v<typename C::Layout, BlockScaledLayout>) {
    const BlockScaledLayout l = C::layout(spec);
    const int32_t gl = l.group / detail::kChunk;
    return l.group % detail::kChunk == 0 && pow2_upto32(gl) && (spec.dim / detail::kChunk) % gl == 0;
  } else {
    return false;
  }
}

/// The bf16 codec is the v4_native tail alone: a block-scaled layout with no groups,
/// every coordinate a bf16 tail value (the same finiteness rules as bf16_encode/decode).
inline BlockScaledLayout bf16_as_tail(int32_t dim) {
  BlockScaledLayout l{};
  l.elem = ElemFormat::kE4M3;
  l.rule = ScaleRule::kUE8M0Ceil;
  l.group = detail::kChunk;
  l.scaled_dims = 0;
  l.tail_dims = dim;
  l.tail_offset = 0;
  l.code_bytes = 2 * dim;
  l.scales_offset = l.code_bytes;
  return l;
}

template <class C>
auto chunk_layout(const CodecSpec& spec) {
  if constexpr (C::kKind == CodecKind::kBF16) return bf16_as_tail(spec.dim);
  else return C::layout(spec);
}

template <class C, class In, class Dst>
void launch_chunk_encode(const CodecSpec& spec, StridedBatch<const In> x, Dst codes, int32_t* flag,
                         cudaStream_t st) {
  const detail::ChunkGeometry g = detail::fp8_geometry(spec.dim);
  const unsigned blocks = persistent_blocks((x.rows + g.rows - 1) / g.rows, g.threads);
  if constexpr (C::kKind == CodecKind::kLloydMax) {
    detail::lloydmax_encode_kernel<In, Dst><<<blocks, g.threads, detail::lloydmax_smem_bytes(g), st>>>(
        C::layout(spec), g, x, codes, flag);
  } else if constexpr (C::kKind == CodecKind::kInt) {
    detail::int_encode_kernel<In, Dst><<<blocks, g.threads, 0, st>>>(C::layout(spec), g, x, codes, flag);
  } else {
    detail::block_scaled_encode_kernel<In, Dst><<<blocks, g.threads, 0, st>>>(chunk_layout<C>(spec), g, x, codes,
                                                                              flag);
  }
}

template <class C, class Out>
void launch_chunk_decode(const CodecSpec& spec, ConstCodeBatch codes, StridedBatch<Out> out, int32_t* flag,
                         cudaStream_t st) {
  const detail::ChunkGeometry g = detail::fp8_geometry(spec.dim);
  const unsigned blocks = persistent_blocks((out.rows + g.rows - 1) / g.rows, g.threads);
  if constexpr (C::kKind == CodecKind::kLloydMax) {
    detail::lloydmax_decode_kernel<Out><<<blocks, g.threads, detail::lloydmax_smem_bytes(g), st>>>(
        C::layout(spec), g, codes, out, flag);
  } else if constexpr (C::kKind == CodecKind::kInt) {
    detail::int_decode_kernel<Out><<<blocks, g.threads, 0, st>>>(C::layout(spec), g, codes, out, flag);
  } else {
    detail::block_scaled_decode_kernel<Out><<<blocks, g.threads, 0, st>>>(chunk_layout<C>(spec), g, codes, out,
                                                                          flag);
  }
}

template <class C>
inline constexpr bool kHasChunkKernels =
    C::kKind == CodecKind::kLloydMax || C::kKind == CodecKind::kInt || C::kKind == CodecKind::kBF16 ||
    std::is_same_v<typename C::Layout, BlockScaledLayout>;

/// Encode of x into any destination (CodeBatch or PagedDst) for every codec of the
/// registry: dedicated kernels for the lattice codecs, fp8_per64 and (where the group
/// geometry allows, see use_chunk_kernels) the peer codecs; the row-wise kernel over
/// the shared per-vector code for the rest (bf16, odd dims or groups).
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
      if constexpr (kHasChunkKernels<C>) {
        if (use_chunk_kernels<C>(spec)) return launch_chunk_encode<C>(spec, x, codes, flag, st);
      }
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
      if constexpr (kHasChunkKernels<C>) {
        if (use_chunk_kernels<C>(spec)) return launch_chunk_decode<C>(spec, codes, out, flag, st);
      }
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
