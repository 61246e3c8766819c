# SPDX-License-Identifier: Apache-2.0
"""Atheris (libFuzzer for Python) harness for the safetensors reader,
kakeyalattice/dsv4/safetensors.py. An input whose first byte is even is the file itself;
an odd first byte builds the file from the input: a JSON header of fuzzed structure
(types, shapes, offsets and dtype names chosen by the input) and a fuzzed body, which
reaches the reader's checks much faster than mutating JSON text byte by byte.

Contract checked (the reader's documented errors): opening and reading any file either
works or raises ValueError (malformed file, unsupported dtype, byte range that does not
match the shape; json and UTF-8 errors are ValueErrors) or KeyError (unknown tensor
name). Any other exception is a finding, and so is a tensor that is read although its
byte range is not inside the data section, or whose raw() or tensor() shape differs from
the header's shape.

    PYTHONPATH=build/python python3 tests/fuzz/fuzz_safetensors.py [libFuzzer flags] CORPUS...
"""
from __future__ import annotations

import json
import os
import struct
import sys
import tempfile

import atheris
import numpy as np

with atheris.instrument_imports(include=["kakeyalattice.dsv4.safetensors", "json"]):
    from kakeyalattice.dsv4.safetensors import SafetensorsFile

_DIR = tempfile.mkdtemp(prefix="kakeya-fuzz-st-")
_PATH = os.path.join(_DIR, "input.safetensors")
_DOCUMENTED = (ValueError, KeyError)


def read_all(path: str) -> None:
    try:
        f = SafetensorsFile(path)
    except _DOCUMENTED:
        return
    for name in f.names():
        try:
            f.dtype(name)
            shape = f.shape(name)
            raw = f.raw(name)
            t = f.tensor(name)
        except _DOCUMENTED:
            continue
        b, end = f.header[name]["data_offsets"]
        data_size = os.path.getsize(path) - f.data_start
        if not 0 <= b <= end <= data_size:
            raise AssertionError(f"tensor {name!r} was read from byte range {b}..{end}, "
                                 f"outside the data section of {data_size} bytes")
        if raw.shape != shape or t.shape != shape:
            raise AssertionError(f"tensor {name!r}: header shape {shape}, raw {raw.shape}, "
                                 f"tensor {t.shape}")
        if t.dtype.kind == "f" and t.dtype != np.float32:
            raise AssertionError(f"tensor {name!r}: floating tensor() is {t.dtype}, not float32")


_DTYPES = ["F32", "F16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL", "BF16", "F8_E4M3",
           "F8_E8M0", "F8_E5M2", "C64", ""]


def _value(p: atheris.FuzzedDataProvider, depth: int = 0):
    """A JSON value of any type (small), for the places the reader expects one type."""
    k = p.ConsumeIntInRange(0, 7 if depth < 2 else 4)
    if k == 0:
        return p.ConsumeIntInRange(-(2**64), 2**64)
    if k == 1:
        return p.ConsumeIntInRange(-2, 64)
    if k == 2:
        return p.ConsumeUnicodeNoSurrogates(6)
    if k == 3:
        return p.ConsumeRegularFloat()
    if k == 4:
        return None if p.ConsumeBool() else p.ConsumeBool()
    if k == 5:
        return [_value(p, depth + 1) for _ in range(p.ConsumeIntInRange(0, 3))]
    n = p.ConsumeIntInRange(0, 2)
    return {p.ConsumeUnicodeNoSurrogates(4): _value(p, depth + 1) for _ in range(n)}


def structured_file(p: atheris.FuzzedDataProvider) -> bytes:
    header = {}
    for i in range(p.ConsumeIntInRange(0, 3)):
        entry = {
            "dtype": _DTYPES[p.ConsumeIntInRange(0, len(_DTYPES) - 1)]
            if p.ConsumeBool() else _value(p),
            "shape": [p.ConsumeIntInRange(-1, 5) for _ in range(p.ConsumeIntInRange(0, 3))]
            if p.ConsumeBool() else _value(p),
            "data_offsets": [p.ConsumeIntInRange(-8, 96), p.ConsumeIntInRange(-8, 96)]
            if p.ConsumeBool() else _value(p),
        }
        for key in list(entry):
            if p.ConsumeIntInRange(0, 9) == 0:
                del entry[key]
        header[f"t{i}" if p.ConsumeBool() else p.ConsumeUnicodeNoSurrogates(5)] = \
            entry if p.ConsumeIntInRange(0, 7) else _value(p)
    if p.ConsumeBool():
        header["__metadata__"] = _value(p)
    top = header if p.ConsumeIntInRange(0, 7) else _value(p)
    text = json.dumps(top).encode()
    n = len(text) + p.ConsumeIntInRange(-2, 2) if p.ConsumeIntInRange(0, 5) == 0 else len(text)
    return struct.pack("<Q", max(n, 0)) + text + p.ConsumeBytes(p.remaining_bytes())


def test_one_input(data: bytes) -> None:
    if data and data[0] & 1:
        data = structured_file(atheris.FuzzedDataProvider(data[1:]))
    with open(_PATH, "wb") as fh:
        fh.write(data)
    read_all(_PATH)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
