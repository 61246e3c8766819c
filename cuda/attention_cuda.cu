// SPDX-License-Identifier: Apache-2.0
// Launchers of decode attention and paged append (see include/kakeya/gpu/attention.h).
#include <cuda_runtime.h>

#include "kakeya/gpu/attention.cuh"
#include "kakeya/gpu/attention.h"
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
  p.workspace_bytes = sizeof(float) * (static_cast<size_t>(s.batch) * s.q_heads * s.dim +
                                       static_cast<size_t>(s.batch) * s.q_heads * splits * (s.dim + 2));
  return p;
}

template <class Q, class Out>
Status decode_attention(const CodecSpec& ks, const CodecSpec* vs, PagedKV<const uint8_t> cache, const AttentionShape& s,
                        int32_t max_seq_len, const Q* q, Out* out, void* workspace, size_t workspace_bytes,
                        int32_t* flag, cudaStream_t st) noexcept {
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
