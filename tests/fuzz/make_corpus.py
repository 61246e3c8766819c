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

import numpy as np

import kakeyalattice as kl
from kakeyalattice.dsv4.safetensors import write_safetensors

HERE = pathlib.Path(__file__).resolve().parent
# Must match the tables of fuzz_decode.cpp (append-only there, so indices are stable).
CODECS = ["e8", "d4", "z", "fp8_per64", "v4_native", "bf16"]
SCALES = ["bf16", "fp16", "norm_qmax"]
DIMS = [8, 16, 24, 32, 64, 96, 128, 192, 256, 320, 512, 576]
ROPE_DIMS = [64, 0, 32, 128]


def _write(d: pathlib.Path, data: bytes) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def decode_seeds() -> None:
    out = HERE / "corpus" / "fuzz_decode"
    rng = np.random.default_rng(2026)
    cases = []
    for kind in ("e8", "d4", "z"):
        for q, scale, dim, rows in ((1, "bf16", 8, 1), (38, "bf16", 128, 2), (127, "fp16", 64, 1),
                                    (10, "norm_qmax", 96, 3), (76, "bf16", 576, 1)):
            cases.append((kind, q, scale, dim, 64, rows))
    cases += [("fp8_per64", 1, "bf16", 64, 64, 2), ("fp8_per64", 1, "bf16", 512, 64, 1),
              ("v4_native", 1, "bf16", 128, 64, 2), ("v4_native", 1, "bf16", 576, 64, 1),
              ("v4_native", 1, "bf16", 64, 0, 1), ("bf16", 1, "bf16", 24, 64, 4)]
    for kind, q, scale, dim, rope, rows in cases:
        codec = kl.codec_from_spec({"kind": kind, "dim": dim, "q": q, "scale": scale,
                                    "rope_dims": rope})
        x = (rng.standard_normal((rows, dim)) * rng.choice([1e-3, 1.0, 300.0])).astype(np.float32)
        head = bytes([CODECS.index(kind), q - 1, (DIMS.index(dim) << 2) | SCALES.index(scale),
                      (ROPE_DIMS.index(rope) << 2) | (rows - 1)])
        _write(out, head + codec.encode(x).tobytes())


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
