# SPDX-License-Identifier: Apache-2.0
"""Which codec compresses which stream: per layer, keys and values separately."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Callable

_CODEC_ATTRS = ("encode", "decode", "dim", "code_bytes", "bits_per_vector")


def check_codec(arg: str, codec: Any) -> Any:
    """Return codec if it has the library's codec interface, else raise TypeError naming arg."""
    missing = [a for a in _CODEC_ATTRS if not hasattr(codec, a)]
    if missing:
        raise TypeError(f"{arg} = {codec!r} is not a kakeyalattice codec (it lacks {', '.join(missing)}); "
                        "build one with kakeyalattice.codec(name, dim, ...) or kakeyalattice.Codec(dim, q)")
    return codec


def _pair(arg: str, entry: Any) -> tuple[Any, Any]:
    if isinstance(entry, (tuple, list)):
        if len(entry) != 2:
            raise ValueError(f"{arg} must be a codec or a (k_codec, v_codec) pair, got a sequence of "
                             f"length {len(entry)}")
        return check_codec(f"{arg}[0] (k_codec)", entry[0]), check_codec(f"{arg}[1] (v_codec)", entry[1])
    c = check_codec(arg, entry)
    return c, c


def codec_resolver(k_codec: Any, v_codec: Any = None,
                   layer_codecs: Mapping[int, Any] | Sequence[Any] | None = None
                   ) -> Callable[[int | None], tuple[Any, Any]]:
    """layer index -> (k_codec, v_codec).

    k_codec compresses keys, v_codec values (default: k_codec). layer_codecs overrides
    them per layer: a mapping {layer_idx: codec | (k_codec, v_codec)} or a sequence whose
    i-th entry is layer i's (None entries keep the defaults).
    """
    k = check_codec("k_codec", k_codec)
    v = k if v_codec is None else check_codec("v_codec", v_codec)
    overrides: dict[int, tuple[Any, Any]] = {}
    if layer_codecs is not None:
        if isinstance(layer_codecs, Mapping):
            items = list(layer_codecs.items())
        elif isinstance(layer_codecs, Sequence) and not isinstance(layer_codecs, (str, bytes)):
            items = [(i, e) for i, e in enumerate(layer_codecs) if e is not None]
        else:
            raise TypeError(f"layer_codecs must be a mapping {{layer_idx: codec | (k_codec, v_codec)}} or a "
                            f"sequence, got {type(layer_codecs).__name__}")
        for i, entry in items:
            if isinstance(i, bool) or not isinstance(i, int) or i < 0:
                raise ValueError(f"layer_codecs key {i!r} is not a layer index (a non-negative int)")
            overrides[i] = _pair(f"layer_codecs[{i}]", entry)

    def resolve(layer_idx: int | None) -> tuple[Any, Any]:
        return overrides.get(layer_idx, (k, v)) if layer_idx is not None else (k, v)

    return resolve
