# SPDX-License-Identifier: Apache-2.0
"""The Stage 0.75 drivers: build the V4-Flash KV streams (kv.STREAMS: the window KV of
each layer kind and the two compressors' pooled KV) for n passages, audit them, sweep
every Q of the lattice codecs against the FP8 baselines, and solve for the largest usable
compression. All encode/decode/metric work runs in the C++ core."""
from __future__ import annotations

import datetime
import pathlib
import time

import numpy as np

from .. import BF16Codec, Codec, FP8Per64Codec, V4NativeCodec, __version__, codec, compare
from ..dsv4 import V4FlashConfig
from ..dsv4.config import LAYER_KINDS, config_from_json
from ..dsv4.host import load_host
from ..dsv4.kv import STREAMS, kv_streams
from ..dsv4.passages import PASSAGES
from ..dsv4.weights import ShardIndex, load_layer_weights, random_layer_weights
from ..machine import machine_info
from .landscape import E8V2_RATES_FINE, e8v2_rate_min, stream_landscape
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

BUILTIN_CONFIG = "built-in V4-Flash constants; compress_ratios as in DeepSeek-V4-Flash's config.json"


def resolve_config(cfg: V4FlashConfig | None, v4_config=None, v4_weights=None) -> tuple[V4FlashConfig, str]:
    """The configuration and where it came from: an explicit config.json, else the one
    beside the weights, else `cfg` (built-in constants when None)."""
    if v4_config:
        return config_from_json(v4_config, cfg), f"{v4_config}"
    if v4_weights and (pathlib.Path(v4_weights) / "config.json").exists():
        path = pathlib.Path(v4_weights) / "config.json"
        return config_from_json(path, cfg), f"{path}"
    return cfg or V4FlashConfig(), BUILTIN_CONFIG


def v4_record_info(cfg: V4FlashConfig) -> dict:
    """The library's v4_native record against V4's own (FlashMLA MODEL1_FP8Sparse): E4M3
    on the non-RoPE dims, one UE8M0 byte per 64 of them, one pad byte, bf16 RoPE dims
    (584 bytes at head_dim 512)."""
    c = V4NativeCodec(cfg.head_dim, cfg.rope_dims)
    nope = cfg.head_dim - cfg.rope_dims
    v4_bytes = nope + nope // 64 + 1 + 2 * cfg.rope_dims
    return {"bits": c.bits_per_vector, "bytes": c.code_bytes, "v4_record_bytes": v4_bytes,
            "is_v4_record": c.code_bytes == v4_bytes}


def build_inputs(cfg: V4FlashConfig, n_passages: int, n_tokens: int, host_model=None,
                 v4_weights=None, seed: int = 0, show: bool = True, config_source: str = BUILTIN_CONFIG,
                 streams=STREAMS):
    if not 1 <= n_passages <= len(PASSAGES):
        raise ValueError(f"passages = {n_passages} must be in [1, {len(PASSAGES)}]")
    if n_tokens < cfg.hca_ratio:
        raise ValueError(f"tokens = {n_tokens} must be >= {cfg.hca_ratio} (one HCA group)")
    pattern = cfg.layer_pattern()
    rep = {k: pattern[k][0] for k in LAYER_KINDS}  # the first layer of each kind represents it
    host = load_host(host_model)
    if v4_weights:
        idx = ShardIndex(v4_weights)
        layers = {k: load_layer_weights(v4_weights, rep[k], k, cfg, idx) for k in LAYER_KINDS}
        weights_desc, weights_synth = f"trained V4-Flash shards from {v4_weights}", False
    else:
        layers = {k: random_layer_weights(cfg, k, seed + i) for i, k in enumerate(LAYER_KINDS)}
        weights_desc = (f"SYNTHETIC: seeded random V4 projections (Stage 0.5 style, seed {seed}), "
                        "unit norm weights (attn_norm, kv_norm, compressor norm)")
        weights_synth = True
    subjects = list(PASSAGES)[:n_passages]
    passages = []
    prog = Progress(n_passages, "KV streams", show)
    for subj in subjects:
        ids, uniq, text_len = host.token_ids(PASSAGES[subj], n_tokens)
        h = host.hidden_states(ids, cfg.hidden, seed=1234)
        s = kv_streams(h, layers, cfg, streams)
        passages.append({"subject": subj, "unique_tokens": uniq, "text_tokens": text_len, "pre": s.pre,
                         "post": s.post})
        prog.step(note=subj)
    names = [sp.name for sp in streams]
    counts = {k: len(v) for k, v in pattern.items()}
    setting = {
        "host": host.name, "host_synthetic": host.synthetic,
        "weights": weights_desc, "weights_synthetic": weights_synth,
        "layer_pattern": {"source": config_source, "compress_ratios": list(cfg.compress_ratios),
                          "n_layers": cfg.n_layers, "ignored_entries": len(cfg.compress_ratios) - cfg.n_layers,
                          "layers": pattern, "counts": counts},
        "streams": {sp.name: {**sp.describe(cfg), "layer": rep[sp.kind], "layer_count": counts[sp.kind],
                              "vectors_per_passage": int(passages[0]["pre"][sp.name].shape[0])}
                    for sp in streams},
        "layers": {sp.name: rep[sp.kind] for sp in streams},
        "layer_counts": {sp.name: counts[sp.kind] for sp in streams},
        "v4_record": v4_record_info(cfg),
        "tokens_per_passage": n_tokens, "passages": subjects,
        "unique_tokens": {p["subject"]: p["unique_tokens"] for p in passages},
        "text_tokens": {p["subject"]: p["text_tokens"] for p in passages},
        "vectors_per_passage": {k: int(passages[0]["pre"][k].shape[0]) for k in names},
        "config": cfg.to_dict(),
    }
    return passages, setting


