# SPDX-License-Identifier: Apache-2.0
"""The Stage 0.75 drivers: build the three V4-Flash KV streams for n passages, audit
them, sweep every Q of the lattice codecs against the FP8 baselines, and solve for the
largest usable compression. All encode/decode/metric work runs in the C++ core."""
from __future__ import annotations

import datetime
import os
import platform
import sys
import time

import numpy as np

from .. import BF16Codec, Codec, FP8Per64Codec, V4NativeCodec, __version__, compare
from ..dsv4 import V4FlashConfig
from ..dsv4.host import load_host
from ..dsv4.kv import STREAMS, kv_streams
from ..dsv4.passages import PASSAGES
from ..dsv4.weights import ShardIndex, load_layer_weights, random_layer_weights
from .progress import Progress
from .stats import audit, mean_ci
from .thresholds import THRESHOLDS, compression, q_min

SCHEMA = "kakeyalattice.stage075/1"

# DESIGN.md §5: the seed's published Stage 0.75 result (trained weights, Qwen2-0.5B host).
PUBLISHED = {
    "source": "seed project, Stage 0.75 (trained V4-Flash weights, Qwen2-0.5B host, 2x H200)",
    "e8_q38_over_fp8": {"sliding_window_kv": [0.790, 0.005], "csa_pool_kv_ratio4": [0.900, 0.006],
                        "hca_pool_kv_ratio128": [1.043, 0.051]},
    "max_usable_cr_vs_fp8": 1.27, "max_usable_cr_vs_bf16": 2.46,
    "q": {"sliding_window_kv": 38, "csa_pool_kv_ratio4": 38, "hca_pool_kv_ratio128": 44},
}


def machine_info() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": sys.version.split()[0],
            "platform": platform.platform()}


def build_inputs(cfg: V4FlashConfig, n_passages: int, n_tokens: int, host_model=None,
                 v4_weights=None, seed: int = 0, show: bool = True):
    if not 1 <= n_passages <= len(PASSAGES):
        raise ValueError(f"passages = {n_passages} must be in [1, {len(PASSAGES)}]")
    if n_tokens < cfg.hca_ratio:
        raise ValueError(f"tokens = {n_tokens} must be >= {cfg.hca_ratio} (one HCA group)")
    host = load_host(host_model)
    if v4_weights:
        idx = ShardIndex(v4_weights)
        layers = {k: load_layer_weights(v4_weights, getattr(cfg, f"{k}_layer"), k, cfg, idx)
                  for k in ("swa", "csa", "hca")}
        weights_desc, weights_synth = f"trained V4-Flash shards from {v4_weights}", False
    else:
        layers = {k: random_layer_weights(cfg, k, seed + i) for i, k in enumerate(("swa", "csa", "hca"))}
        weights_desc = f"SYNTHETIC: seeded random V4 projections (Stage 0.5 style, seed {seed})"
        weights_synth = True
    subjects = list(PASSAGES)[:n_passages]
    passages = []
    prog = Progress(n_passages, "KV streams", show)
    for i, subj in enumerate(subjects):
        ids, uniq, text_len = host.token_ids(PASSAGES[subj], n_tokens)
        h = host.hidden_states(ids, cfg.hidden, seed=1234)
        s = kv_streams(h, layers, cfg)
        passages.append({"subject": subj, "unique_tokens": uniq, "text_tokens": text_len, "pre": s.pre,
                         "post": s.post})
        prog.step(note=subj)
    setting = {
        "host": host.name, "host_synthetic": host.synthetic,
        "weights": weights_desc, "weights_synthetic": weights_synth,
        "layers": {"sliding_window_kv": cfg.swa_layer, "csa_pool_kv_ratio4": cfg.csa_layer,
                   "hca_pool_kv_ratio128": cfg.hca_layer},
        "layer_counts": {"sliding_window_kv": cfg.n_swa_layers, "csa_pool_kv_ratio4": cfg.n_csa_layers,
                         "hca_pool_kv_ratio128": cfg.n_hca_layers},
        "tokens_per_passage": n_tokens, "passages": subjects,
        "unique_tokens": {p["subject"]: p["unique_tokens"] for p in passages},
        "text_tokens": {p["subject"]: p["text_tokens"] for p in passages},
        "vectors_per_passage": {k: int(passages[0]["pre"][k].shape[0]) for k in STREAMS},
        "config": cfg.to_dict(),
    }
    return passages, setting


