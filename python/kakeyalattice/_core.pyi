# SPDX-License-Identifier: Apache-2.0
"""Type stubs of kakeyalattice._core, the pybind11 module built from
python/src/bindings.cpp (keep the two in step). Functions whose C++ binding names no
arguments take them positionally only (pybind11 calls them arg0, arg1, ...).
"""
from typing import Any

import numpy as np
import numpy.typing as npt

__version__: str
FORMAT_VERSION: int
WITH_CUDA: bool

class KakeyaValueError(ValueError):
    """kakeya::InvalidArgument raised from C++ (bad parameter, input or record)."""

class CodecCore:
    """A validated kakeya::CodecSpec. kind: "e8" | "d4" | "z" | "fp8_per64" | "v4_native"
    | "bf16"; scale: "bf16" | "fp16" | "norm_qmax" (lattice kinds)."""

    def __init__(self, kind: str, dim: int, q: int, scale: str, rope_dims: int) -> None: ...
    @property
    def dim(self) -> int: ...
    @property
    def code_bytes(self) -> int: ...
    @property
    def bits_per_vector(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def bits_per_block(self) -> int:
        """Bits per lattice block; 0 for the baselines."""
    def encode_into(self, x: npt.NDArray[Any], tag: str, codes: npt.NDArray[np.uint8]) -> None:
        """x: (rows, dim), last axis contiguous, dtype named by tag ("float32", "float16",
        "bfloat16"); codes: writable (rows, code_bytes) uint8."""
    def decode_into(self, codes: npt.NDArray[np.uint8], out: npt.NDArray[Any], tag: str) -> None:
        """codes: (rows, code_bytes) uint8; out: writable (rows, dim) of the dtype named by
        tag."""

# CPU paged-cache attention (kakeya/attention/paged.h). v / v_new / v_cache are None for
# a shared K=V latent.
def append_kv(
    k: CodecCore,
    v: CodecCore | None,
    k_new: npt.ArrayLike,
    v_new: npt.ArrayLike | None,
    slots: npt.ArrayLike,
    k_cache: npt.NDArray[np.uint8],
    v_cache: npt.NDArray[np.uint8] | None,
    num_blocks: int,
    block_size: int,
    kv_heads: int,
    /,
) -> None: ...
def attention_reference(
    k: CodecCore,
    v: CodecCore | None,
    k_cache: npt.NDArray[np.uint8],
    v_cache: npt.NDArray[np.uint8] | None,
    num_blocks: int,
    block_size: int,
    kv_heads: int,
    block_table: npt.ArrayLike,
    seq_lens: npt.ArrayLike,
    q: npt.ArrayLike,
    scale: float,
    /,
) -> npt.NDArray[np.float32]: ...

# Metrics over (rows, dim) float32 pairs.
def compare(x: npt.ArrayLike, x_hat: npt.ArrayLike) -> dict[str, float | int]:
    """Keys: rows, dim, sq_error, centered_energy, energy, rel_mse, mean_cosine,
    max_abs_error."""
def per_vector(
    x: npt.ArrayLike, x_hat: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(relative error, cosine, squared error) per row."""

def set_num_threads(n: int) -> None: ...
def num_threads() -> int: ...
def hadamard_rotate(x: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """y = H x / sqrt(P) per row of a (rows, dim) array, dim a multiple of 8."""

# Exact FP8 conversions (same shape in and out).
def float_to_e4m3(x: npt.ArrayLike, /) -> npt.NDArray[np.uint8]: ...
def e4m3_to_float(codes: npt.ArrayLike, /) -> npt.NDArray[np.float32]: ...
def e8m0_to_float(codes: npt.ArrayLike, /) -> npt.NDArray[np.float32]: ...

# Present only when WITH_CUDA: raw device pointers and the CUDA stream as integers.
def gpu_available() -> bool: ...
def gpu_encode(
    codec: CodecCore,
    x: int,
    rows: int,
    row_stride: int,
    tag: str,
    codes: int,
    code_stride: int,
    flag: int,
    stream: int,
    /,
) -> None: ...
def gpu_decode(
    codec: CodecCore,
    codes: int,
    rows: int,
    code_stride: int,
    out: int,
    row_stride: int,
    tag: str,
    flag: int,
    stream: int,
    /,
) -> None: ...
def gpu_attention_workspace(
    batch: int, q_heads: int, kv_heads: int, dim: int, max_len: int, /
) -> int: ...
def gpu_append_kv(
    k: CodecCore,
    v: CodecCore | None,
    k_new: int,
    v_new: int,
    tag: str,
    n: int,
    slots: int,
    k_cache: int,
    v_cache: int,
    num_blocks: int,
    block_size: int,
    kv_heads: int,
    flag: int,
    stream: int,
    /,
) -> None: ...
def gpu_decode_attention(
    k: CodecCore,
    v: CodecCore | None,
    k_cache: int,
    v_cache: int,
    num_blocks: int,
    block_size: int,
    kv_heads: int,
    block_table: int,
    max_blocks: int,
    seq_lens: int,
    batch: int,
    q_heads: int,
    scale: float,
    max_len: int,
    q: int,
    q_tag: str,
    out: int,
    workspace: int,
    workspace_bytes: int,
    flag: int,
    stream: int,
    /,
) -> None: ...