def stream_names(passages) -> list[str]:
    return list(passages[0]["pre"])


def run_audit(passages, replicates: int = 40) -> dict:
    out = {}
    for k in stream_names(passages):
        pre = np.concatenate([p["pre"][k] for p in passages])
        out[k] = audit(pre, replicates=replicates, seed=17)
    return out


def _metric(x, codec):
    s = compare(x, codec.roundtrip(x))
    return s["rel_mse"], s["mean_cosine"]


def run_sweep(passages, qs, lattices, cfg: V4FlashConfig, show: bool = True) -> dict:
    d = cfg.head_dim
    streams = stream_names(passages)
    base_codecs = {"fp8_per64": FP8Per64Codec(d), "v4_native": V4NativeCodec(d, cfg.rope_dims),
                   "bf16": BF16Codec(d)}
    refs = ("pre", "post")
    baselines = {k: {r: {} for r in refs} for k in streams}
    per_passage_fp8 = {k: {r: [] for r in refs} for k in streams}
    per_passage_v4 = {k: [] for k in streams}
    for k in streams:
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
    sweep = {k: {r: {} for r in refs} for k in streams}
    prog = Progress(len(lattices) * len(qs), "Q sweep", show)
    for lat in lattices:
        rows = {k: {r: {"q": [], "bits": [], "rel_mse": [], "rel_mse_hw": [], "cosine": [],
                        "ratio_fp8": [], "ratio_fp8_hw": [], "ratio_v4_native": [], "ratio_v4_native_hw": []}
                    for r in refs} for k in streams}
        for q in qs:
            codec = Codec(d, q, lat)
            for k in streams:
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
        for k in streams:
            for r in refs:
                sweep[k][r][lat] = rows[k][r]
    return {"baselines": baselines, "sweep": sweep}


def run_attention_metric(passages, cfg: V4FlashConfig, q_values=(32, 38, 44), n_queries: int = 16,
                         seed: int = 5, e8v2_rates=(5.75, 6.0)) -> dict:
    """Attention-level metric beside rel-MSE: one decode step of a V4-style layer (the
    stream's pre-FP8 KV as one shared K=V latent) with compressed vs bf16 KV. Queries are
    synthetic (iid N(0, 4): logits with std about 2); the port has no query projection."""
    from ..attention import attention_quality

    d = cfg.head_dim
    codecs = {"fp8_per64": FP8Per64Codec(d), "v4_native": V4NativeCodec(d, cfg.rope_dims)}
    codecs.update({f"e8_q{q}": Codec(d, q) for q in q_values})
    codecs.update({f"e8v2_b{b:g}": codec("e8v2", d, bits=b) for b in e8v2_rates})
    rng = np.random.default_rng(seed)
    out = {"queries": f"synthetic iid N(0, 4), {n_queries} query heads, softmax scale 1/sqrt({d})", "streams": {}}
    for k in stream_names(passages):
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


