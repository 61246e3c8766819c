# SPDX-License-Identifier: Apache-2.0
"""Independent NumPy reference of the peer formats, format version 1.

    v4_native  v41_mxfp8  mxfp8  mxfp4  nvfp4  int  lloydmax

Written from the rules stated in the header comments (include/kakeya/codec/format.h,
block_scaled.h, intq.h, lloydmax.h) and DESIGN.md §2 "Baselines" / "Peer formats",
without the C++ code. Element formats are found by brute force over every code (nearest
value in float64, then the stated tie rule); scale exponents by frexp, not by reading
float bits; every arithmetic step the format fixes is a float32 NumPy operation in the
stated order. The Lloyd–Max levels come from tests/reference/lloydmax_levels.py (the
same maths as the C++ table, computed here), cached per bit width: b ≥ 5 takes
~20 s per width, so byte-exact checks use b ≤ 4.

API
    encode(x, name, dim=None, **params) -> uint8 (rows, code_bytes)
        raises ValueError naming the first row (and column) that cannot be encoded
    decode(codes, name, dim, **params) -> (x_hat float32 (rows, dim), bad bool (rows,))
        a corrupt record decodes to a zero row and is flagged in `bad`
    code_bytes(name, dim, **params), bits_per_vector(name, dim, **params)
Parameters: v4_native rope_dims (64); nvfp4 tensor_scale (required); int bits (4),
group (64); lloydmax bits (4). Values may be given as numbers or as text.
"""
from __future__ import annotations

import lloydmax_levels
import numpy as np

import kakeya_ref as kref

F32 = np.float32
NAMES = ("v4_native", "v41_mxfp8", "mxfp8", "mxfp4", "nvfp4", "int", "lloydmax")
_CHUNK = 1 << 15

# ----------------------------------------------------------------------------- elements
_E4M3_VALUES = kref.e4m3_table()                   # 256 codes, NaN at 0x7f / 0xff
_E4M3_POS = np.arange(0x7F)                        # the 127 finite non-negative codes
_E4M3_POS_VAL = _E4M3_VALUES[_E4M3_POS]
E4M3_MAX = 448.0

_E2M1_POS_VAL = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])  # codes 0..7
E2M1_MAX = 6.0


