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
  } catch (const Error& e) {
    return fail(e.status(), e.message());
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
    launch_decode<Out>(spec, codes, out, fp8_word_io(codes, spec.dim), flag, st);
    return check_launch("kakeya::gpu::decode");
  } catch (const Error& e) {
    return fail(e.status(), e.message());
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
