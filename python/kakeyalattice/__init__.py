# SPDX-License-Identifier: Apache-2.0
"""KakeyaLattice: fixed-size lattice codes for KV-cache vectors.

    import kakeyalattice as kl
    codec = kl.codec("e8", dim=512, q=38)     # or kl.codec("nvfp4", 512, tensor_scale=...), ...
    codes = codec.encode(x)                   # (..., 512) -> uint8 (..., codec.code_bytes)
    xhat = codec.decode(codes)                # -> float32 (..., 512)
    kl.rel_mse(x, xhat)

All encode/decode/metric work happens in the C++ core (kakeyalattice._core); this
module converts arrays and checks arguments.
"""
from __future__ import annotations

from ._codec import (  # noqa: F401
    BF16Codec,
    Codec,
    CodecBase,
    FP8Per64Codec,
    V4NativeCodec,
    build_info,
    codec,
    codec_from_spec,
    codec_info,
    codec_names,
    compare,
    cosine,
    max_abs_error,
    num_threads,
    nvfp4_tensor_scale,
    per_vector_error,
    rel_mse,
    set_isa,
    set_num_threads,
)
from ._core import (  # noqa: F401
    FORMAT_VERSION,
    WITH_CUDA,
    KakeyaCorruptCode,
    KakeyaError,
    KakeyaRuntimeError,
    KakeyaTypeError,
    KakeyaValueError,
    __version__,
)
from .affine import AffineCodec, ChannelAffine, rope_cos_sin, rope_pairs  # noqa: F401

__all__ = [
    "codec", "codec_names", "codec_info", "CodecBase", "nvfp4_tensor_scale",
    "KakeyaError", "KakeyaValueError", "KakeyaTypeError", "KakeyaCorruptCode", "KakeyaRuntimeError",
    "Codec", "FP8Per64Codec", "V4NativeCodec", "BF16Codec", "codec_from_spec",
    "rel_mse", "cosine", "max_abs_error", "per_vector_error", "compare",
    "ChannelAffine", "AffineCodec", "rope_pairs", "rope_cos_sin",
    "set_num_threads", "num_threads", "set_isa", "build_info", "FORMAT_VERSION", "WITH_CUDA", "__version__",
]
