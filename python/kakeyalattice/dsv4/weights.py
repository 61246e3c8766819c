# SPDX-License-Identifier: Apache-2.0
"""Layer weights of the V4 KV paths: from trained safetensors shards, or seeded random.

Tensors read per layer L (d = head_dim, H = hidden; c = 2 for the ratio-4 compressor with
overlap, 1 for ratio 128), each checked against this table before it is read:

    layers.L.attn_norm.weight            [H]          BF16 | F32
    layers.L.attn.wkv.weight             [d, H]       F8_E4M3 (+ .scale) | BF16 | F32
    layers.L.attn.kv_norm.weight         [d]          BF16 | F32
  CSA/HCA layers also:
    layers.L.attn.compressor.wkv.weight  [c·d, H]     F8_E4M3 (+ .scale) | BF16 | F32
    layers.L.attn.compressor.wgate.weight[c·d, H]     F8_E4M3 (+ .scale) | BF16 | F32
    layers.L.attn.compressor.ape         [ratio, c·d] BF16 | F32
    layers.L.attn.compressor.norm.weight [d]          BF16 | F32

An F8_E4M3 matrix [r, k] needs `<name minus .weight>.scale` of shape
[ceil(r/128), ceil(k/128)] in F8_E8M0 (V4-Flash) or F32 (V4-Flash-Base). A tensor with
another dtype or shape, or with non-finite values, is a ValueError naming it.
"""
from __future__ import annotations

import pathlib
from dataclasses import dataclass

import numpy as np

from .config import V4FlashConfig
from .safetensors import SCALE_DTYPES, TILE, SafetensorsFile, dequantize_fp8

MATRIX_DTYPES = ("F8_E4M3", "BF16", "F32")
PLAIN_DTYPES = ("BF16", "F32")


@dataclass
class CompressorWeights:
    wkv: np.ndarray    # (c·d, hidden)
    wgate: np.ndarray  # (c·d, hidden)
    ape: np.ndarray    # (ratio, c·d)
    norm: np.ndarray   # (d,)


@dataclass
class LayerWeights:
    wkv: np.ndarray        # (d, hidden)
    kv_norm: np.ndarray    # (d,)
    attn_norm: np.ndarray  # (hidden,)
    compressor: CompressorWeights | None = None
    source: str = ""


def _compressor_shape(kind: str, cfg: V4FlashConfig) -> tuple[int, int]:
    """(ratio, c) of a CSA or HCA layer's compressor."""
    if kind == "csa":
        return cfg.csa_ratio, 2
    if kind == "hca":
        return cfg.hca_ratio, 1
    raise ValueError(f"kind = {kind!r} has no compressor (expected 'csa' or 'hca')")


def random_layer_weights(cfg: V4FlashConfig, kind: str, seed: int) -> LayerWeights:
    """Untrained weights in the Stage 0.5 style: Gaussian projections with std
    hidden^-1/2, unit norm weights (attn_norm included), small position embeddings."""
    if kind not in ("swa", "csa", "hca"):
        raise ValueError(f"kind = {kind!r} is not one of 'swa', 'csa', 'hca'")
    rng = np.random.default_rng(seed)
    d, hd = cfg.head_dim, cfg.hidden
    std = hd ** -0.5

    def mat(rows):
        return (rng.standard_normal((rows, hd), dtype=np.float32) * std).astype(np.float32)

    w = LayerWeights(mat(d), np.ones(d, np.float32), np.ones(hd, np.float32), None, f"random(seed={seed})")
    if kind != "swa":
        ratio, c = _compressor_shape(kind, cfg)
        w.compressor = CompressorWeights(
            mat(c * d), mat(c * d), (rng.standard_normal((ratio, c * d)) * 0.1).astype(np.float32),
            np.ones(d, np.float32))
    return w


