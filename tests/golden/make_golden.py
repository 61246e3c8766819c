# SPDX-License-Identifier: Apache-2.0
"""Writes tests/golden/golden_v1.json: fixed inputs and their codes, computed by the
independent NumPy reference (tests/reference/kakeya_ref.py). Regenerating this file
changes the storage format's ground truth: it goes through review.

    python3 tests/golden/make_golden.py
"""
import json
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "reference"))
import kakeya_ref as ref  # noqa: E402


def adversarial(dim: int, rng: np.random.Generator) -> np.ndarray:
    rows = [
        np.zeros(dim),
        np.eye(dim)[0] * 3.0,                      # one spike
        np.full(dim, 0.5),                         # ties after rotation
        np.where(np.arange(dim) % 2, -1.0, 1.0),   # alternating signs
        rng.standard_normal(dim) * 1e-30,          # tiny
        rng.standard_normal(dim) * 1e30,           # huge
        -np.zeros(dim),                            # -0
        np.arange(dim) - dim / 2,                  # ramp
    ]
    return np.array(rows, dtype=np.float32)


def case(kind, dim, rows, seed, q=0, scale="bf16", rope=64, adv=True):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, dim)).astype(np.float32)
    if adv:
        x = np.concatenate([x, adversarial(dim, rng)])
    if kind in ("e8", "d4", "z"):
        if scale != "bf16":
            x = np.clip(x, -1e3, 1e3)  # fp16 scales and norms cannot hold the huge row
        codes = ref.encode(x, kind, q, scale)
        xhat = ref.decode(codes, kind, dim, q, scale)
    elif kind == "fp8_per64":
        codes = ref.fp8_per64_encode(x)
        xhat = ref.fp8_per64_decode(codes, dim)
    elif kind == "v4_native":
        codes = ref.v4_native_encode(x, rope)
    else:
        codes = ref.bf16_encode(x)
    if kind in ("v4_native", "bf16"):
        xhat = None
    return {
        "kind": kind, "dim": dim, "q": q, "scale": scale, "rope_dims": rope,
        "rows": int(x.shape[0]), "code_bytes": int(codes.shape[1]),
        "x_f32_le_hex": x.astype("<f4").tobytes().hex(),
        "codes_hex": codes.tobytes().hex(),
        "xhat_f32_le_hex": None if xhat is None else xhat.astype("<f4").tobytes().hex(),
    }


def main():
    cases = []
    for q in (1, 2, 4, 10, 38, 76, 127):
        cases.append(case("e8", 128, 12, 100 + q, q))
    for dim in (8, 16, 96, 512, 576):
        cases.append(case("e8", dim, 6, 200 + dim, 38))
    for scale in ("fp16", "norm_qmax"):
        cases.append(case("e8", 128, 12, 300, 10, scale))
    for kind in ("d4", "z"):
        for q in (1, 4, 38, 127):
            cases.append(case(kind, 64, 8, 400 + q, q))
    cases.append(case("fp8_per64", 512, 8, 500))
    cases.append(case("v4_native", 512, 8, 501))
    cases.append(case("bf16", 64, 8, 502))
    out = {"format_version": 1, "generator": "tests/golden/make_golden.py", "cases": cases}
    (HERE / "golden_v1.json").write_text(json.dumps(out, indent=0))
    print(f"wrote {len(cases)} cases")


if __name__ == "__main__":
    main()
