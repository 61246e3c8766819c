# SPDX-License-Identifier: Apache-2.0
"""Array plumbing: numpy / torch inputs to 2-D row views the C++ core accepts."""
from __future__ import annotations

from typing import Any

import numpy as np

from ._core import KakeyaTypeError, KakeyaValueError

try:  # optional: numpy bfloat16
    import ml_dtypes as _ml

    BF16_NP = np.dtype(_ml.bfloat16)
except ImportError:  # pragma: no cover - exercised only without ml_dtypes
    _ml = None
    BF16_NP = None


def is_torch(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


def dtype_tag(dtype: Any) -> str:
    """Normalise a dtype argument (str, numpy dtype, torch dtype) to a tag."""
    name = getattr(dtype, "name", None) or str(dtype)
    name = name.replace("torch.", "")
    if name in ("float32", "float16", "bfloat16"):
        return name
    if name in ("float", "f4", "<f4"):
        return "float32"
    if name in ("half", "f2", "<f2"):
        return "float16"
    raise KakeyaTypeError(f"dtype={dtype!r} is not supported; use float32, float16 or bfloat16")


def numpy_input(x: Any, arg: str = "x") -> tuple[np.ndarray, str, str]:
    """(array viewable as 2-D rows, tag, kind) where kind is 'numpy' or 'torch'."""
    if is_torch(x):
        import torch

        if x.device.type != "cpu":
            raise KakeyaValueError(
                f"{arg} is a torch tensor on device '{x.device}'; this entry point takes CPU "
                "tensors (CUDA tensors go through the GPU path when kakeyalattice is built "
                "with CUDA: see kakeyalattice.WITH_CUDA)")
        t = x.detach()
        if t.dtype == torch.bfloat16:
            return t.view(torch.int16).numpy().view(np.uint16), "bfloat16", "torch"
        if t.dtype not in (torch.float32, torch.float16):
            raise KakeyaTypeError(f"{arg} dtype {t.dtype} is not supported; use float32, float16 or bfloat16")
        return t.numpy(), dtype_tag(t.dtype), "torch"
    if not isinstance(x, np.ndarray):
        raise KakeyaTypeError(f"{arg} must be a numpy array or a torch tensor, got {type(x).__name__}")
    if x.dtype == np.float32:
        return x, "float32", "numpy"
    if x.dtype == np.float16:
        return x, "float16", "numpy"
    if BF16_NP is not None and x.dtype == BF16_NP:
        return x.view(np.uint16), "bfloat16", "numpy"
    raise KakeyaTypeError(f"{arg} dtype {x.dtype} is not supported; use float32, float16 or bfloat16 "
                    "(convert with x.astype(np.float32))")


def as_rows(a: np.ndarray, width: int, arg: str) -> np.ndarray:
    """(..., width) -> (rows, width) view; copies once only when the leading axes cannot
    be merged or the last axis is not contiguous."""
    if a.ndim == 0:
        raise KakeyaValueError(f"{arg} must have at least one dimension of size {width}, got a scalar")
    if a.shape[-1] != width:
        raise KakeyaValueError(f"{arg} last dimension is {a.shape[-1]}, expected {width}")
    if a.ndim == 2 and (a.shape[0] <= 1 or a.strides[0] > 0) and (width <= 1 or a.strides[1] == a.itemsize):
        return a
    r = a.reshape(-1, width)
    if width > 1 and r.strides[1] != r.itemsize:
        r = np.ascontiguousarray(r)
    if r.shape[0] > 1 and r.strides[0] <= 0:
        r = np.ascontiguousarray(r)
    return r


def empty_out(shape: tuple, tag: str, like: str):
    """Allocate the output for a decode; returns (array for the core, array for the user)."""
    if like == "torch":
        import torch

        tdt = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[tag]
        t = torch.empty(shape, dtype=tdt)
        core = t.view(torch.int16).numpy().view(np.uint16) if tag == "bfloat16" else t.numpy()
        return core, t
    if tag == "bfloat16":
        if BF16_NP is None:
            raise KakeyaTypeError("dtype='bfloat16' for numpy output needs the ml_dtypes package "
                            "(pip install ml_dtypes)")
        arr = np.empty(shape, dtype=BF16_NP)
        return arr.view(np.uint16), arr
    arr = np.empty(shape, dtype=np.dtype(tag))
    return arr, arr


def to_float32_rows(x: Any, arg: str, width: int | None = None) -> np.ndarray:
    a, tag, _ = numpy_input(x, arg)
    if tag == "bfloat16":
        a = (a.astype(np.uint32) << 16).view(np.float32)
    elif tag == "float16":
        a = a.astype(np.float32)
    w = a.shape[-1] if width is None else width
    return np.ascontiguousarray(as_rows(a, w, arg), dtype=np.float32)
