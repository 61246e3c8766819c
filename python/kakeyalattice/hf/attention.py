# SPDX-License-Identifier: Apache-2.0
"""An attention function for any transformers model: K and V go through the codecs
(encode, then decode, by the library) and then through transformers' standard SDPA
attention.

    name = register_attention(kl.Codec(32, q=38))                # -> "kakeya"
    model = AutoModel.from_pretrained(path, attn_implementation=name)

It is registered in transformers' AttentionInterface (the attention function) and
AttentionMaskInterface (the SDPA mask format), so any model whose attention dispatches
through that interface (`model._supports_attention_backend`: BERT-style encoders and
Llama/Qwen/Mistral-style decoders among many others) runs with compressed K/V. During
generation with a regular cache the cache keeps exact K/V and every step compresses all
of them again, which gives the same attention inputs as a cache that stores the codes;
KakeyaCache stores the codes for real. Gradients do not flow through the codecs.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Callable

from ._codecs import codec_resolver
from ._deps import require
from ._models import check_dims

torch = require("torch")
require("transformers")
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface  # noqa: E402
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS, AttentionInterface  # noqa: E402

_RESERVED = ("eager", "sdpa", "flex_attention", "flash_attention_2", "flash_attention_3", "flash_attention_4",
             "paged|eager", "paged|sdpa")
_FLOAT_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


class HookState:
    """What a registered hook compresses with, and what it has seen (for evaluation)."""

    def __init__(self, resolve: Callable[[int | None], tuple[Any, Any]] | None):
        self.resolve = resolve          # None: pass K/V through unchanged (the exact model)
        self.calls = 0
        self.stats: dict | None = None  # when a dict: per-stream sums of kl.compare results
        self.amax: dict | None = None   # when a dict: {(layer_idx, stream): max |x|} of the inputs

    def _roundtrip(self, codec, x, stream: str):
        if x.dtype not in _FLOAT_DTYPES:
            raise TypeError(f"{stream} dtype {x.dtype} is not supported by the codecs; run the model in float32, "
                            "float16 or bfloat16")
        xh = codec.decode(codec.encode(x.detach()), dtype=x.dtype)
        if self.stats is not None:
            from .. import compare

            s = compare(x.detach().float().cpu(), xh.float().cpu())
            acc = self.stats.setdefault(stream, {"sq_error": 0.0, "centered_energy": 0.0, "rows": 0})
            for key in acc:
                acc[key] += s[key]
        return xh

    def __call__(self, module, query, key, value, attention_mask, *args, **kwargs):
        self.calls += 1
        layer_idx = getattr(module, "layer_idx", None)
        if self.amax is not None:
            for stream, x in (("keys", key), ("values", value)):
                m = float(x.detach().abs().max()) if x.numel() else 0.0
                self.amax[(layer_idx, stream)] = max(self.amax.get((layer_idx, stream), 0.0), m)
        if self.resolve is not None:
            kc, vc = self.resolve(layer_idx)
            check_dims(layer_idx, kc, vc, key.shape[-1], value.shape[-1], type(module).__name__)
            key = self._roundtrip(kc, key, "keys")
            value = self._roundtrip(vc, value, "values")
        return ALL_ATTENTION_FUNCTIONS["sdpa"](module, query, key, value, attention_mask, *args, **kwargs)


_STATES: dict[str, HookState] = {}


def _register(name: str, state: HookState) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {name!r}")
    if name in _RESERVED:
        raise ValueError(f"name = {name!r} is one of transformers' own attention implementations {_RESERVED}; "
                         "pick another name")
    AttentionInterface.register(name, state)
    AttentionMaskInterface.register(name, ALL_MASK_ATTENTION_FUNCTIONS["sdpa"])
    _STATES[name] = state
    return name


def register_attention(k_codec: Any, v_codec: Any = None, name: str = "kakeya",
                       layer_codecs: Mapping[int, Any] | Sequence[Any] | None = None) -> str:
    """Register an attention function that round-trips K (k_codec) and V (v_codec, default
    k_codec) through the codecs before SDPA; returns `name`, to pass as
    `attn_implementation=name` to from_pretrained (or model.set_attn_implementation).
    layer_codecs overrides the codecs per layer (by the attention module's layer_idx), as
    in KakeyaCache. Registering an existing name replaces its codecs for every model that
    uses it. Codec dims are checked against the K/V head dims on the first forward.
    """
    return _register(name, HookState(codec_resolver(k_codec, v_codec, layer_codecs)))


def hook_state(name: str) -> HookState:
    """The state of a hook registered by this module (call counts, optional statistics)."""
    if name not in _STATES:
        raise KeyError(f"no kakeyalattice attention hook is registered under name = {name!r}")
    return _STATES[name]