def run_audit(passages, replicates: int = 40) -> dict:
    out = {}
    for k in STREAMS:
        pre = np.concatenate([p["pre"][k] for p in passages])
        out[k] = audit(pre, replicates=replicates, seed=17)
    return out


def _metric(x, codec):
    s = compare(x, codec.roundtrip(x))
    return s["rel_mse"], s["mean_cosine"]


def run_sweep(passages, qs, lattices, cfg: V4FlashConfig, show: bool = True) -> dict:
    d = cfg.head_dim
    base_codecs = {"fp8_per64": FP8Per64Codec(d), "v4_native": V4NativeCodec(d, cfg.rope_dims),
                   "bf16": BF16Codec(d)}
    refs = ("pre", "post")
    baselines = {k: {r: {} for r in refs} for k in STREAMS}
    per_passage_fp8 = {k: {r: [] for r in refs} for k in STREAMS}
    per_passage_v4 = {k: [] for k in STREAMS}
    for k in STREAMS:
        for r in refs:
            for name, c in base_codecs.items():
                if r == "post" and name == "v4_native":
                    continue  # V4's own step applied twice is idempotent on its FP8 dims
                vals = [_metric(p[r][k], c) for p in passages]
                rel = [v[0] for v in vals]
                baselines[k][r][name] = {"bits": c.bits_per_vector, "rel_mse": mean_ci(rel),
                                         "cosine": mean_ci([v[1] for v in vals]), "per_passage_rel_mse": rel}
                if name == "fp8_per64":
                    per_passage_fp8[k][r] = np.array(rel)
                if name == "v4_native":
                    per_passage_v4[k] = np.array(rel)
    sweep = {k: {r: {} for r in refs} for k in STREAMS}
    prog = Progress(len(lattices) * len(qs), "Q sweep", show)
    for lat in lattices:
        rows = {k: {r: {"q": [], "bits": [], "rel_mse": [], "rel_mse_hw": [], "cosine": [],
                        "ratio_fp8": [], "ratio_fp8_hw": [], "ratio_v4_native": [], "ratio_v4_native_hw": []}
                    for r in refs} for k in STREAMS}
        for q in qs:
            codec = Codec(d, q, lat)
            for k in STREAMS:
                for r in refs:
                    vals = [_metric(p[r][k], codec) for p in passages]
                    rel = np.array([v[0] for v in vals])
                    row = rows[k][r]
                    ci = mean_ci(rel)
                    rf = mean_ci(rel / per_passage_fp8[k][r])
                    row["q"].append(q)
                    row["bits"].append(codec.bits_per_vector)
                    row["rel_mse"].append(ci["mean"])
                    row["rel_mse_hw"].append(ci["half_width"])
                    row["cosine"].append(float(np.mean([v[1] for v in vals])))
                    row["ratio_fp8"].append(rf["mean"])
                    row["ratio_fp8_hw"].append(rf["half_width"])
                    if r == "pre":
                        rv = mean_ci(rel / per_passage_v4[k])
                        row["ratio_v4_native"].append(rv["mean"])
                        row["ratio_v4_native_hw"].append(rv["half_width"])
            prog.step(note=f"{lat} q={q}")
        for k in STREAMS:
            for r in refs:
                sweep[k][r][lat] = rows[k][r]
    return {"baselines": baselines, "sweep": sweep}


def run_attention_metric(passages, cfg: V4FlashConfig, q_values=(32, 38, 44), n_queries: int = 16,
                         seed: int = 5) -> dict:
    """Attention-level metric beside rel-MSE: one decode step of a V4-style layer (the
    stream's pre-FP8 KV as one shared K=V latent) with compressed vs bf16 KV. Queries are
    synthetic (iid N(0, 4): logits with std about 2); the port has no query projection."""
    from ..attention import attention_quality

    d = cfg.head_dim
    codecs = {"fp8_per64": FP8Per64Codec(d), "v4_native": V4NativeCodec(d, cfg.rope_dims)}
    codecs.update({f"e8_q{q}": Codec(d, q) for q in q_values})
    rng = np.random.default_rng(seed)
    out = {"queries": f"synthetic iid N(0, 4), {n_queries} query heads, softmax scale 1/sqrt({d})", "streams": {}}
    for k in STREAMS:
        per = {name: {"output_rel_error": [], "softmax_kl_mean": []} for name in codecs}
        for p in passages:
            kv = p["pre"][k][None, :, None, :]
            q = rng.standard_normal((1, n_queries, d)) * 2.0
            for name, c in codecs.items():
                r = attention_quality(q, kv, None, c, None)
                per[name]["output_rel_error"].append(r["output_rel_error"])
                per[name]["softmax_kl_mean"].append(r["softmax_kl_mean"])
        out["streams"][k] = {name: {m: mean_ci(v) for m, v in d_.items()} | {"bits": codecs[name].bits_per_vector}
                             for name, d_ in per.items()}
    return out


