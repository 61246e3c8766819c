# SPDX-License-Identifier: Apache-2.0
"""Rate–distortion landscape: every codec family of the factory over its rates, on iid
Gaussian vectors or on the user's own vectors, as bits/coord against rel-MSE and
"dB from Shannon" (10·log10(rel-MSE / 2^(-2R)), R = bits_per_vector / dim with every
side bit counted; the bound is that of an iid Gaussian source).

    kakeyalattice rd --dim 512 --out reports/rd            # iid Gaussian
    kakeyalattice rd --dim 128 --data keys.npy --out DIR    # your vectors (rows, 128)

All encoding, decoding and error metrics run in the C++ core; this module only chooses
the settings and writes the reports.
"""
from __future__ import annotations

import datetime
import json
import math
import pathlib
import time
from typing import Any, Iterable

import numpy as np

from .._codec import CodecBase, codec, compare, nvfp4_tensor_scale
from .._core import KakeyaValueError
from ..machine import cpu_model

# v1 lattice ranges spanning ~1.5 to ~7.5 bits/coord at every dim.
E8_QS = (1, 2, 3, 4, 6, 8, 10, 14, 19, 26, 38, 54, 76)
INT_GROUPS = (32, 64, 128)
# format v2 (zoned E8 Voronoi) rates, bits per coordinate.
E8V2_RATES = tuple(3.0 + 0.5 * i for i in range(11))


def landscape_codecs(dim: int, calib: np.ndarray | None = None,
                     families: Iterable[str] | None = None, e8v2_rates=None) -> list[CodecBase]:
    """The settings the landscape measures at `dim` (those valid for it). nvfp4's static
    tensor scale is calibrated on `calib` (required for nvfp4)."""
    fams = set(families) if families is not None else None

    def want(f: str) -> bool:
        return fams is None or f in fams

    out: list[CodecBase] = []
    if want("e8"):
        out += [codec("e8", dim, q=q) for q in E8_QS]
    if want("lloydmax") and dim % 8 == 0:
        out += [codec("lloydmax", dim, bits=b) for b in range(1, 9)]
    if want("e8v2") and dim % 8 == 0 and 32 <= dim <= 1024:
        out += [codec("e8v2", dim, bits=b) for b in (E8V2_RATES if e8v2_rates is None else e8v2_rates)]
    # the same records with the fast encoder: only when asked for (--families e8v2_fast)
    if fams is not None and "e8v2_fast" in fams and dim % 8 == 0 and 32 <= dim <= 1024:
        out += [codec("e8v2", dim, bits=b, encoder="fast") for b in (E8V2_RATES if e8v2_rates is None else e8v2_rates)]
    if want("int"):
        out += [codec("int", dim, bits=b, group=g) for g in INT_GROUPS if dim % g == 0 for b in range(2, 9)]
    if want("nvfp4") and dim % 16 == 0 and calib is not None:
        out.append(codec("nvfp4", dim, tensor_scale=nvfp4_tensor_scale(calib)))
    for fam, ok in (("mxfp4", dim % 32 == 0), ("mxfp8", dim % 32 == 0), ("v41_mxfp8", dim % 32 == 0),
                    ("fp8_per64", dim % 64 == 0), ("bf16", True)):
        if want(fam) and ok:
            out.append(codec(fam, dim))
    if want("v4_native") and dim > 64 and dim % 64 == 0:
        out.append(codec("v4_native", dim, rope_dims=64))
    return out


def shannon_db(rel_mse: float, bits_per_coord: float) -> float:
    """dB above the iid-Gaussian Shannon bound 2^(-2R) at the same rate."""
    return 10.0 * math.log10(rel_mse) + 20.0 * bits_per_coord * math.log10(2.0)


# Families whose CPU encoder is a search (e8v2 today) are measured on the first rows only.
SLOW_FAMILIES = {"e8v2": 4096}


def family_label(c: CodecBase) -> str:
    """The family a landscape row belongs to: e8v2 with encoder="fast" is "e8v2_fast"."""
    return "e8v2_fast" if c.family == "e8v2" and c.params.get("encoder") == "fast" else c.family


def measure(codecs: Iterable[CodecBase], x: np.ndarray) -> list[dict]:
    """One row per codec: bits, rel-MSE, cosine and dB from Shannon on x (rows, dim)
    (SLOW_FAMILIES: on their first rows; `vectors` says how many)."""
    rows = []
    for c in codecs:
        xs = x[:SLOW_FAMILIES[c.family]] if c.family in SLOW_FAMILIES else x
        s = compare(xs, c.roundtrip(xs))
        bpc = c.bits_per_coord
        rows.append({"codec": c.name, "family": family_label(c), "params": c.params, "bits_per_vector": c.bits_per_vector,
                     "bits_per_coord": bpc, "rel_mse": s["rel_mse"], "cosine": s["mean_cosine"], "vectors": len(xs),
                     "db_from_shannon": shannon_db(s["rel_mse"], bpc) if s["rel_mse"] > 0 else None})
    return rows


