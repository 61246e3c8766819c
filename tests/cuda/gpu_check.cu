// SPDX-License-Identifier: Apache-2.0
// GPU correctness check, self-contained (no GoogleTest): for each codec configuration,
// encodes the same random + adversarial vectors on the CPU (kakeya::cpu) and the GPU
// (kakeya::gpu) and requires byte-identical codes and bit-identical decodes. The error
// paths are checked the same way: batches with NaN/Inf and out-of-range rows (encode)
// and corrupt records (decode) must give the CPU's bytes row by row (a row the CPU
// rejects is all zero on the GPU) and exactly the documented error-flag bits.
//
//   kakeya_gpu_check [--vectors N] [--json FILE]
// Exit status 0 only when every configuration matches. Without a device it prints a
// skip line and exits 77 (CTest's skip code).
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "cuda_programs.cuh"
#include "kakeya/gpu/codec.h"
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

struct Result {
  std::string name, dtype;
  int64_t vectors = 0, code_mismatch_rows = 0, decode_mismatch = 0, flag_mismatch = 0;
  double seconds = 0;
  [[nodiscard]] bool ok() const {
    return code_mismatch_rows == 0 && decode_mismatch == 0 && flag_mismatch == 0;
  }
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
    if (done == 0) adversarial(xf, std::min<int64_t>(rows, 1000), dim, g, huge_ok);
    convert<In>(xf, x, rows * dim);
    try {
      cpu::encode<In>(spec, contiguous<const In>(x.data(), rows, dim), {c_cpu.data(), rows, cb});
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: CPU encode rejected the test input: %s\n", res.name.c_str(), e.what());
      res.code_mismatch_rows = -1;
      break;
    }
    cpu::decode<float>(spec, {c_cpu.data(), rows, cb}, contiguous(o_cpu.data(), rows, dim));
    KAKEYA_CK(cudaMemcpy(dx, x.data(), static_cast<size_t>(rows * dim) * sizeof(In), cudaMemcpyHostToDevice));
    KAKEYA_CK(cudaMemset(dflag, 0, sizeof(int32_t)));
    Status st = gpu::encode<In>(spec, contiguous<const In>(dx, rows, dim), {dc, rows, cb}, dflag, nullptr);
    if (st != Status::kOk) {
      std::fprintf(stderr, "encode launch failed: %s\n", gpu::last_error());
      std::exit(3);
    }
    // decode the CPU codes on the GPU, so decode is checked independently of encode
    KAKEYA_CK(cudaMemcpy(dc, c_cpu.data(), static_cast<size_t>(rows * cb), cudaMemcpyHostToDevice));
    st = gpu::decode<float>(spec, {dc, rows, cb}, contiguous(dout, rows, dim), dflag, nullptr);
    if (st != Status::kOk) {
      std::fprintf(stderr, "decode launch failed: %s\n", gpu::last_error());
      std::exit(3);
    }
    KAKEYA_CK(cudaMemcpy(o_gpu.data(), dout, static_cast<size_t>(rows * dim) * sizeof(float), cudaMemcpyDeviceToHost));
    // re-run the encode to compare its codes
    KAKEYA_CK(cudaMemcpy(dx, x.data(), static_cast<size_t>(rows * dim) * sizeof(In), cudaMemcpyHostToDevice));
    st = gpu::encode<In>(spec, contiguous<const In>(dx, rows, dim), {dc, rows, cb}, dflag, nullptr);
    KAKEYA_CK(cudaMemcpy(c_gpu.data(), dc, static_cast<size_t>(rows * cb), cudaMemcpyDeviceToHost));
    int32_t flag = 0;
    KAKEYA_CK(cudaMemcpy(&flag, dflag, sizeof flag, cudaMemcpyDeviceToHost));
    if (flag != 0) {
      std::fprintf(stderr, "%s: unexpected error flag %d\n", res.name.c_str(), flag);
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
        if (std::memcmp(&o_cpu[i], &o_gpu[i], 4) != 0) ++res.decode_mismatch;
    res.vectors += rows;
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  KAKEYA_CK(cudaFree(dx));
  KAKEYA_CK(cudaFree(dc));
  KAKEYA_CK(cudaFree(dout));
  KAKEYA_CK(cudaFree(dflag));
  return res;
}

// The CPU's answer for one row: its record (encode) or its values (decode), or all zeros
// and `false` when the CPU rejects the row (the documented per-row error contract).
template <class In>
bool cpu_encode_row(const CodecSpec& spec, const In* x, uint8_t* rec) {
  try {
    cpu::encode<In>(spec, contiguous<const In>(x, 1, spec.dim), {rec, 1, spec.code_bytes()});
    return true;
  } catch (const InvalidArgument&) {
    std::memset(rec, 0, static_cast<size_t>(spec.code_bytes()));
    return false;
  }
}

bool cpu_decode_row(const CodecSpec& spec, const uint8_t* rec, float* out) {
  try {
    cpu::decode<float>(spec, {rec, 1, spec.code_bytes()}, contiguous(out, 1, spec.dim));
    return true;
  } catch (const InvalidArgument&) {
    std::fill(out, out + spec.dim, 0.0f);
    return false;
  }
}

// Error paths: a batch of `rows` rows where every third row is not encodable (NaN, +Inf,
// -Inf, or a magnitude the scale format cannot hold), encoded on the GPU; then CPU
// records with every third row corrupted (random bytes, a negative or NaN scale, all-one
// bits), decoded on the GPU. Compared byte for byte with the CPU row by row; the flag
// must be exactly 1 (encode) or 2 (decode) when a row was rejected and 0 otherwise.
template <class In>
Result check_error_paths(const CodecSpec& spec, uint64_t seed) {
  Result res;
  res.name = "errors:" + spec.name();
  res.dtype = element<In>::kName;
  const auto t0 = std::chrono::steady_clock::now();
  const int dim = spec.dim;
  const int64_t rows = 300, cb = spec.code_bytes();
  std::mt19937 g(static_cast<uint32_t>(seed));
  std::vector<float> xf(static_cast<size_t>(rows * dim));
  fill_gaussian(xf, rows * dim, seed);
  for (int64_t r = 0; r < rows; r += 3) {
    float* p = &xf[static_cast<size_t>(r * dim)];
    const int col = static_cast<int>(g() % static_cast<uint32_t>(dim));
    switch ((r / 3) % 4) {
      case 0: p[col] = std::nanf(""); break;
      case 1: p[col] = std::numeric_limits<float>::infinity(); break;
      case 2: p[col] = -std::numeric_limits<float>::infinity(); break;
      default: p[col] = std::is_same_v<In, f16> ? 65504.f : 3.0e38f; break;  // too large for some formats
    }
  }
  std::vector<In> x(xf.size());
  convert<In>(xf, x, rows * dim);
  // Expected records, one CPU call per row.
  std::vector<uint8_t> want(static_cast<size_t>(rows * cb)), got(want.size());
  bool any_bad = false;
  for (int64_t r = 0; r < rows; ++r)
    any_bad |= !cpu_encode_row<In>(spec, &x[static_cast<size_t>(r * dim)], &want[static_cast<size_t>(r * cb)]);
  In* dx;
  uint8_t* dc;
  float* dout;
  int32_t* dflag;
  KAKEYA_CK(cudaMalloc(&dx, x.size() * sizeof(In)));
  KAKEYA_CK(cudaMalloc(&dc, want.size()));
  KAKEYA_CK(cudaMalloc(&dout, xf.size() * sizeof(float)));
  KAKEYA_CK(cudaMalloc(&dflag, sizeof(int32_t)));
  KAKEYA_CK(cudaMemcpy(dx, x.data(), x.size() * sizeof(In), cudaMemcpyHostToDevice));
  KAKEYA_CK(cudaMemset(dc, 0xAB, want.size()));  // stale bytes must be overwritten
  KAKEYA_CK(cudaMemset(dflag, 0, sizeof(int32_t)));
  if (gpu::encode<In>(spec, contiguous<const In>(dx, rows, dim), {dc, rows, cb}, dflag, nullptr) != Status::kOk) {
    std::fprintf(stderr, "encode launch failed: %s\n", gpu::last_error());
    std::exit(3);
  }
  KAKEYA_CK(cudaMemcpy(got.data(), dc, got.size(), cudaMemcpyDeviceToHost));
  int32_t flag = 0;
  KAKEYA_CK(cudaMemcpy(&flag, dflag, sizeof flag, cudaMemcpyDeviceToHost));
  for (int64_t r = 0; r < rows; ++r)
    if (std::memcmp(&want[static_cast<size_t>(r * cb)], &got[static_cast<size_t>(r * cb)], static_cast<size_t>(cb)) != 0) {
      if (res.code_mismatch_rows < 3)
        std::fprintf(stderr, "%s %s: encode error path: row %lld differs from the CPU\n", res.name.c_str(),
                     res.dtype.c_str(), static_cast<long long>(r));
      ++res.code_mismatch_rows;
    }
  if (flag != (any_bad ? 1 : 0)) {
    std::fprintf(stderr, "%s %s: encode flag %d, expected %d\n", res.name.c_str(), res.dtype.c_str(), flag,
                 any_bad ? 1 : 0);
    ++res.flag_mismatch;
  }

  // Decode: valid CPU records of finite rows, with every third row corrupted.
  std::vector<uint8_t> codes(want.size());
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* rec = &codes[static_cast<size_t>(r * cb)];
    std::vector<float> clean(static_cast<size_t>(dim));
    for (int c = 0; c < dim; ++c) clean[static_cast<size_t>(c)] = std::ldexp(static_cast<float>(c % 7) - 3.f, static_cast<int>(r % 9) - 4);
    cpu::encode<float>(spec, contiguous<const float>(clean.data(), 1, dim), {rec, 1, cb});
    if (r % 3 != 0) continue;
    switch ((r / 3) % 4) {
      case 0:
        for (int64_t b = 0; b < cb; ++b) rec[b] = static_cast<uint8_t>(g());
        break;
      case 1: rec[1] |= 0x80; break;   // sign bit of the first 16-bit scale: negative scale
      case 2: rec[0] = 0xC1; rec[1] = 0x7F; break;  // bf16/fp16 NaN pattern in the first scale
      default: std::memset(rec, 0xFF, static_cast<size_t>(cb)); break;
    }
  }
  std::vector<float> want_out(xf.size()), got_out(xf.size());
  any_bad = false;
  for (int64_t r = 0; r < rows; ++r)
    any_bad |= !cpu_decode_row(spec, &codes[static_cast<size_t>(r * cb)], &want_out[static_cast<size_t>(r * dim)]);
  KAKEYA_CK(cudaMemcpy(dc, codes.data(), codes.size(), cudaMemcpyHostToDevice));
  KAKEYA_CK(cudaMemset(dout, 0xFF, xf.size() * sizeof(float)));  // NaN: stale values must be overwritten
  KAKEYA_CK(cudaMemset(dflag, 0, sizeof(int32_t)));
  if (gpu::decode<float>(spec, {dc, rows, cb}, contiguous(dout, rows, dim), dflag, nullptr) != Status::kOk) {
    std::fprintf(stderr, "decode launch failed: %s\n", gpu::last_error());
    std::exit(3);
  }
  KAKEYA_CK(cudaMemcpy(got_out.data(), dout, got_out.size() * sizeof(float), cudaMemcpyDeviceToHost));
  KAKEYA_CK(cudaMemcpy(&flag, dflag, sizeof flag, cudaMemcpyDeviceToHost));
  for (size_t i = 0; i < got_out.size(); ++i)
    if (std::memcmp(&want_out[i], &got_out[i], sizeof(float)) != 0) {
      if (res.decode_mismatch < 3)
        std::fprintf(stderr, "%s: decode error path: row %zu value %zu: CPU %a, GPU %a\n", res.name.c_str(),
                     i / static_cast<size_t>(dim), i % static_cast<size_t>(dim), want_out[i], got_out[i]);
      ++res.decode_mismatch;
    }
  if (flag != (any_bad ? 2 : 0)) {
    std::fprintf(stderr, "%s: decode flag %d, expected %d\n", res.name.c_str(), flag, any_bad ? 2 : 0);
    ++res.flag_mismatch;
  }
  res.vectors = 2 * rows;
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
    std::printf("%-28s %-8s vectors %10lld  code mismatches %lld  decode mismatches %lld  flag mismatches %lld  %s (%.1fs)\n",
                r.name.c_str(), r.dtype.c_str(), static_cast<long long>(r.vectors),
                static_cast<long long>(r.code_mismatch_rows), static_cast<long long>(r.decode_mismatch),
                static_cast<long long>(r.flag_mismatch), r.ok() ? "OK" : "MISMATCH", r.seconds);
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
      for (const auto& p : variants) push(check<bf16>(make_codec(fam.name, dim, p), small, 81 + dim));
    }
  // Error paths: the lattice scale formats, then every other family of the factory;
  // float and 16-bit inputs.
  std::vector<CodecSpec> error_specs = {
      CodecSpec::make_lattice(LatticeKind::kE8, 128, 38),
      CodecSpec::make_lattice(LatticeKind::kE8, 64, 1, ScaleFormat::kFP16),
      CodecSpec::make_lattice(LatticeKind::kD4, 96, 10, ScaleFormat::kNormQmax),
      CodecSpec::make_lattice(LatticeKind::kZ8, 64, 127)};
  for (const auto& fam : codec_families()) {
    if (fam.kind == CodecKind::kLattice) continue;
    CodecParams p;
    if (fam.kind == CodecKind::kNVFP4) p = {{"tensor_scale", "0.00223"}};
    error_specs.push_back(make_codec(fam.name, 128, p));
  }
  for (const auto& spec : error_specs) {
    push(check_error_paths<float>(spec, 91));
    push(check_error_paths<bf16>(spec, 92));
    push(check_error_paths<f16>(spec, 93));
  }

  int bad = 0;
  FILE* f = json.empty() ? nullptr : std::fopen(json.c_str(), "w");
  if (f) std::fprintf(f, "{\"device\": \"%s\", \"results\": [\n", prop.name);
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    bad += r.ok() ? 0 : 1;
    if (f)
      std::fprintf(f, "  {\"codec\": \"%s\", \"dtype\": \"%s\", \"vectors\": %lld, \"code_mismatch_rows\": %lld, \"decode_mismatch\": %lld, \"flag_mismatch\": %lld}%s\n",
                   r.name.c_str(), r.dtype.c_str(), static_cast<long long>(r.vectors),
                   static_cast<long long>(r.code_mismatch_rows), static_cast<long long>(r.decode_mismatch),
                   static_cast<long long>(r.flag_mismatch), i + 1 < results.size() ? "," : "");
  }
  if (f) {
    std::fprintf(f, "], \"configs_failed\": %d}\n", bad);
    std::fclose(f);
  }
  std::printf("%zu passed, %d failed\n", results.size() - bad, bad);
  return bad == 0 ? 0 : 1;
}