def expected_tensors(layer: int, kind: str, cfg: V4FlashConfig) -> dict:
    """{tensor name: (shape, allowed dtypes)} that a layer of `kind` is read from."""
    d, hd = cfg.head_dim, cfg.hidden
    p = f"layers.{layer}"
    t = {f"{p}.attn_norm.weight": ((hd,), PLAIN_DTYPES),
         f"{p}.attn.wkv.weight": ((d, hd), MATRIX_DTYPES),
         f"{p}.attn.kv_norm.weight": ((d,), PLAIN_DTYPES)}
    if kind != "swa":
        ratio, c = _compressor_shape(kind, cfg)
        q = f"{p}.attn.compressor"
        t.update({f"{q}.wkv.weight": ((c * d, hd), MATRIX_DTYPES),
                  f"{q}.wgate.weight": ((c * d, hd), MATRIX_DTYPES),
                  f"{q}.ape": ((ratio, c * d), PLAIN_DTYPES),
                  f"{q}.norm.weight": ((d,), PLAIN_DTYPES)})
    return t


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

    def _file(self, name: str) -> SafetensorsFile:
        if name not in self.where:
            prefix = name.rsplit(".", 2)[0]
            near = sorted(n for n in self.where if n.startswith(prefix))[:12]
            raise KeyError(f"tensor {name!r} not found in {self.dir}; tensors under {prefix!r}: {near}")
        return self.where[name]

    def _check(self, name: str, shape: tuple, dtypes: tuple) -> SafetensorsFile:
        sf = self._file(name)
        dt, got = sf.dtype(name), sf.shape(name)
        if dt not in dtypes:
            raise ValueError(f"{sf.path.name}:{name}: dtype {dt} is not one of {dtypes}")
        if got != tuple(shape):
            raise ValueError(f"{sf.path.name}:{name}: shape {got}, expected {tuple(shape)}")
        return sf

    def read(self, name: str, shape: tuple, dtypes: tuple) -> np.ndarray:
        """A tensor as float32 after checking its dtype and shape; an F8_E4M3 tensor is
        dequantized with its `.scale` tiles (E8M0 or F32, shape checked)."""
        sf = self._check(name, shape, dtypes)
        if sf.dtype(name) == "F8_E4M3":
            if len(shape) != 2:
                raise ValueError(f"{name}: an F8_E4M3 tensor must be a 2-D matrix, expected shape {shape}")
            sname = name.removesuffix(".weight") + ".scale"
            tiles = (-(-shape[0] // TILE), -(-shape[1] // TILE))
            ssf = self._check(sname, tiles, SCALE_DTYPES)
            try:
                arr = dequantize_fp8(sf.raw(name), np.array(ssf.raw(sname)), ssf.dtype(sname))
            except (TypeError, ValueError) as e:
                raise ValueError(f"{sname}: {e}") from None
        else:
            arr = sf.tensor(name).astype(np.float32)
        if not np.isfinite(arr).all():
            raise ValueError(f"{sf.path.name}:{name}: {int((~np.isfinite(arr)).sum())} non-finite values")
        return arr


def load_layer_weights(directory, layer: int, kind: str, cfg: V4FlashConfig,
                       index: ShardIndex | None = None) -> LayerWeights:
    """The KV-path weights of one layer of `kind` ("swa", "csa" or "hca"), every tensor
    checked against expected_tensors."""
    if kind not in ("swa", "csa", "hca"):
        raise ValueError(f"kind = {kind!r} is not one of 'swa', 'csa', 'hca'")
    idx = index or ShardIndex(directory)
    want = expected_tensors(layer, kind, cfg)
    for name, (shape, dtypes) in want.items():  # headers first: fail before reading data
        idx._check(name, shape, dtypes)
    t = {name: idx.read(name, shape, dtypes) for name, (shape, dtypes) in want.items()}
    p = f"layers.{layer}"
    w = LayerWeights(t[f"{p}.attn.wkv.weight"], t[f"{p}.attn.kv_norm.weight"], t[f"{p}.attn_norm.weight"],
                     None, f"{directory} layer {layer}")
    if kind != "swa":
        q = f"{p}.attn.compressor"
        w.compressor = CompressorWeights(t[f"{q}.wkv.weight"], t[f"{q}.wgate.weight"], t[f"{q}.ape"],
                                         t[f"{q}.norm.weight"])
    return w
