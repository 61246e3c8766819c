# SPDX-License-Identifier: Apache-2.0
"""DeepSeek-V4-Flash's KV write paths (prefill), in NumPy with V4's bf16/FP8 casts.

Every layer L reads x = attn_norm_L(h) (RMSNorm with the learned weight
layers.L.attn_norm.weight, bf16 out) and writes:

window KV (every layer):  wkv (FP8 GEMM: x quantized to E4M3 per 128, bf16 out)
                          -> kv_norm -> RoPE on the last 64 dims at the token's position.
                          The RoPE is the layer's: base 10 000 without YaRN in the
                          sliding-only layers, the compressor's base 160 000 with YaRN in
                          CSA and HCA layers (inference/model.py builds one freqs_cis per
                          layer from its compress ratio).
pooled KV (CSA, HCA):     the Compressor. float32 wkv and wgate project x to c·512
                          (c = 2 with overlap); tokens are grouped by `ratio`; a learned
                          position embedding `ape` [ratio, c·512] is added to the gate
                          scores; with overlap (ratio 4) group g pools 2·ratio slots per
                          coordinate: the first half of the projections from group g-1
                          (score -inf where g-1 does not exist) and the second half from
                          group g; softmax over the slots, weighted sum -> bf16 -> norm ->
                          RoPE (compressor base with YaRN) at one position per group, its
                          first token.
V4 then stores each vector with its own FP8 step (the library's v4_native codec): E4M3
with a power-of-two scale per 64 on the first 448 dims, the last 64 (RoPE) dims in bf16.

The streams measured are listed in STREAMS (one entry per stream: which layer kind writes
it, through which path, and which tokens are kept).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import V4NativeCodec
from .config import V4FlashConfig
from .precision import bf16_round, fp8_act_quant
from .rope import apply_rope, inv_frequencies, yarn_inv_frequencies
from .weights import CompressorWeights, LayerWeights


def rms_norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    """V4's RMSNorm: weight · x / sqrt(mean(x²) + eps) computed in float, cast to bf16."""
    x = np.asarray(x, dtype=np.float32)
    ms = np.mean(x.astype(np.float64) ** 2, axis=-1, keepdims=True)
    return bf16_round((x / np.sqrt(ms + eps)).astype(np.float32) * weight.astype(np.float32))


def attn_norm(h: np.ndarray, w: LayerWeights, cfg: V4FlashConfig) -> np.ndarray:
    """The attention input of a layer: its attn_norm of the (bf16) hidden states."""
    return rms_norm(bf16_round(h), w.attn_norm, cfg.norm_eps)


def layer_inv_frequencies(kind: str, cfg: V4FlashConfig) -> np.ndarray:
    """RoPE frequencies of a layer's window KV: main base for sliding-only layers, the
    compressor's base with YaRN for CSA and HCA layers."""
    if kind == "swa":
        return inv_frequencies(cfg.rope_dims, cfg.rope_theta)
    if kind in ("csa", "hca"):
        return compressor_inv_frequencies(cfg)
    raise ValueError(f"layer kind = {kind!r} is not one of 'swa', 'csa', 'hca'")


def compressor_inv_frequencies(cfg: V4FlashConfig) -> np.ndarray:
    return yarn_inv_frequencies(cfg.rope_dims, cfg.compress_rope_theta, cfg.yarn_factor,
                                cfg.yarn_original_max_pos, cfg.yarn_beta_fast, cfg.yarn_beta_slow)


def v4_fp8_storage(kv: np.ndarray, cfg: V4FlashConfig) -> np.ndarray:
    """What V4 keeps in its cache: the library's v4_native round trip."""
    if kv.shape[0] == 0:
        return kv.copy()
    return V4NativeCodec(cfg.head_dim, rope_dims=cfg.rope_dims).roundtrip(np.ascontiguousarray(kv))


