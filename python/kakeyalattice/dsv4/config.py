# SPDX-License-Identifier: Apache-2.0
"""DeepSeek-V4-Flash architecture constants used by the KV port (DESIGN.md §4), and the
layer pattern they imply.

The layer pattern comes from `compress_ratios` in V4-Flash's config.json: one entry per
attention layer (0 = sliding-window only, 4 = CSA, 128 = HCA) followed by the entries of
the multi-token-prediction block(s), which are not part of the 43-layer stack and are
ignored here. V4-Flash's published list has 44 entries: layers 0-1 sliding-only, even
layers 2-42 CSA (21), odd layers 3-41 HCA (20), and 0 for the MTP block. Every layer,
whatever its ratio, also keeps a `window`-entry sliding-window KV cache.
"""
from __future__ import annotations

import json
import pathlib
from dataclasses import asdict, dataclass, fields, replace

# DeepSeek-V4-Flash config.json, "compress_ratios" (43 layers + the MTP block).
V4_FLASH_COMPRESS_RATIOS = (0, 0) + (4, 128) * 20 + (4, 0)

LAYER_KINDS = ("swa", "csa", "hca")


@dataclass(frozen=True)
class V4FlashConfig:
    hidden: int = 4096
    head_dim: int = 512           # one shared K=V latent per token
    rope_dims: int = 64           # the last 64 dims carry RoPE
    norm_eps: float = 1e-6
    window: int = 128             # sliding-window length (every layer keeps one)
    rope_theta: float = 10000.0   # sliding-only layers (no YaRN)
    compress_rope_theta: float = 160000.0  # CSA/HCA layers: window KV and pooled KV alike
    yarn_factor: float = 16.0
    yarn_original_max_pos: int = 65536
    yarn_beta_fast: float = 32.0
    yarn_beta_slow: float = 1.0
    csa_ratio: int = 4            # compressed sparse attention: pool 4 tokens, with overlap
    hca_ratio: int = 128          # heavily compressed attention: pool 128 tokens, no overlap
    fp8_block: int = 128          # activation block of V4's FP8 GEMMs (and weight tile side)
    n_layers: int = 43
    compress_ratios: tuple = V4_FLASH_COMPRESS_RATIOS

    def to_dict(self) -> dict:
        d = asdict(self)
        d["compress_ratios"] = list(self.compress_ratios)
        return d

    def layer_kind(self, ratio: int) -> str:
        """'swa', 'csa' or 'hca' for a compress ratio of 0, csa_ratio or hca_ratio."""
        kinds = {0: "swa", self.csa_ratio: "csa", self.hca_ratio: "hca"}
        if ratio not in kinds:
            raise ValueError(f"compress ratio {ratio!r} is not one of {sorted(kinds)} "
                             "(sliding-only, CSA, HCA)")
        return kinds[ratio]

    def layer_pattern(self) -> dict:
        """{kind: [layer ids]} over the first n_layers entries of compress_ratios (later
        entries belong to the MTP block). Raises ValueError on a short list or an
        unknown ratio."""
        r = self.compress_ratios
        if isinstance(self.n_layers, bool) or not isinstance(self.n_layers, int) or self.n_layers < 1:
            raise ValueError(f"n_layers = {self.n_layers!r} must be a positive integer")
        if len(r) < self.n_layers:
            raise ValueError(f"compress_ratios has {len(r)} entries, fewer than n_layers = {self.n_layers}")
        out = {k: [] for k in LAYER_KINDS}
        for i, v in enumerate(r[: self.n_layers]):
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError(f"compress_ratios[{i}] = {v!r} is not an integer")
            try:
                out[self.layer_kind(v)].append(i)
            except ValueError as e:
                raise ValueError(f"compress_ratios[{i}] = {v}: {e}") from None
        for k, layers in out.items():
            if not layers:
                raise ValueError(f"compress_ratios has no {k.upper()} layer among the first {self.n_layers}")
        return out


# config.json keys (Hugging Face names, as shipped with the checkpoint) -> V4FlashConfig fields.
_JSON_KEYS = {
    "hidden_size": "hidden", "head_dim": "head_dim", "qk_rope_head_dim": "rope_dims",
    "rms_norm_eps": "norm_eps", "sliding_window": "window", "rope_theta": "rope_theta",
    "compress_rope_theta": "compress_rope_theta", "num_hidden_layers": "n_layers",
    "compress_ratios": "compress_ratios",
}
_YARN_KEYS = {"factor": "yarn_factor", "original_max_position_embeddings": "yarn_original_max_pos",
              "beta_fast": "yarn_beta_fast", "beta_slow": "yarn_beta_slow"}


def config_from_json(path, base: V4FlashConfig | None = None) -> V4FlashConfig:
    """V4FlashConfig from a V4 config.json: the keys it has override `base` (defaults:
    the built-in V4-Flash constants). `compress_ratios` is required; the layer pattern is
    validated."""
    p = pathlib.Path(path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"V4 config {p}: cannot read it as JSON ({e})") from None
    if not isinstance(raw, dict) or "compress_ratios" not in raw:
        raise ValueError(f"V4 config {p}: no 'compress_ratios' list (is it a DeepSeek-V4 config.json?)")
    types = {f.name: f.type for f in fields(V4FlashConfig)}
    upd = {}
    for key, name in _JSON_KEYS.items():
        if key in raw and raw[key] is not None:
            upd[name] = raw[key]
    scaling = raw.get("rope_scaling") or {}
    for key, name in _YARN_KEYS.items():
        if key in scaling:
            upd[name] = scaling[key]
    if not isinstance(upd["compress_ratios"], list):
        raise ValueError(f"V4 config {p}: compress_ratios = {upd['compress_ratios']!r} is not a list")
    upd["compress_ratios"] = tuple(upd["compress_ratios"])
    for name, v in upd.items():
        want = types[name]
        if want in ("int", int) and (isinstance(v, bool) or not isinstance(v, int)):
            raise ValueError(f"V4 config {p}: {name} = {v!r} is not an integer")
        if want in ("float", float):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(f"V4 config {p}: {name} = {v!r} is not a number")
            upd[name] = float(v)
    cfg = replace(base or V4FlashConfig(), **upd)
    try:
        cfg.layer_pattern()
    except ValueError as e:
        raise ValueError(f"V4 config {p}: {e}") from None
    return cfg