def run_landscape(passages, cfg: V4FlashConfig) -> dict:
    """The peer landscape of every V4 stream (pre-FP8 KV), yardstick V4's own record; e8v2
    at quarter-bit rates around the FP8 crossover (E8V2_RATES_FINE)."""
    return {k: stream_landscape([p["pre"][k] for p in passages], "v4_native", {"rope_dims": cfg.rope_dims},
                                e8v2_rates=E8V2_RATES_FINE)
            for k in stream_names(passages)}


def solve_e8v2(landscape: dict, layer_counts: dict) -> dict:
    """Format v2 (e8v2) counterpart of solve(): per stream, baseline and threshold the
    smallest usable rate (landscape.e8v2_rate_min), and the layer-weighted strategies
    (uniform: the largest per-stream rate for every layer; per_stream: each its own)."""
    per = {k: {base: e8v2_rate_min(land, base) for base in ("fp8", "reference")} for k, land in landscape.items()}
    dim = next(iter(landscape.values()))["dim"]
    total = sum(layer_counts[k] for k in landscape)
    strategies = {}
    for base in ("fp8", "reference"):
        strategies[base] = {}
        for name in THRESHOLDS:
            strategies[base][name] = {}
            for mode in ("point", "ci_safe"):
                picks = {k: (per[k][base].get(name) or {}).get(mode) for k in landscape}
                if any(v is None for v in picks.values()):
                    strategies[base][name][mode] = None
                    continue
                top = max(picks.values(), key=lambda v: v["bits"])
                weighted = sum(layer_counts[k] * picks[k]["bits"] for k in landscape) / total
                strategies[base][name][mode] = {
                    "uniform": {"codec": top["codec"], **compression(top["bits"], dim)},
                    "per_stream": {"codec": {k: v["codec"] for k, v in picks.items()}, "mean_bits": weighted,
                                   **{k: v for k, v in compression(weighted, dim).items() if k != "bits"}}}
    return {"rate_min": per, "strategies": strategies}


def run_realkv(n_passages: int, n_tokens: int, qs, show: bool = True, model_dir=None) -> dict:
    """Real trained KV (all-MiniLM-L6-v2, a different model from V4): audit, peer landscape,
    E8 Q sweep against fp8_per64 and the attention-level metric on its three streams."""
    from .. import realkv
    from ..attention import attention_quality

    model = realkv.MiniLM(model_dir)
    subjects = list(PASSAGES)[:n_passages]
    prog = Progress(n_passages, "real KV", show)
    per = []
    for subj in subjects:
        per.append(realkv.passage_streams(model, PASSAGES[subj], n_tokens))
        prog.step(note=subj)
    names = list(realkv.STREAMS)
    out = {"model": realkv.MODEL_NAME, "tokens_per_passage": n_tokens, "passages": subjects,
           "vectors_per_passage": {k: int(per[0][k].shape[0]) for k in names},
           # the audit on every 4th vector: its Gaussian control (40 replicates of the same
           # size) is the costly part, and 1/4 of the vectors still gives thousands
           "audit": {k: audit(np.concatenate([p[k] for p in per])[::4], replicates=40, seed=23) for k in names},
           # every 4th vector keeps the landscape's encode cost (e8v2's search) in budget
           "landscape": {k: stream_landscape([p[k][::4] for p in per], "fp8_per64") for k in names}}
    dim = int(per[0][names[0]].shape[1])
    fp8 = FP8Per64Codec(dim)
    sweep, qmins = {}, {}
    for k in names:
        ref = np.array([_metric(p[k], fp8)[0] for p in per])
        row = {"q": [], "bits": [], "rel_mse": [], "ratio_fp8": [], "ratio_fp8_hw": []}
        for q in qs:
            c = Codec(dim, q)
            rel = np.array([_metric(p[k], c)[0] for p in per])
            rf = mean_ci(rel / ref)
            row["q"].append(q)
            row["bits"].append(c.bits_per_vector)
            row["rel_mse"].append(float(rel.mean()))
            row["ratio_fp8"].append(rf["mean"])
            row["ratio_fp8_hw"].append(rf["half_width"])
        sweep[k] = row
        hi = [a + (b or 0.0) for a, b in zip(row["ratio_fp8"], row["ratio_fp8_hw"])]
        qmins[k] = {}
        for name, tau in THRESHOLDS.items():
            sol = q_min(row["q"], row["ratio_fp8"], hi, tau)
            qmins[k][name] = {mode: None if sol[mode] is None else
                              {"q": sol[mode], **compression(row["bits"][row["q"].index(sol[mode])], dim)}
                              for mode in ("point", "ci_safe")}
    out["sweep"], out["q_min"] = sweep, qmins
    # attention: K = the RoPE'd keys, V = the values of each passage as one 384-d head
    rng = np.random.default_rng(29)
    codecs = {"fp8_per64": fp8, "e8_q38": Codec(dim, 38), "e8_q24": Codec(dim, 24),
              "lloydmax6": codec("lloydmax", dim, bits=6), "int8_g64": codec("int", dim, bits=8, group=64)}
    att = {name: {"output_rel_error": [], "softmax_kl_mean": []} for name in codecs}
    for p in per:
        kk = p["realkv_keys_rope"][None, :, None, :]
        vv = p["realkv_values"][None, :, None, :]
        qq = rng.standard_normal((1, 16, dim)) * 2.0
        for name, c in codecs.items():
            r = attention_quality(qq, kk, vv, c, c)
            att[name]["output_rel_error"].append(r["output_rel_error"])
            att[name]["softmax_kl_mean"].append(r["softmax_kl_mean"])
    out["attention"] = {"queries": "synthetic iid N(0, 4), 16 query heads over one 384-d head (K = RoPE'd keys, "
                                   f"V = values, all layers' tokens of a passage), softmax scale 1/sqrt({dim})",
                        "codecs": {name: {m: mean_ci(v) for m, v in d_.items()} | {"bits": codecs[name].bits_per_vector}
                                   for name, d_ in att.items()}}
    return out


