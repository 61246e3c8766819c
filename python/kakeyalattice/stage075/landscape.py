# SPDX-License-Identifier: Apache-2.0
"""The peer landscape of one stream: every codec family of the factory over its rates
(kakeyalattice.bench.landscape_codecs), measured per passage with a 95% CI, and for
each threshold the smallest-bits setting of each family that matches the stream's FP8
reference — "how many bits does each format need to match V4's FP8 storage?".

Thresholds are the Stage 0.75 ones (thresholds.THRESHOLDS): a setting meets threshold
tau when its rel-MSE over the reference codec's, per passage, is <= tau at the point
estimate (mean ratio) or CI-safe (mean + CI half-width). Among the settings of a family
that meet it, the one with the fewest bits is reported (int has several group sizes per
rate, so "smallest" is over all of them). nvfp4's static tensor scale is calibrated on
the stream's own vectors, all passages pooled (an offline calibration, as engines do).
"""
from __future__ import annotations

import pathlib

import numpy as np

from .._codec import compare
from ..bench.rd import landscape_codecs, shannon_db
from .stats import mean_ci
from .thresholds import THRESHOLDS, compression, q_min

# e8v2's encoder is a search (slow on the CPU today): the report measures it at these rates.
E8V2_RATES = (4.0, 5.0, 6.0, 7.0, 8.0)
# The V4 streams also get the quarter-bit rates around the FP8 crossover (5.5–6.5 b/c), so
# that the smallest usable e8v2 rate (e8v2_rate_min) is resolved to 0.25 b/c there.
E8V2_RATES_FINE = (4.0, 5.0, 5.5, 5.75, 6.0, 6.25, 6.5, 7.0, 8.0)


def stream_landscape(per_passage: list, reference: str, reference_params: dict | None = None,
                     e8v2_rates=E8V2_RATES) -> dict:
    """per_passage: list of (rows, dim) float32 arrays (one per passage); reference: the
    family whose rel-MSE is the yardstick (e.g. "v4_native"). Every row also carries its
    per-passage ratio to fp8_per64 (`ratio_to_fp8`) where the dim has that codec."""
    dim = int(per_passage[0].shape[1])
    calib = np.concatenate(per_passage)
    codecs = landscape_codecs(dim, calib, e8v2_rates=e8v2_rates)
    ref = [c for c in codecs if c.family == reference and all(c.params.get(k) == v for k, v in
                                                               (reference_params or {}).items())]
    if not ref:
        raise ValueError(f"reference = {reference!r} is not in the landscape at dim {dim}")
    rels = {c.name: np.array([compare(x, c.roundtrip(x))["rel_mse"] for x in per_passage]) for c in codecs}
    ref_rel = rels[ref[0].name]
    fp8_rel = next((rels[c.name] for c in codecs if c.family == "fp8_per64"), None)
    rows = []
    for c in codecs:
        rel = rels[c.name]
        ci = mean_ci(rel)
        rows.append({"codec": c.name, "family": c.family, "params": c.params, "bits_per_vector": c.bits_per_vector,
                     "bits_per_coord": c.bits_per_coord, "rel_mse": ci, "ratio_to_reference": mean_ci(rel / ref_rel),
                     "ratio_to_fp8": None if fp8_rel is None else mean_ci(rel / fp8_rel),
                     "db_from_shannon": shannon_db(ci["mean"], c.bits_per_coord) if ci["mean"] > 0 else None})
    needed = {}
    for name, tau in THRESHOLDS.items():
        needed[name] = {}
        for fam in dict.fromkeys(r["family"] for r in rows):
            entry = {}
            for mode in ("point", "ci_safe"):
                ok = [r for r in rows if r["family"] == fam and
                      (r["ratio_to_reference"]["mean"] + (r["ratio_to_reference"]["half_width"] or 0.0)
                       if mode == "ci_safe" else r["ratio_to_reference"]["mean"]) <= tau]
                best = min(ok, key=lambda r: (r["bits_per_vector"], r["rel_mse"]["mean"])) if ok else None
                entry[mode] = None if best is None else {"codec": best["codec"], "bits_per_vector": best["bits_per_vector"],
                                                         "bits_per_coord": best["bits_per_coord"]}
            needed[name][fam] = entry
    return {"dim": dim, "reference": ref[0].name, "rows": rows, "bits_needed": needed}


