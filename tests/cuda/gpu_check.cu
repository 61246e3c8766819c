// SPDX-License-Identifier: Apache-2.0
// GPU correctness check, self-contained (no GoogleTest): for each codec configuration,
// encodes the same random + adversarial vectors on the CPU (kakeya::cpu) and the GPU
// (kakeya::gpu) and requires byte-identical codes and bit-identical decodes.
//
//   kakeya_gpu_check [--vectors N] [--json FILE]
// Exit status 0 only when every configuration matches. Without a device it prints a
// skip line and exits 77 (CTest's skip code).
#include <cuda_runtime.h>

#include <chrono>
#include <limits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "kakeya/gpu/codec.h"
#include "cuda_programs.cuh"
#include "kakeya/kakeya.h"

using namespace kakeya;


namespace {

// Adversarial rows: zeros, -0, spikes, ties, alternating, tiny, huge, subnormal, ramps.
void adversarial(std::vector<float>& x, int64_t rows, int dim, std::mt19937& g, bool allow_huge) {
  std::normal_distribution<float> n;
  for (int64_t r = 0; r < rows; ++r) {
    float* p = &x[r * dim];
    const int kind = static_cast<int>(r % 10);
    for (int i = 0; i < dim; ++i) {
      switch (kind) {
        case 0: p[i] = 0.f; break;
        case 1: p[i] = -0.f; break;
        case 2: p[i] = i == static_cast<int>(r % dim) ? 50.f : 0.f; break;
        case 3: p[i] = 0.5f; break;
        case 4: p[i] = (i % 2) ? -1.f : 1.f; break;
        case 5: p[i] = n(g) * 1e-20f; break;
        case 6: p[i] = n(g) * (allow_huge ? 1e30f : 1e3f); break;
        case 7: p[i] = std::ldexp(1.f, -140) * static_cast<float>(i % 3); break;
        case 8: p[i] = static_cast<float>(i) - dim / 2.f; break;
        default: p[i] = std::round(n(g) * 4.f) * 0.25f; break;  // dyadic: exact ties
      }
    }
  }
}

// Parallel Gaussian fill (splitmix64 + Box-Muller), one stream per thread and chunk.
void fill_gaussian(std::vector<float>& x, int64_t n, uint64_t seed) {
  const int nt = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (int t = 0; t < nt; ++t)
    pool.emplace_back([&, t] {
      uint64_t s = seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(t) * 0xD1B54A32D192ED03ull + 1;
      auto next = [&s] {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
      };
      const int64_t b = n * t / nt, e = n * (t + 1) / nt;
      for (int64_t i = b; i < e; i += 2) {
        const double u1 = (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53;
        const double u2 = static_cast<double>(next() >> 11) * 0x1.0p-53;
        const double r = std::sqrt(-2.0 * std::log(u1));
        x[static_cast<size_t>(i)] = static_cast<float>(r * std::cos(6.283185307179586 * u2));
        if (i + 1 < e) x[static_cast<size_t>(i + 1)] = static_cast<float>(r * std::sin(6.283185307179586 * u2));
      }
    });
  for (auto& th : pool) th.join();
}

template <class In>
void convert(const std::vector<float>& x, std::vector<In>& out, int64_t n) {
  const int nt = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (int t = 0; t < nt; ++t)
    pool.emplace_back([&, t] {
      for (int64_t i = n * t / nt; i < n * (t + 1) / nt; ++i)
        out[static_cast<size_t>(i)] = element<In>::from_float(x[static_cast<size_t>(i)]);
    });
  for (auto& th : pool) th.join();
}

// Error-path rows, after the adversarial ones: NaN, +Inf and -Inf at a few positions (the
// last coordinate is in v4_native's bf16 tail), and a huge row (side values overflow).
constexpr int64_t kFaultRow0 = 1000, kFaultRows = 8;
void faults(std::vector<float>& x, int dim) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const float vals[kFaultRows] = {nan, inf, -inf, nan, inf, -nan, 1e38f, 0.0f};
  for (int64_t k = 0; k < kFaultRows; ++k) {
    float* p = &x[(kFaultRow0 + k) * dim];
    if (k == 6) {
      for (int i = 0; i < dim; ++i) p[i] = (i % 2 ? -1e38f : 1e38f);
      continue;
    }
    const int at = k == 7 ? dim - 1 : static_cast<int>((k * 37) % dim);
    p[at] = k == 7 ? nan : vals[k];
  }
}

// Corrupt records for the decode check: random bytes in rows [kFaultRow0 + 8, + 16), plus
// every 0xff (NaN patterns, reserved scale bytes) in the next row.
constexpr int64_t kCorruptRow0 = kFaultRow0 + kFaultRows, kCorruptRows = 9;
void corrupt(std::vector<uint8_t>& c, int64_t cb, std::mt19937& g) {
  for (int64_t r = kCorruptRow0; r < kCorruptRow0 + kCorruptRows; ++r)
    for (int64_t i = 0; i < cb; ++i)
      c[static_cast<size_t>(r * cb + i)] = r + 1 == kCorruptRow0 + kCorruptRows ? 0xff : static_cast<uint8_t>(g());
}

struct Result {
  std::string name, dtype;
  int64_t vectors = 0, code_mismatch_rows = 0, decode_mismatch = 0, flag_mismatch = 0, bad_rows = 0;
  double seconds = 0;
};

template <class In>
Result check(const CodecSpec& spec, int64_t total, uint64_t seed) {
  Result res;
  res.name = spec.name();
  res.dtype = element<In>::kName;
  const int dim = spec.dim;
  const int64_t cb = spec.code_bytes();
  const int64_t chunk = std::min<int64_t>(total, std::max<int64_t>(1, (int64_t{1} << 26) / dim));
  std::vector<float> xf(static_cast<size_t>(chunk * dim));
  std::vector<uint8_t> c_cpu(static_cast<size_t>(chunk * cb)), c_gpu(c_cpu.size());
  std::vector<float> o_cpu(xf.size()), o_gpu(xf.size());
  In* dx;
  uint8_t* dc;
  float* dout;
  int32_t* dflag;
  KAKEYA_CK(cudaMalloc(&dx, xf.size() * sizeof(In)));
  KAKEYA_CK(cudaMalloc(&dc, c_cpu.size()));
  KAKEYA_CK(cudaMalloc(&dout, xf.size() * sizeof(float)));
  KAKEYA_CK(cudaMalloc(&dflag, sizeof(int32_t)));
  std::mt19937 g(static_cast<uint32_t>(seed));
  std::vector<In> x(xf.size());
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t done = 0; done < total; done += chunk) {
    const int64_t rows = std::min(chunk, total - done);
    fill_gaussian(xf, rows * dim, seed + static_cast<uint64_t>(done));
    // Huge rows only where the input type and the scale format can hold them.
    const bool huge_ok = spec.kind == CodecKind::kLattice && spec.scale == ScaleFormat::kBF16 && !std::is_same_v<In, f16>;
    const bool with_faults = done == 0 && rows >= kCorruptRow0 + kCorruptRows;
    if (done == 0) adversarial(xf, std::min<int64_t>(rows, 1000), dim, g, huge_ok);
    if (with_faults) faults(xf, dim);
    convert<In>(xf, x, rows * dim);
    // The CPU zeroes the records of rejected rows, encodes the others, then throws.
    bool cpu_rejected = false;
    try {
      cpu::encode<In>(spec, contiguous<const In>(x.data(), rows, dim), {c_cpu.data(), rows, cb});
    } catch (const InvalidArgument& e) {
      cpu_rejected = true;
      if (!with_faults) {
        std::fprintf(stderr, "%s: CPU encode rejected the test input: %s\n", res.name.c_str(), e.what());
        res.code_mismatch_rows = -1;
        break;
      }
    }
    // Decode input: the CPU codes with some records replaced by random bytes; the CPU
    // decode with bad_rows gives the reference output (zeros for corrupt rows).
    std::vector<uint8_t> c_dec(c_cpu.begin(), c_cpu.begin() + rows * cb);
    if (with_faults) corrupt(c_dec, cb, g);
    std::vector<uint8_t> bad(static_cast<size_t>(rows), 0);
    cpu::decode<float>(spec, {c_dec.data(), rows, cb}, contiguous(o_cpu.data(), rows, dim), bad.data());
    int64_t nbad = 0;
    for (const uint8_t b : bad) nbad += b;
    res.bad_rows += nbad;
    KAKEYA_CK(cudaMemcpy(dx, x.data(), static_cast<size_t>(rows * dim) * sizeof(In), cudaMemcpyHostToDevice));
    KAKEYA_CK(cudaMemset(dflag, 0, sizeof(int32_t)));
    Status st = gpu::encode<In>(spec, contiguous<const In>(dx, rows, dim), {dc, rows, cb}, dflag, nullptr);
    if (st != Status::kOk) {
      std::fprintf(stderr, "encode launch failed: %s\n", gpu::last_error());
      std::exit(3);
    }
    // decode the (partly corrupted) CPU codes on the GPU, so decode is checked
    // independently of encode; poison the output first
    KAKEYA_CK(cudaMemcpy(dc, c_dec.data(), static_cast<size_t>(rows * cb), cudaMemcpyHostToDevice));
    KAKEYA_CK(cudaMemset(dout, 0x7f, static_cast<size_t>(rows * dim) * sizeof(float)));
    st = gpu::decode<float>(spec, {dc, rows, cb}, contiguous(dout, rows, dim), dflag, nullptr);
    if (st != Status::kOk) {
      std::fprintf(stderr, "decode launch failed: %s\n", gpu::last_error());
      std::exit(3);
    }
    KAKEYA_CK(cudaMemcpy(o_gpu.data(), dout, static_cast<size_t>(rows * dim) * sizeof(float), cudaMemcpyDeviceToHost));
    // re-run the encode into a poisoned buffer to compare its codes
    KAKEYA_CK(cudaMemset(dc, 0xa5, static_cast<size_t>(rows * cb)));
    st = gpu::encode<In>(spec, contiguous<const In>(dx, rows, dim), {dc, rows, cb}, dflag, nullptr);
    KAKEYA_CK(cudaMemcpy(c_gpu.data(), dc, static_cast<size_t>(rows * cb), cudaMemcpyDeviceToHost));
    int32_t flag = 0;
    KAKEYA_CK(cudaMemcpy(&flag, dflag, sizeof flag, cudaMemcpyDeviceToHost));
    const int32_t want = (cpu_rejected ? 1 : 0) | (nbad > 0 ? 2 : 0);  // kErrInput | kErrCorrupt
    if (flag != want) {
      std::fprintf(stderr, "%s %s: error flag %d, expected %d\n", res.name.c_str(), res.dtype.c_str(), flag, want);
      ++res.flag_mismatch;
    }
    if (std::memcmp(c_cpu.data(), c_gpu.data(), static_cast<size_t>(rows * cb)) != 0)
    for (int64_t r = 0; r < rows; ++r)
      if (std::memcmp(&c_cpu[r * cb], &c_gpu[r * cb], static_cast<size_t>(cb)) != 0) {
        if (res.code_mismatch_rows < 3) std::fprintf(stderr, "%s %s: code mismatch at row %lld\n", res.name.c_str(), res.dtype.c_str(), static_cast<long long>(done + r));
        ++res.code_mismatch_rows;
      }
    if (std::memcmp(o_cpu.data(), o_gpu.data(), static_cast<size_t>(rows * dim) * 4) != 0)
      for (int64_t i = 0; i < rows * dim; ++i)
        if (std::memcmp(&o_cpu[i], &o_gpu[i], 4) != 0) {
          if (res.decode_mismatch < 3) std::fprintf(stderr, "%s %s: decode mismatch at row %lld col %lld\n", res.name.c_str(), res.dtype.c_str(), static_cast<long long>(done + i / dim), static_cast<long long>(i % dim));
          ++res.decode_mismatch;
        }
    res.vectors += rows;
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  KAKEYA_CK(cudaFree(dx));
  KAKEYA_CK(cudaFree(dc));
  KAKEYA_CK(cudaFree(dout));
  KAKEYA_CK(cudaFree(dflag));
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t big = 10000000;
  std::string json;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--vectors") && i + 1 < argc) big = std::atoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
  }
  if (!gpu::device_available()) {
    std::printf("SKIP: no CUDA device visible; GPU checks not run\n");
    return 77;  // CTest SKIP_RETURN_CODE
  }
  cudaDeviceProp prop{};
  KAKEYA_CK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s (sm_%d%d)\n", prop.name, prop.major, prop.minor);
  std::vector<Result> results;
  // Each result is printed as soon as it is known (a crash later keeps the earlier lines).
  auto report = [](const Result& r) {
    const bool ok = r.code_mismatch_rows == 0 && r.decode_mismatch == 0 && r.flag_mismatch == 0;
    std::printf("%-28s %-8s vectors %10lld  code mismatches %lld  decode mismatches %lld  flags %s  corrupt rows %lld  %s (%.1fs)\n",
                r.name.c_str(), r.dtype.c_str(), static_cast<long long>(r.vectors),
                static_cast<long long>(r.code_mismatch_rows), static_cast<long long>(r.decode_mismatch),
                r.flag_mismatch ? "WRONG" : "ok", static_cast<long long>(r.bad_rows), ok ? "OK" : "MISMATCH", r.seconds);
    std::fflush(stdout);
  };
  auto push = [&](Result r) {
    report(r);
    results.push_back(std::move(r));
  };
  // Main configurations: `big` vectors each, bf16 input (the KV-cache case).
  for (int dim : {128, 512})
    for (int q : {4, 10, 38})
      push(check<bf16>(CodecSpec::make_lattice(LatticeKind::kE8, dim, q), big, 1000 + dim + q));
  for (int dim : {128, 512}) push(check<bf16>(CodecSpec::make_fp8_per64(dim), big, 7 + dim));
  // Breadth: every lattice, scale, dtype and odd dims, fewer vectors.
  const int64_t small = std::max<int64_t>(big / 50, 10000);
  for (auto lat : {LatticeKind::kE8, LatticeKind::kD4, LatticeKind::kZ8})
    for (int dim : {8, 64, 96, 256, 576, 1024})
      for (int q : {1, 2, 76, 127})
        push(check<float>(CodecSpec::make_lattice(lat, dim, q), small / 4, 11 + dim * q));
  for (auto sc : {ScaleFormat::kFP16, ScaleFormat::kNormQmax})
    push(check<float>(CodecSpec::make_lattice(LatticeKind::kE8, 128, 38, sc), small, 21));
  push(check<f16>(CodecSpec::make_lattice(LatticeKind::kE8, 256, 10), small, 31));
  push(check<float>(CodecSpec::make_lattice(LatticeKind::kE8, 512, 38), small, 41));
  push(check<float>(CodecSpec::make_v4_native(512), small, 51));
  push(check<float>(CodecSpec::make_bf16(128), small, 61));
  push(check<f16>(CodecSpec::make_fp8_per64(256), small, 71));
  // Every other family of the factory (row-wise kernels over the shared per-vector code).
  for (int dim : {128, 512})
    for (const auto& fam : codec_families()) {
      if (fam.kind == CodecKind::kLattice || fam.kind == CodecKind::kFP8Per64) continue;
      std::vector<CodecParams> variants = {{}};
      if (fam.kind == CodecKind::kNVFP4) variants = {{{"tensor_scale", "0.00223"}}};
      if (fam.kind == CodecKind::kInt) variants = {{{"bits", "4"}, {"group", "64"}}, {{"bits", "8"}, {"group", "32"}}};
      if (fam.kind == CodecKind::kLloydMax) variants = {{{"bits", "2"}}, {{"bits", "4"}}, {{"bits", "8"}}};
      if (fam.kind == CodecKind::kE8V2)
        variants = {{{"bits", "6"}}, {{"bits", "6.4"}, {"encoder", "fast"}}, {{"bits", "4"}, {"encoder", "fast"}}};
      for (const auto& p : variants) push(check<bf16>(make_codec(fam.name, dim, p), small, 81 + dim));
    }

