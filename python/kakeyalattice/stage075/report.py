# SPDX-License-Identifier: Apache-2.0
"""Stage 0.75 reports: JSON (schema kakeyalattice.stage075/1), a markdown summary and
plots. Every number is read from the result dictionary of one run.

JSON schema `kakeyalattice.stage075/1` (stage075.json; non-finite numbers are null):
    schema, created_utc, command, library_version
    machine            {cpu, cores, python, platform}
    setting            {host, host_synthetic, weights, weights_synthetic, layers{stream: layer},
                        layer_counts{stream: n}, tokens_per_passage, passages[subject],
                        unique_tokens{subject: n}, text_tokens{subject: n}, vectors_per_passage{stream: n}, config{...}}
    published_reference  the seed's Stage 0.75 numbers (DESIGN.md §5)
    audit{stream}      {n_vectors, dim, observed{stat: v},
                        gaussian_control{stat: {median, lo, hi}}, gate_fires{stat: bool}}
    baselines{stream}{ref}{codec}
                       {bits, rel_mse: CI, cosine: CI, per_passage_rel_mse[]}
                       ref: "pre" (codec on the pre-FP8 KV, scored against it) or "post"
                       (codec on V4's stored KV, scored against that)
    sweep{stream}{ref}{lattice}
                       parallel lists over Q: q, bits, rel_mse, rel_mse_hw, cosine,
                       ratio_fp8, ratio_fp8_hw, ratio_v4_native, ratio_v4_native_hw (pre only)
    q_min{stream}{ref}{baseline}{A|B|C}
                       {tau, point: {q, bits, cr_vs_fp8, cr_vs_bf16} | null, ci_safe: ... | null}
    strategies{baseline}{A|B|C}{point|ci_safe}
                       {uniform: {q, bits, cr_vs_fp8, cr_vs_bf16},
                        per_stream: {q{stream}, mean_bits, cr_vs_fp8, cr_vs_bf16}} | null
    attention          {queries, streams{stream}{codec}: {bits, output_rel_error: CI,
                        softmax_kl_mean: CI}}
    timing_s           {inputs, total};  files {json, markdown, plots[]}
A CI is {mean, half_width, lo, hi, n, sd, level} (Student t, over passages).
"""
from __future__ import annotations

import json
import math
import pathlib

import numpy as np

from .thresholds import THRESHOLDS

STREAM_LABEL = {"sliding_window_kv": "SWA (sliding window)", "csa_pool_kv_ratio4": "CSA (pool 4)",
                "hca_pool_kv_ratio128": "HCA (pool 128)"}


def _json_default(o):
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o))


def write_json(result: dict, path: pathlib.Path) -> None:
    def clean(x):
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        return x

    path.write_text(json.dumps(clean(json.loads(json.dumps(result, default=_json_default))), indent=1))


def _fmt_ci(m, hw, digits=3):
    if hw is None or (isinstance(hw, float) and not math.isfinite(hw)):
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} ± {hw:.{digits}f}"


