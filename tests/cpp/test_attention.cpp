// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>

#include "kakeya/attention/paged.h"
#include "test_util.h"

using namespace kakeya;

namespace {

struct Cache {
  int32_t block_size, num_blocks, kv_heads, batch, max_blocks;
  std::vector<uint8_t> k, v;
  std::vector<int32_t> table, lens;
  PagedKV<uint8_t> view(const CodecSpec& ks, const CodecSpec* vs) {
    return {k.data(), vs ? v.data() : nullptr, num_blocks, block_size, kv_heads, ks.code_bytes(),
            vs ? vs->code_bytes() : 0, table.data(), max_blocks, lens.data(), batch};
  }
};

// Random paged layout: each sequence gets shuffled blocks; returns the cache and the
// dense K/V (batch × len × heads × dim) that was appended.
Cache make_cache(const CodecSpec& ks, const CodecSpec* vs, const std::vector<int32_t>& lens, int32_t heads,
                 int32_t block_size, std::vector<std::vector<float>>& dk, std::vector<std::vector<float>>& dv,
                 uint32_t seed) {
  Cache c{};
  c.block_size = block_size;
  c.kv_heads = heads;
  c.batch = static_cast<int32_t>(lens.size());
  c.lens = lens;
  c.max_blocks = 0;
  for (int32_t l : lens) c.max_blocks = std::max(c.max_blocks, (l + block_size - 1) / block_size);
  c.num_blocks = c.max_blocks * c.batch + 3;
  std::vector<int32_t> perm(c.num_blocks);
  std::iota(perm.begin(), perm.end(), 0);
  std::mt19937 g(seed);
  std::shuffle(perm.begin(), perm.end(), g);
  c.table.assign(static_cast<size_t>(c.batch) * c.max_blocks, -1);
  int next = 0;
  for (int32_t b = 0; b < c.batch; ++b)
    for (int32_t i = 0; i < (lens[b] + block_size - 1) / block_size; ++i) c.table[b * c.max_blocks + i] = perm[next++];
  c.k.assign(static_cast<size_t>(c.num_blocks) * block_size * heads * ks.code_bytes(), 0);
  if (vs) c.v.assign(static_cast<size_t>(c.num_blocks) * block_size * heads * vs->code_bytes(), 0);
  auto view = c.view(ks, vs);
  dk.assign(c.batch, {});
  dv.assign(c.batch, {});
  std::normal_distribution<float> n;
  for (int32_t b = 0; b < c.batch; ++b) {
    const int32_t len = lens[b];
    dk[b].resize(static_cast<size_t>(len) * heads * ks.dim);
    dv[b].resize(dk[b].size());
    for (auto& x : dk[b]) x = n(g);
    for (auto& x : dv[b]) x = n(g);
    std::vector<int64_t> slots(len);
    for (int32_t t = 0; t < len; ++t) slots[t] = view.slot(b, t);
    cpu::append_kv(ks, vs, dk[b].data(), dv[b].data(), len, slots.data(), view);
  }
  return c;
}

// Dense attention in float64 over given K/V (batch × len × heads × dim).
void dense(const std::vector<std::vector<float>>& k, const std::vector<std::vector<float>>& v,
           const std::vector<int32_t>& lens, const AttentionShape& s, const float* q, std::vector<double>& out) {
  const int32_t d = s.dim, group = s.q_heads / s.kv_heads;
  out.assign(static_cast<size_t>(s.batch) * s.q_heads * d, 0.0);
  for (int32_t b = 0; b < s.batch; ++b)
    for (int32_t hq = 0; hq < s.q_heads; ++hq) {
      const int32_t h = hq / group, len = lens[b];
      if (len == 0) continue;
      std::vector<double> sc(len);
      double m = -1e300;
      for (int32_t t = 0; t < len; ++t) {
        double dot = 0;
        for (int32_t i = 0; i < d; ++i)
          dot += double(q[(b * s.q_heads + hq) * d + i]) * k[b][(static_cast<size_t>(t) * s.kv_heads + h) * d + i];
        sc[t] = dot * s.scale;
        m = std::max(m, sc[t]);
      }
      double l = 0;
      for (auto& x : sc) l += (x = std::exp(x - m));
      for (int32_t i = 0; i < d; ++i) {
        double a = 0;
        for (int32_t t = 0; t < len; ++t) a += sc[t] * v[b][(static_cast<size_t>(t) * s.kv_heads + h) * d + i];
        out[(b * s.q_heads + hq) * d + i] = a / l;
      }
    }
}

}  // namespace

