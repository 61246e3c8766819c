// SPDX-License-Identifier: Apache-2.0
// GPU throughput of encode/decode against the device-to-device copy ceiling, timed with
// CUDA events (self-contained: builds on bare GPU images without Google Benchmark).
//
//   kakeya_bench_gpu [--json FILE] [--reps N]
// Bytes counted = bytes read + bytes written (input + codes for encode, codes + output
// for decode; a copy of N bytes counts 2N).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "kakeya/gpu/codec.h"
#include "cuda_programs.cuh"
#include "kakeya/kakeya.h"

using namespace kakeya;


namespace {

struct Row {
  std::string op, codec;
  int64_t rows;
  int dim;
  double ms, gbps, frac, mvec;
};

}  // namespace

int main(int argc, char** argv) {
  std::string json;
  int reps = 20;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
    else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) reps = std::atoi(argv[++i]);
  }
  if (!gpu::device_available()) {
    std::printf("SKIP: no CUDA device visible\n");
    return 77;
  }
  cudaDeviceProp prop{};
  KAKEYA_CK(cudaGetDeviceProperties(&prop, 0));
  int driver = 0;
  KAKEYA_CK(cudaDriverGetVersion(&driver));

  // Ceiling: a large device-to-device copy (1 GiB), bytes read + written.
  const size_t copy_bytes = size_t{1} << 30;
  void *ca, *cb;
  KAKEYA_CK(cudaMalloc(&ca, copy_bytes));
  KAKEYA_CK(cudaMalloc(&cb, copy_bytes));
  KAKEYA_CK(cudaMemset(ca, 1, copy_bytes));
  const double copy_ms = detail::median_event_ms([&] { KAKEYA_CK(cudaMemcpyAsync(cb, ca, copy_bytes, cudaMemcpyDeviceToDevice)); }, reps, 3);
  const double copy_gbps = 2.0 * copy_bytes / (copy_ms * 1e-3) / 1e9;
  KAKEYA_CK(cudaFree(ca));
  KAKEYA_CK(cudaFree(cb));
  std::printf("device %s, driver %d, copy ceiling %.1f GB/s (read+write)\n", prop.name, driver, copy_gbps);

  std::vector<Row> rows_out;
  const struct {
    int64_t rows;
    int dim;
  } shapes[] = {{1 << 20, 512}, {4 << 20, 128}};
  for (const auto& sh : shapes) {
    const int64_t n = sh.rows * sh.dim;
    bf16* x;
    bf16* y;
    KAKEYA_CK(cudaMalloc(&x, n * sizeof(bf16)));
    KAKEYA_CK(cudaMalloc(&y, n * sizeof(bf16)));
    detail::fill_bf16(x, n, 12345u);
    std::vector<CodecSpec> specs = {CodecSpec::make_lattice(LatticeKind::kE8, sh.dim, 4),
                                    CodecSpec::make_lattice(LatticeKind::kE8, sh.dim, 10),
                                    CodecSpec::make_lattice(LatticeKind::kE8, sh.dim, 38),
                                    CodecSpec::make_fp8_per64(sh.dim),
                                    CodecSpec::make_v4_native(sh.dim),
                                    CodecSpec::make_v41_mxfp8(sh.dim),
                                    CodecSpec::make_mxfp8(sh.dim),
                                    CodecSpec::make_nvfp4(sh.dim, 0.00223f),
                                    CodecSpec::make_mxfp4(sh.dim),
                                    CodecSpec::make_int(sh.dim, 4, 64),
                                    CodecSpec::make_int(sh.dim, 8, 32),
                                    CodecSpec::make_lloydmax(sh.dim, 2),
                                    CodecSpec::make_lloydmax(sh.dim, 4),
                                    CodecSpec::make_lloydmax(sh.dim, 8),
                                    CodecSpec::make_bf16(sh.dim)};
    for (const auto& spec : specs) {
      const int64_t cbytes = spec.code_bytes();
      uint8_t* codes;
      KAKEYA_CK(cudaMalloc(&codes, sh.rows * cbytes));
      const auto xin = contiguous<const bf16>(x, sh.rows, sh.dim);
      const CodeBatch cbw{codes, sh.rows, cbytes};
      const ConstCodeBatch cbr{codes, sh.rows, cbytes};
      const auto yout = contiguous(y, sh.rows, sh.dim);
      const double enc = detail::median_event_ms([&] {
        if (gpu::encode<bf16>(spec, xin, cbw, nullptr, nullptr) != Status::kOk) {
          std::fprintf(stderr, "encode failed: %s\n", gpu::last_error());
          std::exit(3);
        }
      }, reps, 3);
      const double dec = detail::median_event_ms([&] {
        if (gpu::decode<bf16>(spec, cbr, yout, nullptr, nullptr) != Status::kOk) {
          std::fprintf(stderr, "decode failed: %s\n", gpu::last_error());
          std::exit(3);
        }
      }, reps, 3);
      const double bytes = static_cast<double>(n) * 2 + static_cast<double>(sh.rows) * cbytes;
      for (int k = 0; k < 2; ++k) {
        Row r;
        r.op = k == 0 ? "encode" : "decode";
        r.codec = spec.name();
        r.rows = sh.rows;
        r.dim = sh.dim;
        r.ms = k == 0 ? enc : dec;
        r.gbps = bytes / (r.ms * 1e-3) / 1e9;
        r.frac = r.gbps / copy_gbps;
        r.mvec = sh.rows / (r.ms * 1e-3) / 1e6;
        rows_out.push_back(r);
      }
      KAKEYA_CK(cudaFree(codes));
    }
    KAKEYA_CK(cudaFree(x));
    KAKEYA_CK(cudaFree(y));
  }
  std::printf("%-8s %-22s %9s %5s %9s %9s %7s %10s\n", "op", "codec", "rows", "dim", "ms", "GB/s", "of copy", "Mvec/s");
  for (const auto& r : rows_out)
    std::printf("%-8s %-22s %9lld %5d %9.3f %9.1f %6.1f%% %10.1f\n", r.op.c_str(), r.codec.c_str(),
                static_cast<long long>(r.rows), r.dim, r.ms, r.gbps, 100 * r.frac, r.mvec);
  if (!json.empty()) {
    FILE* f = std::fopen(json.c_str(), "w");
    std::fprintf(f, "{\"device\": \"%s\", \"driver\": %d, \"sm\": \"%d%d\", \"reps\": %d, \"copy_gbps\": %.3f, \"results\": [\n",
                 prop.name, driver, prop.major, prop.minor, reps, copy_gbps);
    for (size_t i = 0; i < rows_out.size(); ++i) {
      const auto& r = rows_out[i];
      std::fprintf(f, "  {\"op\": \"%s\", \"codec\": \"%s\", \"rows\": %lld, \"dim\": %d, \"input\": \"bf16\", \"median_ms\": %.5f, \"gbps\": %.3f, \"fraction_of_copy\": %.4f, \"mvec_per_s\": %.3f}%s\n",
                   r.op.c_str(), r.codec.c_str(), static_cast<long long>(r.rows), r.dim, r.ms, r.gbps, r.frac, r.mvec,
                   i + 1 < rows_out.size() ? "," : "");
    }
    std::fprintf(f, "]}\n");
    std::fclose(f);
  }
  return 0;
}
