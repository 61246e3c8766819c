# SPDX-License-Identifier: Apache-2.0
"""What a model must look like for the cache and the hook: head dims, layer kinds."""
from __future__ import annotations

from typing import Any, Callable

# Layer kinds whose K/V are ordinary per-token vectors a KakeyaCache layer can hold.
ATTENTION_LAYER_TYPES = ("full_attention", "sliding_attention", "chunked_attention")


def text_config(config: Any) -> Any:
    if hasattr(config, "config") and not hasattr(config, "model_type"):
        config = config.config  # a model was passed
    get = getattr(config, "get_text_config", None)
    if get is None:
        return config
    try:
        return get(decoder=True)
    except TypeError:  # older transformers without the decoder keyword
        return get()


def head_dims(config: Any) -> tuple[int, int]:
    """(key head_dim, value head_dim) from a transformers config."""
    cfg = text_config(config)
    if getattr(cfg, "qk_rope_head_dim", None) is not None and getattr(cfg, "v_head_dim", None) is not None:
        # Multi-head latent attention (DeepSeek-V2/V3 style): keys are nope + rope dims.
        return int(cfg.qk_nope_head_dim) + int(cfg.qk_rope_head_dim), int(cfg.v_head_dim)
    hd = getattr(cfg, "head_dim", None)
    if hd is None:
        heads = getattr(cfg, "num_attention_heads", None)
        hidden = getattr(cfg, "hidden_size", None)
        if not heads or not hidden:
            raise ValueError(f"model_type = {getattr(cfg, 'model_type', None)!r}: the config gives no head_dim "
                             "(and no hidden_size / num_attention_heads to derive it)")
        hd = hidden // heads
    return int(hd), int(hd)


def check_dims(layer_idx: Any, k_codec: Any, v_codec: Any, k_dim: int, v_dim: int, where: str) -> None:
    if k_codec.dim != k_dim:
        raise ValueError(f"k_codec.dim = {k_codec.dim} ({getattr(k_codec, 'name', k_codec)}) does not match the "
                         f"key head_dim = {k_dim} of layer {layer_idx} ({where}); build the codec with dim={k_dim}")
    if v_codec.dim != v_dim:
        raise ValueError(f"v_codec.dim = {v_codec.dim} ({getattr(v_codec, 'name', v_codec)}) does not match the "
                         f"value head_dim = {v_dim} of layer {layer_idx} ({where}); build the codec with dim={v_dim}")


def check_cache_model(config: Any, resolve: Callable[[int], tuple[Any, Any]]) -> int:
    """Raise ValueError if a KakeyaCache cannot serve this model; return its layer count."""
    cfg = text_config(config)
    mt = getattr(cfg, "model_type", None)
    if getattr(config, "is_encoder_decoder", False) or getattr(cfg, "is_encoder_decoder", False):
        raise ValueError(f"model_type = {mt!r} is an encoder-decoder model; KakeyaCache holds decoder "
                         "self-attention K/V of decoder-only models (use register_attention for any model)")
    n = getattr(cfg, "num_hidden_layers", None)
    if not isinstance(n, int) or n <= 0:
        raise ValueError(f"model_type = {mt!r}: config has no num_hidden_layers; not a supported decoder")
    types = getattr(cfg, "layer_types", None)
    if types is not None:
        bad = sorted({t for t in types if t not in ATTENTION_LAYER_TYPES})
        if bad:
            raise ValueError(f"model_type = {mt!r} has layer types {bad} (not attention over per-token K/V); "
                             f"KakeyaCache supports models whose layers are all {ATTENTION_LAYER_TYPES}")
    for attr in ("kv_sharing_modes",):
        if getattr(cfg, attr, None):
            raise ValueError(f"model_type = {mt!r} shares K/V between layers ({attr}); KakeyaCache does not "
                             "support cross-layer K/V sharing")
    k_dim, v_dim = head_dims(cfg)
    for i in range(n):
        kc, vc = resolve(i)
        check_dims(i, kc, vc, k_dim, v_dim, f"model_type {mt!r}")
    return n


def check_attention_backend(model: Any) -> None:
    """Raise ValueError if the model's attention does not dispatch through transformers'
    AttentionInterface (then an attn_implementation hook never sees its K/V)."""
    if not getattr(model, "_supports_attention_backend", False):
        mt = getattr(getattr(model, "config", None), "model_type", None)
        raise ValueError(f"model_type = {mt!r} ({type(model).__name__}) does not route its attention through "
                         "transformers' AttentionInterface (_supports_attention_backend is False), so an "
                         "attn_implementation hook cannot compress its K/V")
