# SPDX-License-Identifier: Apache-2.0
"""The optional per-channel affine pre-transform (issue 10 item 3).

Real keys carry large per-channel offsets and spreads. A codec with one scale per vector
then spends its bits on the offset. The pre-transform codes z = (x − μ_p)/σ instead and
restores x̂ = ẑ·σ + μ_p. μ (and optionally σ) is fitted once per layer (and head) on
calibration vectors and kept next to the codec spec, outside the records.

    aff = kl.ChannelAffine.fit(calib)                      # per-channel mean
    c = kl.AffineCodec(kl.codec("e8v2", 384, bits=5), aff)
    codes = c.encode(x); x_hat = c.decode(codes)

RoPE'd keys: a mean fitted on cached (rotated) keys washes out on the rotated channels.
Pass the rotated channel pairs and each row's cos/sin; the fit then un-rotates the
calibration keys, and encode/decode rotate the mean to each row's position:

    pairs = kl.rope_pairs(384, heads=12)                    # interleaved, all channels
    cos, sin = kl.rope_cos_sin(positions, inv_freq)         # (rows, nfreq) float32
    aff = kl.ChannelAffine.fit(calib, pairs=pairs, cos=cal_cos, sin=cal_sin)
    codes = c.encode(x, cos=cos, sin=sin)

The arithmetic (float32, documented in include/kakeya/transform/affine.h) runs in the
C++ core; this module checks and converts arguments.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _core
from ._arrays import is_torch, to_float32_rows
from ._codec import CodecBase
from ._core import KakeyaTypeError, KakeyaValueError


def rope_pairs(dim: int, rope_dims: int | None = None, offset: int | None = None, heads: int = 1,
               layout: str = "interleaved") -> np.ndarray:
    """The rotated channel pairs (npairs, 3) = (a, b, frequency index) of a RoPE layout.

    The row holds `heads` heads of dim/heads channels; in each head the channels
    [offset, offset + rope_dims) are rotated (default: the last rope_dims; rope_dims
    defaults to the whole head). layout "interleaved": pairs (2i, 2i+1) (DeepSeek, GPT-J);
    "half": pairs (i, i + rope_dims/2) (Llama / GPT-NeoX rotate_half). Frequency i is the
    pair's index within its head, so every head shares one cos/sin row.
    """
    for name, v in (("dim", dim), ("heads", heads)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise KakeyaValueError(f"{name} = {v!r} must be a positive integer")
    if dim % heads:
        raise KakeyaValueError(f"dim = {dim} is not a multiple of heads = {heads}")
    hd = dim // heads
    rd = hd if rope_dims is None else int(rope_dims)
    off = hd - rd if offset is None else int(offset)
    if rd < 2 or rd % 2 or off < 0 or off + rd > hd:
        raise KakeyaValueError(f"rope_dims = {rope_dims!r}, offset = {offset!r} must give an even number >= 2 of "
                               f"channels inside a head of {hd}")
    if layout not in ("interleaved", "half"):
        raise KakeyaValueError(f"layout = {layout!r} is not one of 'interleaved', 'half'")
    i = np.arange(rd // 2)
    if layout == "interleaved":
        a, b = off + 2 * i, off + 2 * i + 1
    else:
        a, b = off + i, off + i + rd // 2
    out = [np.stack([h * hd + a, h * hd + b, i], axis=1) for h in range(heads)]
    return np.ascontiguousarray(np.concatenate(out), dtype=np.int32)


def rope_cos_sin(positions: Any, inv_freq: Any) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin (rows, nfreq) float32 of angle position·inv_freq (float64 angle, as
    kakeyalattice.dsv4.rope.apply_rope computes it)."""
    pos = np.asarray(positions)
    f = np.asarray(inv_freq, dtype=np.float64)
    if pos.ndim != 1 or f.ndim != 1:
        raise KakeyaValueError(f"positions (ndim {pos.ndim}) and inv_freq (ndim {f.ndim}) must be 1-D")
    ang = pos.astype(np.float64)[:, None] * f[None, :]
    return np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)


