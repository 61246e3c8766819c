// SPDX-License-Identifier: Apache-2.0
// Explicit instantiations of the host batch API for the shipped element types.
#include "kakeya/cpu/codec.h"

namespace kakeya::cpu {
template void encode<float>(const CodecSpec&, StridedBatch<const float>, CodeBatch);
template void encode<f16>(const CodecSpec&, StridedBatch<const f16>, CodeBatch);
template void encode<bf16>(const CodecSpec&, StridedBatch<const bf16>, CodeBatch);
template void decode<float>(const CodecSpec&, ConstCodeBatch, StridedBatch<float>, uint8_t*);
template void decode<f16>(const CodecSpec&, ConstCodeBatch, StridedBatch<f16>, uint8_t*);
template void decode<bf16>(const CodecSpec&, ConstCodeBatch, StridedBatch<bf16>, uint8_t*);
}  // namespace kakeya::cpu
