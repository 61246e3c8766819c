# SPDX-License-Identifier: Apache-2.0
"""The codec families hf-eval compares, each at the rates it offers.

Codecs come from the library's factory `kakeyalattice.codec(name, dim, **params)` where
the build has it; a build without the factory still offers the classes it always had
(e8/d4/z via Codec, fp8_per64, v4_native, bf16). A family whose codec name the build does
not know is listed as "not available in this build"; one whose codec rejects the head
dim (e.g. fp8_per64 needs a multiple of 64) is listed with the codec's own message.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import kakeyalattice as kl

# family label, codec name, parameter grid (one codec per entry)
FAMILIES: tuple[tuple[str, str, tuple[dict, ...]], ...] = (
    ("v1 E8", "e8", tuple({"q": q} for q in (1, 2, 4, 10, 38, 76))),
    ("fp8_per64", "fp8_per64", ({},)),
    ("mxfp8", "mxfp8", ({},)),
    ("nvfp4", "nvfp4", ({"tensor_scale": "calibrated"},)),
    ("mxfp4", "mxfp4", ({},)),
    ("int", "int", tuple({"bits": b, "group": 32} for b in (2, 3, 4, 8))),
    ("lloydmax", "lloydmax", tuple({"bits": b} for b in (2, 3, 4, 5, 6))),
    ("v2", "v2", ({},)),
)

_FALLBACK = {
    "e8": lambda dim, q=38, scale="bf16": kl.Codec(dim, q, "e8", scale),
    "d4": lambda dim, q=38, scale="bf16": kl.Codec(dim, q, "d4", scale),
    "z": lambda dim, q=38, scale="bf16": kl.Codec(dim, q, "z", scale),
    "fp8_per64": lambda dim: kl.FP8Per64Codec(dim),
    "v4_native": lambda dim, rope_dims=64: kl.V4NativeCodec(dim, rope_dims),
    "bf16": lambda dim: kl.BF16Codec(dim),
}


def available_names() -> tuple[str, ...]:
    names = getattr(kl, "codec_names", None)
    return tuple(names()) if callable(names) else tuple(_FALLBACK)


def make_codec(name: str, dim: int, **params: Any) -> Any:
    """kl.codec(name, dim, **params) where the factory exists, else the classic classes.
    KeyError if this build has no codec of that name."""
    if name not in available_names():
        raise KeyError(name)
    factory = getattr(kl, "codec", None)
    if callable(factory):
        return factory(name, dim, **params)
    return _FALLBACK[name](dim, **params)


def param_label(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


@dataclass
class Point:
    family: str
    name: str
    params: dict
    label: str
    bits_per_coord: float | None = None
    status: str = "ok"                       # ok | unavailable | unsupported
    reason: str = ""
    metrics: dict = field(default_factory=dict)


def plan(head_dim: int, families: tuple[str, ...] | None = None) -> list[Point]:
    """Every (family, rate) point, with the ones that cannot run marked and explained.
    The nvfp4 tensor scale is calibrated later (per layer and stream); here it is built with
    a unit scale only to check the dim and read the rate."""
    pts = []
    names = available_names()
    for family, name, grid in FAMILIES:
        if families is not None and family not in families and name not in families:
            continue
        if name == "v2":  # format v2's factory name is not fixed yet: take any "v2" codec the build has
            found = [n for n in names if "v2" in n]
            entries = [(n, params) for n in found for params in grid] or [(name, params) for params in grid]
        else:
            entries = [(name, params) for params in grid]
        for name, params in entries:
            label = f"{name}({param_label(params)})" if params else name
            p = Point(family, name, dict(params), label)
            if name not in names:
                p.status, p.reason = "unavailable", "not available in this build"
            else:
                probe = {k: (1.0 if v == "calibrated" else v) for k, v in params.items()}
                try:
                    c = make_codec(name, head_dim, **probe)
                    p.bits_per_coord = c.bits_per_vector / c.dim
                except (ValueError, TypeError) as e:
                    p.status, p.reason = "unsupported", f"head_dim {head_dim}: {e}"
            pts.append(p)
    return pts
