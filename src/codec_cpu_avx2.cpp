// SPDX-License-Identifier: Apache-2.0
// The AVX2 row loops of the host batch API, in their own file so that CMakeLists.txt
// can compile them with -fno-trapping-math: without AVX-512 masking, GCC if-converts
// the box search (and so vectorizes it) only when its floating-point operations may
// be speculated. The flag changes no value (bits are checked by the golden tests under
// KAKEYA_ISA=avx2); it costs the AVX-512 loops ~30 %, hence not there. The ISA itself
// comes from the target attribute of the loops, not from compile flags, so the inline
// functions this file shares with the others compile to the same baseline code.
#include "kakeya/cpu/codec.h"
#include "codec_cpu_isa.h"

namespace kakeya::cpu {
KAKEYA_CPU_INSTANTIATE_ISA(Isa::kAVX2)
}  // namespace kakeya::cpu