def window_kv(x: np.ndarray, w: LayerWeights, positions: np.ndarray, inv_freq: np.ndarray,
              cfg: V4FlashConfig) -> np.ndarray:
    """Window KV before FP8: x (T, hidden) attention input (attn_norm output) of the
    tokens at `positions` -> (T, head_dim), bf16 values in float32."""
    x = np.asarray(x, dtype=np.float32)
    if x.shape[0] != len(positions):
        raise ValueError(f"positions has {len(positions)} entries for {x.shape[0]} rows of x")
    kv = bf16_round(fp8_act_quant(x, cfg.fp8_block) @ w.wkv.T)  # FP8 GEMM, bf16 out
    kv = rms_norm(kv, w.kv_norm, cfg.norm_eps)
    nope = cfg.head_dim - cfg.rope_dims
    kv[:, nope:] = bf16_round(apply_rope(kv[:, nope:], np.asarray(positions), inv_freq))
    return kv


def pooling_weights(score: np.ndarray, ratio: int, overlap: bool, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Softmax weights of the compressor. score: (G, ratio, c·d) gate scores with `ape`
    added. Returns (weights (G, slots, d), slot source index: 0 = previous group's first
    half, 1 = current group's second half (or the only half without overlap))."""
    g = score.shape[0]
    if not overlap:
        s = score.astype(np.float64)
        s = s - s.max(axis=1, keepdims=True)
        e = np.exp(s)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32), np.ones(ratio, dtype=np.int64)
    prev = np.full((g, ratio, d), -np.inf, dtype=np.float64)
    prev[1:] = score[:-1, :, :d]
    cur = score[:, :, d:].astype(np.float64)
    s = np.concatenate([prev, cur], axis=1)  # (G, 2·ratio, d)
    s = s - s.max(axis=1, keepdims=True)
    e = np.exp(s)  # exp(-inf) = 0 for absent slots
    src = np.concatenate([np.zeros(ratio, np.int64), np.ones(ratio, np.int64)])
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32), src


def compress_kv(x: np.ndarray, cw: CompressorWeights, ratio: int, overlap: bool,
                cfg: V4FlashConfig) -> np.ndarray:
    """Pooled KV before FP8: x (T, hidden) attention input -> (T // ratio, head_dim), bf16
    values in float32 (tail tokens that do not fill a group are not pooled, as in
    prefill)."""
    d = cfg.head_dim
    c = 2 if overlap else 1
    g = x.shape[0] // ratio
    if g == 0:
        return np.zeros((0, d), np.float32)
    xx = np.asarray(x[: g * ratio], dtype=np.float32)
    kv = (xx @ cw.wkv.T).reshape(g, ratio, c * d)  # float32 GEMMs in V4 too
    score = (xx @ cw.wgate.T).reshape(g, ratio, c * d) + cw.ape[None, :, :]
    wts, _ = pooling_weights(score, ratio, overlap, d)
    if overlap:
        prev = np.zeros((g, ratio, d), np.float32)
        prev[1:] = kv[:-1, :, :d]
        vals = np.concatenate([prev, kv[:, :, d:]], axis=1)
    else:
        vals = kv
    pooled = bf16_round(np.einsum("gsd,gsd->gd", wts, vals, dtype=np.float32))
    pooled = rms_norm(pooled, cw.norm, cfg.norm_eps)
    nope = d - cfg.rope_dims
    pos = np.arange(g) * ratio  # one position per group: its first token
    pooled[:, nope:] = bf16_round(apply_rope(pooled[:, nope:], pos, compressor_inv_frequencies(cfg)))
    return pooled