def frontier(rows: list[dict]) -> dict:
    """Per family, its rows sorted by bits."""
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["family"], []).append(r)
    return {f: sorted(v, key=lambda r: r["bits_per_coord"]) for f, v in out.items()}


def best_at(rows: list[dict], bits_per_coord: float) -> dict | None:
    """The lowest rel-MSE among settings with at most `bits_per_coord`."""
    ok = [r for r in rows if r["bits_per_coord"] <= bits_per_coord + 1e-9]
    return min(ok, key=lambda r: r["rel_mse"]) if ok else None


def run_rd(dim: int, n: int = 16384, data: str | None = None, seed: int = 0,
           families: Iterable[str] | None = None) -> dict:
    if isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0 or dim % 8:
        raise KakeyaValueError(f"dim = {dim!r} must be a positive multiple of 8")
    t0 = time.time()
    if data:
        x = np.load(data)
        if x.ndim != 2 or x.shape[1] != dim:
            raise KakeyaValueError(f"--data {data}: shape {x.shape} is not (rows, dim = {dim})")
        x = np.ascontiguousarray(x, dtype=np.float32)
        source = f"user data {data} ({x.shape[0]} rows)"
    else:
        x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
        source = f"iid N(0,1), {n} vectors, seed {seed}"
    rows = measure(landscape_codecs(dim, x, families), x)
    return {"schema": "kakeyalattice.rd/1", "dim": dim, "source": source, "rows": rows,
            "date": datetime.date.today().isoformat(), "seconds": round(time.time() - t0, 2)}




def markdown(res: dict) -> str:
    lines = [f"# Rate–distortion landscape, dim {res['dim']}", "",
             f"Source: {res['source']}. Machine: {res.get('machine', '?')}. Date: {res['date']}. "
             f"Command: `{res.get('command', '')}` ({res['seconds']} s).", "",
             "dB from Shannon = 10·log10(rel-MSE / 2^(−2R)), R = bits/coord with every side bit counted "
             "(the bound of an iid Gaussian source; on other data it is a yardstick, not a bound).", "",
             "| codec | family | bits/coord | rel-MSE | dB from Shannon |", "|---|---|---|---|---|"]
    for r in sorted(res["rows"], key=lambda r: (r["bits_per_coord"], r["rel_mse"])):
        db = "—" if r["db_from_shannon"] is None else f"{r['db_from_shannon']:+.2f}"
        lines.append(f"| {r['codec']} | {r['family']} | {r['bits_per_coord']:.3f} | {r['rel_mse']:.4g} | {db} |")
    lines += ["", "Best setting at or below each rate (lowest rel-MSE among all families):", "",
              "| ≤ bits/coord | best codec | rel-MSE | dB from Shannon |", "|---|---|---|---|"]
    for b in (2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 6.5, 7.0, 8.0, 8.5):
        r = best_at(res["rows"], b)
        if r:
            db = "—" if r["db_from_shannon"] is None else f"{r['db_from_shannon']:+.2f}"
            lines.append(f"| {b} | {r['codec']} | {r['rel_mse']:.4g} | {db} |")
    return "\n".join(lines) + "\n"


def plot(res: dict, path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    for fam, rows in frontier(res["rows"]).items():
        xs = [r["bits_per_coord"] for r in rows]
        ys = [r["rel_mse"] for r in rows]
        ax.plot(xs, ys, "o-" if len(rows) > 1 else "s", label=fam, ms=4)
    bmax = max(r["bits_per_coord"] for r in res["rows"])
    rs = np.linspace(1.0, bmax, 100)
    ax.plot(rs, 2.0 ** (-2 * rs), "k--", lw=1, label="Shannon 2^(-2R)")
    ax.set_yscale("log")
    ax.set_xlabel("bits per coordinate (all side bits)")
    ax.set_ylabel("rel-MSE")
    ax.set_title(f"dim {res['dim']}: {res['source']}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_rd(res: dict, out: Any, command: str = "") -> dict:
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    res = dict(res, machine=cpu_model(), command=command)
    stem = f"rd_d{res['dim']}"
    (out / f"{stem}.json").write_text(json.dumps(res, indent=1))
    (out / f"{stem}.md").write_text(markdown(res))
    plot(res, out / f"{stem}.png")
    return {"json": f"{stem}.json", "markdown": f"{stem}.md", "plot": f"{stem}.png"}
