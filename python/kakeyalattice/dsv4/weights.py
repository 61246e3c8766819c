# SPDX-License-Identifier: Apache-2.0
"""Layer weights of the V4 KV paths: from trained safetensors shards, or seeded random.

Tensor names read (per layer L; FP8 matrices come with a `.scale` E8M0 tile grid):
    layers.L.attn.wkv.weight [512, 4096]            layers.L.attn.kv_norm.weight [512]
    layers.L.attn.compressor.wkv.weight [c·512, 4096]
    layers.L.attn.compressor.wgate.weight [c·512, 4096]
    layers.L.attn.compressor.ape [ratio, c·512]     layers.L.attn.compressor.norm.weight [512]
(c = 2 for the ratio-4 compressor with overlap, 1 for ratio 128.)
"""
from __future__ import annotations

import pathlib
from dataclasses import dataclass

import numpy as np

from .config import V4FlashConfig
from .safetensors import SafetensorsFile, dequantize_fp8


@dataclass
class CompressorWeights:
    wkv: np.ndarray    # (c·d, hidden)
    wgate: np.ndarray  # (c·d, hidden)
    ape: np.ndarray    # (ratio, c·d)
    norm: np.ndarray   # (d,)


@dataclass
class LayerWeights:
    wkv: np.ndarray      # (d, hidden)
    kv_norm: np.ndarray  # (d,)
    compressor: CompressorWeights | None = None
    source: str = ""


def random_layer_weights(cfg: V4FlashConfig, kind: str, seed: int) -> LayerWeights:
    """Untrained weights in the Stage 0.5 style: Gaussian projections with std
    hidden^-1/2, unit norms, small learned position embeddings."""
    rng = np.random.default_rng(seed)
    d, hd = cfg.head_dim, cfg.hidden
    std = hd ** -0.5

    def mat(rows):
        return (rng.standard_normal((rows, hd), dtype=np.float32) * std).astype(np.float32)

    w = LayerWeights(mat(d), np.ones(d, np.float32), None, f"random(seed={seed})")
    if kind in ("csa", "hca"):
        ratio, c = (cfg.csa_ratio, 2) if kind == "csa" else (cfg.hca_ratio, 1)
        w.compressor = CompressorWeights(
            mat(c * d), mat(c * d), (rng.standard_normal((ratio, c * d)) * 0.1).astype(np.float32),
            np.ones(d, np.float32))
    return w


class ShardIndex:
    """All tensors of the *.safetensors files in a directory, by name."""

    def __init__(self, directory):
        self.dir = pathlib.Path(directory)
        files = sorted(self.dir.glob("*.safetensors"))
        if not files:
            raise ValueError(f"--v4-weights {self.dir}: no *.safetensors files found")
        self.where = {}
        for f in files:
            sf = SafetensorsFile(f)
            for n in sf.names():
                self.where[n] = sf

    def has(self, name: str) -> bool:
        return name in self.where

    def matrix(self, name: str) -> np.ndarray:
        """A weight as float32, dequantizing FP8 with its `.scale` tiles when present."""
        if name not in self.where:
            prefix = name.rsplit(".", 2)[0]
            near = sorted(n for n in self.where if n.startswith(prefix))[:12]
            raise KeyError(f"tensor {name!r} not found in {self.dir}; tensors under {prefix!r}: {near}")
        sf = self.where[name]
        if sf.dtype(name) == "F8_E4M3":
            sname = name[: -len(".weight")] + ".scale" if name.endswith(".weight") else name + ".scale"
            if sname not in self.where:
                raise KeyError(f"FP8 tensor {name!r} has no scale tensor {sname!r}")
            return dequantize_fp8(sf.raw(name), self.where[sname].raw(sname))
        return sf.tensor(name).astype(np.float32)


def load_layer_weights(directory, layer: int, kind: str, cfg: V4FlashConfig,
                       index: ShardIndex | None = None) -> LayerWeights:
    idx = index or ShardIndex(directory)
    p = f"layers.{layer}.attn"
    w = LayerWeights(idx.matrix(f"{p}.wkv.weight"), idx.matrix(f"{p}.kv_norm.weight"), None,
                     f"{directory} layer {layer}")
    d = cfg.head_dim
    if w.wkv.shape != (d, cfg.hidden):
        raise ValueError(f"{p}.wkv.weight shape {w.wkv.shape}, expected {(d, cfg.hidden)}")
    if kind in ("csa", "hca"):
        ratio, c = (cfg.csa_ratio, 2) if kind == "csa" else (cfg.hca_ratio, 1)
        cw = CompressorWeights(idx.matrix(f"{p}.compressor.wkv.weight"),
                               idx.matrix(f"{p}.compressor.wgate.weight"),
                               idx.matrix(f"{p}.compressor.ape"),
                               idx.matrix(f"{p}.compressor.norm.weight"))
        for nm, arr, shp in (("wkv", cw.wkv, (c * d, cfg.hidden)), ("wgate", cw.wgate, (c * d, cfg.hidden)),
                             ("ape", cw.ape, (ratio, c * d)), ("norm", cw.norm, (d,))):
            if arr.shape != shp:
                raise ValueError(f"{p}.compressor.{nm} shape {arr.shape}, expected {shp} for a "
                                 f"{kind.upper()} layer (ratio {ratio})")
        w.compressor = cw
    return w