  int bad = 0;
  FILE* f = json.empty() ? nullptr : std::fopen(json.c_str(), "w");
  if (f) std::fprintf(f, "{\"device\": \"%s\", \"results\": [\n", prop.name);
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    const bool ok = r.code_mismatch_rows == 0 && r.decode_mismatch == 0 && r.flag_mismatch == 0;
    bad += ok ? 0 : 1;
    if (f)
      std::fprintf(f, "  {\"codec\": \"%s\", \"dtype\": \"%s\", \"vectors\": %lld, \"code_mismatch_rows\": %lld, \"decode_mismatch\": %lld, \"flag_mismatch\": %lld, \"corrupt_rows\": %lld}%s\n",
                   r.name.c_str(), r.dtype.c_str(), static_cast<long long>(r.vectors),
                   static_cast<long long>(r.code_mismatch_rows), static_cast<long long>(r.decode_mismatch),
                   static_cast<long long>(r.flag_mismatch), static_cast<long long>(r.bad_rows),
                   i + 1 < results.size() ? "," : "");
  }
  if (f) {
    std::fprintf(f, "], \"configs_failed\": %d}\n", bad);
    std::fclose(f);
  }
  std::printf("%zu passed, %d failed\n", results.size() - bad, bad);
  return bad == 0 ? 0 : 1;
}