def markdown(result: dict) -> str:
    s = result["setting"]
    L = []
    L.append("# Stage 0.75: KakeyaLattice vs DeepSeek-V4-Flash FP8 KV storage\n")
    L.append(f"- command: `{result.get('command', '')}`")
    L.append(f"- created (UTC): {result['created_utc']}; library {result['library_version']}")
    m = result["machine"]
    L.append(f"- machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}")
    L.append(f"- **host**: {s['host']}")
    L.append(f"- **V4 weights**: {s['weights']}")
    L.append(f"- passages: {len(s['passages'])} × {s['tokens_per_passage']} tokens "
             f"({', '.join(s['passages'])}); tokens of text before repetition: "
             + ", ".join(str(v) for v in s.get("text_tokens", {}).values())
             + "; distinct tokens: " + ", ".join(str(v) for v in s["unique_tokens"].values())
             + " (a passage's tokens repeat to fill the length)")
    L.append(f"- vectors per passage: " + ", ".join(f"{STREAM_LABEL[k]} {v}" for k, v in s["vectors_per_passage"].items()))
    L.append(f"- layer counts for the strategies: " + ", ".join(f"{STREAM_LABEL[k]} {v}" for k, v in s["layer_counts"].items()))
    L.append(f"- run time: {result['timing_s']['total']} s\n")
    synth = s["host_synthetic"] or s["weights_synthetic"]
    L.append("## How this setting differs from the published Stage 0.75\n")
    L.append(f"The published numbers ({result['published_reference']['source']}) used trained V4-Flash "
             "weights and a Qwen2-0.5B host. This run used: "
             + ("**synthetic (seeded random) V4 projections**" if s["weights_synthetic"] else "trained V4 shards")
             + " and " + ("**a synthetic host**" if s["host_synthetic"] else "real trained host token embeddings")
             + ". " + ("Its numbers therefore describe the codec on KV vectors with V4's shapes, norms, RoPE "
                        "and pooling but not V4's learned statistics; they are not a reproduction of the "
                        "published table." if synth else "") + "\n")
    if "audit" in result:
        L.append("## Audit: non-Gaussian statistics vs a same-size Gaussian control\n")
        L.append("A gate fires only when the observed value lies outside the 95% band of the statistic "
                 "over 40 iid Gaussian samples of the same size (pre-FP8 KV, all passages pooled).\n")
        L.append("| stream | n | statistic | observed | Gaussian median [95% band] | gate |")
        L.append("|---|---|---|---|---|---|")
        for k, a in result["audit"].items():
            for stat, v in a["observed"].items():
                g = a["gaussian_control"][stat]
                L.append(f"| {STREAM_LABEL[k]} | {a['n_vectors']} | {stat} | {v:.4g} | "
                         f"{g['median']:.4g} [{g['lo']:.4g}, {g['hi']:.4g}] | "
                         f"{'FIRES' if a['gate_fires'][stat] else '-'} |")
        L.append("")
    if "sweep" in result:
        L.append("## Baselines (rel-MSE, mean ± 95% CI over passages)\n")
        L.append("| stream | reference | codec | bits/vector | rel-MSE | cosine |")
        L.append("|---|---|---|---|---|---|")
        for k, by_ref in result["baselines"].items():
            for r, by_c in by_ref.items():
                for c, v in by_c.items():
                    L.append(f"| {STREAM_LABEL[k]} | {r}-FP8 KV | {c} | {v['bits']} | "
                             f"{_fmt_ci(v['rel_mse']['mean'], v['rel_mse'].get('half_width'), 6)} | "
                             f"{v['cosine']['mean']:.6f} |")
        L.append("\n`pre`: the codec compresses the KV before V4's FP8 step and is scored against it. "
                 "`post`: the codec re-compresses what V4 stored (E4M3 on 448 dims, bf16 RoPE dims) and "
                 "is scored against that.\n")
        L.append("## E8 / FP8 rel-MSE ratio at Q = 38 (the published table's operating point)\n")
        L.append("| stream | Q | ours, pre-FP8 ref. (vs fp8_per64) | ours vs v4_native | ours, post-FP8 ref. | published |")
        L.append("|---|---|---|---|---|---|")
        pub = result["published_reference"]
        for k in result["sweep"]:
            q = 38  # the published ratios are all at Q = 38
            pre = result["sweep"][k]["pre"]["e8"]
            post = result["sweep"][k]["post"]["e8"]
            if q not in pre["q"]:
                continue
            i = pre["q"].index(q)
            pm, phw = pub["e8_q38_over_fp8"][k]
            L.append(f"| {STREAM_LABEL[k]} | {q} | {_fmt_ci(pre['ratio_fp8'][i], pre['ratio_fp8_hw'][i])} | "
                     f"{_fmt_ci(pre['ratio_v4_native'][i], pre['ratio_v4_native_hw'][i])} | "
                     f"{_fmt_ci(post['ratio_fp8'][i], post['ratio_fp8_hw'][i])} | "
                     f"{pm:.3f} ± {phw:.3f} |")
        L.append("")
        L.append("## Smallest usable Q and compression (E8, pre-FP8 reference)\n")
        L.append("Thresholds on the E8/baseline rel-MSE ratio: A ≤ 1.00, B ≤ 1.05, C ≤ 1.20; "
                 "`point` uses the mean ratio, `CI-safe` the upper 95% bound; every Q in the range was swept.\n")
        L.append("| stream | baseline | threshold | Q point | CR vs FP8 | Q CI-safe | CR vs FP8 (CI-safe) | CR vs bf16 (CI-safe) |")
        L.append("|---|---|---|---|---|---|---|---|")
        for k, by_ref in result["q_min"].items():
            for base, by_t in by_ref.get("pre", {}).items():
                for t, e in by_t.items():
                    p, c = e["point"], e["ci_safe"]
                    point = f"{p['q']} | {p['cr_vs_fp8']:.3f}" if p else "— | —"
                    safe = f"{c['q']} | {c['cr_vs_fp8']:.3f} | {c['cr_vs_bf16']:.3f}" if c else "— | — | —"
                    L.append(f"| {STREAM_LABEL[k]} | {base} | {t} (≤{e['tau']:.2f}) | {point} | {safe} |")
        L.append("")
        L.append("## Deployment strategies (layer-weighted)\n")
        L.append("`uniform`: one Q for all layers (the largest per-stream Q_min). `per_stream`: each stream its "
                 "own Q_min; CR = Σ n·4224 / Σ n·bits over the layer counts above.\n")
        L.append("| baseline | threshold | mode | uniform Q | uniform CR vs FP8 | per-stream Q (SWA/CSA/HCA) | per-stream CR vs FP8 | per-stream CR vs bf16 |")
        L.append("|---|---|---|---|---|---|---|---|")
        for base, by_t in result["strategies"].items():
            for t, by_m in by_t.items():
                for mode, e in by_m.items():
                    if e is None:
                        L.append(f"| {base} | {t} | {mode} | — | — | — | — | — |")
                        continue
                    qs = "/".join(str(v) for v in e["per_stream"]["q"].values())
                    L.append(f"| {base} | {t} | {mode} | {e['uniform']['q']} | {e['uniform']['cr_vs_fp8']:.3f} | "
                             f"{qs} | {e['per_stream']['cr_vs_fp8']:.3f} | {e['per_stream']['cr_vs_bf16']:.3f} |")
        if "attention" in result:
            att = result["attention"]
            L.append("\n## Attention-level metric (one decode step, K=V = the stream's KV)\n")
            L.append(f"Queries: {att['queries']}. Output error ‖o − o_bf16‖/‖o_bf16‖ and softmax KL(p_bf16 ‖ p) "
                     "against a bf16 cache; mean ± 95% CI over passages.\n")
            L.append("| stream | codec | bits | output rel. error | softmax KL (nats) |")
            L.append("|---|---|---|---|---|")
            for k, by_c in att["streams"].items():
                for c, v in by_c.items():
                    e, kl = v["output_rel_error"], v["softmax_kl_mean"]
                    L.append(f"| {STREAM_LABEL[k]} | {c} | {v['bits']} | {_fmt_ci(e['mean'], e.get('half_width'), 5)} | "
                             f"{kl['mean']:.3e} |")
        L.append(f"\nPublished: max usable CR {result['published_reference']['max_usable_cr_vs_fp8']}× vs FP8 "
                 f"({result['published_reference']['max_usable_cr_vs_bf16']}× vs bf16).\n")
    return "\n".join(L) + "\n"


