// SPDX-License-Identifier: Apache-2.0
// Decode attention over a paged cache: E8 codes vs bf16 and FP8 (E4M3 per 64) caches,
// the same kernel for all three (only the record decoder differs). Kernels:
//   mma/bf16   all heads of a KV head per CTA, tensor-core MMAs, bf16 queries and P (the
//              FlashAttention/FlashMLA precision): every point
//   mma/split  the same with float32-accurate split terms: batch 1 and 64 at 32k
//   legacy     the CUDA-core kernel: batch <= 16 at <= 32k (old vs new in one run)
// Achieved bandwidth = record bytes read / time, also as a fraction of a large
// device-to-device copy measured in the same run ((read + write) / time). Small caches
// rotate over sequences so that repeats do not hit L2. Median of 10 after 2 warm-ups.
//   kakeya_bench_attention [--json FILE] [--quick]
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "kakeya/gpu/attention.h"
#include "cuda_programs.cuh"
#include "kakeya/kakeya.h"

using namespace kakeya;


namespace {

__global__ void iota_slots(int64_t* s, int64_t n, int64_t base) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) s[i] = base + i;
}

struct Shape {
  const char* name;
  int32_t dim, q_heads, kv_heads;
  bool shared;
};

struct Row {
  std::string shape, codec, kernel;
  int32_t batch, context;
  double ms, cache_gb, gbps;
};

