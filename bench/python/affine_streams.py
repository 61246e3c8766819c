#!/usr/bin/env python3
"""What the per-channel affine pre-transform (kl.ChannelAffine) buys on the main job's
V4-Flash streams and on the real-KV streams (all-MiniLM-L6-v2), at equal bits.

    PYTHONPATH=build/python python3 bench/python/affine_streams.py \
        --json reports/<date>-affine_streams.json --md reports/<date>-affine_streams.md

Protocol: fit μ (and σ) per layer on passages 0..3, measure on passages 4..7. Per
evaluation passage: rel-MSE = Σ‖x − x̂‖² / Σ‖x − mean‖² (means per layer), then the
ratio to the same codec without the pre-transform; reported as mean ± 95% CI (Student t,
n = 4 passages) in dB (negative: the pre-transform lowers the error). Modes:
  plain       the codec on x
  mean        μ fitted on the vectors as cached (after RoPE)
  mean_rope   μ fitted before RoPE (the fit un-rotates; encode/decode rotate μ per row)
  scale_rope  mean_rope plus a per-channel σ (tied within rotated pairs)
Streams without RoPE (real keys and values) have mean and scale (= mean + σ) only.
"""
from __future__ import annotations

import argparse
import datetime
import json
import time

import numpy as np

import kakeyalattice as kl
from kakeyalattice.dsv4.config import V4FlashConfig
from kakeyalattice.dsv4.kv import STREAMS, compressor_inv_frequencies, layer_inv_frequencies
from kakeyalattice.dsv4.passages import PASSAGES
from kakeyalattice.dsv4.rope import inv_frequencies
from kakeyalattice.machine import cpu_model
from kakeyalattice.stage075.stats import mean_ci

CODECS = {"e8v2_b4": ("e8v2", {"bits": 4.0}), "e8v2_b5": ("e8v2", {"bits": 5.0}),
          "e8v2_b5.75": ("e8v2", {"bits": 5.75}), "e8_q38": ("e8", {"q": 38}),
          "lloydmax5": ("lloydmax", {"bits": 5})}


def v4_streams(n_tokens: int):
    """{stream: {"passages": [rows], "layers": [labels], "pos": [positions], "inv": inv_freq,
    "pairs": pairs}} for the V4 main job (synthetic weights; one layer per kind)."""
    from kakeyalattice.stage075.driver import build_inputs

    cfg = V4FlashConfig()
    passages, setting = build_inputs(cfg, 8, n_tokens, show=False)
    out = {}
    for sp in STREAMS:
        rows = [p["pre"][sp.name] for p in passages]
        n = rows[0].shape[0]
        if sp.path == "window":
            start = 0 if sp.tokens == "all" else max(n_tokens - cfg.window, 0)
            pos, inv = np.arange(start, start + n), layer_inv_frequencies(sp.kind, cfg)
        else:
            ratio = cfg.csa_ratio if sp.kind == "csa" else cfg.hca_ratio
            pos, inv = np.arange(n) * ratio, compressor_inv_frequencies(cfg)
        out[sp.label] = {"passages": rows, "layers": [np.zeros(n, np.int64)] * 8, "pos": [pos] * 8, "inv": inv,
                         "pairs": kl.rope_pairs(cfg.head_dim, rope_dims=cfg.rope_dims)}
    return out, setting["weights"]


def realkv_streams(n_tokens: int, window: int = 512):
    from kakeyalattice import realkv

    model = realkv.MiniLM(None)
    per = [realkv.passage_streams(model, PASSAGES[s], n_tokens, window) for s in list(PASSAGES)[:8]]
    lab, pos = [], []
    for w0 in range(0, n_tokens, window):  # passage_streams' row order: window, layer, token
        c = min(window, n_tokens - w0)
        for layer in range(model.layers):
            lab += [layer] * c
            pos += list(range(w0, w0 + c))
    lab, pos = np.array(lab), np.array(pos)
    out = {}
    for k in realkv.STREAMS:
        rope = k.endswith("_rope")
        out[k] = {"passages": [p[k] for p in per], "layers": [lab] * 8, "pos": [pos] * 8,
                  "inv": inv_frequencies(model.head_dim, 10000.0) if rope else None,
                  "pairs": kl.rope_pairs(model.hidden, heads=model.heads) if rope else None}
    return out


def modes_of(s: dict) -> list[str]:
    return ["plain", "mean", "mean_rope", "scale_rope"] if s["pairs"] is not None else ["plain", "mean", "scale"]