def solve(sweep: dict, cfg: V4FlashConfig, layer_counts: dict) -> tuple[dict, dict]:
    """Q_min per stream/reference/baseline/threshold, and the layer-weighted strategies
    (layer_counts: {stream: number of layers that hold it})."""
    missing = [k for k in sweep if k not in layer_counts]
    if missing:
        raise ValueError(f"layer_counts has no entry for streams {missing}")
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
    # Layer-weighted: a stream counts once per layer that holds it (every layer has a
    # window cache; CSA and HCA layers a pooled cache too), so
    # mean bits = sum_k n_k·bits_k / sum_k n_k over the streams k.
    strategies = {}
    n = layer_counts
    total = sum(n[k] for k in sweep)
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
                 show: bool = True, command: str = "", v4_config=None, realkv_tokens: int = 512) -> dict:
    """One Stage 0.75 run. The configuration (layer pattern included) is read from
    `v4_config`, else from config.json beside `v4_weights`, else `cfg` or the built-in
    V4-Flash constants; the report says which."""
    if not 1 <= q_lo <= q_hi <= 127:
        raise ValueError(f"Q range {q_lo}..{q_hi} must satisfy 1 <= q_lo <= q_hi <= 127")
    cfg, source = resolve_config(cfg, v4_config, v4_weights)
    t0, c0 = time.time(), time.process_time()
    timing = {}

    def lap(name, since):
        timing[name] = round(time.time() - since, 2)
        return time.time()

    passages, setting = build_inputs(cfg, n_passages, n_tokens, host_model, v4_weights, seed, show, source)
    t = lap("inputs", t0)
    result = {"schema": SCHEMA, "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "command": command, "library_version": __version__, "machine": machine_info(),
              "setting": setting, "published_reference": PUBLISHED}
    if do_audit:
        result["audit"] = run_audit(passages)
        t = lap("audit", t)
    if do_sweep:
        res = run_sweep(passages, list(range(q_lo, q_hi + 1)), list(lattices), cfg, show)
        result.update(res)
        qmins, strategies = solve(res["sweep"], cfg, setting["layer_counts"])
        result["q_min"] = qmins
        result["strategies"] = strategies
        t = lap("sweep", t)
        result["attention"] = run_attention_metric(passages, cfg)
        t = lap("attention", t)
        result["landscape"] = run_landscape(passages, cfg)
        result["e8v2"] = solve_e8v2(result["landscape"], setting["layer_counts"])
        t = lap("landscape", t)
        if realkv_tokens > 0:
            result["realkv"] = run_realkv(n_passages, realkv_tokens, list(range(q_lo, q_hi + 1)), show)
            t = lap("realkv", t)
    timing["total"] = round(time.time() - t0, 2)
    timing["cpu"] = round(time.process_time() - c0, 2)  # all threads: tells a loaded machine apart
    result["timing_s"] = timing
    return result
