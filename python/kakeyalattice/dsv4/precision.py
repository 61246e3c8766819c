# SPDX-License-Identifier: Apache-2.0
"""The number formats along V4's KV write path, as the port reproduces them.

V4 runs its residual stream and its KV in bf16: RMSNorm and RoPE compute in float32 and
cast their result back to bf16, and the FP8 GEMM of `wkv` quantizes its bf16 input to
E4M3 per block of 128 (inference/kernel.py `act_quant`, scale_fmt "ue8m0") and writes
bf16. The compressor's projections are float32 GEMMs on the float32 view of the same
input. E4M3 rounding goes through the library's exact conversion.
"""
from __future__ import annotations

import numpy as np

from .. import _core

FP8_MAX = np.float32(448.0)     # largest finite E4M3
AMAX_FLOOR = np.float32(1e-4)   # V4 clamps each block's amax to at least this


def bf16_round(x: np.ndarray) -> np.ndarray:
    """float32 -> nearest bf16 (ties to even) -> float32, i.e. torch's `.to(bfloat16)`
    for finite values: add half an ulp of the kept 16 bits (minus one unless the kept
    part is odd, which breaks ties to even) and clear the low 16 bits."""
    a = np.ascontiguousarray(x, dtype=np.float32)
    if not np.isfinite(a).all():
        raise ValueError("bf16_round: x has non-finite values")
    u = a.view(np.uint32)
    # uint32 cannot overflow here: the largest finite pattern 0xff7fffff + 0x8000 fits
    r = (u >> 16) & np.uint32(1)
    r += np.uint32(0x7FFF)
    r += u
    r &= np.uint32(0xFFFF0000)
    return r.view(np.float32)


def ue8m0_scale(amax) -> np.ndarray:
    """V4's power-of-two FP8 scale 2^ceil(log2(max(amax, 1e-4) / 448)) (float32).

    The quotient is formed in float32 as V4 forms it. frexp writes a positive float
    s = m·2^e with m in [0.5, 1): s is already a power of two exactly when m = 0.5
    (then s = 2^(e-1)); otherwise the next power of two up is 2^e. With this scale
    |x|/s <= 448 for every x in the block, so nothing saturates."""
    a = np.asarray(amax, dtype=np.float32)
    if not np.isfinite(a).all() or (a < 0).any():
        raise ValueError("ue8m0_scale: amax must be finite and non-negative")
    s = (np.maximum(a, AMAX_FLOOR) / FP8_MAX).astype(np.float32)
    m, e = np.frexp(s)
    e = np.where(m == 0.5, e - 1, e)
    return np.ldexp(np.ones_like(s), e).astype(np.float32)


def fp8_act_quant(x: np.ndarray, block: int) -> np.ndarray:
    """V4's `act_quant(x, block, "ue8m0")` followed by its dequantization: per block of
    `block` consecutive values along the last axis, E4M3(x / s)·s with s = ue8m0_scale of
    the block's max |x|. x: (rows, n), n a multiple of block; returns float32."""
    a = np.ascontiguousarray(x, dtype=np.float32)
    if a.ndim != 2:
        raise ValueError(f"fp8_act_quant: x must be 2-D (rows, n), got shape {a.shape}")
    if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 1 or a.shape[1] % block:
        raise ValueError(f"fp8_act_quant: block = {block!r} must be a positive divisor of n = {a.shape[1]}")
    if not np.isfinite(a).all():
        raise ValueError("fp8_act_quant: x has non-finite values")
    g = a.reshape(a.shape[0], a.shape[1] // block, block)
    s = ue8m0_scale(np.abs(g).max(axis=-1))[..., None]
    q = _core.float_to_e4m3(g / s)  # division by a power of two: exact
    return (_core.e4m3_to_float(q) * s).reshape(a.shape)