def _nearest_code(mag: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index of the nearest value to each magnitude (float64 distances, exact for
    float32 inputs near the grid), ties to the even index (the even mantissa)."""
    out = np.empty(mag.shape, dtype=np.int64)
    even = (np.arange(len(values)) % 2) == 0
    for s in range(0, mag.size, _CHUNK):
        m = mag[s:s + _CHUNK]
        d = np.abs(m[:, None] - values[None, :])
        tie = d == d.min(axis=1, keepdims=True)
        out[s:s + _CHUNK] = np.argmax(tie * 2 + (tie & even[None, :]), axis=1)
    return out


def e4m3_encode(v: np.ndarray) -> np.ndarray:
    """float32 -> E4M3 code: nearest, ties to even, saturating at ±448; the sign bit
    is kept for every result (-0 and negative values that round to 0 give 0x80)."""
    v = np.asarray(v, dtype=F32)
    flat = v.reshape(-1)
    mag = np.minimum(np.abs(flat).astype(np.float64), E4M3_MAX)
    code = _E4M3_POS[_nearest_code(mag, _E4M3_POS_VAL)].astype(np.uint8)
    code = code | np.where(np.signbit(flat), np.uint8(0x80), np.uint8(0))
    return code.astype(np.uint8).reshape(v.shape)


def e4m3_value(c: np.ndarray) -> np.ndarray:
    return _E4M3_VALUES[np.asarray(c, dtype=np.uint8)].astype(F32)


def e2m1_encode(v: np.ndarray) -> np.ndarray:
    """float32 -> E2M1 nibble: nearest magnitude, ties to the even code, saturating at
    6; the sign bit only for a nonzero negative result."""
    v = np.asarray(v, dtype=F32)
    flat = v.reshape(-1)
    mag = np.minimum(np.abs(flat).astype(np.float64), E2M1_MAX)
    m = _nearest_code(mag, _E2M1_POS_VAL).astype(np.uint8)
    neg = np.signbit(flat) & (m != 0)
    return (m | np.where(neg, np.uint8(8), np.uint8(0))).astype(np.uint8).reshape(v.shape)


def e2m1_value(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, dtype=np.uint8)
    mag = _E2M1_POS_VAL[c & 7]
    return np.where(c & 8, -mag, mag).astype(F32)


def pow2_f32(k: np.ndarray) -> np.ndarray:
    """2^k as float32 (exact, including the subnormal 2^-127)."""
    return np.ldexp(1.0, np.asarray(k, dtype=np.int64)).astype(F32)


def ue8m0_ceil(y: np.ndarray) -> np.ndarray:
    """Byte of 2^ceil(log2 y), y > 0 finite float32, clamped to [0, 254]."""
    m, e = np.frexp(np.asarray(y, dtype=np.float64))  # y = m·2^e, m in [0.5, 1)
    c = np.where(m == 0.5, e - 1, e)
    return np.clip(c + 127, 0, 254).astype(np.uint8)


def ue8m0_floor_mx(amax: np.ndarray, emax: int) -> np.ndarray:
    """Byte of 2^(floor(log2 amax) - emax) (OCP MX v1.0), clamped to [0, 254];
    amax = 0 gives 0."""
    a = np.asarray(amax, dtype=np.float64)
    _, e = np.frexp(a)
    b = np.where(a > 0, e - 1 + 127 - emax, 0)
    return np.clip(b, 0, 254).astype(np.uint8)


def e8m0_value(b: np.ndarray) -> np.ndarray:
    b = np.asarray(b, dtype=np.int64)
    return np.where(b == 255, F32(np.nan), pow2_f32(np.where(b == 255, 0, b) - 127)).astype(F32)


def f16_bits(v: np.ndarray) -> np.ndarray:
    """float32 -> fp16 bits, round to nearest even (NumPy's conversion)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(v, dtype=F32).astype(np.float16).view(np.uint16)


f16_value = kref.f16_value
bf16_bits = kref.bf16_bits
bf16_value = kref.bf16_value


# ----------------------------------------------------------------------------- bits
def pack_bits(vals: np.ndarray, nbits: int) -> np.ndarray:
    """(rows, n) unsigned values -> LSB-first bit stream, zero padded to a byte."""
    v = np.asarray(vals, dtype=np.uint64)
    rows = v.shape[0]
    bits = ((v[:, :, None] >> np.arange(nbits, dtype=np.uint64)) & np.uint64(1)).astype(np.uint8)
    return np.packbits(bits.reshape(rows, -1), axis=1, bitorder="little")


def unpack_bits(rec: np.ndarray, bit0: int, n: int, nbits: int) -> np.ndarray:
    """n values of nbits each from bit `bit0` of each row's LSB-first stream."""
    bits = np.unpackbits(np.asarray(rec, dtype=np.uint8), axis=1, bitorder="little")
    b = bits[:, bit0:bit0 + n * nbits].reshape(rec.shape[0], n, nbits).astype(np.uint64)
    return (b << np.arange(nbits, dtype=np.uint64)).sum(axis=2).astype(np.uint64)


# ----------------------------------------------------------------------------- params
def _params(name: str, dim: int, params: dict) -> dict:
    p = dict(params)
    if name == "v4_native":
        r = int(p.pop("rope_dims", 64))
        if not (0 <= r <= dim and (dim - r) % 64 == 0):
            raise ValueError(f"rope_dims = {r}: dim - rope_dims must be a multiple of 64")
        out = {"rope_dims": r}
    elif name == "nvfp4":
        if "tensor_scale" not in p:
            raise ValueError("nvfp4 needs tensor_scale")
        s = F32(float(p.pop("tensor_scale")))
        if not (np.isfinite(s) and s > 0) or dim % 16:
            raise ValueError(f"nvfp4: tensor_scale = {s}, dim = {dim}")
        out = {"tensor_scale": s}
    elif name == "int":
        b, g = int(p.pop("bits", 4)), int(p.pop("group", 64))
        if not (2 <= b <= 8 and 16 <= g <= 256 and dim % g == 0):
            raise ValueError(f"int: bits = {b}, group = {g}, dim = {dim}")
        out = {"bits": b, "group": g}
    elif name == "lloydmax":
        b = int(p.pop("bits", 4))
        if not (1 <= b <= 8 and dim % 8 == 0):
            raise ValueError(f"lloydmax: bits = {b}, dim = {dim}")
        out = {"bits": b}
    elif name in ("v41_mxfp8", "mxfp8", "mxfp4"):
        if dim % 32:
            raise ValueError(f"{name}: dim = {dim} must be a multiple of 32")
        out = {}
    else:
        raise ValueError(f"unknown codec {name!r}")
    if p:
        raise ValueError(f"unknown parameters {sorted(p)} for {name}")
    return out


def _block_layout(name: str, dim: int, p: dict) -> dict:
    """Byte offsets of the block-scaled records (format.h's comment)."""
    if name == "v4_native":
        r = p["rope_dims"]
        f = dim - r
        g = f // 64
        return dict(elem="e4m3", group=64, scaled=f, tail=r, vals=0, tail_off=f, scales=f + 2 * r,
                    nscale=g, bytes=f + 2 * r + (g + 7) // 8 * 8)
    if name == "v41_mxfp8":
        return dict(elem="e4m3", group=32, scaled=dim, tail=0, vals=0, tail_off=dim, scales=dim,
                    nscale=dim // 32, bytes=dim + dim // 32)
    group = 16 if name == "nvfp4" else 32
    g = dim // group
    vb = dim if name == "mxfp8" else dim // 2
    return dict(elem="e4m3" if name == "mxfp8" else "e2m1", group=group, scaled=dim, tail=0,
                scales=0, vals=g, tail_off=g + vb, nscale=g, bytes=g + vb)


def code_bytes(name: str, dim: int, **params) -> int:
    p = _params(name, dim, params)
    if name == "int":
        return (32 * (dim // p["group"]) + p["bits"] * dim + 7) // 8
    if name == "lloydmax":
        return (16 + p["bits"] * dim + 7) // 8
    return _block_layout(name, dim, p)["bytes"]


def bits_per_vector(name: str, dim: int, **params) -> int:
    p = _params(name, dim, params)
    if name == "int":
        return p["bits"] * dim + 32 * (dim // p["group"])
    if name == "lloydmax":
        return 16 + p["bits"] * dim
    return 8 * _block_layout(name, dim, p)["bytes"]


# ----------------------------------------------------------------------------- block-scaled
def _first_nonfinite(x: np.ndarray):
    bad = ~np.isfinite(x)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(f"x[{r}, {c}] = {x[r, c]} is not finite")


def _block_scales(name: str, amax: np.ndarray, p: dict):
    """(scale bytes, element scales sf) of groups with max |x| = amax (float32)."""
    if name in ("v4_native", "v41_mxfp8"):
        y = np.maximum(amax, F32(1e-4)).astype(F32) / F32(E4M3_MAX)
        b = ue8m0_ceil(y.astype(F32))
        return b, e8m0_value(b)
    if name in ("mxfp8", "mxfp4"):
        b = ue8m0_floor_mx(amax, 8 if name == "mxfp8" else 2)
        return b, e8m0_value(b)
    s = p["tensor_scale"]
    t = ((amax / F32(E2M1_MAX)).astype(F32) / s).astype(F32)
    b = e4m3_encode(t)
    return b, (e4m3_value(b) * s).astype(F32)


def _block_encode(x: np.ndarray, name: str, dim: int, p: dict) -> np.ndarray:
    rows = x.shape[0]
    L = _block_layout(name, dim, p)
    f, g = L["scaled"], L["group"]
    out = np.zeros((rows, L["bytes"]), dtype=np.uint8)
    xs = x[:, :f].reshape(rows, f // g, g)
    amax = np.abs(xs).max(axis=2).astype(F32)
    b, sf = _block_scales(name, amax, p)
    sfb = np.broadcast_to(sf[:, :, None], xs.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(sfb > 0, xs / np.where(sfb > 0, sfb, F32(1)), F32(0)).astype(F32)
    out[:, L["scales"]:L["scales"] + L["nscale"]] = b
    if L["elem"] == "e4m3":
        out[:, L["vals"]:L["vals"] + f] = e4m3_encode(v).reshape(rows, f)
    else:
        nib = e2m1_encode(v).reshape(rows, f // 2, 2)
        out[:, L["vals"]:L["vals"] + f // 2] = nib[:, :, 0] | (nib[:, :, 1] << 4)
    if L["tail"]:
        t = np.ascontiguousarray(x[:, f:])
        h = bf16_bits(t)
        over = ~np.isfinite(bf16_value(h))
        if over.any():
            r, c = np.argwhere(over)[0]
            raise ValueError(f"x row {r}: x[{r}, {f + c}] = {t[r, c]} overflows bf16")
        out[:, L["tail_off"]:L["tail_off"] + 2 * L["tail"]] = h.astype("<u2").view(np.uint8).reshape(rows, -1)
    return out


def _block_decode(codes: np.ndarray, name: str, dim: int, p: dict):
    rows = codes.shape[0]
    L = _block_layout(name, dim, p)
    f, g = L["scaled"], L["group"]
    b = codes[:, L["scales"]:L["scales"] + L["nscale"]]
    if name == "nvfp4":
        bad = ((b & 0x80) != 0) | ((b & 0x7F) == 0x7F)
        sf = (e4m3_value(np.where(bad, 0, b)) * p["tensor_scale"]).astype(F32)
    else:
        bad = b == 255
        sf = e8m0_value(np.where(bad, 0, b))
    bad = bad.any(axis=1)
    if L["elem"] == "e4m3":
        c = codes[:, L["vals"]:L["vals"] + f]
        bad |= ((c & 0x7F) == 0x7F).any(axis=1)
        v = e4m3_value(np.where((c & 0x7F) == 0x7F, 0, c))
    else:
        c = codes[:, L["vals"]:L["vals"] + f // 2]
        nib = np.stack([c & 15, c >> 4], axis=2).reshape(rows, f)
        v = e2m1_value(nib)
    out = np.zeros((rows, dim), dtype=F32)
    out[:, :f] = (v.reshape(rows, f // g, g) * sf[:, :, None]).astype(F32).reshape(rows, f)
    if L["tail"]:
        h = codes[:, L["tail_off"]:L["tail_off"] + 2 * L["tail"]].copy().view("<u2")
        t = bf16_value(h)
        bad |= (~np.isfinite(t)).any(axis=1)
        out[:, f:] = np.where(np.isfinite(t), t, 0)
    out[bad] = 0
    return out, bad


# ----------------------------------------------------------------------------- int
def _int_encode(x: np.ndarray, dim: int, p: dict) -> np.ndarray:
    rows = x.shape[0]
    bits, group = p["bits"], p["group"]
    ng = dim // group
    maxq = (1 << bits) - 1
    xs = x.reshape(rows, ng, group)
    lo, hi = xs.min(axis=2), xs.max(axis=2)
    with np.errstate(over="ignore", invalid="ignore"):
        s16 = f16_bits(((hi - lo).astype(F32) / F32(maxq)).astype(F32))
    z16 = f16_bits(lo)
    s, z = f16_value(s16), f16_value(z16)
    over = ~(np.isfinite(s) & np.isfinite(z))
    if over.any():
        r, gi = np.argwhere(over)[0]
        raise ValueError(f"x row {r}: group {gi} overflows the fp16 scale / zero")
    sb, zb = s[:, :, None], z[:, :, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.rint(((xs - zb).astype(F32) / np.where(sb > 0, sb, F32(1))).astype(F32))
    q = np.where(sb > 0, q, F32(0))
    q = np.clip(q, 0, maxq).astype(np.uint64).reshape(rows, dim)
    head = np.concatenate([s16.astype("<u2").view(np.uint8).reshape(rows, -1),
                           z16.astype("<u2").view(np.uint8).reshape(rows, -1)], axis=1)
    return np.concatenate([head, pack_bits(q, bits)], axis=1)


def _int_decode(codes: np.ndarray, dim: int, p: dict):
    rows = codes.shape[0]
    bits, group = p["bits"], p["group"]
    ng = dim // group
    s16 = codes[:, :2 * ng].copy().view("<u2")
    z16 = codes[:, 2 * ng:4 * ng].copy().view("<u2")
    s, z = f16_value(s16), f16_value(z16)
    badg = ~np.isfinite(s) | ((s16 & 0x8000) != 0) | ~np.isfinite(z)
    bad = badg.any(axis=1)
    q = unpack_bits(codes, 32 * ng, dim, bits).astype(F32).reshape(rows, ng, group)
    with np.errstate(invalid="ignore", over="ignore"):
        out = ((q * s[:, :, None]).astype(F32) + z[:, :, None]).astype(F32).reshape(rows, dim)
    out[bad] = 0
    return out, bad


# ----------------------------------------------------------------------------- lloydmax
LLOYDMAX_SEED = 0x4B414B4559413031  # "KAKEYA01", lloydmax.h: part of the format
_M64 = (1 << 64) - 1
_LEVELS: dict = {}
_SIGNS: dict = {}


def splitmix64(z: int) -> int:
    z = (z + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def lloydmax_signs(dim: int) -> np.ndarray:
    """σ_i = -1 if bit 63 of splitmix64(seed + i) is set, else +1 (float32)."""
    if dim not in _SIGNS:
        _SIGNS[dim] = np.array([-1.0 if splitmix64((LLOYDMAX_SEED + i) & _M64) >> 63 else 1.0
                                for i in range(dim)], dtype=F32)
    return _SIGNS[dim]


def lloydmax_levels_f32(bits: int) -> np.ndarray:
    """float32 levels of the b-bit Lloyd–Max quantizer of N(0,1), computed by
    lloydmax_levels.levels (cached: slow for b >= 5)."""
    if bits not in _LEVELS:
        _LEVELS[bits] = np.asarray(lloydmax_levels.levels(bits)[0], dtype=np.float64).astype(F32)
    return _LEVELS[bits]


def _sumsq_group8(y: np.ndarray) -> np.ndarray:
    rows, dim = y.shape
    g = y.reshape(rows, dim // 8, 8)
    part = np.zeros((rows, dim // 8), dtype=F32)
    with np.errstate(over="ignore"):
        for k in range(8):
            part = (part + (g[:, :, k] * g[:, :, k]).astype(F32)).astype(F32)
        ss = np.zeros(rows, dtype=F32)
        for j in range(dim // 8):
            ss = (ss + part[:, j]).astype(F32)
    return ss


def _lloydmax_encode(x: np.ndarray, dim: int, p: dict) -> np.ndarray:
    rows = x.shape[0]
    bits = p["bits"]
    y = (x * lloydmax_signs(dim)[None, :]).astype(F32)
    n = np.sqrt(_sumsq_group8(y)).astype(F32)
    n16 = f16_bits(n)
    nf = f16_value(n16)
    if (~np.isfinite(nf)).any():
        r = int(np.argmax(~np.isfinite(nf)))
        raise ValueError(f"x row {r}: norm {n[r]} overflows fp16")
    yr = kref.rotate(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = (F32(np.sqrt(F32(dim))) / np.where(nf > 0, nf, F32(1))).astype(F32)
        u = (yr * inv[:, None]).astype(F32)
    lv = lloydmax_levels_f32(bits)
    t = ((lv[:-1] + lv[1:]).astype(F32) * F32(0.5)).astype(F32)
    k = np.searchsorted(t, u.reshape(-1), side="left").reshape(rows, dim)  # #{j: t_j < u}
    # the fp16 norm, then the indices from bit 16 (a whole byte: byte 2)
    rec16 = n16.astype("<u2").view(np.uint8).reshape(rows, 2)
    out = np.concatenate([rec16, pack_bits(k.astype(np.uint64), bits)], axis=1)
    out[nf == 0] = 0  # a stored norm of 0 is the zero vector: all-zero record
    return out


def _lloydmax_decode(codes: np.ndarray, dim: int, p: dict):
    bits = p["bits"]
    n16 = codes[:, :2].copy().view("<u2")[:, 0]
    nf = f16_value(n16)
    bad = ((n16 & 0x8000) != 0) | ~np.isfinite(nf)
    k = unpack_bits(codes, 16, dim, bits).astype(np.int64)
    c = (np.where(bad, F32(0), nf) / F32(np.sqrt(F32(dim)))).astype(F32)
    y = (lloydmax_levels_f32(bits)[k] * c[:, None]).astype(F32)
    out = (kref.rotate(y) * lloydmax_signs(dim)[None, :]).astype(F32)
    out[bad] = 0
    return out, bad


# ----------------------------------------------------------------------------- API
def encode(x: np.ndarray, name: str, dim: int | None = None, **params) -> np.ndarray:
    x = np.asarray(x, dtype=F32)
    if x.ndim != 2:
        raise ValueError("x must be (rows, dim)")
    dim = x.shape[1] if dim is None else dim
    if x.shape[1] != dim:
        raise ValueError(f"x has {x.shape[1]} columns, dim = {dim}")
    p = _params(name, dim, params)
    _first_nonfinite(x)
    if name == "int":
        return _int_encode(x, dim, p)
    if name == "lloydmax":
        return _lloydmax_encode(x, dim, p)
    return _block_encode(x, name, dim, p)


def decode(codes: np.ndarray, name: str, dim: int, **params):
    codes = np.asarray(codes, dtype=np.uint8)
    p = _params(name, dim, params)
    if codes.ndim != 2 or codes.shape[1] != code_bytes(name, dim, **params):
        raise ValueError(f"codes shape {codes.shape}: rows × {code_bytes(name, dim, **params)} expected")
    if name == "int":
        return _int_decode(codes, dim, p)
    if name == "lloydmax":
        return _lloydmax_decode(codes, dim, p)
    return _block_decode(codes, name, dim, p)


def lloydmax_mse(bits: int) -> float:
    """E[(X - Q(X))^2] per unit variance of the b-bit quantizer (lloydmax_levels.mse)."""
    return lloydmax_levels.mse(np.asarray(lloydmax_levels.levels(bits)[0]))


__all__ = ["NAMES", "encode", "decode", "code_bytes", "bits_per_vector", "e4m3_encode", "e2m1_encode",
           "e4m3_value", "e2m1_value", "lloydmax_levels_f32", "lloydmax_signs"]