def e8v2_rate_min(land: dict, base: str = "fp8") -> dict:
    """Smallest usable e8v2 rate of one stream's landscape against a baseline ("fp8": the
    rows' ratio_to_fp8; "reference": the landscape's yardstick), per threshold, at the
    point estimate and CI-safe, with the rule of the E8 Q sweep (thresholds.q_min): a rate
    qualifies only if every larger measured rate also clears τ. Compression as in
    thresholds.compression (record bits, so a fractional rate is counted at its real size)."""
    key = "ratio_to_fp8" if base == "fp8" else "ratio_to_reference"
    rows = sorted((r for r in land["rows"] if r["family"] == "e8v2" and r[key] is not None),
                  key=lambda r: r["bits_per_vector"])
    if not rows:
        return {}
    bits = [r["bits_per_vector"] for r in rows]
    mean = [r[key]["mean"] for r in rows]
    hi = [r[key]["mean"] + (r[key]["half_width"] or 0.0) for r in rows]
    out = {}
    for name, tau in THRESHOLDS.items():
        sol = q_min(bits, mean, hi, tau)
        out[name] = {"tau": tau}
        for mode in ("point", "ci_safe"):
            b = sol[mode]
            out[name][mode] = None if b is None else {
                "codec": rows[bits.index(b)]["codec"], "bits_per_coord": rows[bits.index(b)]["bits_per_coord"],
                **compression(b, land["dim"])}
    return out


def landscape_markdown(title: str, lands: dict, label=lambda k: k) -> list[str]:
    """Per stream: the bits each family needs for each threshold (CI-safe), and the lowest
    rel-MSE setting at three budgets."""
    L = [title, ""]
    for k, land in lands.items():
        ref = land["reference"]
        L += [f"### {label(k)} (dim {land['dim']}; yardstick: {ref})\n",
              "Fewest bits/coord of each family whose rel-MSE, per passage, is at most τ × the yardstick's "
              "(CI-safe: mean ratio + 95% CI half-width ≤ τ; point estimate in brackets):\n",
              "| family | A (τ = 1.00) | B (τ = 1.05) | C (τ = 1.20) |", "|---|---|---|---|"]
        for fam in land["bits_needed"]["A"]:
            cells = []
            for name in THRESHOLDS:
                e = land["bits_needed"][name][fam]
                safe = "—" if e["ci_safe"] is None else f"{e['ci_safe']['bits_per_coord']:.3f} ({e['ci_safe']['codec']})"
                pt = "—" if e["point"] is None else f"{e['point']['bits_per_coord']:.3f}"
                cells.append(f"{safe} [{pt}]")
            L.append(f"| {fam} | " + " | ".join(cells) + " |")
        L += ["", "Lowest rel-MSE at or below a budget (mean ± 95% CI over passages; dB from the Gaussian "
                  "Shannon bound as a yardstick):\n",
              "| ≤ bits/coord | codec | rel-MSE | ratio to yardstick | dB from Shannon |", "|---|---|---|---|---|"]
        for budget in (4.5, 6.5, 8.25):
            ok = [r for r in land["rows"] if r["bits_per_coord"] <= budget + 1e-9]
            if not ok:
                continue
            r = min(ok, key=lambda r: r["rel_mse"]["mean"])
            db = "—" if r["db_from_shannon"] is None else f"{r['db_from_shannon']:+.2f}"
            L.append(f"| {budget} | {r['codec']} | {r['rel_mse']['mean']:.4g} ± {r['rel_mse']['half_width'] or 0:.2g} | "
                     f"{r['ratio_to_reference']['mean']:.3f} | {db} |")
        L.append("")
    return L


def landscape_figure(lands: dict, path, label=lambda k: k) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(lands)
    ncols = min(3, len(keys))
    nrows = -(-len(keys) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5 * ncols, 4 * nrows), squeeze=False, constrained_layout=True)
    for ax in axes.flat[len(keys):]:
        ax.set_visible(False)
    for ax, k in zip(axes.flat, keys):
        fams: dict = {}
        for r in lands[k]["rows"]:
            fams.setdefault(r["family"], []).append(r)
        for fam, rows in fams.items():
            rows = sorted(rows, key=lambda r: r["bits_per_coord"])
            xs = [r["bits_per_coord"] for r in rows]
            ys = [r["rel_mse"]["mean"] for r in rows]
            es = [r["rel_mse"]["half_width"] or 0.0 for r in rows]
            ax.errorbar(xs, ys, yerr=es, fmt="o-" if len(rows) > 1 else "s", ms=3, lw=1, label=fam)
        r = np.linspace(1, 16, 100)
        ax.plot(r, 2.0 ** (-2 * r), "k--", lw=0.8, label="Shannon (Gaussian)")
        ax.set_yscale("log")
        ax.set_ylim(1e-6, 1)
        ax.set_xlim(1, 17)
        ax.set_xlabel("bits per coordinate (all side bits)")
        ax.set_ylabel("rel-MSE (95% CI over passages)")
        ax.set_title(label(k))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, ncol=2)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return pathlib.Path(path).name
