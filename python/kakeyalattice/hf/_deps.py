# SPDX-License-Identifier: Apache-2.0
"""Optional dependencies of kakeyalattice.hf: torch and transformers.

Supported: transformers >= 4.56 (the first release with per-layer cache objects,
CacheLayerMixin; tests pass on 4.56.2, 4.57.6 and 5.24.0) and torch >= 2.4 (tested with
2.15.0 on CPU). The attention hook reaches a model only where the installed transformers
dispatches that model's attention through AttentionInterface: Llama/Qwen2/Qwen3/Mistral
in all of those versions, BERT-family encoders (all-MiniLM-L6-v2) from 5.0.
"""
from __future__ import annotations

import importlib

MIN_TRANSFORMERS = (4, 56)
MIN_TORCH = (2, 4)
INSTALL_HINT = "pip install 'kakeyalattice[hf]' (or: pip install torch transformers)"


def _version_tuple(v: str) -> tuple[int, int]:
    parts = []
    for p in v.split("+")[0].split(".")[:2]:
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts + [0] * (2 - len(parts)))  # type: ignore[return-value]


def require(name: str):
    """Import torch or transformers, or raise ImportError saying what is missing and how to
    install it. Too-old versions raise ImportError naming the version found."""
    minimum = {"torch": MIN_TORCH, "transformers": MIN_TRANSFORMERS}[name]
    try:
        mod = importlib.import_module(name)
    except ImportError as e:  # ModuleNotFoundError, or a broken install
        raise ImportError(f"kakeyalattice.hf needs {name} >= {'.'.join(map(str, minimum))}, which is not "
                          f"importable ({e}); install it with: {INSTALL_HINT}") from e
    found = getattr(mod, "__version__", "0")
    if _version_tuple(found) < minimum:
        raise ImportError(f"kakeyalattice.hf needs {name} >= {'.'.join(map(str, minimum))}, found {name} "
                          f"{found}; upgrade with: {INSTALL_HINT}")
    return mod
