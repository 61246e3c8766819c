// SPDX-License-Identifier: Apache-2.0
// GPU decode-attention check, self-contained: random paged caches are filled by the CPU
// append and by the GPU append (must be byte-identical), then the GPU kernel's output is
// compared with the CPU float64 reference ("decode everything, then attend").
// Every case runs three kernel variants on the same cache and queries, each into an
// output poisoned with NaN first:
//   legacy      the CUDA-core kernel, float32 throughout        rel. error <= 1e-5
//   mma/split   MMA kernel, queries as 3 bf16 terms, P as 2      rel. error <= 1e-5
//               (≤ 2^-24 per query element, ≤ 2^-16 per weight: float32-like)
//   mma/bf16    MMA kernel, one bf16 term each (FlashAttention   rel. error <= 1e-2
//               style): queries and softmax weights carry 2^-9 relative rounding,
//               i.e. the 1e-3..1e-2 band of bf16 operands; decoded K/V are exact.
//   kakeya_attention_check [--json FILE]      exit 77 without a device
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "kakeya/gpu/attention.h"
#include "cuda_programs.cuh"
#include "kakeya/kakeya.h"
#include "kakeya/attention/paged.h"

using namespace kakeya;


namespace {

template <class T>
T* to_device(const std::vector<T>& h) {
  T* d = nullptr;
  KAKEYA_CK(cudaMalloc(&d, std::max<size_t>(1, h.size()) * sizeof(T)));
  if (!h.empty()) KAKEYA_CK(cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}

struct Case {
  std::string name;
  CodecSpec k, v;
  bool shared;
  int32_t dim, q_heads, kv_heads, block_size;
  std::vector<int32_t> lens;
};

struct Outcome {
  std::string name;
  std::string variant;
  double rel_err;        // ‖gpu − ref‖ / ‖ref‖
  double max_abs;        // max |gpu − ref|
  bool append_identical;
  int32_t flag;
  bool ok;
};

struct Variant {
  const char* name;
  gpu::AttentionOptions opt;
  double bound;
};
const Variant kVariants[] = {
    {"legacy", {gpu::AttentionKernel::kLegacy, gpu::AttentionPrecision::kSplit}, 1e-5},
    {"mma/split", {gpu::AttentionKernel::kMma, gpu::AttentionPrecision::kSplit}, 1e-5},
    {"mma/bf16", {gpu::AttentionKernel::kMma, gpu::AttentionPrecision::kBF16}, 1e-2},
};

std::vector<Outcome> run(const Case& c, uint32_t seed) {
  const int32_t batch = static_cast<int32_t>(c.lens.size());
  int32_t max_blocks = 0, max_len = 0;
  for (int32_t l : c.lens) {
    max_blocks = std::max(max_blocks, (l + c.block_size - 1) / c.block_size);
    max_len = std::max(max_len, l);
  }
  const int32_t num_blocks = max_blocks * batch + 2;
  std::vector<int32_t> perm(num_blocks), table(static_cast<size_t>(batch) * max_blocks, 0);
  std::iota(perm.begin(), perm.end(), 0);
  std::mt19937 g(seed);
  std::shuffle(perm.begin(), perm.end(), g);
  int next = 0;
  for (int32_t b = 0; b < batch; ++b)
    for (int32_t i = 0; i < (c.lens[b] + c.block_size - 1) / c.block_size; ++i) table[b * max_blocks + i] = perm[next++];
  const CodecSpec* vs = c.shared ? nullptr : &c.v;
  const int64_t kb = c.k.code_bytes(), vb = c.shared ? 0 : c.v.code_bytes();
  const size_t slots = static_cast<size_t>(num_blocks) * c.block_size;
  std::vector<uint8_t> hk(slots * c.kv_heads * kb, 0), hv(slots * c.kv_heads * std::max<int64_t>(vb, 1), 0);
  PagedKV<uint8_t> hview{hk.data(), c.shared ? nullptr : hv.data(), num_blocks, c.block_size, c.kv_heads, kb, vb,
                         table.data(), max_blocks, c.lens.data(), batch};
  // All tokens of all sequences in one append (host), then the same append on the GPU.
  std::vector<int64_t> slot_map;
  for (int32_t b = 0; b < batch; ++b)
    for (int32_t t = 0; t < c.lens[b]; ++t) slot_map.push_back(hview.slot(b, t));
  const int64_t n = static_cast<int64_t>(slot_map.size());
  std::normal_distribution<float> nd;
  std::vector<float> kn(static_cast<size_t>(n) * c.kv_heads * c.dim), vn(kn.size());
  for (auto& x : kn) x = nd(g);
  for (auto& x : vn) x = nd(g);
  for (size_t i = 0; i < kn.size(); i += 97) kn[i] *= 6.0f;  // some outliers
  cpu::append_kv(c.k, vs, kn.data(), vn.data(), n, slot_map.data(), hview);

  uint8_t *dk, *dv;
  KAKEYA_CK(cudaMalloc(&dk, hk.size()));
  KAKEYA_CK(cudaMalloc(&dv, hv.size()));
  KAKEYA_CK(cudaMemset(dk, 0, hk.size()));
  KAKEYA_CK(cudaMemset(dv, 0, hv.size()));
  int32_t* dtable = to_device(table);
  int32_t* dlens = to_device(c.lens);
  int64_t* dslots = to_device(slot_map);
  float* dkn = to_device(kn);
  float* dvn = to_device(vn);
  int32_t* dflag = to_device(std::vector<int32_t>{0});
  PagedKV<uint8_t> dview{dk, c.shared ? nullptr : dv, num_blocks, c.block_size, c.kv_heads, kb, vb, dtable, max_blocks,
                         dlens, batch};
  if (gpu::append_kv<float>(c.k, vs, dkn, dvn, n, dslots, dview, dflag, nullptr) != Status::kOk) {
    std::fprintf(stderr, "append failed: %s\n", gpu::last_error());
    std::exit(3);
  }
  std::vector<uint8_t> gk(hk.size()), gv(hv.size());
  KAKEYA_CK(cudaMemcpy(gk.data(), dk, gk.size(), cudaMemcpyDeviceToHost));
  KAKEYA_CK(cudaMemcpy(gv.data(), dv, gv.size(), cudaMemcpyDeviceToHost));
  const bool same = gk == hk && (c.shared || gv == hv);

  const AttentionShape s{batch, c.q_heads, c.kv_heads, c.dim, 1.0f / std::sqrt(static_cast<float>(c.dim))};
  std::vector<float> q(static_cast<size_t>(batch) * c.q_heads * c.dim), ref(q.size()), out(q.size());
  for (auto& x : q) x = nd(g) * 2.0f;
  PagedKV<const uint8_t> hc{hk.data(), c.shared ? nullptr : hv.data(), num_blocks, c.block_size, c.kv_heads, kb, vb,
                            table.data(), max_blocks, c.lens.data(), batch};
  cpu::decode_attention_reference(c.k, vs, hc, s, q.data(), ref.data());
  float* dq = to_device(q);
  float* dout;
  KAKEYA_CK(cudaMalloc(&dout, out.size() * sizeof(float)));
  const auto plan = gpu::plan_decode_attention(s, max_len);
  void* ws;
  KAKEYA_CK(cudaMalloc(&ws, plan.workspace_bytes));
  PagedKV<const uint8_t> dc{dk, c.shared ? nullptr : dv, num_blocks, c.block_size, c.kv_heads, kb, vb, dtable,
                            max_blocks, dlens, batch};
  std::vector<Outcome> res;
  for (const Variant& var : kVariants) {
    KAKEYA_CK(cudaMemset(dout, 0xff, out.size() * sizeof(float)));  // NaN: unwritten outputs fail
    KAKEYA_CK(cudaMemset(dflag, 0, sizeof(int32_t)));
    if (gpu::decode_attention<float, float>(c.k, vs, dc, s, max_len, dq, dout, ws, plan.workspace_bytes, dflag, var.opt,
                                            nullptr) != Status::kOk) {
      std::fprintf(stderr, "attention (%s) failed: %s\n", var.name, gpu::last_error());
      std::exit(3);
    }
    KAKEYA_CK(cudaDeviceSynchronize());
    KAKEYA_CK(cudaMemcpy(out.data(), dout, out.size() * sizeof(float), cudaMemcpyDeviceToHost));
    int32_t flag = 0;
    KAKEYA_CK(cudaMemcpy(&flag, dflag, sizeof flag, cudaMemcpyDeviceToHost));
    double num = 0, den = 0, mx = 0;
    bool finite = true;
    for (size_t i = 0; i < out.size(); ++i) {
      finite = finite && std::isfinite(out[i]);
      const double e = static_cast<double>(out[i]) - ref[i];
      num += e * e;
      den += static_cast<double>(ref[i]) * ref[i];
      mx = std::max(mx, std::fabs(e));
    }
    Outcome o{c.name, var.name, den > 0 ? std::sqrt(num / den) : std::sqrt(num), mx, same, flag, false};
    o.ok = same && flag == 0 && finite && o.rel_err <= var.bound && std::isfinite(o.rel_err);
    res.push_back(o);
  }
  for (void* p : {static_cast<void*>(dk), static_cast<void*>(dv), static_cast<void*>(dtable), static_cast<void*>(dlens),
                  static_cast<void*>(dslots), static_cast<void*>(dkn), static_cast<void*>(dvn), static_cast<void*>(dflag),
                  static_cast<void*>(dq), static_cast<void*>(dout), ws})
    KAKEYA_CK(cudaFree(p));
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  std::string json;
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
  if (!gpu::device_available()) {
    std::printf("SKIP: no CUDA device visible; attention checks not run\n");
    return 77;
  }
  const auto e8 = [](int d, int q) { return CodecSpec::make_lattice(LatticeKind::kE8, d, q); };
  std::vector<Case> cases = {
      {"gqa32/8 d128 E8 K38 V10", e8(128, 38), e8(128, 10), false, 128, 32, 8, 16, {1, 17, 300, 1500, 0}},
      {"gqa32/8 d128 bf16", CodecSpec::make_bf16(128), CodecSpec::make_bf16(128), false, 128, 32, 8, 16, {5, 700, 2049}},
      {"gqa32/8 d128 fp8_per64", CodecSpec::make_fp8_per64(128), CodecSpec::make_fp8_per64(128), false, 128, 32, 8, 32,
       {64, 999}},
      {"v4 d512 shared E8 Q38", e8(512, 38), e8(512, 38), true, 512, 16, 1, 64, {128, 3000, 7}},
      {"v4 d512 shared bf16", CodecSpec::make_bf16(512), CodecSpec::make_bf16(512), true, 512, 16, 1, 64, {1000}},
      {"mha d64 E8 Q4 (G=1)", e8(64, 4), e8(64, 4), false, 64, 6, 6, 8, {40, 333}},
      {"d256 shared fp8_per64", CodecSpec::make_fp8_per64(256), CodecSpec::make_fp8_per64(256), true, 256, 8, 2, 16,
       {100, 1000}},
      // The shapes of the MMA kernel's plans: V4 (64 query heads on one latent), GQA with
      // 8 heads per KV head, paged block sizes 16..256, ragged batches with empty and
      // one-token sequences, long sequences (many splits, many tiles per split), Q without
      // multiply-high constants (Q=127: library unrank), other dims.
      {"v4 d512 64h shared E8 Q38", e8(512, 38), e8(512, 38), true, 512, 64, 1, 256, {4097, 1, 0, 300}},
      {"v4 d512 64h shared bf16", CodecSpec::make_bf16(512), CodecSpec::make_bf16(512), true, 512, 64, 1, 128, {2500, 33}},
      {"v4 d512 64h shared fp8", CodecSpec::make_fp8_per64(512), CodecSpec::make_fp8_per64(512), true, 512, 64, 1, 16,
       {1200, 65}},
      {"gqa64/8 d128 E8 Q38 long", e8(128, 38), e8(128, 38), false, 128, 64, 8, 128, {20000, 5}},
      {"gqa32/8 d128 fp8 bs256", CodecSpec::make_fp8_per64(128), CodecSpec::make_fp8_per64(128), false, 128, 32, 8, 256,
       {3000, 257, 0}},
      {"gqa16/2 d256 E8 Q127 (no magic)", e8(256, 127), e8(256, 10), false, 256, 16, 2, 32, {777, 64}},
      {"gqa12/4 d64 E8 Q38 G=3", e8(64, 38), e8(64, 38), false, 64, 12, 4, 16, {100, 17, 1}},
      {"mla128 d512 shared E8 Q38", e8(512, 38), e8(512, 38), true, 512, 128, 1, 64, {600}},
  };
  int bad = 0;
  FILE* f = json.empty() ? nullptr : std::fopen(json.c_str(), "w");
  if (f) std::fprintf(f, "{\"results\": [\n");
  int total = 0;
  bool first = true;
  for (size_t i = 0; i < cases.size(); ++i) {
    for (const Outcome& o : run(cases[i], 100 + static_cast<uint32_t>(i))) {
      ++total;
      bad += o.ok ? 0 : 1;
      std::printf("%-32s %-9s rel err %.3e  max abs %.3e  append identical %s  flag %d  %s\n", o.name.c_str(),
                  o.variant.c_str(), o.rel_err, o.max_abs, o.append_identical ? "yes" : "NO", o.flag,
                  o.ok ? "OK" : "FAIL");
      std::fflush(stdout);
      if (f)
        std::fprintf(f, "%s  {\"case\": \"%s\", \"variant\": \"%s\", \"rel_err\": %.6e, \"max_abs\": %.6e, "
                     "\"append_identical\": %s, \"flag\": %d, \"ok\": %s}", first ? "" : ",\n", o.name.c_str(),
                     o.variant.c_str(), o.rel_err, o.max_abs, o.append_identical ? "true" : "false", o.flag,
                     o.ok ? "true" : "false");
      first = false;
    }
  }
  if (f) {
    std::fprintf(f, "\n]}\n");
    std::fclose(f);
  }
  std::printf("%d passed, %d failed\n", total - bad, bad);
  return bad == 0 ? 0 : 1;
}
