// SPDX-License-Identifier: Apache-2.0
// Launchers of decode attention and paged append (see include/kakeya/gpu/attention.h).
#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>

#include "kakeya/gpu/attention.cuh"
#include "kakeya/gpu/attention.h"
#include "kakeya/gpu/attention_mma.cuh"
#include "launch.cuh"

namespace kakeya::gpu {

using namespace launch;

namespace {

int sm_count() noexcept {
  int dev = 0, n = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess)
    return 108;
  return n > 0 ? n : 108;
}

bool attention_dim_ok(int32_t d) { return d == 64 || d == 128 || d == 256 || d == 512; }

template <class KR, class VR, int G, int BPL, bool kShared, class Q, class Out>
void launch_attention(KR kr, VR vr, const PagedKV<const uint8_t>& cache, const AttentionShape& s,
                      const AttentionPlan& plan, bool k_rot, bool v_rot, const Q* q, Out* out, float* ws,
                      int32_t* flag, cudaStream_t st) {
  const int32_t d = s.dim;
  float* q_dom = ws;
  float* parts = ws + static_cast<size_t>(s.batch) * s.q_heads * d;
  const int32_t p = d & -d;
  detail::attention_prepare_queries<Q><<<static_cast<unsigned>(s.batch * s.q_heads), 128, d * sizeof(float), st>>>(
      q, d, p, k_rot, q_dom);
  const int32_t group = s.q_heads / s.kv_heads;
  const int32_t chunks = group / G;
  const int32_t lpt = d / 8 / BPL;
  const int32_t workers = detail::kAttnThreads / lpt;
  const size_t smem = sizeof(float) * static_cast<size_t>(workers) * G * (2 + d);
  const auto kernel = detail::decode_attention_split_kernel<KR, VR, G, BPL, kShared>;
  if (smem > 48 * 1024) cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
  const dim3 grid(static_cast<unsigned>(s.batch * s.kv_heads * chunks), static_cast<unsigned>(plan.splits));
  kernel<<<grid, detail::kAttnThreads, smem, st>>>(kr, vr, cache, s, chunks, plan.split_tokens, q_dom, parts, flag);
  detail::decode_attention_reduce_kernel<Out><<<static_cast<unsigned>(s.batch * s.q_heads), 128, d * sizeof(float), st>>>(
      parts, plan.splits, d, p, v_rot, out);
}

template <class KR, class VR, bool kShared, class Q, class Out>
void dispatch_shape(KR kr, VR vr, const PagedKV<const uint8_t>& cache, const AttentionShape& s, const AttentionPlan& plan,
                    bool k_rot, bool v_rot, const Q* q, Out* out, float* ws, int32_t* flag, cudaStream_t st) {
  const bool bpl2 = s.dim == 512;
  if (plan.group_chunk == 4) {
    if (bpl2) launch_attention<KR, VR, 4, 2, kShared>(kr, vr, cache, s, plan, k_rot, v_rot, q, out, ws, flag, st);
    else launch_attention<KR, VR, 4, 1, kShared>(kr, vr, cache, s, plan, k_rot, v_rot, q, out, ws, flag, st);
  } else {
    if (bpl2) launch_attention<KR, VR, 1, 2, kShared>(kr, vr, cache, s, plan, k_rot, v_rot, q, out, ws, flag, st);
    else launch_attention<KR, VR, 1, 1, kShared>(kr, vr, cache, s, plan, k_rot, v_rot, q, out, ws, flag, st);
  }
}

int max_smem_optin() noexcept {
  int dev = 0, n = 0;
  if (cudaGetDevice(&dev) != cudaSuccess ||
      cudaDeviceGetAttribute(&n, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev) != cudaSuccess)
    return 99 * 1024;
  return n > 0 ? n : 99 * 1024;
}

/// Splits of the MMA kernel, from the shape only (so that plan_decode_attention needs no
/// codec): enough CTAs for ~4 per SM, but each split at least max(256, 20·G/roles)
/// tokens, which keeps the per-split workspace traffic (G·(dim+2)·4 bytes written and
/// read) under ~1/2 of the records read at ~0.8 bytes per coordinate.
void mma_splits(const AttentionShape& s, int32_t max_len, bool shared_guess, int32_t* splits, int32_t* tokens) {
  const int32_t group = s.kv_heads > 0 ? s.q_heads / s.kv_heads : 1;
  const int64_t ctas = std::max<int64_t>(1, static_cast<int64_t>(s.batch) * s.kv_heads);
  const int64_t target = 4LL * sm_count();
  const int32_t len = max_len > 0 ? max_len : 1;
  const int32_t roles = shared_guess ? 1 : 2;
  const int32_t min_tokens = std::max(256, 20 * group / roles);
  int64_t sp = ctas >= target ? 1 : (target + ctas - 1) / ctas;
  sp = std::max<int64_t>(1, std::min<int64_t>(sp, (len + min_tokens - 1) / min_tokens));
  *splits = static_cast<int32_t>(sp);
  *tokens = (len + *splits - 1) / *splits;
}

/// Geometry of the MMA kernel for one codec pair and precision: the largest head chunk
/// (a divisor of G, <= 64) and token tile whose shared memory fits the device.
bool mma_geometry(const AttentionShape& s, int64_t kb, int64_t vb, int32_t kgroups, int32_t vgroups, bool shared,
                  int32_t qt, int32_t pt, detail::MmaArgs* a, size_t* smem) {
  const int32_t group = s.q_heads / s.kv_heads;
  const size_t limit = static_cast<size_t>(max_smem_optin());
  for (int32_t gc = std::min(group, 64); gc >= 1; --gc) {
    if (group % gc) continue;
    for (int32_t t : {64, 32, 16}) {
      detail::MmaArgs g{};
      g.s = s;
      g.gc = gc;
      g.chunks = group / gc;
      g.mt = 1;
      while (16 * g.mt < gc) g.mt *= 2;
      g.tile = t;
      g.kspan = static_cast<int32_t>((kb + 15 + 15) / 16 * 16 + 16);
      g.vspan = shared ? 0 : static_cast<int32_t>((vb + 15 + 15) / 16 * 16 + 16);
      g.ngk = kgroups;
      g.ngv = shared ? kgroups : vgroups;
      g.wpa = std::min(detail::kMmaWarps / g.mt, s.dim / 16);
      g.nw = s.dim / (8 * g.wpa);
      const size_t bytes = detail::mma_smem_layout(g, qt, pt, shared);
      if (bytes <= limit && g.nw <= 32 && g.nw % 2 == 0) {
        *a = g;
        *smem = bytes;
        return true;
      }
    }
  }
  return false;
}

template <class KD, class VD, int kQT, int kPT, int kNW>
void launch_mma_kernel(KD kd, VD vd, const detail::MmaArgs& a, size_t smem, int32_t splits, cudaStream_t st) {
  const auto kernel = detail::decode_attention_mma_kernel<KD, VD, kQT, kPT, kNW>;
  cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
  const dim3 grid(static_cast<unsigned>(a.s.batch * a.s.kv_heads * a.chunks), static_cast<unsigned>(splits));
  kernel<<<grid, detail::kMmaThreads, smem, st>>>(kd, vd, a);
}

template <class KD, class VD, class Q, class Out>
void launch_mma(KD kd, VD vd, const PagedKV<const uint8_t>& cache, const AttentionShape& s, const AttentionPlan& plan,
                int32_t kgroups, int32_t vgroups, bool rot, AttentionPrecision prec, const Q* q, Out* out, float* ws,
                int32_t* flag, cudaStream_t st) {
  const int32_t d = s.dim;
  const bool split = prec == AttentionPrecision::kSplit;
  const int32_t qt = split ? 3 : 1, pt = split ? 2 : 1;
  detail::MmaArgs a{};
  size_t smem = 0;
  KAKEYA_CHECK(mma_geometry(s, cache.k_bytes, cache.v_bytes, kgroups, vgroups, cache.shared(), qt, pt, &a, &smem),
               "no MMA attention geometry fits shared memory for dim = ", d);
  a.cache = cache;
  a.split_tokens = plan.mma_split_tokens;
  a.scale = s.scale;
  a.q_dom = ws;
  a.ws = ws + static_cast<size_t>(s.batch) * s.q_heads * d;
  a.error_flag = flag;
  const int32_t p = d & -d;
  detail::attention_prepare_queries<Q><<<static_cast<unsigned>(s.batch * s.q_heads), 128, d * sizeof(float), st>>>(
      q, d, p, rot, ws);
  const bool small = a.nw <= 4;
  if (split) {
    if (small) launch_mma_kernel<KD, VD, 3, 2, 4>(kd, vd, a, smem, plan.mma_splits, st);
    else launch_mma_kernel<KD, VD, 3, 2, 32>(kd, vd, a, smem, plan.mma_splits, st);
  } else {
    if (small) launch_mma_kernel<KD, VD, 1, 1, 4>(kd, vd, a, smem, plan.mma_splits, st);
    else launch_mma_kernel<KD, VD, 1, 1, 32>(kd, vd, a, smem, plan.mma_splits, st);
  }
  detail::decode_attention_reduce_kernel<Out><<<static_cast<unsigned>(s.batch * s.q_heads), 128, d * sizeof(float), st>>>(
      a.ws, plan.mma_splits, d, p, rot, out);
}

}  // namespace

