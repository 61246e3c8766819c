# SPDX-License-Identifier: Apache-2.0
"""Independent NumPy reference of the KakeyaLattice codec, format version 1.

Written from DESIGN.md §2 without the C++ code: whole-array NumPy, Python integers for
ranks, float64 for every nearest-point distance. It is the oracle of the golden files
(make_golden.py) and of the Python tests; the package never imports it.

Arithmetic the format fixes (so the reference follows it): the rotation is float32
butterflies in stage order h = 1, 2, 4, ... then a float32 multiply by fl(1/sqrt(P));
the scale is max|y|/Q in float32 rounded up to the 16-bit format; the quantizer sees
w = 2·(y/s) in float32.
"""
from __future__ import annotations

import numpy as np

F32 = np.float32


# ----------------------------------------------------------------------------- formats
def bf16_bits(v: np.ndarray) -> np.ndarray:
    """float32 -> bf16 bits, round to nearest even (finite inputs)."""
    u = np.asarray(v, dtype=F32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def bf16_value(h) -> np.ndarray:
    return (np.asarray(h, dtype=np.uint32) << 16).astype(np.uint32).view(F32)


def f16_value(h) -> np.ndarray:
    return np.asarray(h, dtype=np.uint16).view(np.float16).astype(F32)


def round_up_16(v: np.ndarray, fmt: str) -> np.ndarray:
    """Smallest stored value >= v (v >= 0) as bits."""
    v = np.asarray(v, dtype=F32)
    if fmt == "bf16":
        h = bf16_bits(v)
        back = bf16_value
    else:
        with np.errstate(over="ignore"):
            h = v.astype(np.float16).view(np.uint16)
        back = f16_value
    h = np.where(back(h) < v, h + np.uint16(1), h).astype(np.uint16)
    return h


def e4m3_table() -> np.ndarray:
    """Values of all 256 E4M3 codes (NaN at 0x7f, 0xff)."""
    vals = np.empty(256, dtype=np.float64)
    for c in range(256):
        s = -1.0 if c & 0x80 else 1.0
        e, m = (c >> 3) & 15, c & 7
        if e == 15 and m == 7:
            vals[c] = np.nan
        elif e == 0:
            vals[c] = s * m * 2.0**-9
        else:
            vals[c] = s * (1 + m / 8) * 2.0 ** (e - 7)
    return vals


_E4M3 = e4m3_table()
_E4M3_FINITE = np.array([c for c in range(256) if not np.isnan(_E4M3[c])])


def to_e4m3(v: np.ndarray) -> np.ndarray:
    """Brute-force nearest E4M3 code, ties to the even mantissa, saturating at 448."""
    v = np.clip(np.asarray(v, dtype=np.float64), -448.0, 448.0)
    flat = v.reshape(-1)
    cand = _E4M3[_E4M3_FINITE]
    d = np.abs(flat[:, None] - cand[None, :])
    best = d.min(axis=1, keepdims=True)
    tie = d == best
    # prefer even codes (even mantissa); among equal values (+0/-0) prefer the sign of v
    score = tie * 4 + tie * ((_E4M3_FINITE[None, :] & 1) == 0) * 2
    sign_ok = ((_E4M3_FINITE[None, :] & 0x80) != 0) == (np.signbit(flat)[:, None])
    score = score + tie * sign_ok
    return _E4M3_FINITE[np.argmax(score, axis=1)].astype(np.uint8).reshape(v.shape)


# ----------------------------------------------------------------------------- rotation
def rotate(x: np.ndarray) -> np.ndarray:
    """Block-diagonal normalised Walsh–Hadamard, float32, format order."""
    x = np.asarray(x, dtype=F32)
    rows, dim = x.shape
    p = dim & -dim
    k = p.bit_length() - 1
    y = x.reshape(rows * (dim // p), p).copy()
    h = 1
    while h < p:
        v = y.reshape(-1, p // (2 * h), 2, h)
        a, b = v[:, :, 0, :].copy(), v[:, :, 1, :].copy()
        v[:, :, 0, :] = a + b
        v[:, :, 1, :] = a - b
        h *= 2
    norm = F32(0.70710678118654752440 if k & 1 else 1.0) * F32(2.0 ** -(k >> 1))
    return (y * norm).reshape(rows, dim)


def unrotate_exact(p_half: np.ndarray, c: np.ndarray) -> np.ndarray:
    """x̂ = (H p) · c with H p computed exactly (float64) and one float32 rounding."""
    rows, dim = p_half.shape
    p = dim & -dim
    y = p_half.reshape(rows * (dim // p), p).astype(np.float64)
    hmat = np.array([[1.0]])
    while hmat.shape[0] < p:
        hmat = np.block([[hmat, hmat], [hmat, -hmat]])
    y = (y @ hmat).reshape(rows, dim)
    return (y.astype(F32) * c[:, None].astype(F32)).astype(F32)


# ----------------------------------------------------------------------------- lattices
def _coset_search(w: np.ndarray, q: int, odd: int, parity: bool):
    """Nearest point (doubled units) of the coset values {odd + 2k} ∩ [-2q, 2q] with the
    even-sum constraint, by sorting every in-box value per coordinate (float64)."""
    lo, hi = (-2 * q + 1, 2 * q - 1) if odd else (-2 * q, 2 * q)
    vals = np.arange(lo, hi + 1, 2, dtype=np.float64)
    wd = w.astype(np.float64)
    cost = (wd[..., None] - vals) ** 2  # (blocks, n, nvals)
    order = np.argsort(cost, axis=-1, kind="stable")
    best_i, second_i = order[..., 0], order[..., 1]
    # among equal-cost values np.argsort(stable) keeps the lower value first; the format's
    # rule is round-half-even for the integer coset, floor+1 for the half coset: resolve
    # exact ties explicitly.
    best = vals[best_i]
    c0 = np.take_along_axis(cost, best_i[..., None], -1)[..., 0]
    c1 = np.take_along_axis(cost, second_i[..., None], -1)[..., 0]
    tie = c0 == c1
    v1 = vals[second_i]
    if odd:
        pref = 2 * np.floor(wd / 2) + 1
    else:
        pref = 2 * np.rint(wd / 2)
    pref = np.clip(pref, lo, hi)
    best = np.where(tie & (v1 == pref), v1, best)
    # runner-up: adjacent value on w's side, else the other side (the format's rule)
    alt = np.where(wd >= best, best + 2, best - 2)
    alt = np.where(alt > hi, best - 2, alt)
    alt = np.where(alt < lo, best + 2, alt)
    d = ((wd - best) ** 2).sum(-1)
    t = best.astype(np.int64)
    if parity:
        par = (((t - odd) // 2).sum(-1)) & 1
        delta = (wd - alt) ** 2 - (wd - best) ** 2
        j = np.argmin(delta, axis=-1)  # first minimum
        rows = np.nonzero(par)[0]
        t[rows, j[rows]] = alt[rows, j[rows]].astype(np.int64)
        d = d + np.where(par == 1, delta[np.arange(len(j)), j], 0.0)
    return t, d


def nearest(lattice: str, w: np.ndarray, q: int) -> np.ndarray:
    """w: (blocks, n) doubled coordinates -> t = 2·point, int64."""
    if lattice == "z":
        return _coset_search(w, q, 0, False)[0]
    if lattice == "d4":
        return _coset_search(w, q, 0, True)[0]
    ti, di = _coset_search(w, q, 0, True)
    th, dh = _coset_search(w, q, 1, True)
    return np.where((dh < di)[:, None], th, ti)


def codebook_size(lattice: str, q: int) -> int:
    b = 2 * q + 1
    if lattice == "e8":
        return (b**8 + 1) // 2 + (2 * q) ** 8 // 2
    if lattice == "d4":
        return (b**4 + 1) // 2
    return b**8


def block_dim(lattice: str) -> int:
    return 4 if lattice == "d4" else 8


def rank(lattice: str, t: np.ndarray, q: int) -> list[int]:
    out = []
    b = 2 * q + 1
    for row in t.tolist():
        if lattice in ("z", "d4") or row[0] % 2 == 0:
            r = sum((v // 2 + q) * b**i for i, v in enumerate(row))
            out.append(r if lattice == "z" else r // 2)
        else:
            d = [(v - 1) // 2 + q for v in row]
            r = sum(d[i] * (2 * q) ** i for i in range(7)) + (d[7] // 2) * (2 * q) ** 7
            out.append((b**8 + 1) // 2 + r)
    return out


def unrank(lattice: str, idx: list[int], q: int) -> np.ndarray:
    n = block_dim(lattice)
    b = 2 * q + 1
    nint = (b**8 + 1) // 2
    out = []
    for i in idx:
        if lattice == "z" or lattice == "d4" or i < nint:
            r = i if lattice == "z" else 2 * i
            d = []
            for _ in range(n):
                d.append(r % b)
                r //= b
            out.append([2 * (v - q) for v in d])
        else:
            r = i - nint
            d = []
            for _ in range(7):
                d.append(r % (2 * q))
                r //= 2 * q
            d.append(2 * r + (sum(d) & 1))
            out.append([2 * (v - q) + 1 for v in d])
    return np.array(out, dtype=np.int64)


# ----------------------------------------------------------------------------- codec
def bits_per_block(lattice: str, q: int) -> int:
    return (codebook_size(lattice, q) - 1).bit_length()


def header_bits(scale: str) -> int:
    return 32 if scale == "norm_qmax" else 16


def code_bytes(lattice: str, dim: int, q: int, scale: str) -> int:
    nb = dim // block_dim(lattice)
    return (header_bits(scale) + nb * bits_per_block(lattice, q) + 7) // 8


def _scales(y: np.ndarray, q: int, scale: str):
    amax = np.abs(y).max(axis=1).astype(F32)
    qf = F32(q)
    if scale in ("bf16", "fp16"):
        h = round_up_16(amax / qf, scale)
        back = bf16_value if scale == "bf16" else f16_value
        h = np.where(back(h) * qf < amax, h + np.uint16(1), h).astype(np.uint16)
        s = back(h)
        hdr = h.astype(np.uint64)
    else:
        rows, dim = y.shape
        g = (y.reshape(rows, dim // 8, 8)).astype(F32)
        part = np.zeros((rows, dim // 8), dtype=F32)
        np.seterr(over="ignore")
        for k in range(8):
            part = part + g[:, :, k] * g[:, :, k]
        ss = np.zeros(rows, dtype=F32)
        for j in range(dim // 8):
            ss = ss + part[:, j]
        with np.errstate(divide="ignore", invalid="ignore"):
            n16 = round_up_16(np.sqrt(ss), "fp16")
            n16 = np.where(n16 == 0, np.uint16(1), n16).astype(np.uint16)
            n = f16_value(n16)
            m16 = round_up_16(amax / n, "fp16")
            m = f16_value(m16)
            s = (n * m) / qf
        hdr = n16.astype(np.uint64) | (m16.astype(np.uint64) << np.uint64(16))
    zero = amax == 0
    return np.where(zero, F32(0), s).astype(F32), np.where(zero, 0, hdr).astype(np.uint64)


def encode(x: np.ndarray, lattice: str, q: int, scale: str = "bf16") -> np.ndarray:
    x = np.asarray(x, dtype=F32)
    rows, dim = x.shape
    n = block_dim(lattice)
    y = rotate(x)
    s, hdr = _scales(y, q, scale)
    nbytes = code_bytes(lattice, dim, q, scale)
    out = np.zeros((rows, nbytes), dtype=np.uint8)
    bpb = bits_per_block(lattice, q)
    hb = header_bits(scale)
    safe = np.where(s == 0, F32(1), s)
    w = ((y / safe[:, None]).astype(F32) * F32(2)).reshape(rows * (dim // n), n)
    idx = rank(lattice, nearest(lattice, w, q), q)
    for r in range(rows):
        if s[r] == 0:
            continue
        v = int(hdr[r])
        for j in range(dim // n):
            v |= idx[r * (dim // n) + j] << (hb + j * bpb)
        out[r] = np.frombuffer(v.to_bytes(nbytes, "little"), dtype=np.uint8)
    return out


def decode(codes: np.ndarray, lattice: str, dim: int, q: int, scale: str = "bf16") -> np.ndarray:
    rows = codes.shape[0]
    n = block_dim(lattice)
    bpb = bits_per_block(lattice, q)
    hb = header_bits(scale)
    idx, hdrs = [], []
    for r in range(rows):
        v = int.from_bytes(codes[r].tobytes(), "little")
        hdrs.append(v & ((1 << hb) - 1))
        for j in range(dim // n):
            idx.append((v >> (hb + j * bpb)) & ((1 << bpb) - 1))
    t = unrank(lattice, idx, q).reshape(rows, dim)
    hdrs = np.array(hdrs, dtype=np.uint64)
    if scale == "bf16":
        s = bf16_value(hdrs.astype(np.uint16))
    elif scale == "fp16":
        s = f16_value(hdrs.astype(np.uint16))
    else:
        norm = f16_value((hdrs & 0xFFFF).astype(np.uint16))
        s = (norm * f16_value((hdrs >> 16).astype(np.uint16))) / F32(q)
    p = dim & -dim
    k = p.bit_length() - 1
    norm = F32(0.70710678118654752440 if k & 1 else 1.0) * F32(2.0 ** -(k >> 1))
    c = (s.astype(F32) * norm).astype(F32)
    out = unrotate_exact(t / 2.0, c)
    out[s == 0] = 0
    return out


# ----------------------------------------------------------------------------- baselines
def fp8_per64_encode(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=F32)
    rows, dim = x.shape
    g = x.reshape(rows, dim // 64, 64)
    amax = np.maximum(np.abs(g).max(-1), F32(1e-4)).astype(F32)
    s16 = round_up_16(amax / F32(448.0), "bf16")
    s = bf16_value(s16)
    vals = to_e4m3((g / s[..., None]).astype(F32))
    return np.concatenate([s16.view(np.uint8).reshape(rows, -1), vals.reshape(rows, dim)], axis=1)


def fp8_per64_decode(codes: np.ndarray, dim: int) -> np.ndarray:
    rows = codes.shape[0]
    ng = dim // 64
    s = bf16_value(codes[:, : 2 * ng].copy().view(np.uint16)).reshape(rows, ng, 1)
    v = _E4M3[codes[:, 2 * ng :]].astype(F32).reshape(rows, ng, 64)
    return (v * s).reshape(rows, dim).astype(F32)


def bf16_encode(x: np.ndarray) -> np.ndarray:
    return bf16_bits(x).view(np.uint8).reshape(x.shape[0], -1)


def v4_native_encode(x: np.ndarray, rope: int = 64) -> np.ndarray:
    """DeepSeek-V4's real record (FlashMLA "MODEL1": E4M3 + UE8M0 ceil scale per 64,
    bf16 RoPE dims, zero pad): see peers_ref.py, which implements every block-scaled
    format. (Format v1's first draft stored bf16 scales per 64; that record is gone.)"""
    import peers_ref  # local import: peers_ref builds on this module

    return peers_ref.encode(x, "v4_native", x.shape[1], rope_dims=rope)


def v4_native_decode(codes: np.ndarray, dim: int, rope: int = 64) -> np.ndarray:
    import peers_ref

    return peers_ref.decode(codes, "v4_native", dim, rope_dims=rope)[0]