def measure(s: dict, codecs: dict, stride: int) -> dict:
    """rel-MSE per (codec, mode) per evaluation passage."""
    layers = np.unique(s["layers"][0])
    res = {name: {m: [] for m in modes_of(s)} for name in codecs}
    fits = {}
    for layer in layers:
        cal = [s["passages"][i][s["layers"][i] == layer] for i in range(4)]
        x = np.concatenate(cal)
        fits[layer] = {"mean": kl.ChannelAffine.fit(x), "scale": kl.ChannelAffine.fit(x, scale=True)}
        if s["pairs"] is not None:
            cs = [kl.rope_cos_sin(s["pos"][i][s["layers"][i] == layer], s["inv"]) for i in range(4)]
            c, sn = np.concatenate([a for a, _ in cs]), np.concatenate([b for _, b in cs])
            fits[layer]["mean_rope"] = kl.ChannelAffine.fit(x, pairs=s["pairs"], cos=c, sin=sn)
            fits[layer]["scale_rope"] = kl.ChannelAffine.fit(x, scale=True, pairs=s["pairs"], cos=c, sin=sn)
    for i in range(4, 8):
        for name, codec in codecs.items():
            err = {m: 0.0 for m in modes_of(s)}
            energy = 0.0
            for layer in layers:
                sel = np.flatnonzero(s["layers"][i] == layer)[::stride]
                x = s["passages"][i][sel]
                energy += float(((x.astype(np.float64) - x.mean(0)) ** 2).sum())
                cos = sin = None
                if s["pairs"] is not None:
                    cos, sin = kl.rope_cos_sin(s["pos"][i][sel], s["inv"])
                for m in modes_of(s):
                    if m == "plain":
                        xh = codec.roundtrip(x)
                    else:
                        ac = kl.AffineCodec(codec, fits[layer][m])
                        xh = ac.roundtrip(x, cos, sin) if m.endswith("_rope") else ac.roundtrip(x)
                    err[m] += float(((xh.astype(np.float64) - x) ** 2).sum())
            for m in err:
                res[name][m].append(err[m] / energy)
    return res


def summarise(res: dict) -> dict:
    out = {}
    for name, modes in res.items():
        plain = np.array(modes["plain"])
        out[name] = {m: {"rel_mse": float(np.mean(v)),
                         "db_vs_plain": mean_ci(10 * np.log10(np.array(v) / plain)) if m != "plain" else None}
                     for m, v in modes.items()}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=1024)
    ap.add_argument("--stride", type=int, default=2, help="measure every stride-th vector of a layer")
    ap.add_argument("--json", default=None)
    ap.add_argument("--md", default=None)
    args = ap.parse_args()
    t0 = time.time()
    codecs = {}
    groups = {}
    real = realkv_streams(args.tokens)
    v4, weights = v4_streams(args.tokens)
    for title, streams in (("V4-Flash main job (" + weights + ")", v4), ("Real KV (all-MiniLM-L6-v2)", real)):
        dim = streams[next(iter(streams))]["passages"][0].shape[1]
        codecs = {n: kl.codec(f, dim, **p) for n, (f, p) in CODECS.items()}
        groups[title] = {k: summarise(measure(s, codecs, args.stride)) for k, s in streams.items()}
        groups[title]["_bits"] = {n: c.bits_per_vector for n, c in codecs.items()}
        print(title, "done", round(time.time() - t0), "s", flush=True)
    meta = {"command": "PYTHONPATH=build/python python3 bench/python/affine_streams.py "
                       f"--tokens {args.tokens} --stride {args.stride}",
            "cpu": cpu_model(), "date": datetime.date.today().isoformat(), "seconds": round(time.time() - t0)}
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "groups": groups}, f, indent=1, default=float)
    lines = [f"Command: `{meta['command']}` ({meta['cpu']}, {meta['date']}, {meta['seconds']} s).", ""]
    for title, g in groups.items():
        lines += [f"### {title}", "", "dB change of rel-MSE vs the same codec without the pre-transform "
                  "(mean ± 95% CI over passages 4-7; plain rel-MSE in brackets).", ""]
        bits = g["_bits"]
        names = list(CODECS)
        lines += ["| stream | mode | " + " | ".join(f"{n} ({bits[n]} b)" for n in names) + " |",
                  "|---|---|" + "---|" * len(names)]
        for k, per in g.items():
            if k == "_bits":
                continue
            for m in per[names[0]]:
                if m == "plain":
                    cells = [f"[{per[n]['plain']['rel_mse']:.3g}]" for n in names]
                else:
                    cells = [f"{per[n][m]['db_vs_plain']['mean']:+.2f} ± {per[n][m]['db_vs_plain']['half_width']:.2f}"
                             for n in names]
                lines.append(f"| {k} | {m} | " + " | ".join(cells) + " |")
        lines.append("")
    text = "\n".join(lines)
    print(text)
    if args.md:
        with open(args.md, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
