# SPDX-License-Identifier: Apache-2.0
"""Writes the structured seeds of the fuzz corpus: valid records of every codec for
fuzz_decode (input layout in fuzz_decode.cpp) and small safetensors files for
fuzz_safetensors.py. The seeds of fuzz_c_api and fuzz_spec are libFuzzer-merged inputs
of earlier runs (their FuzzedDataProvider layout is not meant to be written by hand).

    PYTHONPATH=build/python python3 tests/fuzz/make_corpus.py
"""
from __future__ import annotations

import hashlib
import pathlib
import struct

import numpy as np

import kakeyalattice as kl
from kakeyalattice.dsv4.safetensors import write_safetensors

HERE = pathlib.Path(__file__).resolve().parent
# Must match fuzz_decode.cpp: families in the registry's order (kl.codec_names()), and
# the tables of its input layout.
SCALES = ["bf16", "fp16", "norm_qmax"]
DIMS = [8, 16, 24, 32, 64, 96, 128, 192, 256, 320, 512, 576]
ROPE_DIMS = [64, 0, 32, 128]
GROUPS = [64, 16, 32, 128]


def _write(d: pathlib.Path, data: bytes) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def decode_header(family: str, dim: int, rows: int, q: int = 1, bits: int = 1,
                  scale: str = "bf16", rope: int = 64, group: int = 64,
                  tensor_scale: float = 0.0) -> bytes:
    """The 8-byte input header of fuzz_decode.cpp for these parameters."""
    b1 = (q - 1) if q > 1 else (bits - 1)
    return bytes([kl.codec_names().index(family), b1,
                  (DIMS.index(dim) << 2) | SCALES.index(scale),
                  (GROUPS.index(group) << 4) | (ROPE_DIMS.index(rope) << 2) | (rows - 1)]) \
        + struct.pack("<f", tensor_scale)


def decode_seeds() -> None:
    out = HERE / "corpus" / "fuzz_decode"
    rng = np.random.default_rng(2026)
    cases = []  # (family, dim, rows, header kwargs, factory kwargs)
    for kind in ("e8", "d4", "z"):
        for q, scale, dim, rows in ((1, "bf16", 8, 1), (38, "bf16", 128, 2), (127, "fp16", 64, 1),
                                    (10, "norm_qmax", 96, 3), (76, "bf16", 576, 1)):
            cases.append((kind, dim, rows, {"q": q, "scale": scale}, {"q": q, "scale": scale}))
    for fam, dim, rows in (("fp8_per64", 64, 2), ("fp8_per64", 512, 1), ("v41_mxfp8", 128, 2),
                           ("bf16", 24, 4), ("mxfp4", 64, 2), ("mxfp8", 256, 1)):
        cases.append((fam, dim, rows, {}, {}))
    for rope, dim in ((64, 128), (64, 576), (0, 64)):
        cases.append(("v4_native", dim, 1, {"rope": rope}, {"rope_dims": rope}))
    cases.append(("nvfp4", 128, 2, {"tensor_scale": 0.01}, {"tensor_scale": 0.01}))
    for bits, group in ((4, 64), (8, 32), (2, 16)):
        kw = {"bits": bits, "group": group}
        cases.append(("int", 128, 2, kw, kw))
    for bits in (1, 4, 8):
        cases.append(("lloydmax", 96, 2, {"bits": bits}, {"bits": bits}))
    for fam, dim, rows, hkw, ckw in cases:
        codec = kl.codec(fam, dim, **ckw)
        x = (rng.standard_normal((rows, dim)) * rng.choice([1e-3, 1.0, 300.0])).astype(np.float32)
        _write(out, decode_header(fam, dim, rows, **hkw) + codec.encode(x).tobytes())


def safetensors_seeds(tmp: pathlib.Path) -> None:
    out = HERE / "corpus" / "fuzz_safetensors"
    rng = np.random.default_rng(7)
    files = {
        "mixed": {
            "w.weight": ("F8_E4M3", rng.integers(0, 256, (3, 5), dtype=np.uint8)),
            "w.scale": ("F8_E8M0", np.array([[120]], dtype=np.uint8)),
            "b": ("BF16", rng.integers(0, 2**16, (4,), dtype=np.uint16)),
            "n": ("F32", rng.standard_normal((2, 2)).astype(np.float32)),
        },
        "ints": {"i": ("I64", np.arange(3, dtype=np.int64)),
                 "m": ("BOOL", np.array([True, False]))},
        "empty": {"e": ("F16", np.zeros((0, 4), np.float16))},
    }
    for name, tensors in files.items():
        p = tmp / f"{name}.safetensors"
        write_safetensors(p, tensors, metadata={"format": "pt"} if name == "mixed" else None)
        _write(out, p.read_bytes())


if __name__ == "__main__":
    import tempfile

    decode_seeds()
    with tempfile.TemporaryDirectory() as t:
        safetensors_seeds(pathlib.Path(t))