def _rows(x: Any, name: str, dim: int) -> tuple[np.ndarray, tuple, str]:
    """(float32 rows, leading shape, "numpy" | "torch") of x (..., dim): the codecs' input
    rules (_arrays: float32/float16/bfloat16, numpy or CPU torch)."""
    rows = to_float32_rows(x, name, dim)  # validates x
    return rows, tuple(np.shape(x)[:-1]), "torch" if is_torch(x) else "numpy"


def _rope_rows(t: Any, name: str, rows: int, nfreq: int) -> np.ndarray | None:
    if nfreq == 0:
        if t is not None:
            raise KakeyaValueError(f"{name} was given, but the affine rotates no channel pairs")
        return None
    if t is None:
        raise KakeyaValueError(f"{name} is required: the affine rotates channel pairs (nfreq = {nfreq})")
    a = np.ascontiguousarray(np.asarray(t.cpu() if is_torch(t) else t, dtype=np.float32))
    a = a.reshape(-1, a.shape[-1]) if a.ndim >= 2 else a
    if a.ndim != 2 or a.shape != (rows, nfreq):
        raise KakeyaValueError(f"{name} shape {np.shape(t)} must be (rows = {rows}, nfreq = {nfreq})")
    return a


def _like(a: np.ndarray, lead: tuple, kind: str):
    a = a.reshape(lead + a.shape[-1:])
    if kind == "torch":
        import torch

        return torch.from_numpy(a)
    return a


