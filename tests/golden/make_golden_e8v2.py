#!/usr/bin/env python3
"""Golden file of the e8v2 format, computed by the independent NumPy float64 reference
tests/reference/e8v2_ref.py (not by the library):

    python3 tests/golden/make_golden_e8v2.py > tests/golden/golden_e8v2_v1.json
    python3 tests/golden/make_golden_e8v2.py --fast > tests/golden/golden_e8v2_fast_v1.json

--fast: the codes of the fast encoder (the reference's search=-1, scales=(0,); the
factory's encoder="fast"); the inputs are the same rows.

Each case: dim, bits (the factory's text; the reference gets the same float32 value),
float32 inputs (random Gaussian rows and adversarial rows: zeros, tiny, subnormal, large,
spikes, lattice ties and half-integer grids, re-encoded decodes), the records and the
float32 decodes, all little-endian hex."""
from __future__ import annotations

import json
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "reference"))
import e8v2_ref as ref  # noqa: E402

CASES = [(32, "3"), (40, "7"), (64, "4.25"), (128, "4"), (128, "6"), (128, "8"), (256, "5.5"),
         (384, "3.5"), (512, "6.4"), (1024, "7.25")]


def adversarial(dim: int, rng: np.random.Generator, bits: float) -> np.ndarray:
    rows = [np.zeros(dim)]
    rows.append(rng.standard_normal(dim) * 1e-30)                        # tiny (scale clamps at 1)
    rows.append(np.full(dim, 1e-45))                                     # subnormal float32
    rows.append(rng.standard_normal(dim) * 3e4)                          # large, in range
    sp = np.zeros(dim)  # one spike
    sp[rng.integers(dim)] = 1000.0
    rows.append(sp)
    sp2 = rng.standard_normal(dim) * 0.01
    sp2[:3] = [50.0, -70.0, 90.0]
    rows.append(sp2)
    rows.append(np.where(np.arange(dim) % 2 == 0, 0.5, -0.5))            # half-integer grid
    rows.append(np.round(rng.standard_normal(dim) * 4) / 2)              # half-integers: ties
    rows.append(np.ones(dim))                                            # constant: one Hadamard spike
    # decoded vectors (codewords) re-encoded: exact lattice points after rotation
    base = rng.standard_normal((2, dim))
    xb = ref.decode(ref.encode(base, dim, bits), dim, bits)
    rows.extend(list(xb.astype(np.float64)))
    return np.array(rows, dtype=np.float32)


def main() -> None:
    fast = "--fast" in sys.argv[1:]
    kw = {"search": -1, "scales": (0,)} if fast else {}
    rng = np.random.default_rng(20261127)
    cases = []
    for dim, text in CASES:
        bits = float(np.float32(float(text)))
        nrand = 10 if dim <= 256 else 5
        x = np.concatenate([rng.standard_normal((nrand, dim)).astype(np.float32) * np.float32(rng.uniform(0.1, 10)),
                            adversarial(dim, rng, bits)])
        codes = ref.encode(x.astype(np.float64), dim, bits, **kw)
        xhat = ref.decode(codes, dim, bits, np.float32)
        cases.append({"dim": dim, "bits": text, "rows": int(x.shape[0]), "code_bytes": int(codes.shape[1]),
                      "allocation": ref.allocation(dim, bits),
                      "x_f32_le_hex": x.astype("<f4").tobytes().hex(),
                      "codes_hex": codes.tobytes().hex(),
                      "xhat_f32_le_hex": xhat.astype("<f4").tobytes().hex()})
        print(f"dim {dim} bits {text}: {x.shape[0]} rows", file=sys.stderr)
    json.dump({"format": "e8v2", "version": 1, "encoder": "fast" if fast else "exact",
               "generator": "tests/golden/make_golden_e8v2.py" + (" --fast" if fast else ""),
               "reference": "tests/reference/e8v2_ref.py", "cases": cases}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
