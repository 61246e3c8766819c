# SPDX-License-Identifier: Apache-2.0
"""Writes tests/golden/golden_v1.json and tests/golden/golden_peers_v1.json: fixed
inputs and their codes, computed by the independent NumPy references
(tests/reference/kakeya_ref.py for the lattice codec and the baselines,
tests/reference/peers_ref.py for v4_native and the peer formats). Regenerating these
files changes the storage format's ground truth: it goes through review.

golden_peers_v1.json cases: {"codec", "dim", "params" (factory parameters as text:
make_codec(codec, dim, params) / kl.codec(codec, dim, **params)), "rows", "code_bytes",
"x_f32_le_hex", "codes_hex", "xhat_f32_le_hex"}.

    python3 tests/golden/make_golden.py
"""
import json
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "reference"))
import peers_ref as peers  # noqa: E402

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
        codes = peers.encode(x, "v4_native", dim, rope_dims=rope)
        xhat, bad = peers.decode(codes, "v4_native", dim, rope_dims=rope)
        assert not bad.any()
    else:
        codes = ref.bf16_encode(x)
        xhat = None
    return {
        "kind": kind, "dim": dim, "q": q, "scale": scale, "rope_dims": rope,
        "rows": int(x.shape[0]), "code_bytes": int(codes.shape[1]),
        "x_f32_le_hex": x.astype("<f4").tobytes().hex(),
        "codes_hex": codes.tobytes().hex(),
        "xhat_f32_le_hex": None if xhat is None else xhat.astype("<f4").tobytes().hex(),
    }


# ----------------------------------------------------------------------------- peers
# Midpoints of the element grids (in units of the element scale): exact ties.
E4M3_TIES = (peers._E4M3_POS_VAL[:-1] + peers._E4M3_POS_VAL[1:]) / 2   # 126 values
E2M1_TIES = np.array([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0])
BF16_TIES = np.array([1 + 2.0**-8, 1 + 3 * 2.0**-8, -(2 - 2.0**-8), 3 + 2.0**-7, 2.0**-130 * 3])
# A group maximum ("anchor") whose element scale is exactly 2^k: 448·2^k for the ceil
# rule (2^ceil(log2(448·2^k/448))) and for mxfp8 (2^(floor(log2 448) - 8)), 6·2^k for
# mxfp4 (2^(floor(log2 6) - 2)) and for nvfp4 with a power-of-two tensor scale S
# (E4M3(6·2^k/6/S) = 2^k/S exactly).
ANCHOR = {"v4_native": 448.0, "v41_mxfp8": 448.0, "mxfp8": 448.0, "mxfp4": 6.0, "nvfp4": 6.0}
# Just below the next power of two: the element saturates (floor rule only).
SATURATE = {"mxfp8": 510.0, "mxfp4": 7.9}


def _group(name, params):
    return {"v4_native": 64, "nvfp4": 16, "int": int(params.get("group", 64))}.get(name, 32)