AttentionPlan plan_decode_attention(const AttentionShape& s, int32_t max_seq_len) noexcept {
  AttentionPlan p{};
  const int32_t group = s.kv_heads > 0 ? s.q_heads / s.kv_heads : 1;
  p.group_chunk = group % 4 == 0 ? 4 : 1;
  const int64_t ctas = static_cast<int64_t>(s.batch) * s.kv_heads * (group / p.group_chunk);
  const int32_t target = 2 * sm_count();
  const int32_t len = max_seq_len > 0 ? max_seq_len : 1;
  int32_t splits = ctas >= target ? 1 : static_cast<int32_t>((target + ctas - 1) / std::max<int64_t>(ctas, 1));
  splits = std::max(1, std::min(splits, (len + 255) / 256));
  p.splits = splits;
  p.split_tokens = (len + splits - 1) / splits;
  mma_splits(s, max_seq_len, false, &p.mma_splits, &p.mma_split_tokens);
  const int32_t most = std::max(splits, p.mma_splits);
  p.workspace_bytes = sizeof(float) * (static_cast<size_t>(s.batch) * s.q_heads * s.dim +
                                       static_cast<size_t>(s.batch) * s.q_heads * most * (s.dim + 2));
  return p;
}

AttentionOptions resolve_attention_options(const AttentionOptions& opt) noexcept {
  AttentionOptions r = opt;
  if (r.kernel == AttentionKernel::kAuto) {
    const char* e = std::getenv("KAKEYA_ATTN_KERNEL");
    r.kernel = (e && !std::strcmp(e, "legacy")) ? AttentionKernel::kLegacy : AttentionKernel::kMma;
  }
  const char* pe = std::getenv("KAKEYA_ATTN_PRECISION");
  if (pe && !std::strcmp(pe, "bf16")) r.precision = AttentionPrecision::kBF16;
  if (pe && !std::strcmp(pe, "split")) r.precision = AttentionPrecision::kSplit;
  return r;
}

