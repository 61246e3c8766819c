# SPDX-License-Identifier: Apache-2.0
"""safetensors shards without torch: an 8-byte little-endian header length, a JSON
header {name: {dtype, shape, data_offsets}}, then raw little-endian bytes.

FP8 weights are stored as float8 E4M3 (`.weight`) with one scale per 128×128 tile
(`.scale`); the last row/column tiles may be ragged. The scale is float8 E8M0 (2^(e-127))
in V4-Flash and float32 in V4-Flash-Base: `dequantize_fp8` takes the scale's stored dtype
and refuses anything else. Dequantization goes through the library's exact conversions.
"""
from __future__ import annotations

import json
import math
import pathlib
import struct

import numpy as np

from .. import _core

TILE = 128

_NP = {
    "F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32,
    "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_,
    "BF16": np.uint16, "F8_E4M3": np.uint8, "F8_E8M0": np.uint8,  # raw bit patterns
}


def _check_entry(path, name, e, data_size: int) -> None:
    """Types and ranges of one header entry; ValueError naming the tensor otherwise."""
    where = f"{path}: tensor {name!r}"
    if not isinstance(e, dict) or not {"dtype", "shape", "data_offsets"} <= e.keys():
        raise ValueError(f"{where}: entry must be an object with dtype, shape and data_offsets")
    dt, shape, offs = e["dtype"], e["shape"], e["data_offsets"]
    if not isinstance(dt, str):
        raise ValueError(f"{where}: dtype {dt!r} is not a string")
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise ValueError(f"{where}: shape {shape!r} is not a list of non-negative integers")
    if (not isinstance(offs, list) or len(offs) != 2 or not all(type(o) is int for o in offs)
            or not 0 <= offs[0] <= offs[1] <= data_size):
        raise ValueError(f"{where}: data_offsets {offs!r} is not a byte range inside the "
                         f"{data_size}-byte data section")


class SafetensorsFile:
    """Memory-mapped shard: names(), dtype(name), shape(name), raw(name), tensor(name)."""

    def __init__(self, path):
        self.path = pathlib.Path(path)
        with open(self.path, "rb") as f:
            head = f.read(8)
            if len(head) != 8:
                raise ValueError(f"{self.path}: too short to be a safetensors file")
            (n,) = struct.unpack("<Q", head)
            size = self.path.stat().st_size
            if n > size - 8 or n > 100 * 2**20:
                raise ValueError(f"{self.path}: header length {n} is not valid (file size {size})")
            header = json.loads(f.read(n))
        if not isinstance(header, dict):
            raise ValueError(f"{self.path}: header is a JSON {type(header).__name__}, not an object")
        self.data_start = 8 + n
        self.meta = header.pop("__metadata__", {})
        data_size = size - self.data_start
        for name, e in header.items():
            _check_entry(self.path, name, e, data_size)
        self.header = header
        self._mm = None

    def names(self) -> list[str]:
        return list(self.header)

    def dtype(self, name: str) -> str:
        return self.header[name]["dtype"]

    def shape(self, name: str) -> tuple:
        return tuple(self.header[name]["shape"])

    def raw(self, name: str) -> np.ndarray:
        """The tensor's bytes as its storage dtype (bf16/fp8 as unsigned bit patterns)."""
        if name not in self.header:
            raise KeyError(f"{self.path.name} has no tensor {name!r}")
        e = self.header[name]
        dt = e["dtype"]
        if dt not in _NP:
            raise ValueError(f"{self.path.name}:{name}: dtype {dt} is not supported")
        b, end = e["data_offsets"]
        shape = tuple(e["shape"])
        itemsize = np.dtype(_NP[dt]).itemsize
        if end - b != math.prod(shape) * itemsize:
            raise ValueError(f"{self.path.name}:{name}: byte range {b}..{end} does not match shape {shape} {dt}")
        if self._mm is None:
            self._mm = np.memmap(self.path, dtype=np.uint8, mode="r")
        buf = self._mm[self.data_start + b : self.data_start + end]
        return np.frombuffer(buf, dtype=np.dtype(_NP[dt]).newbyteorder("<")).reshape(shape)

    def tensor(self, name: str) -> np.ndarray:
        """float32 for floating dtypes (bf16/fp16 exactly; fp8 as decoded values without
        scales: use dequantize_fp8 for scaled weights); integers as stored."""
        dt = self.dtype(name)
        r = self.raw(name)
        if dt == "BF16":
            return (r.astype(np.uint32) << 16).view(np.float32)
        if dt in ("F16", "F32", "F64"):
            return r.astype(np.float32)
        if dt == "F8_E4M3":
            return _core.e4m3_to_float(np.ascontiguousarray(r)).reshape(r.shape)
        if dt == "F8_E8M0":
            return _core.e8m0_to_float(np.ascontiguousarray(r)).reshape(r.shape)
        return np.array(r)


