# SPDX-License-Identifier: Apache-2.0
"""KakeyaLattice inside Hugging Face transformers (optional extra: pip install 'kakeyalattice[hf]').

    KakeyaCache(k_codec, v_codec=None, residual_length=0, layer_codecs=None)
        a transformers Cache whose layers hold K/V as packed codes (CPU or CUDA tensors);
        model.generate(..., past_key_values=cache) (transformers 5.x also: cache=cache)
    register_attention(k_codec, v_codec=None, name="kakeya") -> name
        an attention function (AttentionInterface) that compresses K/V for any model:
        AutoModel.from_pretrained(path, attn_implementation=name)
    `kakeyalattice hf-eval`: end-to-end quality of every codec family on a local model.

Supported versions: transformers >= 4.56 (tests pass on 4.56.2, 4.57.6, 5.24.0), torch >= 2.4
(tested: 2.15.0). The hook needs the model's attention to dispatch through transformers'
AttentionInterface: decoders such as Llama/Qwen/Mistral on all of those, BERT-family
encoders from transformers 5.0. Importing this module without torch or transformers
raises ImportError naming the missing package.
"""
from __future__ import annotations

from ._deps import require as _require

_require("torch")
_require("transformers")

from ._models import check_attention_backend, check_cache_model, head_dims  # noqa: E402,F401
from .attention import hook_state, register_attention  # noqa: E402,F401
from .cache import KakeyaCache, KakeyaLayer  # noqa: E402,F401


def cache_argument(model) -> str:
    """The keyword under which this transformers version's model.forward / generate takes a
    cache: "cache" (transformers >= 5.2x, where past_key_values is deprecated) or
    "past_key_values". model(**{cache_argument(model): cache}) works on every supported version."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


__all__ = ["KakeyaCache", "KakeyaLayer", "register_attention", "hook_state", "head_dims",
           "check_cache_model", "check_attention_backend", "cache_argument"]