class ChannelAffine:
    """Per-channel mean (and optional scale) with optional RoPE pairs; see the module doc."""

    def __init__(self, mean: Any, scale: Any = None, pairs: Any = None):
        m = np.ascontiguousarray(np.asarray(mean, dtype=np.float32))
        s = None if scale is None else np.ascontiguousarray(np.asarray(scale, dtype=np.float32))
        p = None if pairs is None else np.ascontiguousarray(np.asarray(pairs, dtype=np.int32))
        self._core = _core.AffineCore(m, s, p)

    @classmethod
    def _wrap(cls, core) -> "ChannelAffine":
        obj = cls.__new__(cls)
        obj._core = core
        return obj

    @classmethod
    def fit(cls, x: Any, *, scale: bool = False, pairs: Any = None, cos: Any = None, sin: Any = None) -> "ChannelAffine":
        """Fits μ (and σ when scale=True) on calibration rows x (..., dim), in float64.
        With pairs, cos and sin are the calibration rows' RoPE cos/sin (rows, nfreq)."""
        if isinstance(scale, (np.ndarray,)) or not isinstance(scale, (bool, np.bool_)):
            raise KakeyaTypeError(f"scale = {scale!r} must be True or False (fit a scale or not)")
        if not (is_torch(x) or isinstance(x, np.ndarray)) or np.ndim(x) < 1:
            raise KakeyaTypeError(f"x must be a numpy array or torch tensor of rows, got {type(x).__name__}")
        rows, _, _ = _rows(x, "x", int(np.shape(x)[-1]))
        p = None if pairs is None else np.ascontiguousarray(np.asarray(pairs, dtype=np.int32))
        nfreq = 0 if p is None or p.size == 0 else int(p.reshape(-1, 3)[:, 2].max()) + 1
        c = _rope_rows(cos, "cos", rows.shape[0], nfreq)
        s = _rope_rows(sin, "sin", rows.shape[0], nfreq)
        return cls._wrap(_core.AffineCore.fit(rows, bool(scale), p, c, s))

    @property
    def dim(self) -> int:
        return self._core.dim

    @property
    def nfreq(self) -> int:
        """cos/sin values per row (0 without RoPE pairs)."""
        return self._core.nfreq

    @property
    def mean(self) -> np.ndarray:
        return self._core.mean

    @property
    def scale(self) -> np.ndarray | None:
        return self._core.scale

    @property
    def pairs(self) -> np.ndarray:
        return self._core.pairs

    def forward(self, x: Any, cos: Any = None, sin: Any = None):
        """z = (x − μ_p)/σ as float32 (..., dim), numpy or torch like x."""
        rows, lead, kind = _rows(x, "x", self.dim)
        c = _rope_rows(cos, "cos", rows.shape[0], self.nfreq)
        s = _rope_rows(sin, "sin", rows.shape[0], self.nfreq)
        return _like(self._core.forward(rows, c, s), lead, kind)

    def inverse(self, z: Any, cos: Any = None, sin: Any = None):
        """x̂ = z·σ + μ_p as float32 (..., dim)."""
        rows, lead, kind = _rows(z, "z", self.dim)
        c = _rope_rows(cos, "cos", rows.shape[0], self.nfreq)
        s = _rope_rows(sin, "sin", rows.shape[0], self.nfreq)
        return _like(self._core.inverse(rows, c, s), lead, kind)

    def to_dict(self) -> dict:
        """JSON-serialisable; float32 values are written exactly (as Python floats)."""
        return {"dim": self.dim, "mean": [float(v) for v in self.mean],
                "scale": None if self.scale is None else [float(v) for v in self.scale],
                "pairs": self.pairs.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "ChannelAffine":
        if not isinstance(d, dict) or "mean" not in d:
            raise KakeyaValueError(f"affine spec must be a dict with 'mean', got {type(d).__name__}")
        pairs = d.get("pairs") or None
        aff = cls(d["mean"], d.get("scale"), None if pairs is None else np.asarray(pairs, np.int32).reshape(-1, 3))
        if "dim" in d and d["dim"] != aff.dim:
            raise KakeyaValueError(f"affine spec dim = {d['dim']} does not match its {aff.dim} mean values")
        return aff

    def __repr__(self) -> str:
        return (f"ChannelAffine(dim={self.dim}, scale={'yes' if self.scale is not None else 'no'}, "
                f"rope_pairs={len(self.pairs)})")


class AffineCodec:
    """A codec of the factory run over the affine pre-transform: encode(x) codes
    affine.forward(x); decode(codes) returns affine.inverse(codec.decode(codes))."""

    def __init__(self, codec: CodecBase, affine: ChannelAffine):
        if not isinstance(codec, CodecBase):
            raise KakeyaTypeError(f"codec must be a kakeyalattice codec, got {type(codec).__name__}")
        if not isinstance(affine, ChannelAffine):
            raise KakeyaTypeError(f"affine must be a ChannelAffine, got {type(affine).__name__}")
        if codec.dim != affine.dim:
            raise KakeyaValueError(f"affine dim = {affine.dim} does not match the codec dim = {codec.dim}")
        self.codec, self.affine = codec, affine

    dim = property(lambda self: self.codec.dim)
    code_bytes = property(lambda self: self.codec.code_bytes)
    bits_per_vector = property(lambda self: self.codec.bits_per_vector)
    bits_per_coord = property(lambda self: self.codec.bits_per_coord)
    name = property(lambda self: self.codec.name + "+affine")

    @property
    def spec(self) -> dict:
        """The codec's spec plus the affine parameters (codec_from_spec rebuilds both)."""
        return {**self.codec.spec, "affine": self.affine.to_dict()}

    def encode(self, x: Any, cos: Any = None, sin: Any = None):
        return self.codec.encode(self.affine.forward(x, cos, sin))

    def decode(self, codes: Any, cos: Any = None, sin: Any = None):
        return self.affine.inverse(self.codec.decode(codes), cos, sin)

    def roundtrip(self, x: Any, cos: Any = None, sin: Any = None):
        return self.decode(self.encode(x, cos, sin), cos, sin)

    def __repr__(self) -> str:
        return f"AffineCodec({self.codec!r}, {self.affine!r})"