/// Device-to-device copy bandwidth in GB/s, counting bytes read plus bytes written.
double copy_gbps() {
  const size_t n = size_t{1} << 30;
  void *a, *b;
  KAKEYA_CK(cudaMalloc(&a, n));
  KAKEYA_CK(cudaMalloc(&b, n));
  KAKEYA_CK(cudaMemset(a, 1, n));
  const double ms = detail::median_event_ms([&] { KAKEYA_CK(cudaMemcpyAsync(b, a, n, cudaMemcpyDeviceToDevice)); }, 10, 2);
  KAKEYA_CK(cudaFree(a));
  KAKEYA_CK(cudaFree(b));
  return 2.0 * n / (ms * 1e-3) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  std::string json;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
    else if (!std::strcmp(argv[i], "--quick")) quick = true;
  }
  if (!gpu::device_available()) {
    std::printf("SKIP: no CUDA device visible\n");
    return 77;
  }
  cudaDeviceProp prop{};
  KAKEYA_CK(cudaGetDeviceProperties(&prop, 0));
  const double copy_bw = copy_gbps();
  std::printf("device %s, %d SMs; device-to-device copy %.0f GB/s (read + write)\n", prop.name,
              prop.multiProcessorCount, copy_bw);
  const std::vector<int32_t> contexts = quick ? std::vector<int32_t>{4096, 32768} : std::vector<int32_t>{4096, 32768, 131072};
  const std::vector<int32_t> batches = quick ? std::vector<int32_t>{1, 16} : std::vector<int32_t>{1, 16, 64};
  const Shape shapes[] = {{"gqa32/8 d128", 128, 32, 8, false}, {"v4 d512 K=V, 64 q heads", 512, 64, 1, true}};
  const int32_t block = 64;
  std::vector<Row> rows;
  for (const auto& sh : shapes) {
    const int32_t max_ctx = contexts.back(), max_b = batches.back();
    const int32_t max_blocks = max_ctx / block;
    const int32_t num_blocks = max_blocks * max_b;
    std::vector<int32_t> table(static_cast<size_t>(max_b) * max_blocks);
    for (size_t i = 0; i < table.size(); ++i) table[i] = static_cast<int32_t>(i);
    int32_t* dtable;
    int32_t* dlens;
    KAKEYA_CK(cudaMalloc(&dtable, table.size() * 4));
    KAKEYA_CK(cudaMemcpy(dtable, table.data(), table.size() * 4, cudaMemcpyHostToDevice));
    KAKEYA_CK(cudaMalloc(&dlens, max_b * 4));
    // Random inputs reused chunk by chunk to fill the cache through the GPU append.
    const int64_t chunk_tokens = 1 << 18;
    bf16* src;
    KAKEYA_CK(cudaMalloc(&src, chunk_tokens * sh.kv_heads * sh.dim * sizeof(bf16)));
    detail::fill_bf16(src, chunk_tokens * sh.kv_heads * sh.dim, 7u);
    int64_t* slots;
    KAKEYA_CK(cudaMalloc(&slots, chunk_tokens * 8));
    const std::vector<std::pair<std::string, CodecSpec>> codecs = {
        {"bf16", CodecSpec::make_bf16(sh.dim)},
        {"fp8_per64", CodecSpec::make_fp8_per64(sh.dim)},
        {"e8_q38", CodecSpec::make_lattice(LatticeKind::kE8, sh.dim, 38)},
        {"e8_q10", CodecSpec::make_lattice(LatticeKind::kE8, sh.dim, 10)}};
    for (const auto& cs : codecs) {
      const std::string& cname = cs.first;
      const CodecSpec& spec = cs.second;
      const int64_t rb = spec.code_bytes();
      const size_t total_slots = static_cast<size_t>(num_blocks) * block;
      uint8_t *kc, *vc = nullptr;
      KAKEYA_CK(cudaMalloc(&kc, total_slots * sh.kv_heads * rb));
      if (!sh.shared) KAKEYA_CK(cudaMalloc(&vc, total_slots * sh.kv_heads * rb));
      PagedKV<uint8_t> w{kc, vc, num_blocks, block, sh.kv_heads, rb, sh.shared ? 0 : rb, dtable, max_blocks, dlens, max_b};
      for (size_t s0 = 0; s0 < total_slots; s0 += chunk_tokens) {
        const int64_t n = std::min<int64_t>(chunk_tokens, static_cast<int64_t>(total_slots - s0));
        iota_slots<<<static_cast<unsigned>((n + 255) / 256), 256>>>(slots, n, static_cast<int64_t>(s0));
        if (gpu::append_kv<bf16>(spec, sh.shared ? nullptr : &spec, src, src, n, slots, w, nullptr, nullptr) != Status::kOk) {
          std::fprintf(stderr, "append: %s\n", gpu::last_error());
          return 3;
        }
      }
      KAKEYA_CK(cudaDeviceSynchronize());
      for (int32_t ctx : contexts)
        for (int32_t b : batches) {
          std::vector<int32_t> lens(max_b, ctx);
          KAKEYA_CK(cudaMemcpy(dlens, lens.data(), max_b * 4, cudaMemcpyHostToDevice));
          const AttentionShape s{b, sh.q_heads, sh.kv_heads, sh.dim, 1.0f / std::sqrt(static_cast<float>(sh.dim))};
          const auto plan = gpu::plan_decode_attention(s, ctx);
          void* ws;
          bf16 *q, *out;
          KAKEYA_CK(cudaMalloc(&ws, plan.workspace_bytes));
          KAKEYA_CK(cudaMalloc(&q, static_cast<size_t>(b) * sh.q_heads * sh.dim * 2));
          KAKEYA_CK(cudaMalloc(&out, static_cast<size_t>(b) * sh.q_heads * sh.dim * 2));
          detail::fill_bf16(q, static_cast<int64_t>(b) * sh.q_heads * sh.dim, 3u);
          const int32_t rotations = max_b / b;  // disjoint groups of sequences in the table
          struct K {
            const char* name;
            gpu::AttentionOptions opt;
            bool on;
          };
          const K kernels[] = {
              {"mma/bf16", {gpu::AttentionKernel::kMma, gpu::AttentionPrecision::kBF16}, true},
              {"mma/split", {gpu::AttentionKernel::kMma, gpu::AttentionPrecision::kSplit},
               ctx == 32768 && (b == 1 || b == max_b)},
              {"legacy", {gpu::AttentionKernel::kLegacy, gpu::AttentionPrecision::kSplit}, b <= 16 && ctx <= 32768},
          };
          for (const K& kn : kernels) {
            if (!kn.on) continue;
            int32_t rot = 0;
            const double ms = detail::median_event_ms([&] {
              PagedKV<const uint8_t> r{kc, vc, num_blocks, block, sh.kv_heads, rb, sh.shared ? 0 : rb,
                                       dtable + static_cast<size_t>(rot) * b * max_blocks, max_blocks, dlens, b};
              rot = (rot + 1) % rotations;
              if (gpu::decode_attention<bf16, bf16>(spec, sh.shared ? nullptr : &spec, r, s, ctx, q, out, ws,
                                                    plan.workspace_bytes, nullptr, kn.opt, nullptr) != Status::kOk) {
                std::fprintf(stderr, "attention: %s\n", gpu::last_error());
                std::exit(3);
              }
            }, 10, 2);
            const double gb = static_cast<double>(b) * ctx * sh.kv_heads * rb * (sh.shared ? 1 : 2) / 1e9;
            rows.push_back({sh.name, cname, kn.name, b, ctx, ms, gb, gb / (ms * 1e-3)});
            std::printf("%-24s %-10s %-9s batch %3d ctx %7d  %8.3f ms  records %7.3f GB  %7.0f GB/s = %4.2f of copy\n",
                        sh.name, cname.c_str(), kn.name, b, ctx, ms, gb, gb / (ms * 1e-3), gb / (ms * 1e-3) / copy_bw);
            std::fflush(stdout);
          }
          KAKEYA_CK(cudaFree(ws));
          KAKEYA_CK(cudaFree(q));
          KAKEYA_CK(cudaFree(out));
        }
      KAKEYA_CK(cudaFree(kc));
      if (vc) KAKEYA_CK(cudaFree(vc));
    }
    KAKEYA_CK(cudaFree(src));
    KAKEYA_CK(cudaFree(slots));
    KAKEYA_CK(cudaFree(dtable));
    KAKEYA_CK(cudaFree(dlens));
  }
  // Speed-ups against the bf16 and fp8 caches at equal shape and kernel.
  const auto find = [&](const Row& r, const char* codec, const std::string& kernel) {
    for (const auto& o : rows)
      if (o.shape == r.shape && o.batch == r.batch && o.context == r.context && o.codec == codec && o.kernel == kernel)
        return o.ms;
    return 0.0;
  };
  std::printf("\ncopy bandwidth %.0f GB/s\n%-24s %-9s %5s %7s  %8s %8s %8s  %6s %6s %6s  %s\n", copy_bw, "shape", "kernel",
              "batch", "ctx", "bf16 ms", "fp8 ms", "e8q38 ms", "bf16 %", "fp8 %", "e8 %", "e8q38 vs bf16 / vs fp8");
  for (const auto& r : rows) {
    if (r.codec != "e8_q38") continue;
    const double bf = find(r, "bf16", r.kernel), f8 = find(r, "fp8_per64", r.kernel);
    const auto frac = [&](const char* codec) {
      for (const auto& o : rows)
        if (o.shape == r.shape && o.batch == r.batch && o.context == r.context && o.codec == codec &&
            o.kernel == r.kernel)
          return o.gbps / copy_bw;
      return 0.0;
    };
    std::printf("%-24s %-9s %5d %7d  %8.3f %8.3f %8.3f  %6.2f %6.2f %6.2f  %.2fx / %.2fx\n", r.shape.c_str(),
                r.kernel.c_str(), r.batch, r.context, bf, f8, r.ms, frac("bf16"), frac("fp8_per64"), r.gbps / copy_bw,
                bf / r.ms, f8 / r.ms);
  }
  if (!json.empty()) {
    FILE* f = std::fopen(json.c_str(), "w");
    std::fprintf(f, "{\"device\": \"%s\", \"sms\": %d, \"copy_gbps\": %.1f, \"block_size\": %d, \"query\": \"bf16\", "
                 "\"results\": [\n", prop.name, prop.multiProcessorCount, copy_bw, block);
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& r = rows[i];
      const double bf = find(r, "bf16", r.kernel), f8 = find(r, "fp8_per64", r.kernel);
      std::fprintf(f, "  {\"shape\": \"%s\", \"codec\": \"%s\", \"kernel\": \"%s\", \"batch\": %d, \"context\": %d, "
                   "\"median_ms\": %.5f, \"record_gb\": %.4f, \"gbps\": %.2f, \"fraction_of_copy\": %.4f, "
                   "\"speedup_vs_bf16\": %.4f, \"speedup_vs_fp8\": %.4f}%s\n",
                   r.shape.c_str(), r.codec.c_str(), r.kernel.c_str(), r.batch, r.context, r.ms, r.cache_gb, r.gbps,
                   r.gbps / copy_bw, bf > 0 ? bf / r.ms : 0.0, f8 > 0 ? f8 / r.ms : 0.0, i + 1 < rows.size() ? "," : "");
    }
    std::fprintf(f, "]}\n");
    std::fclose(f);
  }
  return 0;
}