template <class Q, class Out>
Status decode_attention(const CodecSpec& ks, const CodecSpec* vs, PagedKV<const uint8_t> cache, const AttentionShape& s,
                        int32_t max_seq_len, const Q* q, Out* out, void* workspace, size_t workspace_bytes,
                        int32_t* flag, cudaStream_t st) noexcept {
  return decode_attention<Q, Out>(ks, vs, cache, s, max_seq_len, q, out, workspace, workspace_bytes, flag,
                                  AttentionOptions{}, st);
}

template <class Q, class Out>
Status decode_attention(const CodecSpec& ks, const CodecSpec* vs, PagedKV<const uint8_t> cache, const AttentionShape& s,
                        int32_t max_seq_len, const Q* q, Out* out, void* workspace, size_t workspace_bytes,
                        int32_t* flag, const AttentionOptions& options, cudaStream_t st) noexcept {
  try {
    kakeya::detail::check_paged(ks, vs, cache, s, false);
    KAKEYA_CHECK(attention_dim_ok(s.dim), "dim = ", s.dim, " is not supported by the GPU attention kernel "
                 "(64, 128, 256 or 512)");
    KAKEYA_CHECK(max_seq_len >= 0, "max_seq_len = ", max_seq_len, " must be >= 0");
    const CodecSpec& vspec = cache.shared() ? ks : *vs;
    KAKEYA_CHECK(ks.kind == vspec.kind, "K codec ", ks.name(), " and V codec ", vspec.name(),
                 " must be of the same kind on the GPU");
    KAKEYA_CHECK((ks.kind == CodecKind::kLattice && ks.lattice == LatticeKind::kE8) ||
                     ks.kind == CodecKind::kFP8Per64 || ks.kind == CodecKind::kBF16,
                 "codec ", ks.name(), " is not supported by the GPU attention kernel (E8, fp8_per64 or bf16)");
    if (vspec.kind == CodecKind::kLattice)
      KAKEYA_CHECK(vspec.lattice == LatticeKind::kE8, "V codec ", vspec.name(), " must be E8");
    if (s.batch == 0) return Status::kOk;
    const AttentionPlan plan = plan_decode_attention(s, max_seq_len);
    KAKEYA_CHECK(workspace != nullptr && workspace_bytes >= plan.workspace_bytes, "workspace_bytes = ", workspace_bytes,
                 " is less than the plan's ", plan.workspace_bytes);
    float* ws = static_cast<float*>(workspace);
    const bool sh = cache.shared();
    const AttentionOptions opt = resolve_attention_options(options);
    if (opt.kernel == AttentionKernel::kMma) {
      const int32_t d = s.dim;
      switch (ks.kind) {
        case CodecKind::kLattice: {
          const LatticeLayout kl = ks.layout(), vl = vspec.layout();
          const detail::MmaLatticeDec kd{kl, make_e8_unrank(kl.q), hadamard_norm(kl.hadamard_log2)};
          const detail::MmaLatticeDec vd{vl, make_e8_unrank(vl.q), hadamard_norm(vl.hadamard_log2)};
          launch_mma(kd, vd, cache, s, plan, 1, 1, true, opt.precision, q, out, ws, flag, st);
          break;
        }
        case CodecKind::kFP8Per64: {
          const detail::MmaFP8Dec r{d};
          launch_mma(r, r, cache, s, plan, d / kFP8Group, d / kFP8Group, false, opt.precision, q, out, ws, flag, st);
          break;
        }
        default: {
          const detail::MmaBF16Dec r{d};
          launch_mma(r, r, cache, s, plan, 1, 1, false, opt.precision, q, out, ws, flag, st);
          break;
        }
      }
      return check_launch("kakeya::gpu::decode_attention (mma)");
    }
    switch (ks.kind) {
      case CodecKind::kLattice: {
        const detail::LatticeReader<E8> kr{ks.layout()}, vr{vspec.layout()};
        if (sh) dispatch_shape<decltype(kr), decltype(vr), true>(kr, vr, cache, s, plan, true, true, q, out, ws, flag, st);
        else dispatch_shape<decltype(kr), decltype(vr), false>(kr, vr, cache, s, plan, true, true, q, out, ws, flag, st);
        break;
      }
      case CodecKind::kFP8Per64: {
        const detail::FP8Reader r{s.dim};
        if (sh) dispatch_shape<detail::FP8Reader, detail::FP8Reader, true>(r, r, cache, s, plan, false, false, q, out, ws, flag, st);
        else dispatch_shape<detail::FP8Reader, detail::FP8Reader, false>(r, r, cache, s, plan, false, false, q, out, ws, flag, st);
        break;
      }
      default: {
        const detail::BF16Reader r{};
        if (sh) dispatch_shape<detail::BF16Reader, detail::BF16Reader, true>(r, r, cache, s, plan, false, false, q, out, ws, flag, st);
        else dispatch_shape<detail::BF16Reader, detail::BF16Reader, false>(r, r, cache, s, plan, false, false, q, out, ws, flag, st);
        break;
      }
    }
    return check_launch("kakeya::gpu::decode_attention");
  } catch (const Error& e) {
    return fail(e.status(), e.message());
  } catch (const std::exception& e) {
    return fail(Status::kInternal, e.what());
  }
}

