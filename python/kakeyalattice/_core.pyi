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

class KakeyaError(Exception):
    """Root of every exception raised from C++ (kakeya::Error)."""

class KakeyaValueError(KakeyaError, ValueError):
    """kakeya::InvalidArgument: a bad parameter, shape, buffer or input value."""

class KakeyaCorruptCode(KakeyaValueError):
    """kakeya::CorruptCode: a record that cannot be decoded."""

class KakeyaTypeError(KakeyaError, TypeError):
    """A wrong dtype or array type at the binding boundary."""

class KakeyaRuntimeError(KakeyaError, RuntimeError):
    """kakeya::RuntimeFailure: CUDA or internal errors."""

class AffineCore:
    """kakeya::ChannelAffine: per-channel mean (dim), optional scale (dim, > 0) and RoPE
    pairs (npairs, 3) int32 = (channel a, channel b, frequency); validated in C++."""

    def __init__(self, mean: npt.NDArray[np.float32], scale: npt.NDArray[np.float32] | None = None,
                 pairs: npt.NDArray[np.int32] | None = None) -> None: ...
    @property
    def dim(self) -> int: ...
    @property
    def nfreq(self) -> int: ...
    @property
    def mean(self) -> npt.NDArray[np.float32]: ...
    @property
    def scale(self) -> npt.NDArray[np.float32] | None: ...
    @property
    def pairs(self) -> npt.NDArray[np.int32]: ...
    def forward(self, x: npt.NDArray[np.float32], cos: npt.NDArray[np.float32] | None = None,
                sin: npt.NDArray[np.float32] | None = None) -> npt.NDArray[np.float32]:
        """z = (x - mean_p) / scale for rows x (rows, dim); cos/sin (rows, nfreq) with pairs."""
    def inverse(self, z: npt.NDArray[np.float32], cos: npt.NDArray[np.float32] | None = None,
                sin: npt.NDArray[np.float32] | None = None) -> npt.NDArray[np.float32]:
        """x = z * scale + mean_p."""
    @staticmethod
    def fit(x: npt.NDArray[np.float32], with_scale: bool, pairs: npt.NDArray[np.int32] | None = None,
            cos: npt.NDArray[np.float32] | None = None, sin: npt.NDArray[np.float32] | None = None) -> "AffineCore":
        """Fits mean (and scale) in float64 on calibration rows (un-rotating the pairs)."""

class CodecCore:
    """A validated kakeya::CodecSpec built by the factory: make_codec(family, dim, params),
    family one of codec_names(), params text values keyed by the family's parameter
    names (codec_families())."""

    def __init__(self, family: str, dim: int, params: dict[str, str]) -> None: ...
    @property
    def family(self) -> str: ...
    @property
    def params(self) -> dict[str, str]: ...
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
        """Bits per lattice block; 0 for the other families."""
    def encode_into(self, x: npt.NDArray[Any], tag: str, codes: npt.NDArray[np.uint8]) -> None:
        """x: (rows, dim), last axis contiguous, dtype named by tag ("float32", "float16",
        "bfloat16"); codes: writable (rows, code_bytes) uint8."""
    def decode_into(
        self,
        codes: npt.NDArray[np.uint8],
        out: npt.NDArray[Any],
        tag: str,
        bad_rows: npt.NDArray[np.uint8] | None = None,
    ) -> None:
        """codes: (rows, code_bytes) uint8; out: writable (rows, dim) of the dtype named by
        tag. Without bad_rows a corrupt record raises KakeyaCorruptCode; with it (rows
        uint8) corrupt rows are flagged 1 and decoded as zeros."""

def codec_names() -> list[str]: ...
def codec_families() -> list[tuple[str, dict[str, str | None], str]]:
    """(name, {parameter: default, None when required}, summary) per family."""
def nvfp4_tensor_scale(amax: float) -> float: ...

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

def isa_info() -> dict[str, Any]: ...
def set_isa(name: str) -> None: ...
def set_num_threads(n: int) -> None: ...
def num_threads() -> int: ...
def hadamard_rotate(x: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """y = H x / sqrt(P) per row of a (rows, dim) array, dim a multiple of 8."""

# Exact FP8 conversions (same shape in and out).
def float_to_e4m3(x: npt.ArrayLike, /) -> npt.NDArray[np.uint8]: ...
def e4m3_to_float(codes: npt.ArrayLike, /) -> npt.NDArray[np.float32]: ...
def e8m0_to_float(codes: npt.ArrayLike, /) -> npt.NDArray[np.float32]: ...

# Present only when WITH_CUDA: torch CUDA tensors (checked in C++ for device, dtype,
# shape and strides) and the CUDA stream handle as an integer.
def gpu_available() -> bool: ...
def gpu_encode(codec: CodecCore, *, x: Any, codes: Any, flag: Any, stream: int) -> None: ...
def gpu_decode(codec: CodecCore, *, codes: Any, out: Any, flag: Any, stream: int) -> None: ...
def gpu_attention_workspace(
    *, batch: int, q_heads: int, kv_heads: int, dim: int, max_len: int
) -> int: ...
def gpu_append_kv(
    k_codec: CodecCore,
    v_codec: CodecCore | None,
    *,
    k_new: Any,
    v_new: Any | None,
    slot_mapping: Any,
    k_cache: Any,
    v_cache: Any | None,
    num_blocks: int,
    block_size: int,
    kv_heads: int,
    flag: Any,
    stream: int,
) -> None: ...
def gpu_decode_attention(
    k_codec: CodecCore,
    v_codec: CodecCore | None,
    *,
    k_cache: Any,
    v_cache: Any | None,
    num_blocks: int,
    block_size: int,
    kv_heads: int,
    block_table: Any,
    seq_lens: Any,
    q: Any,
    out: Any,
    workspace: Any,
    scale: float,
    max_len: int,
    flag: Any,
    stream: int,
) -> None: ...