def solve(sweep: dict, cfg: V4FlashConfig, layer_counts: dict) -> tuple[dict, dict]:
    """Q_min per stream/reference/baseline/threshold, and the layer-weighted strategies."""
    qmins = {}
    for k, by_ref in sweep.items():
        qmins[k] = {}
        for r, by_lat in by_ref.items():
            e8 = by_lat.get("e8")
            if e8 is None:
                continue
            qmins[k][r] = {}
            for base in ("fp8", "v4_native"):
                m = e8[f"ratio_{base}"]
                if not m:
                    continue
                hi = [a + b for a, b in zip(m, e8[f"ratio_{base}_hw"])]
                qmins[k][r][base] = {}
                for name, tau in THRESHOLDS.items():
                    sol = q_min(e8["q"], m, hi, tau)
                    entry = {"tau": tau}
                    for mode in ("point", "ci_safe"):
                        q = sol[mode]
                        if q is None:
                            entry[mode] = None
                        else:
                            bits = e8["bits"][e8["q"].index(q)]
                            entry[mode] = {"q": q, **compression(bits, cfg.head_dim)}
                    qmins[k][r][base][name] = entry
    strategies = {}
    n = layer_counts
    total = sum(n.values())
    for base in ("fp8", "v4_native"):
        strategies[base] = {}
        for name in THRESHOLDS:
            strategies[base][name] = {}
            for mode in ("point", "ci_safe"):
                picks = {k: (qmins[k].get("pre", {}).get(base, {}).get(name, {}) or {}).get(mode) for k in sweep}
                if any(v is None for v in picks.values()):
                    strategies[base][name][mode] = None
                    continue
                q_all = max(v["q"] for v in picks.values())
                weighted = sum(n[k] * picks[k]["bits"] for k in sweep) / total
                strategies[base][name][mode] = {
                    "uniform": {"q": q_all, **compression(Codec(cfg.head_dim, q_all).bits_per_vector, cfg.head_dim)},
                    "per_stream": {"q": {k: v["q"] for k, v in picks.items()}, "mean_bits": weighted,
                                   **{k: v for k, v in compression(weighted, cfg.head_dim).items() if k != "bits"}},
                }
    return qmins, strategies


def run_stage075(cfg: V4FlashConfig | None = None, n_passages: int = 8, n_tokens: int = 2048,
                 q_lo: int = 1, q_hi: int = 80, lattices=("e8", "d4", "z"), host_model=None,
                 v4_weights=None, seed: int = 0, do_audit: bool = True, do_sweep: bool = True,
                 show: bool = True, command: str = "") -> dict:
    cfg = cfg or V4FlashConfig()
    if not 1 <= q_lo <= q_hi <= 127:
        raise ValueError(f"Q range {q_lo}..{q_hi} must satisfy 1 <= q_lo <= q_hi <= 127")
    t0 = time.time()
    passages, setting = build_inputs(cfg, n_passages, n_tokens, host_model, v4_weights, seed, show)
    t_inputs = time.time() - t0
    result = {"schema": SCHEMA, "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "command": command, "library_version": __version__, "machine": machine_info(),
              "setting": setting, "published_reference": PUBLISHED}
    if do_audit:
        result["audit"] = run_audit(passages)
    if do_sweep:
        res = run_sweep(passages, list(range(q_lo, q_hi + 1)), list(lattices), cfg, show)
        result.update(res)
        qmins, strategies = solve(res["sweep"], cfg, setting["layer_counts"])
        result["q_min"] = qmins
        result["strategies"] = strategies
        result["attention"] = run_attention_metric(passages, cfg)
    result["timing_s"] = {"inputs": round(t_inputs, 2), "total": round(time.time() - t0, 2)}
    return result
