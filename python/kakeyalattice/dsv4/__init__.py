# SPDX-License-Identifier: Apache-2.0
"""A NumPy port of DeepSeek-V4-Flash's three KV write paths (prefill only).

    config      architecture constants (V4FlashConfig)
    rope        rotary embeddings, with the YaRN frequency correction of the compressor
    kv          main KV projection and the gated-pooling Compressor (ratio 4 with overlap,
                ratio 128 without); each stream returned before and after V4's FP8 step
    safetensors a reader/writer for safetensors shards, FP8 (E4M3 + E8M0 tiles) dequant
    weights     layer weights from trained shards, or seeded random ones
    host        host hidden states: real token embeddings of a small host model, or a
                clearly labelled synthetic fallback
    passages    the eight built-in passages
"""
from .config import V4FlashConfig  # noqa: F401
from .kv import KVStreams, compress_kv, main_kv, v4_fp8_storage  # noqa: F401
from .weights import LayerWeights, load_layer_weights, random_layer_weights  # noqa: F401
