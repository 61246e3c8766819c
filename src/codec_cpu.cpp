// SPDX-License-Identifier: Apache-2.0
// Explicit instantiations of the host batch API for the shipped element types, and of
// its baseline and AVX-512 row loops (AVX2: codec_cpu_avx2.cpp, see CMakeLists.txt).
#include "kakeya/cpu/codec.h"
#include "codec_cpu_isa.h"

namespace kakeya::cpu {
template void encode<float>(const CodecSpec&, StridedBatch<const float>, CodeBatch);
template void encode<f16>(const CodecSpec&, StridedBatch<const f16>, CodeBatch);
template void encode<bf16>(const CodecSpec&, StridedBatch<const bf16>, CodeBatch);
template void decode<float>(const CodecSpec&, ConstCodeBatch, StridedBatch<float>, uint8_t*);
template void decode<f16>(const CodecSpec&, ConstCodeBatch, StridedBatch<f16>, uint8_t*);
template void decode<bf16>(const CodecSpec&, ConstCodeBatch, StridedBatch<bf16>, uint8_t*);
KAKEYA_CPU_INSTANTIATE_ISA(Isa::kBaseline)
KAKEYA_CPU_INSTANTIATE_ISA(Isa::kAVX512)
}  // namespace kakeya::cpu