TEST(Attention, Bf16CacheOfBf16ValuesIsExactAttention) {
  // With bf16-representable K/V, a bf16 cache stores them exactly: the reference must
  // equal dense attention to float32 rounding.
  const auto spec = CodecSpec::make_bf16(64);
  const std::vector<int32_t> lens = {37, 0, 128, 5};
  std::vector<std::vector<float>> dk, dv;
  Cache c = make_cache(spec, &spec, lens, 2, 16, dk, dv, 3);
  for (auto* vecs : {&dk, &dv})
    for (auto& seq : *vecs)
      for (auto& x : seq) x = bf16_to_float(float_to_bf16(x));
  const AttentionShape s{4, 8, 2, 64, 0.125f};
  const auto q = kt::gaussian(4 * 8, 64, 5);
  std::vector<float> out(q.size());
  auto view = c.view(spec, &spec);
  cpu::decode_attention_reference(spec, &spec, {c.k.data(), c.v.data(), view.num_blocks, view.block_size, view.kv_heads,
                                                view.k_bytes, view.v_bytes, view.block_table, view.max_blocks,
                                                view.seq_lens, view.batch},
                                  s, q.data(), out.data());
  std::vector<double> ref;
  dense(dk, dv, lens, s, q.data(), ref);
  for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], ref[i], 2e-6) << i;
  for (int i = 0; i < 8 * 64; ++i) EXPECT_EQ(out[8 * 64 + i], 0.f);  // empty sequence
}

TEST(Attention, LatticeCacheTracksDenseAttentionAndSharedLatent) {
  const auto ks = CodecSpec::make_lattice(LatticeKind::kE8, 128, 38);
  const auto vs = CodecSpec::make_lattice(LatticeKind::kE8, 128, 10);
  const std::vector<int32_t> lens = {300, 77};
  std::vector<std::vector<float>> dk, dv;
  Cache c = make_cache(ks, &vs, lens, 2, 32, dk, dv, 9);
  const AttentionShape s{2, 8, 2, 128, 1.0f / std::sqrt(128.0f)};
  const auto q = kt::gaussian(2 * 8, 128, 4);
  std::vector<float> out(q.size());
  auto v = c.view(ks, &vs);
  PagedKV<const uint8_t> cv{v.k, v.v, v.num_blocks, v.block_size, v.kv_heads, v.k_bytes, v.v_bytes, v.block_table,
                            v.max_blocks, v.seq_lens, v.batch};
  cpu::decode_attention_reference(ks, &vs, cv, s, q.data(), out.data());
  std::vector<double> ref;
  dense(dk, dv, lens, s, q.data(), ref);
  double num = 0, den = 0;
  for (size_t i = 0; i < out.size(); ++i) num += (out[i] - ref[i]) * (out[i] - ref[i]), den += ref[i] * ref[i];
  EXPECT_LT(num / den, 0.02);  // V at Q=10 dominates (rel-MSE ~6e-3 per vector)
  EXPECT_GT(num / den, 0.0);

  // Shared K=V latent: v == nullptr reads the K records for both roles.
  std::vector<std::vector<float>> sk, sv;
  const auto sh = CodecSpec::make_lattice(LatticeKind::kE8, 512, 38);
  Cache c2 = make_cache(sh, nullptr, {200}, 1, 64, sk, sv, 2);
  const AttentionShape s2{1, 4, 1, 512, 1.0f / std::sqrt(512.0f)};
  const auto q2 = kt::gaussian(4, 512, 8);
  std::vector<float> o2(q2.size());
  auto w = c2.view(sh, nullptr);
  cpu::decode_attention_reference(sh, nullptr,
                                  {w.k, nullptr, w.num_blocks, w.block_size, w.kv_heads, w.k_bytes, 0, w.block_table,
                                   w.max_blocks, w.seq_lens, w.batch},
                                  s2, q2.data(), o2.data());
  std::vector<double> r2;
  dense(sk, sk, {200}, s2, q2.data(), r2);
  double n2 = 0, d2 = 0;
  for (size_t i = 0; i < o2.size(); ++i) n2 += (o2[i] - r2[i]) * (o2[i] - r2[i]), d2 += r2[i] * r2[i];
  EXPECT_LT(n2 / d2, 2e-3);
}

TEST(Attention, BadArgumentsAreReported) {
  const auto spec = CodecSpec::make_bf16(64);
  std::vector<std::vector<float>> dk, dv;
  Cache c = make_cache(spec, &spec, {10}, 1, 8, dk, dv, 1);
  auto v = c.view(spec, &spec);
  PagedKV<const uint8_t> cv{v.k, v.v, v.num_blocks, v.block_size, v.kv_heads, v.k_bytes, v.v_bytes, v.block_table,
                            v.max_blocks, v.seq_lens, v.batch};
  std::vector<float> q(3 * 64), out(3 * 64);
  EXPECT_NO_THROW(cpu::decode_attention_reference(spec, &spec, cv, {1, 3, 1, 64, 1.f}, q.data(), out.data()));
  EXPECT_THROW(cpu::decode_attention_reference(spec, &spec, cv, {1, 3, 2, 64, 1.f}, q.data(), out.data()),
               InvalidArgument);  // q_heads not a multiple of kv_heads
  c.table[0] = 999;
  try {
    cpu::decode_attention_reference(spec, &spec, cv, {1, 1, 1, 64, 1.f}, q.data(), out.data());
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("block_table[0, 0] = 999"), std::string::npos) << e.what();
  }
  c.table[0] = 0;
  c.lens[0] = 1000;
  EXPECT_THROW(cpu::decode_attention_reference(spec, &spec, cv, {1, 1, 1, 64, 1.f}, q.data(), out.data()),
               InvalidArgument);
  const int64_t bad_slot = 1 << 20;
  std::vector<float> kn(64);
  EXPECT_THROW(cpu::append_kv(spec, &spec, kn.data(), kn.data(), 1, &bad_slot, v), InvalidArgument);
}
