// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file cuda_programs.cuh
/// Private helpers of the standalone GPU check and benchmark programs (tests/cuda,
/// bench/cuda): exit-on-error CUDA checks, CUDA-event timing and a device fill. Not part
/// of the library API and not installed (it calls std::exit); the bench targets add
/// tests/cuda to their include path.

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "kakeya/numeric/formats.h"

/// Aborts the program with file and line when a CUDA runtime call fails.
#define KAKEYA_CK(x)                                                                                \
  do {                                                                                             \
    cudaError_t e_ = (x);                                                                          \
    if (e_ != cudaSuccess) {                                                                       \
      std::fprintf(stderr, "CUDA error %s at %s:%d\n", cudaGetErrorString(e_), __FILE__, __LINE__); \
      std::exit(2);                                                                                \
    }                                                                                              \
  } while (0)

namespace kakeya::detail {

/// Median time in ms of `reps` calls of f() on the default stream, after `warmup` calls.
template <class F>
double median_event_ms(F&& f, int reps, int warmup) {
  cudaEvent_t a, b;
  KAKEYA_CK(cudaEventCreate(&a));
  KAKEYA_CK(cudaEventCreate(&b));
  for (int i = 0; i < warmup; ++i) f();
  KAKEYA_CK(cudaDeviceSynchronize());
  std::vector<float> ts;
  for (int i = 0; i < reps; ++i) {
    KAKEYA_CK(cudaEventRecord(a));
    f();
    KAKEYA_CK(cudaEventRecord(b));
    KAKEYA_CK(cudaEventSynchronize(b));
    float ms = 0;
    KAKEYA_CK(cudaEventElapsedTime(&ms, a, b));
    ts.push_back(ms);
  }
  std::sort(ts.begin(), ts.end());
  KAKEYA_CK(cudaEventDestroy(a));
  KAKEYA_CK(cudaEventDestroy(b));
  return ts[ts.size() / 2];
}

/// Approximately Gaussian bf16 values from a hash (Irwin–Hall of 4 uniforms): timing data.
__global__ inline void fill_bf16_kernel(bf16* x, int64_t n, uint32_t seed) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  uint32_t h = static_cast<uint32_t>(i) * 2654435761u ^ seed;
  float s = 0;
  for (int k = 0; k < 4; ++k) {
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    s += static_cast<float>(h & 0xffffff) * (1.0f / 16777216.0f);
  }
  x[i] = bf16{float_to_bf16((s - 2.0f) * 1.7320508f)};
}

inline void fill_bf16(bf16* x, int64_t n, uint32_t seed) {
  fill_bf16_kernel<<<static_cast<unsigned>((n + 255) / 256), 256>>>(x, n, seed);
  KAKEYA_CK(cudaGetLastError());
}

}  // namespace kakeya::detail