template <class In>
Status append_kv(const CodecSpec& ks, const CodecSpec* vs, const In* k_new, const In* v_new, int64_t n,
                 const int64_t* slot_mapping, PagedKV<uint8_t> cache, int32_t* flag, cudaStream_t st) noexcept {
  try {
    ks.validate();
    KAKEYA_CHECK(n >= 0, "n = ", n, " must be >= 0");
    KAKEYA_CHECK(cache.k_bytes == ks.code_bytes(), "k_bytes = ", cache.k_bytes, " does not match code_bytes = ",
                 ks.code_bytes());
    if (!cache.shared())
      KAKEYA_CHECK(vs != nullptr && cache.v_bytes == vs->code_bytes() && v_new != nullptr,
                   "a separate V cache needs v_new and a V codec whose code_bytes equals v_bytes = ", cache.v_bytes);
    if (n == 0) return Status::kOk;
    KAKEYA_CHECK(k_new != nullptr && slot_mapping != nullptr && cache.k != nullptr, "k_new, slot_mapping and the cache "
                 "must not be null");
    const int64_t rows = n * cache.kv_heads;
    const int64_t slots = static_cast<int64_t>(cache.num_blocks) * cache.block_size;
    const detail::PagedDst kd{cache.k, slot_mapping, cache.kv_heads, cache.k_bytes, slots, 0};
    const bool kw = (reinterpret_cast<uintptr_t>(cache.k) + BaselineLayout{ks.dim, 0}.vals_offset()) % 4 == 0 && cache.k_bytes % 4 == 0;
    launch_encode<In>(ks, StridedBatch<const In>{k_new, rows, ks.dim, ks.dim}, kd, kw, flag, st);
    if (!cache.shared()) {
      const detail::PagedDst vd{cache.v, slot_mapping, cache.kv_heads, cache.v_bytes, slots, 0};
      const bool vw = (reinterpret_cast<uintptr_t>(cache.v) + BaselineLayout{vs->dim, 0}.vals_offset()) % 4 == 0 && cache.v_bytes % 4 == 0;
      launch_encode<In>(*vs, StridedBatch<const In>{v_new, rows, vs->dim, vs->dim}, vd, vw, flag, st);
    }
    return check_launch("kakeya::gpu::append_kv");
  } catch (const Error& e) {
    return fail(e.status(), e.message());
  } catch (const std::exception& e) {
    return fail(Status::kInternal, e.what());
  }
}

