# SPDX-License-Identifier: Apache-2.0
"""Rotary position embedding on interleaved pairs (x[2i], x[2i+1]), with the YaRN
frequency blend used for the compressor's long-context base."""
from __future__ import annotations

import math

import numpy as np


def inv_frequencies(dims: int, theta: float) -> np.ndarray:
    return 1.0 / (theta ** (np.arange(0, dims, 2, dtype=np.float64) / dims))


def yarn_inv_frequencies(dims: int, theta: float, factor: float, original_max_pos: int,
                         beta_fast: float, beta_slow: float) -> np.ndarray:
    """Blend interpolated (freq/factor) and original frequencies: dimensions that rotate
    fewer than beta_slow times over the original context are fully interpolated, those
    that rotate more than beta_fast times are kept, with a linear ramp in between."""
    freqs = inv_frequencies(dims, theta)

    def dim_for_rotations(rot: float) -> float:
        # the pair index whose wavelength fits `rot` rotations into original_max_pos
        return dims * math.log(original_max_pos / (rot * 2 * math.pi)) / (2 * math.log(theta))

    # clamped as inference/model.py clamps it (to dims - 1, though the ramp runs over
    # dims/2 pair indices; for V4's constants the bound is 25 either way)
    lo = max(math.floor(dim_for_rotations(beta_fast)), 0)
    hi = min(math.ceil(dim_for_rotations(beta_slow)), dims - 1)
    idx = np.arange(dims // 2, dtype=np.float64)
    ramp = np.clip((idx - lo) / max(hi - lo, 1e-3), 0.0, 1.0)  # 0: keep, 1: interpolate
    return freqs * (1.0 - ramp) + (freqs / factor) * ramp


def apply_rope(x: np.ndarray, positions: np.ndarray, inv_freq: np.ndarray) -> np.ndarray:
    """Rotate the pairs of x (..., rope_dims) by angle position·inv_freq (float32 result)."""
    ang = positions.astype(np.float64)[:, None] * inv_freq[None, :]
    cos, sin = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
    a, b = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x, dtype=np.float32)
    out[..., 0::2] = a * cos - b * sin
    out[..., 1::2] = a * sin + b * cos
    return out