SCALE_DTYPES = ("F8_E8M0", "F32")


def scale_values(scale: np.ndarray, scale_dtype: str) -> np.ndarray:
    """Tile scales as float32 from their stored form: E8M0 bit patterns (uint8) or
    float32 values. Every scale must be finite and positive."""
    if scale_dtype == "F8_E8M0":
        if scale.dtype != np.uint8:
            raise TypeError(f"E8M0 scale must be given as uint8 bit patterns, got dtype {scale.dtype}")
        s = _core.e8m0_to_float(np.ascontiguousarray(scale))
    elif scale_dtype == "F32":
        if scale.dtype != np.float32:
            raise TypeError(f"F32 scale must be given as float32, got dtype {scale.dtype}")
        s = np.array(scale, dtype=np.float32)
    else:
        raise ValueError(f"scale_dtype = {scale_dtype!r} is not one of {SCALE_DTYPES}")
    bad = ~(np.isfinite(s) & (s > 0))
    if bad.any():
        i = tuple(int(v) for v in np.argwhere(bad)[0])
        raise ValueError(f"scale {scale_dtype} has {int(bad.sum())} non-finite or non-positive values "
                         f"(first at {i}: {s[i]!r})")
    return s


def dequantize_fp8(weight_e4m3: np.ndarray, scale: np.ndarray, scale_dtype: str) -> np.ndarray:
    """W[i, j] = e4m3(w[i, j]) · s[i // 128, j // 128], ragged edge tiles allowed; the
    tile scales s are stored as `scale_dtype` ("F8_E8M0" or "F32", see scale_values)."""
    if weight_e4m3.dtype != np.uint8 or weight_e4m3.ndim != 2:
        raise TypeError(f"weight_e4m3 must be a 2-D uint8 array of E4M3 bit patterns, got "
                        f"{weight_e4m3.dtype} with shape {weight_e4m3.shape}")
    w = _core.e4m3_to_float(np.ascontiguousarray(weight_e4m3))
    rows, cols = w.shape
    need = (-(-rows // TILE), -(-cols // TILE))
    if scale.shape != need:
        raise ValueError(f"scale shape {scale.shape} does not match weight shape {w.shape} "
                         f"with {TILE}x{TILE} tiles (expected {need})")
    s = scale_values(scale, scale_dtype)
    full = np.repeat(np.repeat(s, TILE, axis=0), TILE, axis=1)[:rows, :cols]
    return (w * full).astype(np.float32)


def write_safetensors(path, tensors: dict, metadata: dict | None = None) -> None:
    """tensors: {name: (dtype string, array of that storage type)} (used by tests and
    tools; bf16/fp8 are given as uint16/uint8 bit patterns)."""
    header, blobs, off = {}, [], 0
    for name, (dt, arr) in tensors.items():
        a = np.ascontiguousarray(arr, dtype=np.dtype(_NP[dt]).newbyteorder("<"))
        b = a.tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
