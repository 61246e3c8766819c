# SPDX-License-Identifier: Apache-2.0
"""Independent NumPy reference of DeepSeek-V4's FP8 KV record and activation FP8 step,
written from V4's inference code (kernel.py act_quant with scale_fmt "ue8m0") and
FlashMLA's MODEL1_FP8Sparse layout, not from the package:

    per group of 64 non-RoPE values: s = 2^k with k the smallest integer such that
    448·2^k >= max(amax, 1e-4) (exact integer arithmetic, no logarithms); values
    E4M3(x / s) by brute-force nearest code (ties to even); the RoPE values in bf16.
    Record: 448 E4M3 bytes + 7 UE8M0 scale bytes + 1 pad + 64 bf16 = 584 bytes at D=512.

The package never imports it.
"""
from __future__ import annotations

import numpy as np

import kakeya_ref as ref

AMAX_FLOOR = float(np.float32(1e-4))  # V4 clamps with the float32 value of 1e-4


def ue8m0_exponent(amax: float) -> int:
    """Smallest k with 448·2^k >= max(amax, 1e-4), by scanning k upward."""
    a = max(float(np.float32(amax)), AMAX_FLOOR)
    p, q = a.as_integer_ratio()  # a = p / q exactly, q a power of two
    for k in range(-160, 140):
        lhs = 448 * q * 2**k if k >= 0 else 448 * q
        rhs = p if k >= 0 else p * 2 ** (-k)
        if lhs >= rhs:
            return k
    raise ValueError(f"amax = {amax!r} is out of the float32 range")


def ue8m0_scales(amax: np.ndarray) -> np.ndarray:
    flat = np.asarray(amax, dtype=np.float32).reshape(-1)
    return np.array([2.0 ** ue8m0_exponent(v) for v in flat]).reshape(np.shape(amax))


def fp8_blocks(x: np.ndarray, block: int) -> np.ndarray:
    """E4M3(x / s)·s per block of `block` values along the last axis (float64 result)."""
    x = np.asarray(x, dtype=np.float32)
    g = x.reshape(x.shape[0], -1, block).astype(np.float64)
    s = ue8m0_scales(np.abs(g).max(-1))[..., None]
    codes = ref.to_e4m3(g / s)  # exact: s is a power of two
    return (ref._E4M3[codes] * s).reshape(x.shape)


def v4_record_bytes(dim: int, rope: int = 64) -> int:
    nope = dim - rope
    return nope + nope // 64 + 1 + 2 * rope


def v4_record_roundtrip(x: np.ndarray, rope: int = 64) -> np.ndarray:
    """What V4 stores for each row of x, decoded (float32)."""
    x = np.asarray(x, dtype=np.float32)
    nope = x.shape[1] - rope
    out = np.empty_like(x)
    out[:, :nope] = fp8_blocks(x[:, :nope], 64).astype(np.float32)
    out[:, nope:] = ref.bf16_value(ref.bf16_bits(x[:, nope:]))
    return out