def plots(result: dict, out: pathlib.Path) -> list[str]:
    """rel-MSE vs bits/coordinate per stream, and the E8/FP8 ratio vs Q with CI bands."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    streams = list(result["sweep"])
    dim = result["setting"]["config"]["head_dim"]

    def figure(name, draw, xlabel, ylabel, log_y):
        fig, axes = plt.subplots(1, len(streams), figsize=(5 * len(streams), 4), squeeze=False,
                                 constrained_layout=True)
        for ax, k in zip(axes[0], streams):
            draw(ax, k)
            if log_y:
                ax.set_yscale("log")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.set_title(STREAM_LABEL[k])
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        return name

    def rel_mse_panel(ax, k):
        for lat, row in result["sweep"][k]["pre"].items():
            ax.plot(np.array(row["bits"]) / dim, row["rel_mse"], label=lat.upper(), lw=1.2)
        for name, v in result["baselines"][k]["pre"].items():
            ax.plot([v["bits"] / dim], [v["rel_mse"]["mean"]], "o", label=name)
        r = np.linspace(1, 16, 100)
        ax.plot(r, 2.0 ** (-2 * r), "k--", lw=0.8, label="Shannon bound (Gaussian)")
        ax.set_ylim(1e-6, 1)

    def ratio_panel(ax, k):
        for r, style in (("pre", "-"), ("post", "--")):
            row = result["sweep"][k][r]["e8"]
            m, hw = np.array(row["ratio_fp8"]), np.nan_to_num(np.array(row["ratio_fp8_hw"], dtype=float))
            ax.plot(row["q"], m, style, label=f"E8/fp8_per64 ({r}-FP8 ref.)")
            ax.fill_between(row["q"], m - hw, m + hw, alpha=0.25)
        for name, tau in THRESHOLDS.items():
            ax.axhline(tau, color="gray", lw=0.7, ls=":")
            ax.text(1, tau, name, fontsize=7, va="bottom")

    return [figure("rel_mse_vs_bits.png", rel_mse_panel, "bits per coordinate", "rel-MSE (pre-FP8 reference)", True),
            figure("ratio_vs_q.png", ratio_panel, "Q", "rel-MSE ratio to FP8 (95% CI)", True)]


def write_reports(result: dict, out) -> dict:
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"json": "stage075.json", "markdown": "stage075.md"}
    if "sweep" in result:
        files["plots"] = plots(result, out)
    result["files"] = files
    write_json(result, out / files["json"])
    (out / files["markdown"]).write_text(markdown(result))
    return files
