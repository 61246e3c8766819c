# SPDX-License-Identifier: Apache-2.0
"""Codec classes and metrics over the C++ core."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _core
from ._arrays import as_rows, dtype_tag, empty_out, is_torch, numpy_input, to_float32_rows
from ._core import KakeyaTypeError, KakeyaValueError

_LATTICES = ("e8", "d4", "z")
_SCALES = ("bf16", "fp16", "norm_qmax")
_FAMILIES = {name: (params, summary) for name, params, summary in _core.codec_families()}


def _check_int(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise KakeyaTypeError(f"{name} must be an integer, got {v!r}")
    return int(v)


def _param_text(name: str, v: Any) -> str:
    """A factory parameter as the text the C++ factory parses (exact for floats)."""
    if isinstance(v, bool):
        raise KakeyaTypeError(f"{name} = {v!r} must be a number or a string, not a bool")
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(np.float32(v)))
    if isinstance(v, str):
        return v
    raise KakeyaTypeError(f"{name} = {v!r} must be a number or a string")


def _param_value(text: str) -> Any:
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


class CodecBase:
    """Any codec of the factory: encode, decode, roundtrip and its bit counts.

    Build one with kakeyalattice.codec(name, dim, **params); the classes Codec,
    FP8Per64Codec, V4NativeCodec and BF16Codec are conveniences over the same object.
    """

    def __init__(self, family: str, dim: int, **params: Any):
        dim = _check_int("dim", dim)
        if not isinstance(family, str):
            raise KakeyaTypeError(f"codec name must be a string, got {family!r}")
        self._core = _core.CodecCore(family, dim, {k: _param_text(k, v) for k, v in params.items()})

    # ---------------------------------------------------------------- properties
    @property
    def family(self) -> str:
        """Factory name: "e8", "nvfp4", "int", ..."""
        return self._core.family

    @property
    def params(self) -> dict:
        """Factory parameters with their values (codec(family, dim, **params) rebuilds it)."""
        return {k: _param_value(v) for k, v in self._core.params.items()}

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
            "codec": self.family,
            "dim": self.dim,
            "params": self.params,
            "name": self.name,
            "bits_per_vector": self.bits_per_vector,
            "code_bytes": self.code_bytes,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name}, {self.bits_per_vector} bits/vector)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CodecBase) and (self.family, self.dim, self.params) == (
            other.family, other.dim, other.params)

    def __hash__(self) -> int:
        return hash((self.family, self.dim, tuple(sorted(self.params.items()))))

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

    def decode(self, codes: Any, dtype: Any = "float32", on_error: str = "raise"):
        """codes: uint8 (..., code_bytes) -> (..., dim) in `dtype` (float32 default).

        on_error="raise" (default): a corrupt record raises KakeyaCorruptCode naming the
        first corrupt row. on_error="zero": corrupt rows decode to zeros and the call
        returns (x_hat, bad_rows), bad_rows a boolean array over the leading shape.
        """
        if on_error not in ("raise", "zero"):
            raise KakeyaValueError(f"on_error = {on_error!r} is not one of 'raise', 'zero'")
        tag = dtype_tag(dtype)
        if is_torch(codes):
            import torch

            if codes.device.type == "cuda":
                from . import _gpu

                return _gpu.decode(self, codes, tag, on_error=on_error)
            if codes.dtype != torch.uint8:
                raise KakeyaTypeError(f"codes dtype {codes.dtype} must be torch.uint8")
            c, like = codes.detach().numpy(), "torch"
        else:
            if not isinstance(codes, np.ndarray):
                raise KakeyaTypeError(f"codes must be a numpy array or torch tensor, got {type(codes).__name__}")
            if codes.dtype != np.uint8:
                raise KakeyaTypeError(f"codes dtype {codes.dtype} must be uint8")
            c, like = codes, "numpy"
        if c.ndim == 0:
            raise KakeyaValueError("codes must have a last dimension of size code_bytes")
        if c.shape[-1] != self.code_bytes:
            raise KakeyaValueError(f"codes last dimension is {c.shape[-1]}, expected code_bytes = "
                                   f"{self.code_bytes} for {self.name}")
        lead = c.shape[:-1]
        crow = as_rows(c, self.code_bytes, "codes")
        core_out, user_out = empty_out((crow.shape[0], self.dim), tag, like)
        bad = np.zeros(crow.shape[0], dtype=np.bool_) if on_error == "zero" else None
        self._core.decode_into(crow, core_out, tag, bad)
        x_hat = user_out.reshape(lead + (self.dim,))
        if bad is None:
            return x_hat
        bad = bad.reshape(lead)
        if like == "torch":
            import torch

            bad = torch.from_numpy(bad)
        return x_hat, bad

    def roundtrip(self, x: Any, dtype: Any = None):
        """decode(encode(x)); dtype defaults to float32."""
        return self.decode(self.encode(x), "float32" if dtype is None else dtype)


def codec(name: str, dim: int, **params: Any) -> CodecBase:
    """The codec factory: kakeyalattice.codec("nvfp4", dim=512, tensor_scale=0.01).

    Names and parameters (codec_names(), codec_info()): e8 / d4 / z (q=38, scale="bf16"),
    fp8_per64, v4_native (rope_dims=64), v41_mxfp8, bf16, nvfp4 (tensor_scale, required),
    mxfp4, mxfp8, int (bits=4, group=64), lloydmax (bits=4). Bad names or parameters raise
    KakeyaValueError naming them.
    """
    if name in _LATTICES:
        return Codec(dim, lattice=name, **params)
    return CodecBase(name, dim, **params)


def codec_names() -> list:
    """Every codec family the factory builds."""
    return list(_core.codec_names())


def codec_info() -> dict:
    """{name: {"params": {param: default or None if required}, "summary": str}}."""
    return {n: {"params": dict(p), "summary": s} for n, (p, s) in _FAMILIES.items()}


def nvfp4_tensor_scale(x: Any) -> float:
    """NVFP4's static per-tensor scale from calibration data: max|x| / (6·448)."""
    a = to_float32_rows(x, "x")
    if a.size == 0:
        raise KakeyaValueError("x is empty: nvfp4_tensor_scale needs calibration data")
    amax = float(np.max(np.abs(a)))
    if not np.isfinite(amax) or amax <= 0:
        raise KakeyaValueError(f"max |x| = {amax} must be finite and > 0 to calibrate nvfp4")
    return float(_core.nvfp4_tensor_scale(amax))


