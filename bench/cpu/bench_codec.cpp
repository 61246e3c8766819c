// SPDX-License-Identifier: Apache-2.0
// CPU encode/decode throughput (Google Benchmark), with a plain scalar yardstick of the
// same algorithm in the same run.
//
//   build/bench/kakeya_bench_cpu --benchmark_out=reports/cpu_bench.json --benchmark_out_format=json
//
// Counters: items = vectors, bytes = input bytes read + code bytes written (encode) or
// code bytes read + output bytes written (decode); rel_mse and bits_per_dim show quality.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "kakeya/kakeya.h"

using namespace kakeya;

namespace {

constexpr int64_t kRows = 16384;

std::vector<float> gaussian(int64_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d;
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = d(g);
  return x;
}

// kind 4 (e8v2) reads q as tenths of a bit per coordinate (64: 6.4 b/c); kind 5
// (lloydmax) as bits per coordinate.
CodecSpec make_spec(int kind, int dim, int q) {
  switch (kind) {
    case 0: return CodecSpec::make_lattice(LatticeKind::kE8, dim, q);
    case 1: return CodecSpec::make_lattice(LatticeKind::kD4, dim, q);
    case 2: return CodecSpec::make_lattice(LatticeKind::kZ8, dim, q);
    case 4: return CodecSpec::make_e8v2(dim, static_cast<float>(q) / 10.0f);
    case 5: return CodecSpec::make_lloydmax(dim, q);
    default: return CodecSpec::make_fp8_per64(dim);
  }
}

template <class In>
struct Data {
  std::vector<In> x;
  std::vector<float> xf;
  std::vector<uint8_t> codes;
  std::vector<float> out;
  Data(const CodecSpec& spec, int64_t rows) {
    xf = gaussian(rows * spec.dim, 42);
    x.resize(xf.size());
    for (size_t i = 0; i < xf.size(); ++i) {
      if constexpr (std::is_same_v<In, float>) x[i] = xf[i];
      else x[i] = element<In>::from_float(xf[i]);
      xf[i] = element<In>::to_float(x[i]);
    }
    codes.resize(static_cast<size_t>(rows * spec.code_bytes()));
    out.resize(xf.size());
  }
};

// e8v2's exact search encoder is ~100× slower than the others: fewer rows.
int64_t encode_rows(const CodecSpec& spec) { return spec.kind == CodecKind::kE8V2 ? 1024 : kRows; }

// Args: {codec kind (0 e8, 1 d4, 2 z, 3 fp8_per64, 4 e8v2, 5 lloydmax), dim, q, threads}
template <class In>
void BM_Encode(benchmark::State& state) {
  const auto spec = make_spec(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)),
                              static_cast<int>(state.range(2)));
  cpu::set_num_threads(static_cast<int>(state.range(3)));
  const int64_t rows = encode_rows(spec);
  Data<In> d(spec, rows);
  const auto x = contiguous<const In>(d.x.data(), rows, spec.dim);
  const CodeBatch c{d.codes.data(), rows, spec.code_bytes()};
  for (auto _ : state) {
    cpu::encode<In>(spec, x, c);
    benchmark::DoNotOptimize(d.codes.data());
    benchmark::ClobberMemory();
  }
  cpu::decode<float>(spec, {d.codes.data(), rows, spec.code_bytes()}, contiguous(d.out.data(), rows, spec.dim));
  state.counters["rel_mse"] = cpu::rel_mse<float, float>(contiguous<const float>(d.xf.data(), rows, spec.dim),
                                                         contiguous<const float>(d.out.data(), rows, spec.dim));
  state.counters["bits_per_dim"] = spec.bits_per_coord();
  state.SetItemsProcessed(state.iterations() * rows);
  state.SetBytesProcessed(state.iterations() * rows * (spec.dim * int64_t(sizeof(In)) + spec.code_bytes()));
  state.SetLabel(spec.name());
  cpu::set_num_threads(0);
}

template <class Out>
void BM_Decode(benchmark::State& state) {
  const auto spec = make_spec(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)),
                              static_cast<int>(state.range(2)));
  cpu::set_num_threads(static_cast<int>(state.range(3)));
  Data<float> d(spec, kRows);
  // Encode a few rows and tile them (e8v2's encoder is slow): decode speed does not
  // depend on which valid records it reads.
  const int64_t enc = encode_rows(spec);
  cpu::encode<float>(spec, contiguous<const float>(d.x.data(), enc, spec.dim), {d.codes.data(), enc, spec.code_bytes()});
  for (int64_t r = enc; r < kRows; ++r)
    std::copy_n(&d.codes[static_cast<size_t>((r % enc) * spec.code_bytes())], spec.code_bytes(),
                &d.codes[static_cast<size_t>(r * spec.code_bytes())]);
  std::vector<Out> out(static_cast<size_t>(kRows * spec.dim));
  for (auto _ : state) {
    cpu::decode<Out>(spec, {d.codes.data(), kRows, spec.code_bytes()}, contiguous(out.data(), kRows, spec.dim));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.counters["bits_per_dim"] = spec.bits_per_coord();
  state.SetItemsProcessed(state.iterations() * kRows);
  state.SetBytesProcessed(state.iterations() * kRows * (spec.dim * int64_t(sizeof(Out)) + spec.code_bytes()));
  state.SetLabel(spec.name());
  cpu::set_num_threads(0);
}

