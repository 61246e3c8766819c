# SPDX-License-Identifier: Apache-2.0
"""Codec classes and metrics over the C++ core."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _core
from ._arrays import as_rows, dtype_tag, empty_out, is_torch, numpy_input, to_float32_rows

_LATTICES = ("e8", "d4", "z")
_SCALES = ("bf16", "fp16", "norm_qmax")


def _check_int(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {v!r}")
    return int(v)


class _CodecBase:
    """Shared encode/decode plumbing; subclasses fix the codec kind."""

    _kind: str

    def __init__(self, kind: str, dim: int, q: int = 0, scale: str = "bf16", rope_dims: int = 64):
        dim = _check_int("dim", dim)
        q = _check_int("q", q)
        rope_dims = _check_int("rope_dims", rope_dims)
        self._kind = kind
        self._q = q
        self._scale = scale
        self._rope = rope_dims
        self._core = _core.CodecCore(kind, dim, q, scale, rope_dims)

    # ---------------------------------------------------------------- properties
    @property
    def dim(self) -> int:
        return self._core.dim

    @property
    def code_bytes(self) -> int:
        """Bytes per stored record (bits_per_vector rounded up to a byte)."""
        return self._core.code_bytes

    @property
    def bits_per_vector(self) -> int:
        return self._core.bits_per_vector

    @property
    def bits_per_coord(self) -> float:
        return self.bits_per_vector / self.dim

    @property
    def name(self) -> str:
        return self._core.name

    @property
    def spec(self) -> dict:
        """JSON-serialisable description; codec_from_spec(spec) rebuilds the codec."""
        return {
            "format_version": int(_core.FORMAT_VERSION),
            "kind": self._kind,
            "dim": self.dim,
            "q": self._q,
            "scale": self._scale,
            "rope_dims": self._rope,
            "bits_per_vector": self.bits_per_vector,
            "code_bytes": self.code_bytes,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name}, {self.bits_per_vector} bits/vector)"

    # ---------------------------------------------------------------- codec
    def encode(self, x: Any):
        """x: (..., dim) float32/float16/bfloat16 numpy array or torch tensor ->
        uint8 codes (..., code_bytes) of the same kind (numpy or torch)."""
        if is_torch(x) and x.device.type == "cuda":
            from . import _gpu

            return _gpu.encode(self, x)
        a, tag, kind = numpy_input(x, "x")
        lead = a.shape[:-1] if a.ndim else ()
        rows = as_rows(a, self.dim, "x")
        codes = np.empty((rows.shape[0], self.code_bytes), dtype=np.uint8)
        self._core.encode_into(rows, tag, codes)
        codes = codes.reshape(lead + (self.code_bytes,))
        if kind == "torch":
            import torch

            return torch.from_numpy(codes)
        return codes

    def decode(self, codes: Any, dtype: Any = "float32"):
        """codes: uint8 (..., code_bytes) -> (..., dim) in `dtype` (float32 default)."""
        tag = dtype_tag(dtype)
        if is_torch(codes):
            import torch

            if codes.device.type == "cuda":
                from . import _gpu

                return _gpu.decode(self, codes, tag)
            if codes.dtype != torch.uint8:
                raise TypeError(f"codes dtype {codes.dtype} must be torch.uint8")
            c, like = codes.detach().numpy(), "torch"
        else:
            if not isinstance(codes, np.ndarray):
                raise TypeError(f"codes must be a numpy array or torch tensor, got {type(codes).__name__}")
            if codes.dtype != np.uint8:
                raise TypeError(f"codes dtype {codes.dtype} must be uint8")
            c, like = codes, "numpy"
        if c.ndim == 0:
            raise ValueError("codes must have a last dimension of size code_bytes")
        if c.shape[-1] != self.code_bytes:
            raise ValueError(f"codes last dimension is {c.shape[-1]}, expected code_bytes = "
                             f"{self.code_bytes} for {self.name}")
        lead = c.shape[:-1]
        crow = as_rows(c, self.code_bytes, "codes")
        core_out, user_out = empty_out((crow.shape[0], self.dim), tag, like)
        self._core.decode_into(crow, core_out, tag)
        return user_out.reshape(lead + (self.dim,))

    def roundtrip(self, x: Any, dtype: Any = None):
        """decode(encode(x)); dtype defaults to float32."""
        return self.decode(self.encode(x), "float32" if dtype is None else dtype)


class Codec(_CodecBase):
    """The lattice codec: Hadamard rotation, per-vector scale, lattice box codebook.

    lattice: "e8" (default), "d4" or "z"; q: 1..127; scale: "bf16" (default), "fp16"
    or "norm_qmax".
    """

    def __init__(self, dim: int, q: int = 38, lattice: str = "e8", scale: str = "bf16"):
        if lattice not in _LATTICES:
            raise ValueError(f"lattice = {lattice!r} is not one of {_LATTICES}")
        if scale not in _SCALES:
            raise ValueError(f"scale = {scale!r} is not one of {_SCALES}")
        super().__init__(lattice, dim, q, scale)

    @property
    def lattice(self) -> str:
        return self._kind

    @property
    def q(self) -> int:
        return self._q


class FP8Per64Codec(_CodecBase):
    """E4M3 per 64 coordinates with a bf16 scale per group (8 + 16/64 bits/coord)."""

    def __init__(self, dim: int):
        super().__init__("fp8_per64", dim)


class V4NativeCodec(_CodecBase):
    """DeepSeek-V4's own storage: E4M3 per 64 on the first dim - rope_dims coordinates,
    bf16 on the last rope_dims."""

    def __init__(self, dim: int, rope_dims: int = 64):
        super().__init__("v4_native", dim, rope_dims=rope_dims)


class BF16Codec(_CodecBase):
    """Plain bfloat16 (round to nearest even)."""

    def __init__(self, dim: int):
        super().__init__("bf16", dim)


def codec_from_spec(spec: dict) -> _CodecBase:
    kind = spec["kind"]
    if spec.get("format_version", 1) != _core.FORMAT_VERSION:
        raise ValueError(f"format_version = {spec.get('format_version')} is not supported "
                         f"(this library reads {_core.FORMAT_VERSION})")
    if kind in _LATTICES:
        return Codec(spec["dim"], spec["q"], kind, spec.get("scale", "bf16"))
    if kind == "fp8_per64":
        return FP8Per64Codec(spec["dim"])
    if kind == "v4_native":
        return V4NativeCodec(spec["dim"], spec.get("rope_dims", 64))
    if kind == "bf16":
        return BF16Codec(spec["dim"])
    raise ValueError(f"spec kind = {kind!r} is not a codec kind")


# -------------------------------------------------------------------- metrics
def _pair_rows(x: Any, x_hat: Any):
    a = to_float32_rows(x, "x")
    b = to_float32_rows(x_hat, "x_hat", a.shape[1])
    if a.shape != b.shape:
        raise ValueError(f"x_hat shape {b.shape} does not match x shape {a.shape} (as rows)")
    return a, b


def compare(x: Any, x_hat: Any) -> dict:
    """All aggregate error metrics of x_hat against x (float64 accumulation in C++)."""
    return _core.compare(*_pair_rows(x, x_hat))


def rel_mse(x: Any, x_hat: Any) -> float:
    """Σ‖x − x̂‖² / Σ‖x − mean(x)‖² over rows (DESIGN.md §3)."""
    s = compare(x, x_hat)
    if s["centered_energy"] <= 0:
        raise ValueError(f"rel_mse: x (rows = {s['rows']}) has zero spread around its mean; "
                         "rel-MSE is undefined (use per_vector_error)")
    return s["rel_mse"]


def cosine(x: Any, x_hat: Any) -> float:
    """Mean over rows of the cosine similarity."""
    return compare(x, x_hat)["mean_cosine"]


def max_abs_error(x: Any, x_hat: Any) -> float:
    return compare(x, x_hat)["max_abs_error"]


def per_vector_error(x: Any, x_hat: Any) -> dict:
    """Per row: rel_err = ‖x−x̂‖²/‖x‖², cosine, sq_error (numpy float64 arrays)."""
    rel, cos, se = _core.per_vector(*_pair_rows(x, x_hat))
    return {"rel_err": rel, "cosine": cos, "sq_error": se}


def set_num_threads(n: int) -> None:
    """Worker threads of the C++ batch calls (0 = one per hardware thread)."""
    _core.set_num_threads(_check_int("n", n))


def num_threads() -> int:
    return _core.num_threads()
