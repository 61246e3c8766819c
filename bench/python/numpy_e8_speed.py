#!/usr/bin/env python3
"""E8 (format v1) round trip through the package against a vectorised NumPy
implementation of the same algorithm (issue 11's yardstick), one thread.

    KAKEYA_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
        PYTHONPATH=build/python python3 bench/python/numpy_e8_speed.py --isa avx2 \\
        --json reports/<date>-numpy_e8_speed.json

The NumPy side is the library's algorithm, array-wise over all rows and blocks, in the
same float32 operations: Walsh–Hadamard butterflies, the bf16 scale rounded up, the
rounding-based box search of each coset (2·rne(w/2) / 2·floor(w/2)+1, the runner-up on
w's side, the parity fix at the first cheapest coordinate), the mixed-radix rank in
uint64, bit packing with unpackbits/packbits; decode unpacks, unranks with uint64 // and
%, and runs the butterflies on the integer points (exact) before one float32 multiply.
Its codes and decoded values are checked equal to the package's before timing, so both
sides do the same work. Timing is CPU time (time.process_time), best of --repeat.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

os.environ.setdefault("KAKEYA_NUM_THREADS", "1")
import kakeyalattice as kl  # noqa: E402
from kakeyalattice.machine import best_cpu_time, cpu_model  # noqa: E402

F32 = np.float32
U64 = np.uint64


def hadamard(y: np.ndarray) -> np.ndarray:
    """Unnormalised Walsh–Hadamard over the last axis (a power of two), stage order 1, 2, …"""
    rows, p = y.shape
    y = y.copy()
    h = 1
    while h < p:
        v = y.reshape(rows, p // (2 * h), 2, h)
        a, b = v[:, :, 0, :].copy(), v[:, :, 1, :]
        v[:, :, 0, :] = a + b
        v[:, :, 1, :] = a - b
        h *= 2
    return y


def norm(p: int) -> np.float32:
    k = p.bit_length() - 1
    return F32(0.70710678118654752440 if k & 1 else 1.0) * F32(2.0 ** -(k >> 1))


def bf16_up(v: np.ndarray) -> np.ndarray:
    """Smallest bf16 >= v (v >= 0, finite), as its 16 bits."""
    b = v.astype(F32).view(np.uint32)
    h = (b >> 16).astype(np.uint32)
    h = np.where((b & 0xFFFF) != 0, h + 1, h)
    return h.astype(np.uint16)


def bf16_val(h: np.ndarray) -> np.ndarray:
    return (h.astype(np.uint32) << 16).view(F32)


def coset_search(w: np.ndarray, q: int, odd: int):
    """Nearest point t (doubled units) of one E8 coset ∩ box and ||w − t||², per row of w."""
    lo, hi = (F32(-2 * q + 1), F32(2 * q - 1)) if odd else (F32(-2 * q), F32(2 * q))
    half = np.clip(w * F32(0.5), lo * F32(0.5) - F32(1), hi * F32(0.5) + F32(1))
    rn = (half + F32(12582912.0)) - F32(12582912.0)
    if odd:
        rf = F32(2) * np.where(rn > half, rn - F32(1), rn) + F32(1)
    else:
        rf = F32(2) * rn
    rf = np.clip(rf, lo, hi)
    af = np.where(w >= rf, rf + F32(2), rf - F32(2))
    af = np.where(af > hi, rf - F32(2), af)
    af = np.where(af < lo, rf + F32(2), af)
    d2 = (w - rf) * (w - rf)
    delta = (w - af) * (w - af) - d2
    dist = d2[:, 0].copy()
    for i in range(1, 8):
        dist = dist + d2[:, i]
    r = rf.astype(np.int32)
    par = (((r - odd) >> 1) & 1).sum(axis=1) & 1
    j = np.argmin(delta, axis=1)  # the first cheapest coordinate
    flip = np.nonzero(par)[0]
    r[flip, j[flip]] = af[flip, j[flip]].astype(np.int32)
    dist = np.where(par == 1, dist + delta[np.arange(len(j)), j], dist)
    return r, dist


def rank(t: np.ndarray, q: int) -> np.ndarray:
    b, h = U64(2 * q + 1), U64(2 * q)
    n_int = U64(((2 * q + 1) ** 8 + 1) // 2)
    odd = (t[:, 0] & 1).astype(bool)
    di = (t // 2 + q).astype(U64)
    dh = ((t - 1) // 2 + q).astype(U64)
    dh[:, 7] >>= U64(1)
    ri, rh = np.zeros(len(t), U64), np.zeros(len(t), U64)
    for i in range(7, -1, -1):
        ri = ri * b + di[:, i]
        rh = rh * h + dh[:, i]
    return np.where(odd, n_int + rh, ri >> U64(1))


def unrank(idx: np.ndarray, q: int) -> np.ndarray:
    b, h = U64(2 * q + 1), U64(2 * q)
    n_int = U64(((2 * q + 1) ** 8 + 1) // 2)
    half = idx >= n_int
    r = np.where(half, idx - n_int, idx << U64(1))
    base = np.where(half, h, b)
    d = np.empty((len(idx), 8), np.int64)
    for i in range(8):
        d[:, i] = (r % base).astype(np.int64)
        r = r // base
    d[:, 7] = np.where(half, 2 * d[:, 7] + (d[:, :7].sum(axis=1) & 1), d[:, 7])
    return 2 * (d - q) + half[:, None]


def pack(hdr: np.ndarray, idx: np.ndarray, bpb: int, nbytes: int) -> np.ndarray:
    rows = len(hdr)
    hb = np.unpackbits(hdr.astype("<u2").view(np.uint8).reshape(rows, 2), axis=1, bitorder="little")
    ib = np.unpackbits(idx.astype("<u8").view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")[:, :bpb]
    bits = np.concatenate([hb, ib.reshape(rows, -1)], axis=1)
    out = np.packbits(bits, axis=1, bitorder="little")
    return np.pad(out, ((0, 0), (0, nbytes - out.shape[1])))


def unpack(codes: np.ndarray, nblocks: int, bpb: int):
    rows = len(codes)
    bits = np.unpackbits(codes, axis=1, bitorder="little")
    hdr = np.packbits(bits[:, :16], axis=1, bitorder="little").view("<u2")[:, 0]
    ib = bits[:, 16:16 + nblocks * bpb].reshape(rows * nblocks, bpb)
    ib = np.pad(ib, ((0, 0), (0, 64 - bpb)))
    idx = np.packbits(ib, axis=1, bitorder="little").view("<u8")[:, 0]
    return hdr, idx


def np_encode(x: np.ndarray, q: int) -> np.ndarray:
    rows, dim = x.shape  # dim a power of two here
    y = hadamard(x.astype(F32)) * norm(dim)
    amax = np.abs(y).max(axis=1)
    hdr = bf16_up(amax / F32(q))
    hdr = np.where(bf16_val(hdr) * F32(q) < amax, hdr + np.uint16(1), hdr).astype(np.uint16)
    s = bf16_val(hdr)
    w = ((y / s[:, None]) * F32(2)).reshape(-1, 8)
    ti, di = coset_search(w, q, 0)
    th, dh = coset_search(w, q, 1)
    t = np.where((dh < di)[:, None], th, ti)
    bpb = int((((2 * q + 1) ** 8 + 1) // 2 + (2 * q) ** 8 // 2 - 1).bit_length())
    return pack(hdr, rank(t, q), bpb, (16 + dim // 8 * bpb + 7) // 8)


def np_decode(codes: np.ndarray, q: int, dim: int) -> np.ndarray:
    bpb = int((((2 * q + 1) ** 8 + 1) // 2 + (2 * q) ** 8 // 2 - 1).bit_length())
    hdr, idx = unpack(codes, dim // 8, bpb)
    t = unrank(idx, q).reshape(len(codes), dim).astype(F32)
    c = bf16_val(hdr) * norm(dim)
    return (F32(0.5) * hadamard(t)) * c[:, None]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--rows", type=int, default=4096)
    ap.add_argument("--q", type=int, default=38)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--isa", action="append", default=None)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    if a.dim & (a.dim - 1) or a.q > 48:
        raise SystemExit("this yardstick takes a power-of-two dim and q <= 48 (uint64 ranks)")
    kl.set_num_threads(1)
    x = np.random.default_rng(1).standard_normal((a.rows, a.dim)).astype(np.float32)
    c = kl.codec("e8", a.dim, q=a.q)
    codes = c.encode(x)
    np_codes = np_encode(x, a.q)
    if not np.array_equal(np_codes, codes):
        raise SystemExit(f"NumPy codes differ from the package's in {int((np_codes != codes).any(1).sum())} rows")
    if not np.array_equal(np_decode(codes, a.q, a.dim).view(np.uint32), c.decode(codes).view(np.uint32)):
        raise SystemExit("NumPy decode differs from the package's")
    t_np = best_cpu_time(lambda: np_decode(np_encode(x, a.q), a.q, a.dim), max(1, a.repeat // 2))
    rows = []
    for isa in a.isa or list(kl.build_info()["isa_supported"]):
        kl.set_isa(isa)
        t_kl = best_cpu_time(lambda: c.decode(c.encode(x)), a.repeat)
        rows.append({"isa": isa, "package_roundtrip_s": t_kl, "numpy_roundtrip_s": t_np, "ratio": t_np / t_kl})
        print(f"{isa:8s} {c.name}: package round trip {t_kl * 1e3:8.2f} ms, NumPy {t_np * 1e3:8.1f} ms "
              f"-> {t_np / t_kl:6.1f}x ({a.rows} x {a.dim}, CPU time, 1 thread; codes and values identical)")
    kl.set_isa("auto")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"dim": a.dim, "rows": a.rows, "q": a.q, "timer": "time.process_time, best of repeats",
                       "cpu": cpu_model(), "date": time.strftime("%Y-%m-%d"), "numpy": np.__version__,
                       "results": rows}, f, indent=1)


if __name__ == "__main__":
    main()