template Status decode_attention<float, float>(const CodecSpec&, const CodecSpec*, PagedKV<const uint8_t>,
                                               const AttentionShape&, int32_t, const float*, float*, void*, size_t,
                                               int32_t*, cudaStream_t) noexcept;
template Status decode_attention<float, float>(const CodecSpec&, const CodecSpec*, PagedKV<const uint8_t>,
                                               const AttentionShape&, int32_t, const float*, float*, void*, size_t,
                                               int32_t*, const AttentionOptions&, cudaStream_t) noexcept;
template Status decode_attention<bf16, float>(const CodecSpec&, const CodecSpec*, PagedKV<const uint8_t>,
                                              const AttentionShape&, int32_t, const bf16*, float*, void*, size_t,
                                              int32_t*, const AttentionOptions&, cudaStream_t) noexcept;
template Status decode_attention<bf16, bf16>(const CodecSpec&, const CodecSpec*, PagedKV<const uint8_t>,
                                             const AttentionShape&, int32_t, const bf16*, bf16*, void*, size_t,
                                             int32_t*, const AttentionOptions&, cudaStream_t) noexcept;
template Status decode_attention<bf16, float>(const CodecSpec&, const CodecSpec*, PagedKV<const uint8_t>,
                                              const AttentionShape&, int32_t, const bf16*, float*, void*, size_t,
                                              int32_t*, cudaStream_t) noexcept;
template Status decode_attention<bf16, bf16>(const CodecSpec&, const CodecSpec*, PagedKV<const uint8_t>,
                                             const AttentionShape&, int32_t, const bf16*, bf16*, void*, size_t,
                                             int32_t*, cudaStream_t) noexcept;
template Status append_kv<float>(const CodecSpec&, const CodecSpec*, const float*, const float*, int64_t,
                                 const int64_t*, PagedKV<uint8_t>, int32_t*, cudaStream_t) noexcept;
template Status append_kv<bf16>(const CodecSpec&, const CodecSpec*, const bf16*, const bf16*, int64_t,
                                const int64_t*, PagedKV<uint8_t>, int32_t*, cudaStream_t) noexcept;

}  // namespace kakeya::gpu
