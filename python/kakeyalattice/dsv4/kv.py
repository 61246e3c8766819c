# SPDX-License-Identifier: Apache-2.0
"""The three KV write paths of DeepSeek-V4-Flash (prefill), in float32 NumPy.

sliding_window_kv:     wkv (hidden -> 512) -> RMSNorm -> RoPE (main base) on the last 64
                       dims, one position per token.
csa_pool_kv_ratio4:    Compressor, ratio 4 with overlap: wkv and wgate project to 2·512;
                       tokens are grouped by 4; a learned position embedding `ape` [4, 1024]
                       is added to the gate scores; group g pools 8 slots per coordinate:
                       the first half of the projections from group g-1 (score -inf where
                       g-1 does not exist) and the second half from group g; softmax over
                       the slots, weighted sum -> RMSNorm -> RoPE (compressor base with
                       YaRN) at one position per group (its first token).
hca_pool_kv_ratio128:  the same Compressor with ratio 128 and no overlap (projections to
                       512, ape [128, 512]).
V4 stores every stream with its own FP8 step: E4M3 per 64 on the first 448 dims, the
last 64 (RoPE) dims in bf16, i.e. the library's exact v4_native codec.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import V4NativeCodec
from .config import V4FlashConfig
from .rope import apply_rope, inv_frequencies, yarn_inv_frequencies
from .weights import CompressorWeights, LayerWeights


def rms_norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    ms = np.mean(x.astype(np.float64) ** 2, axis=-1, keepdims=True)
    return (x / np.sqrt(ms + eps)).astype(np.float32) * weight.astype(np.float32)


def v4_fp8_storage(kv: np.ndarray, cfg: V4FlashConfig) -> np.ndarray:
    """What V4 keeps in its cache: the library's exact v4_native round trip."""
    if kv.shape[0] == 0:
        return kv.copy()
    return V4NativeCodec(cfg.head_dim, rope_dims=cfg.rope_dims).roundtrip(np.ascontiguousarray(kv))


def main_kv(h: np.ndarray, w: LayerWeights, cfg: V4FlashConfig) -> np.ndarray:
    """Sliding-window KV: (T, hidden) -> (T, head_dim), before FP8."""
    kv = h @ w.wkv.T
    kv = rms_norm(kv, w.kv_norm, cfg.norm_eps)
    nope = cfg.head_dim - cfg.rope_dims
    pos = np.arange(h.shape[0])
    kv[:, nope:] = apply_rope(kv[:, nope:], pos, inv_frequencies(cfg.rope_dims, cfg.rope_theta))
    return kv.astype(np.float32)


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


def compress_kv(h: np.ndarray, cw: CompressorWeights, ratio: int, overlap: bool,
                cfg: V4FlashConfig) -> np.ndarray:
    """Pooled KV: (T, hidden) -> (T // ratio, head_dim), before FP8 (tail tokens that do
    not fill a group are not pooled, as in prefill)."""
    d = cfg.head_dim
    c = 2 if overlap else 1
    g = h.shape[0] // ratio
    if g == 0:
        return np.zeros((0, d), np.float32)
    hh = h[: g * ratio]
    kv = (hh @ cw.wkv.T).reshape(g, ratio, c * d)
    score = (hh @ cw.wgate.T).reshape(g, ratio, c * d) + cw.ape[None, :, :]
    wts, _ = pooling_weights(score, ratio, overlap, d)
    if overlap:
        prev = np.zeros((g, ratio, d), np.float32)
        prev[1:] = kv[:-1, :, :d]
        vals = np.concatenate([prev, kv[:, :, d:]], axis=1)
    else:
        vals = kv
    pooled = np.einsum("gsd,gsd->gd", wts, vals, dtype=np.float32)
    pooled = rms_norm(pooled, cw.norm, cfg.norm_eps)
    nope = d - cfg.rope_dims
    pos = np.arange(g) * ratio  # one position per group: its first token
    inv = yarn_inv_frequencies(cfg.rope_dims, cfg.compress_rope_theta, cfg.yarn_factor,
                               cfg.yarn_original_max_pos, cfg.yarn_beta_fast, cfg.yarn_beta_slow)
    pooled[:, nope:] = apply_rope(pooled[:, nope:], pos, inv)
    return pooled.astype(np.float32)


@dataclass
class KVStreams:
    """Each stream before (`pre`) and after (`post`) V4's FP8 storage step."""

    pre: dict
    post: dict


STREAMS = ("sliding_window_kv", "csa_pool_kv_ratio4", "hca_pool_kv_ratio128")


def kv_streams(h: np.ndarray, layers: dict, cfg: V4FlashConfig) -> KVStreams:
    """layers: {"swa": LayerWeights, "csa": LayerWeights, "hca": LayerWeights}."""
    pre = {
        "sliding_window_kv": main_kv(h, layers["swa"], cfg),
        "csa_pool_kv_ratio4": compress_kv(h, layers["csa"].compressor, cfg.csa_ratio, True, cfg),
        "hca_pool_kv_ratio128": compress_kv(h, layers["hca"].compressor, cfg.hca_ratio, False, cfg),
    }
    post = {k: v4_fp8_storage(v, cfg) for k, v in pre.items()}
    return KVStreams(pre, post)