@dataclass(frozen=True)
class StreamSpec:
    """One measured KV stream.

    name:   key in every result and JSON dictionary
    label:  short name for reports
    kind:   the layer kind that writes it ("swa", "csa", "hca"); the representative layer
            is the first of that kind in the layer pattern
    path:   "window" (wkv -> kv_norm -> RoPE, the layer's sliding-window cache) or "pool"
            (the layer's Compressor)
    tokens: window path only: "all" (every token's window KV: each passes through the
            window cache) or "window" (the last cfg.window tokens: the cache's content at
            the end of the passage)
    """

    name: str
    label: str
    kind: str
    path: str
    tokens: str = "all"

    def __post_init__(self):
        if self.kind not in ("swa", "csa", "hca"):
            raise ValueError(f"StreamSpec {self.name!r}: kind = {self.kind!r} is not 'swa', 'csa' or 'hca'")
        if self.path not in ("window", "pool"):
            raise ValueError(f"StreamSpec {self.name!r}: path = {self.path!r} is not 'window' or 'pool'")
        if self.path == "pool" and self.kind == "swa":
            raise ValueError(f"StreamSpec {self.name!r}: sliding-only layers have no compressor (path 'pool')")
        if self.tokens not in ("all", "window"):
            raise ValueError(f"StreamSpec {self.name!r}: tokens = {self.tokens!r} is not 'all' or 'window'")

    def describe(self, cfg: V4FlashConfig) -> dict:
        if self.path == "window":
            rope = (f"base {cfg.rope_theta:g}, no YaRN" if self.kind == "swa" else
                    f"compressor base {cfg.compress_rope_theta:g} + YaRN x{cfg.yarn_factor:g}")
            tok = "every token" if self.tokens == "all" else f"last {cfg.window} tokens (window cache at passage end)"
            what = f"wkv -> kv_norm -> RoPE ({rope}); {tok}"
        else:
            ratio = cfg.csa_ratio if self.kind == "csa" else cfg.hca_ratio
            what = (f"Compressor ratio {ratio} {'with' if self.kind == 'csa' else 'without'} overlap "
                    f"-> norm -> RoPE (compressor base {cfg.compress_rope_theta:g} + YaRN); one vector per "
                    f"{ratio} tokens")
        return {"label": self.label, "kind": self.kind, "path": self.path, "tokens": self.tokens, "method": what}


# Report order: by layer kind, window before pool. The first, third and fifth names are
# the published Stage 0.75 streams.
STREAMS = (
    StreamSpec("sliding_window_kv", "SWA window", "swa", "window", "all"),
    StreamSpec("csa_window_kv", "CSA window", "csa", "window", "window"),
    StreamSpec("csa_pool_kv_ratio4", "CSA pool 4", "csa", "pool"),
    StreamSpec("hca_window_kv", "HCA window", "hca", "window", "window"),
    StreamSpec("hca_pool_kv_ratio128", "HCA pool 128", "hca", "pool"),
)


@dataclass
class KVStreams:
    """Each stream before (`pre`) and after (`post`) V4's FP8 storage step."""

    pre: dict
    post: dict


def kv_streams(h: np.ndarray, layers: dict, cfg: V4FlashConfig, streams=STREAMS) -> KVStreams:
    """h: (T, hidden) host hidden states; layers: {"swa"|"csa"|"hca": LayerWeights} (the
    representative layer of each kind). Returns every stream of `streams`."""
    t = h.shape[0]
    x = {}  # attention input per layer kind, computed once
    pre = {}
    for s in streams:
        if s.kind not in layers:
            raise ValueError(f"stream {s.name!r} needs {s.kind!r} layer weights; layers has {sorted(layers)}")
        w = layers[s.kind]
        if s.kind not in x:
            x[s.kind] = attn_norm(h, w, cfg)
        if s.path == "window":
            start = 0 if s.tokens == "all" else max(t - cfg.window, 0)
            pos = np.arange(start, t)
            pre[s.name] = window_kv(x[s.kind][start:], w, pos, layer_inv_frequencies(s.kind, cfg), cfg)
        else:
            if w.compressor is None:
                raise ValueError(f"stream {s.name!r}: the {s.kind!r} layer weights have no compressor")
            ratio = cfg.csa_ratio if s.kind == "csa" else cfg.hca_ratio
            pre[s.name] = compress_kv(x[s.kind], w.compressor, ratio, s.kind == "csa", cfg)
    post = {k: v4_fp8_storage(v, cfg) for k, v in pre.items()}
    return KVStreams(pre, post)
