# SPDX-License-Identifier: Apache-2.0
"""DeepSeek-V4-Flash architecture constants used by the KV port (DESIGN.md §4)."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class V4FlashConfig:
    hidden: int = 4096
    head_dim: int = 512           # one shared K=V latent per token
    rope_dims: int = 64           # the last 64 dims carry RoPE
    norm_eps: float = 1e-6
    window: int = 128             # sliding-window length
    rope_theta: float = 10000.0   # main attention
    compress_rope_theta: float = 160000.0
    yarn_factor: float = 16.0
    yarn_original_max_pos: int = 65536
    yarn_beta_fast: float = 32.0
    yarn_beta_slow: float = 1.0
    csa_ratio: int = 4            # compressed sparse attention: pool 4 tokens, with overlap
    hca_ratio: int = 128          # heavily compressed attention: pool 128 tokens, no overlap
    n_layers: int = 43
    n_swa_layers: int = 3
    n_csa_layers: int = 20        # sources disagree (20 or 21): a parameter
    n_hca_layers: int = 20
    swa_layer: int = 0            # layers whose weights represent each stream
    csa_layer: int = 2
    hca_layer: int = 3

    def to_dict(self) -> dict:
        return asdict(self)