class Codec(CodecBase):
    """The lattice codec (format v1): Hadamard rotation, per-vector scale, lattice box
    codebook. lattice: "e8" (default), "d4" or "z"; q: 1..127; scale: "bf16"
    (default), "fp16" or "norm_qmax"."""

    def __init__(self, dim: int, q: int = 38, lattice: str = "e8", scale: str = "bf16"):
        q = _check_int("q", q)
        if lattice not in _LATTICES:
            raise KakeyaValueError(f"lattice = {lattice!r} is not one of {_LATTICES}")
        if scale not in _SCALES:
            raise KakeyaValueError(f"scale = {scale!r} is not one of {_SCALES}")
        super().__init__(lattice, dim, q=q, scale=scale)

    @property
    def lattice(self) -> str:
        return self.family

    @property
    def q(self) -> int:
        return self.params["q"]

    @property
    def scale(self) -> str:
        return self.params["scale"]


class FP8Per64Codec(CodecBase):
    """E4M3 per 64 coordinates with a bf16 scale per group (8 + 16/64 bits/coord)."""

    def __init__(self, dim: int):
        super().__init__("fp8_per64", dim)


class V4NativeCodec(CodecBase):
    """DeepSeek-V4's own KV record (FlashMLA MODEL1, 584 B at dim 512): the first
    dim - rope_dims coordinates E4M3 with a UE8M0 power-of-two scale per 64 (rounded up,
    so nothing saturates), the last rope_dims in bf16."""

    def __init__(self, dim: int, rope_dims: int = 64):
        super().__init__("v4_native", dim, rope_dims=_check_int("rope_dims", rope_dims))


class BF16Codec(CodecBase):
    """Plain bfloat16 (round to nearest even)."""

    def __init__(self, dim: int):
        super().__init__("bf16", dim)


def codec_from_spec(spec: dict) -> CodecBase:
    """Rebuilds a codec from CodecBase.spec (also reads the older {"kind", "q", ...} form)."""
    if not isinstance(spec, dict):
        raise KakeyaTypeError(f"spec must be a dict, got {type(spec).__name__}")
    if "affine" in spec:  # an AffineCodec's spec: the codec's plus the pre-transform
        from .affine import AffineCodec, ChannelAffine

        inner = {k: v for k, v in spec.items() if k != "affine"}
        return AffineCodec(codec_from_spec(inner), ChannelAffine.from_dict(spec["affine"]))
    if spec.get("format_version", 1) != _core.FORMAT_VERSION:
        raise KakeyaValueError(f"format_version = {spec.get('format_version')} is not supported "
                               f"(this library reads {_core.FORMAT_VERSION})")
    if "codec" in spec:
        return codec(spec["codec"], spec["dim"], **spec.get("params", {}))
    kind = spec.get("kind")
    if kind in _LATTICES:
        return Codec(spec["dim"], spec["q"], kind, spec.get("scale", "bf16"))
    if kind == "v4_native":
        return V4NativeCodec(spec["dim"], spec.get("rope_dims", 64))
    if kind in ("fp8_per64", "bf16"):
        return codec(kind, spec["dim"])
    raise KakeyaValueError(f"spec kind = {kind!r} is not a codec kind")


# -------------------------------------------------------------------- metrics
def _pair_rows(x: Any, x_hat: Any):
    a = to_float32_rows(x, "x")
    b = to_float32_rows(x_hat, "x_hat", a.shape[1])
    if a.shape != b.shape:
        raise KakeyaValueError(f"x_hat shape {b.shape} does not match x shape {a.shape} (as rows)")
    return a, b


def compare(x: Any, x_hat: Any) -> dict:
    """All aggregate error metrics of x_hat against x (float64 accumulation in C++)."""
    return _core.compare(*_pair_rows(x, x_hat))


def rel_mse(x: Any, x_hat: Any) -> float:
    """Σ‖x − x̂‖² / Σ‖x − mean(x)‖² over rows (DESIGN.md §3)."""
    s = compare(x, x_hat)
    if s["centered_energy"] <= 0:
        raise KakeyaValueError(f"rel_mse: x (rows = {s['rows']}) has zero spread around its mean; "
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


def set_isa(name: str) -> None:
    """Forces the instruction set of later CPU batch calls: 'avx512', 'avx2', 'baseline'
    or 'auto' (the best this CPU runs; also the KAKEYA_ISA environment variable)."""
    _core.set_isa(str(name))


def build_info() -> dict:
    """What this build is and what it does here: version, the CPU instruction set the
    dispatcher picked (and those this CPU runs), threads, CUDA, storage format versions."""
    info = {"version": _core.__version__}
    info.update(_core.isa_info())
    info["threads"] = _core.num_threads()
    info["cuda_built"] = bool(_core.WITH_CUDA)
    gpu = getattr(_core, "gpu_available", None)
    info["cuda_device"] = bool(gpu()) if gpu is not None else False
    info["format_versions"] = [int(_core.FORMAT_VERSION)]
    return info