def tie_row(name, dim, params, rng, ks):
    """Per group: the anchor, then grid midpoints with random signs, all times 2^k with
    k drawn from ks: every element lands exactly on a rounding tie."""
    g = _group(name, params)
    ties = E2M1_TIES if name in ("mxfp4", "nvfp4") else E4M3_TIES
    row = np.empty(dim)
    for j in range(dim // g):
        k = int(rng.choice(ks))
        vals = np.resize(rng.permutation(ties), g - 1) * rng.choice([-1.0, 1.0], g - 1)
        row[j * g:(j + 1) * g] = np.concatenate([[ANCHOR[name] * rng.choice([-1.0, 1.0])], vals]) * 2.0**k
    if name == "v4_native":
        r = int(params.get("rope_dims", 64))
        row[dim - r:] = np.resize(BF16_TIES, r)
    return row


def int_tie_row(dim, params, rng):
    """Per group: lo = 0 and hi = (2^b - 1)·2^j, so scale = 2^j and zero = 0 exactly; the
    other values are (c + 1/2)·2^j: rint((x - z)/s) is an exact tie (to even)."""
    b, g = int(params["bits"]), int(params["group"])
    maxq = (1 << b) - 1
    row = np.empty(dim)
    for j0 in range(dim // g):
        j = int(rng.integers(-12, 6))
        vals = (rng.integers(0, maxq, g - 2) + 0.5) * 2.0**j
        row[j0 * g:(j0 + 1) * g] = rng.permutation(np.concatenate([[0.0, maxq * 2.0**j], vals]))
    return row


def peer_adversarial(name, dim, params, rng):
    g = _group(name, params)
    rows = [
        np.zeros(dim),
        -np.zeros(dim),                                      # -0 everywhere
        np.eye(dim)[0] * 3.0,                                # one spike
        np.full(dim, 0.5),                                   # all equal
        np.where(np.arange(dim) % 2, -1.0, 1.0),             # alternating signs
        np.arange(dim) - dim / 2,                            # ramp
        rng.standard_normal(dim) * 1e-30,                    # tiny
        np.ldexp(1.0, -140) * (np.arange(dim) % 3 - 1),      # float32 subnormals
        # every group at its own power-of-two scale
        rng.standard_normal(dim) * np.repeat(2.0 ** rng.integers(-12, 12, -(-dim // g)), g)[:dim],
    ]
    if name == "int":
        rows += [rng.uniform(-59000, 59000, dim),            # |x| < 60000: fp16 scale / zero hold
                 int_tie_row(dim, params, rng), int_tie_row(dim, params, rng)]
    elif name == "lloydmax":
        rows += [rng.standard_normal(dim) * (45000 / np.sqrt(dim)),  # norm ~45000 < 65504
                 rng.standard_normal(dim) * 1e-3]
    else:
        rows += [rng.standard_normal(dim) * 1e30,            # large: E4M3/E8M0 hold it
                 tie_row(name, dim, params, rng, range(-20, 21)),
                 tie_row(name, dim, params, rng, range(-4, 5))]
        if name in SATURATE:
            sat = rng.uniform(-1, 1, dim) * SATURATE[name]
            sat[::g] = SATURATE[name]
            rows.append(sat * np.repeat(2.0 ** rng.integers(-10, 10, dim // g), g))
    return np.array(rows, dtype=np.float32)


def peer_case(name, dim, params, seed, nrand):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((nrand, dim)).astype(np.float32)
    if params.get("tensor_scale") == "calibrate":
        # nvfp4's static tensor scale from these rows: max|x| / (6·448), float32
        params = dict(params, tensor_scale=repr(float(np.float32(np.abs(x).max()) / np.float32(6 * 448))))
    x = np.concatenate([x, peer_adversarial(name, dim, params, rng)])
    codes = peers.encode(x, name, dim, **params)
    xhat, bad = peers.decode(codes, name, dim, **params)
    assert not bad.any(), name
    return {
        "codec": name, "dim": dim, "params": params,
        "rows": int(x.shape[0]), "code_bytes": int(codes.shape[1]),
        "x_f32_le_hex": x.astype("<f4").tobytes().hex(),
        "codes_hex": codes.tobytes().hex(),
        "xhat_f32_le_hex": xhat.astype("<f4").tobytes().hex(),
    }


# (codec, dim, params as text, seed, random rows); lloydmax b <= 4 only (the reference
# computes its levels, slow for b >= 5).
PEER_CASES = [
    ("v4_native", 512, {"rope_dims": "64"}, 600, 3),
    ("v4_native", 128, {"rope_dims": "64"}, 601, 6),
    ("v4_native", 256, {"rope_dims": "0"}, 602, 4),
    ("v41_mxfp8", 512, {}, 610, 3),
    ("v41_mxfp8", 128, {}, 611, 6),
    ("mxfp8", 512, {}, 620, 3),
    ("mxfp8", 128, {}, 621, 6),
    ("mxfp4", 512, {}, 630, 3),
    ("mxfp4", 128, {}, 631, 6),
    ("nvfp4", 512, {"tensor_scale": "calibrate"}, 640, 3),
    ("nvfp4", 512, {"tensor_scale": "0.001953125"}, 641, 3),   # 2^-9: exact ties
    ("nvfp4", 128, {"tensor_scale": "0.015625"}, 642, 6),      # 2^-6: exact ties
    ("int", 512, {"bits": "4", "group": "64"}, 650, 3),
    ("int", 128, {"bits": "4", "group": "64"}, 651, 6),
    ("int", 128, {"bits": "2", "group": "32"}, 652, 6),
    ("int", 512, {"bits": "3", "group": "16"}, 653, 3),
    ("int", 512, {"bits": "8", "group": "256"}, 654, 3),
    ("int", 128, {"bits": "5", "group": "128"}, 655, 6),
    ("lloydmax", 512, {"bits": "4"}, 660, 3),
    ("lloydmax", 128, {"bits": "4"}, 661, 6),
    ("lloydmax", 512, {"bits": "2"}, 662, 3),
    ("lloydmax", 128, {"bits": "3"}, 663, 6),
    ("lloydmax", 96, {"bits": "3"}, 664, 6),                    # Hadamard blocks of 32
    ("lloydmax", 128, {"bits": "1"}, 665, 6),
]


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
    print(f"wrote {len(cases)} cases to golden_v1.json")
    pcases = [peer_case(*c) for c in PEER_CASES]
    out = {"format_version": 1, "generator": "tests/golden/make_golden.py", "cases": pcases}
    (HERE / "golden_peers_v1.json").write_text(json.dumps(out, indent=0))
    print(f"wrote {len(pcases)} cases to golden_peers_v1.json")


if __name__ == "__main__":
    main()
