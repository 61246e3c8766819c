// SPDX-License-Identifier: Apache-2.0
// Launchers of the CUDA codec kernels: host validation, geometry, dispatch, launch check.
#include <cuda_runtime.h>

#include "launch.cuh"

namespace kakeya::gpu {

using namespace launch;

bool device_available() noexcept {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

const char* last_error() noexcept { return g_last_error.c_str(); }

template <class In>
Status encode(const CodecSpec& spec, StridedBatch<const In> x, CodeBatch codes, int32_t* flag,
              cudaStream_t st) noexcept {
  try {
    spec.validate();
    kakeya::detail::check_rows("x", x, spec.dim);
    kakeya::detail::check_codes("codes", codes, x.rows, spec.code_bytes());
    if (x.rows == 0) return Status::kOk;
    KAKEYA_CHECK(x.rows < (int64_t{1} << 31) * 8, "x.rows = ", x.rows, " is too large for one launch");
    launch_encode<In>(spec, x, codes, fp8_word_io(codes, spec.dim), flag, st);
    return check_launch("kakeya::gpu::encode");
  } catch (const InvalidArgument& e) {
    return fail(e.status(), e.what());
  } catch (const std::exception& e) {
    return fail(Status::kInternal, e.what());
  }
}

template <class Out>
Status decode(const CodecSpec& spec, ConstCodeBatch codes, StridedBatch<Out> out, int32_t* flag,
              cudaStream_t st) noexcept {
  try {
    spec.validate();
    kakeya::detail::check_rows("out", out, spec.dim);
    kakeya::detail::check_codes("codes", codes, out.rows, spec.code_bytes());
    if (out.rows == 0) return Status::kOk;
    if (spec.kind == CodecKind::kLattice) {
      KAKEYA_CHECK(spec.dim <= kMaxGroupDim, "dim = ", spec.dim, " exceeds the GPU lattice kernels' limit ",
                   kMaxGroupDim);
      const LatticeLayout lay = spec.layout();
      switch (spec.lattice) {
        case LatticeKind::kE8: launch_lattice_decode<E8>(lay, codes, out, flag, st); break;
        case LatticeKind::kD4: launch_lattice_decode<D4>(lay, codes, out, flag, st); break;
        case LatticeKind::kZ8: launch_lattice_decode<Z8>(lay, codes, out, flag, st); break;
      }
    } else if (spec.kind == CodecKind::kFP8Per64) {
      const int64_t threads = out.rows * (spec.dim / detail::kChunk);
      detail::fp8_decode_kernel<Out><<<static_cast<unsigned>((threads + 255) / 256), 256, 0, st>>>(
          codes, out, flag, aligned16(out.data, out.row_stride), fp8_word_io(codes, spec.dim));
    } else {
      const BaselineLayout bl = baseline_layout(spec);
      detail::baseline_rowwise_decode_kernel<Out><<<static_cast<unsigned>((out.rows + 127) / 128), 128, 0, st>>>(
          bl, codes, out, flag);
    }
    return check_launch("kakeya::gpu::decode");
  } catch (const InvalidArgument& e) {
    return fail(e.status(), e.what());
  } catch (const std::exception& e) {
    return fail(Status::kInternal, e.what());
  }
}

template Status encode<float>(const CodecSpec&, StridedBatch<const float>, CodeBatch, int32_t*, cudaStream_t) noexcept;
template Status encode<f16>(const CodecSpec&, StridedBatch<const f16>, CodeBatch, int32_t*, cudaStream_t) noexcept;
template Status encode<bf16>(const CodecSpec&, StridedBatch<const bf16>, CodeBatch, int32_t*, cudaStream_t) noexcept;
template Status decode<float>(const CodecSpec&, ConstCodeBatch, StridedBatch<float>, int32_t*, cudaStream_t) noexcept;
template Status decode<f16>(const CodecSpec&, ConstCodeBatch, StridedBatch<f16>, int32_t*, cudaStream_t) noexcept;
template Status decode<bf16>(const CodecSpec&, ConstCodeBatch, StridedBatch<bf16>, int32_t*, cudaStream_t) noexcept;

}  // namespace kakeya::gpu
