// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file codec.h
/// Host-callable CUDA launchers (kakeya::cuda). Framework-free: raw device pointers,
/// no CUDA headers needed by the caller. Every launcher validates on the host, launches
/// on `stream`, checks the launch, and returns a Status; it never throws, allocates or
/// synchronises.
///
///   x:     device rows × dim, row_stride >= dim elements; float, f16 or bf16
///   codes: device rows records, row_stride >= spec.code_bytes() bytes
///   error_flag: optional device int32 (may be null). Kernels OR 1 into it when a row
///          is not encodable (NaN/Inf, scale out of the format's range: that row's
///          record is zeroed) and 2 when a record is corrupt on decode (that row is
///          zeroed). Read it after the stream completes.
///
/// Codes are byte-identical to kakeya::cpu::encode for the same input.

#include <cstdint>

#include "kakeya/codec/spec.h"
#include "kakeya/error.h"
#include "kakeya/numeric/formats.h"
#include "kakeya/view/strided.h"

struct CUstream_st;
typedef CUstream_st* cudaStream_t;

namespace kakeya::gpu {

/// True when a CUDA device is visible to this process.
[[nodiscard]] bool device_available() noexcept;

/// Message of the last failed launcher call on this thread.
[[nodiscard]] const char* last_error() noexcept;

template <class In>
[[nodiscard]] Status encode(const CodecSpec& spec, StridedBatch<const In> x, CodeBatch codes,
                            int32_t* error_flag, cudaStream_t stream) noexcept;

template <class Out>
[[nodiscard]] Status decode(const CodecSpec& spec, ConstCodeBatch codes, StridedBatch<Out> out,
                            int32_t* error_flag, cudaStream_t stream) noexcept;

/// Largest dim the thread-per-chunk kernels take (dim/8 threads per vector, at most
/// 1024); larger dims run a one-thread-per-row kernel.
inline constexpr int32_t kMaxGroupDim = 8192;

}  // namespace kakeya::gpu
