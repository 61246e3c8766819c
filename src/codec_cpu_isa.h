// SPDX-License-Identifier: Apache-2.0
#pragma once
// Explicit instantiation of one ISA's batch loops for the shipped element types.
#define KAKEYA_CPU_INSTANTIATE_ISA(I)                                                                     \
  template void detail::encode_with<I, float>(const CodecSpec&, StridedBatch<const float>, CodeBatch,    \
                                              detail::FirstFailure&);                                    \
  template void detail::encode_with<I, f16>(const CodecSpec&, StridedBatch<const f16>, CodeBatch,        \
                                            detail::FirstFailure&);                                      \
  template void detail::encode_with<I, bf16>(const CodecSpec&, StridedBatch<const bf16>, CodeBatch,      \
                                             detail::FirstFailure&);                                     \
  template void detail::decode_with<I, float>(const CodecSpec&, ConstCodeBatch, StridedBatch<float>,     \
                                              uint8_t*, detail::FirstFailure&);                          \
  template void detail::decode_with<I, f16>(const CodecSpec&, ConstCodeBatch, StridedBatch<f16>,         \
                                            uint8_t*, detail::FirstFailure&);                            \
  template void detail::decode_with<I, bf16>(const CodecSpec&, ConstCodeBatch, StridedBatch<bf16>,       \
                                             uint8_t*, detail::FirstFailure&);