// ---------------------------------------------------------------- scalar yardstick
// The same codec written the obvious way: dense Hadamard matrix-vector product in
// double, per block both cosets by rounding and a parity fix, rank by Horner. It is
// what a first implementation looks like; the library must beat it by a wide margin.
struct Yardstick {
  int dim, q;
  std::vector<double> h;  // dim × dim block-diagonal normalised Hadamard
  explicit Yardstick(int d, int qq) : dim(d), q(qq), h(static_cast<size_t>(d) * d, 0.0) {
    const int p = d & -d;
    for (int b = 0; b < d; b += p)
      for (int i = 0; i < p; ++i)
        for (int j = 0; j < p; ++j)
          h[static_cast<size_t>(b + i) * d + b + j] = (__builtin_popcount(i & j) & 1 ? -1.0 : 1.0) / std::sqrt(double(p));
  }
  static double coset(const double* u, int q, bool half, int* t) {
    double d = 0, worst = -1;
    int wi = 0, alt = 0, sum = 0;
    for (int k = 0; k < 8; ++k) {
      double v = half ? std::floor(u[k]) + 0.5 : std::nearbyint(u[k]);
      v = std::fmin(std::fmax(v, half ? -q + 0.5 : -q), half ? q - 0.5 : q);
      double a = u[k] >= v ? v + 1 : v - 1;
      if (a > q) a = v - 1;
      if (a < -q) a = v + 1;
      const double c = (u[k] - a) * (u[k] - a) - (u[k] - v) * (u[k] - v);
      if (worst < 0 || c < worst) worst = c, wi = k, alt = static_cast<int>(std::lround(2 * a));
      t[k] = static_cast<int>(std::lround(2 * v));
      d += (u[k] - v) * (u[k] - v);
      sum += (t[k] - (half ? 1 : 0)) / 2;
    }
    if (sum & 1) t[wi] = alt, d += worst;
    return d;
  }
  void encode(const float* x, uint8_t* rec, int code_bytes, int bpb) const {
    std::vector<double> y(static_cast<size_t>(dim), 0.0);
    for (int i = 0; i < dim; ++i)
      for (int j = 0; j < dim; ++j) y[i] += h[static_cast<size_t>(i) * dim + j] * x[j];
    double amax = 0;
    for (double v : y) amax = std::fmax(amax, std::fabs(v));
    const float s = bf16_to_float(float_to_bf16_up(static_cast<float>(amax / q)));
    (void)code_bytes;
    format::BitWriter bw(rec);
    bw.put(float_to_bf16_up(static_cast<float>(amax / q)), 16);
    for (int j = 0; j < dim / 8; ++j) {
      double u[8];
      for (int k = 0; k < 8; ++k) u[k] = y[j * 8 + k] / s;
      int ti[8], th[8];
      const double di = coset(u, q, false, ti), dh = coset(u, q, true, th);
      const int* t = dh < di ? th : ti;
      int32_t tt[8];
      for (int k = 0; k < 8; ++k) tt[k] = t[k];
      bw.put(lattice_traits<E8>::rank(tt, q), bpb);
    }
    bw.flush();
  }
};

void BM_YardstickEncodeE8(benchmark::State& state) {
  const int dim = static_cast<int>(state.range(0)), q = static_cast<int>(state.range(1));
  const auto spec = CodecSpec::make_lattice(LatticeKind::kE8, dim, q);
  const auto lay = spec.layout();
  const Yardstick ys(dim, q);
  const int64_t rows = 512;
  const auto x = gaussian(rows * dim, 42);
  std::vector<uint8_t> codes(static_cast<size_t>(rows * spec.code_bytes()));
  for (auto _ : state) {
    for (int64_t r = 0; r < rows; ++r) ys.encode(&x[r * dim], &codes[r * spec.code_bytes()], lay.code_bytes, lay.bits_per_block);
    benchmark::DoNotOptimize(codes.data());
  }
  // The yardstick does its arithmetic in double, so it may split a near-tie differently;
  // the fraction of rows whose bytes equal the library's shows it is the same algorithm.
  std::vector<uint8_t> lib(codes.size());
  cpu::encode<float>(spec, contiguous<const float>(x.data(), rows, dim), {lib.data(), rows, spec.code_bytes()});
  int64_t same = 0;
  for (int64_t r = 0; r < rows; ++r)
    same += std::equal(&lib[r * spec.code_bytes()], &lib[(r + 1) * spec.code_bytes()], &codes[r * spec.code_bytes()]);
  state.counters["rows_equal_to_library"] = static_cast<double>(same) / rows;
  state.SetItemsProcessed(state.iterations() * rows);
  state.SetBytesProcessed(state.iterations() * rows * (dim * 4 + spec.code_bytes()));
  state.SetLabel("yardstick_" + spec.name());
}

void lattice_args(benchmark::internal::Benchmark* b) {
  b->ArgsProduct({{0, 1, 2}, {128, 512}, {4, 10, 38}, {1, 2}});
  b->ArgsProduct({{3}, {128, 512}, {0}, {1, 2}});
  b->ArgsProduct({{4}, {128, 512}, {40, 64, 80}, {1}});
  b->ArgsProduct({{5}, {128, 512}, {4, 6}, {1}});
  b->ArgNames({"codec", "dim", "q", "threads"})->UseRealTime()->Unit(benchmark::kMillisecond);
}

}  // namespace

BENCHMARK(BM_Encode<float>)->Apply(lattice_args);
BENCHMARK(BM_Encode<bf16>)->Apply(lattice_args);
BENCHMARK(BM_Decode<float>)->Apply(lattice_args);
BENCHMARK(BM_Decode<bf16>)->Apply(lattice_args);
BENCHMARK(BM_YardstickEncodeE8)->ArgsProduct({{128, 512}, {4, 10, 38}})->ArgNames({"dim", "q"})->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
