# SPDX-License-Identifier: Apache-2.0
"""KakeyaCache: a transformers Cache whose layers hold K and V as packed codes.

What one layer holds (per batch row and KV head):
  key_codes, value_codes  uint8 (batch, kv_heads, n_coded, code_bytes) on the model's device;
  keys, values            the most recent `residual_length` tokens, uncompressed, bfloat16
                          (batch, kv_heads, n_window, head_dim); empty when residual_length = 0.
Appending encodes only the tokens that leave the window (all new tokens when
residual_length = 0); each token is encoded exactly once. Reading decodes every coded
token through the library (the CUDA kernels for CUDA tensors) into the model's dtype and
appends the window. No decoded copy is kept between steps, so memory_bytes() is exactly
the codes plus the window; the price is one decode of the whole layer per forward
(O(tokens) per step, like any attention kernel that reads compressed K/V) plus one copy of
the layer's codes when torch.cat appends (as DynamicLayer does for its bf16 tensors).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._codecs import codec_resolver
from ._deps import require
from ._models import check_cache_model, check_dims

torch = require("torch")
require("transformers")
from transformers.cache_utils import Cache, CacheLayerMixin  # noqa: E402  (after the version check)

_FLOAT_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
WINDOW_DTYPE = torch.bfloat16


def _check_int(name: str, v: Any, lo: int = 0) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{name} must be an int, got {v!r}")
    if v < lo:
        raise ValueError(f"{name} = {v} must be >= {lo}")
    return v


class KakeyaLayer(CacheLayerMixin):
    """One attention layer's K/V as codes plus an optional bf16 window (see module doc)."""

    is_sliding = False
    is_compileable = False
    is_croppable = True

    def __init__(self, k_codec: Any, v_codec: Any, residual_length: int = 0, layer_idx: int | None = None):
        super().__init__()
        self.k_codec, self.v_codec = k_codec, v_codec
        self.residual_length = residual_length
        self.layer_idx = layer_idx
        self.key_codes = self.value_codes = None
        self.keys = self.values = None
        self.is_initialized = False  # set here too: CacheLayerMixin of transformers 4.56 does not
        self.cumulative_length = 0

    def __repr__(self) -> str:
        return (f"KakeyaLayer(k={getattr(self.k_codec, 'name', self.k_codec)}, "
                f"v={getattr(self.v_codec, 'name', self.v_codec)}, residual_length={self.residual_length}, "
                f"tokens={self.cumulative_length})")

    # ------------------------------------------------------------------ storage
    def lazy_initialization(self, key_states, value_states) -> None:
        for arg, t in (("key_states", key_states), ("value_states", value_states)):
            if t.dim() != 4:
                raise ValueError(f"{arg} must be (batch, heads, seq, head_dim), got shape {tuple(t.shape)}")
            if t.dtype not in _FLOAT_DTYPES:
                raise TypeError(f"{arg} dtype {t.dtype} is not supported by the codecs; run the model in "
                                "float32, float16 or bfloat16")
        check_dims(self.layer_idx, self.k_codec, self.v_codec, key_states.shape[-1], value_states.shape[-1],
                   "from the key/value states the model passed to the cache")
        dev = key_states.device
        self.device = dev
        b = key_states.shape[0]
        hk, hv = key_states.shape[1], value_states.shape[1]
        self.key_codes = torch.empty((b, hk, 0, self.k_codec.code_bytes), dtype=torch.uint8, device=dev)
        self.value_codes = torch.empty((b, hv, 0, self.v_codec.code_bytes), dtype=torch.uint8, device=dev)
        self.keys = torch.empty((b, hk, 0, key_states.shape[-1]), dtype=WINDOW_DTYPE, device=dev)
        self.values = torch.empty((b, hv, 0, value_states.shape[-1]), dtype=WINDOW_DTYPE, device=dev)
        self.cumulative_length = 0
        self.is_initialized = True

    def _append(self, codec, codes, window, new):
        """Push `new` tokens through the window; encode whatever leaves it."""
        if self.residual_length == 0:
            to_code, window = new, window
        else:
            window = torch.cat([window, new.to(WINDOW_DTYPE)], dim=-2)
            spill = window.shape[-2] - self.residual_length
            to_code = window[..., :max(spill, 0), :]
            window = window[..., max(spill, 0):, :]
        if to_code.shape[-2] > 0:
            codes = torch.cat([codes, codec.encode(to_code.detach())], dim=-2)
        return codes, window

    def _read(self, codec, codes, window, dtype):
        if codes.shape[-2] == 0:
            decoded = torch.empty(codes.shape[:-1] + (codec.dim,), dtype=dtype, device=codes.device)
        else:
            decoded = codec.decode(codes, dtype=dtype)
        return torch.cat([decoded, window.to(dtype)], dim=-2) if window.shape[-2] else decoded

    def update(self, key_states, value_states, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        if key_states.shape[:-1] != value_states.shape[:-1] or key_states.shape[:2] != self.key_codes.shape[:2]:
            raise ValueError(f"key_states {tuple(key_states.shape)} / value_states {tuple(value_states.shape)} do "
                             f"not match this layer's (batch, heads) = {tuple(self.key_codes.shape[:2])}")
        self.key_codes, self.keys = self._append(self.k_codec, self.key_codes, self.keys, key_states)
        self.value_codes, self.values = self._append(self.v_codec, self.value_codes, self.values, value_states)
        self.cumulative_length += key_states.shape[-2]
        return (self._read(self.k_codec, self.key_codes, self.keys, key_states.dtype),
                self._read(self.v_codec, self.value_codes, self.values, value_states.dtype))

    # ------------------------------------------------------------------ sizes
    def get_seq_length(self) -> int:
        return self.cumulative_length

    def get_mask_sizes(self, query_length, *args) -> tuple[int, int]:
        # transformers 5.x passes the query length; 4.56/4.57 pass cache_position (a tensor).
        q = query_length.shape[0] if hasattr(query_length, "shape") else int(query_length)
        return self.cumulative_length + q, 0

    def get_max_length(self) -> int:
        return -1

    def get_max_cache_shape(self) -> int:  # transformers 4.56/4.57 name
        return -1

    def memory_bytes(self) -> int:
        if not self.is_initialized:
            return 0
        return sum(t.numel() * t.element_size() for t in (self.key_codes, self.value_codes, self.keys, self.values))

    def bf16_bytes(self) -> int:
        if not self.is_initialized:
            return 0
        n = self.cumulative_length
        b, hk, hv = self.key_codes.shape[0], self.key_codes.shape[1], self.value_codes.shape[1]
        return 2 * n * b * (hk * self.k_codec.dim + hv * self.v_codec.dim)

    # ------------------------------------------------------------------ edits
    def _tensors(self):
        return ("key_codes", "value_codes", "keys", "values")

    def _map(self, fn) -> None:
        if self.is_initialized:
            for name in self._tensors():
                setattr(self, name, fn(getattr(self, name)))

    def reset(self) -> None:
        self.key_codes = self.value_codes = self.keys = self.values = None
        self.cumulative_length = 0
        self.is_initialized = False

    def crop(self, max_length: int) -> None:
        """Keep the first max_length tokens; a negative value removes that many from the end
        (the convention of DynamicLayer.crop in transformers 4.56+ and 5.x)."""
        if not self.is_initialized:
            return
        keep = self.cumulative_length + max_length if max_length < 0 else max_length
        keep = max(keep, 0)
        if keep >= self.cumulative_length:
            return
        n_coded = self.key_codes.shape[-2]
        if keep >= n_coded:
            self.keys = self.keys[..., : keep - n_coded, :]
            self.values = self.values[..., : keep - n_coded, :]
        else:
            self.key_codes = self.key_codes[..., :keep, :]
            self.value_codes = self.value_codes[..., :keep, :]
            self.keys, self.values = self.keys[..., :0, :], self.values[..., :0, :]
        self.cumulative_length = keep

    def reorder_cache(self, beam_idx) -> None:
        # Codes are per vector, so reordering the batch is exact (no requantization).
        self._map(lambda t: t.index_select(0, beam_idx.to(t.device)))

    def batch_repeat_interleave(self, repeats: int) -> None:
        self._map(lambda t: t.repeat_interleave(repeats, dim=0))

    def batch_select_indices(self, indices) -> None:
        self._map(lambda t: t[indices, ...])

    def offload(self) -> None:
        self._map(lambda t: t.to("cpu", non_blocking=True))

    def prefetch(self) -> None:
        if self.is_initialized and self.key_codes.device != self.device:
            self._map(lambda t: t.to(self.device, non_blocking=True))


class KakeyaCache(Cache):
    """A transformers Cache that stores every layer's keys and values as packed codes.

        cache = KakeyaCache(kl.Codec(128, q=38))                 # E8, keys and values
        cache = KakeyaCache(k_codec, v_codec, residual_length=64) # keys/values at different rates
        out = model.generate(**inputs, past_key_values=cache)     # transformers >= 5.x: cache=cache

    k_codec / v_codec: any codec of the library (dim must equal the model's head_dim;
    v_codec defaults to k_codec). layer_codecs: per-layer overrides, a mapping
    {layer_idx: codec | (k_codec, v_codec)} or a sequence indexed by layer.
    residual_length: the most recent tokens kept uncompressed in bfloat16 (default 0).
    config: optional model config (or model); when given, the model is checked up front
    (decoder-only, attention layers only, head dims match the codecs) and every layer
    is created now instead of on first use.
    """

    def __init__(self, k_codec: Any, v_codec: Any = None, residual_length: int = 0,
                 layer_codecs: Mapping[int, Any] | Sequence[Any] | None = None, *, config: Any = None):
        self._resolve = codec_resolver(k_codec, v_codec, layer_codecs)
        self.residual_length = _check_int("residual_length", residual_length)
        layers = []
        if config is not None:
            n = check_cache_model(config, self._resolve)
            layers = [self._new_layer(i) for i in range(n)]
        super().__init__(layers=layers)

    def _new_layer(self, layer_idx: int) -> KakeyaLayer:
        kc, vc = self._resolve(layer_idx)
        return KakeyaLayer(kc, vc, self.residual_length, layer_idx)

    def update(self, key_states, value_states, layer_idx: int, *args, **kwargs):
        while len(self.layers) <= layer_idx:
            self.layers.append(self._new_layer(len(self.layers)))
        return super().update(key_states, value_states, layer_idx, *args, **kwargs)

    def memory_bytes(self) -> int:
        """Bytes this cache holds: codes plus the bf16 window, every layer."""
        return int(sum(layer.memory_bytes() for layer in self.layers))

    def bf16_bytes(self) -> int:
        """Bytes a bf16 DynamicCache would hold for the same tokens."""
        return int(sum(layer.bf16_bytes() for layer in self.layers))

    def _no_state(self, *args, **kwargs):
        raise ValueError("KakeyaCache holds attention K/V only; this model also has linear-attention / "
                         "state-space layers (conv or recurrent states), which it does not support")

    get_conv_state = update_conv_state = get_recurrent_state = update_recurrent_state = _no_state
