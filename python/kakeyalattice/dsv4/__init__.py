# SPDX-License-Identifier: Apache-2.0
"""A NumPy port of DeepSeek-V4-Flash's KV write paths (prefill only).

    config      architecture constants (V4FlashConfig) and the layer pattern
                (compress_ratios), built in or read from a V4 config.json
    precision   V4's bf16 casts and the activation FP8 (UE8M0 scales) of its FP8 GEMMs
    rope        rotary embeddings, with the YaRN frequency correction of the compressor
    kv          attn_norm, the window KV of every layer and the gated-pooling Compressor
                (ratio 4 with overlap, ratio 128 without); the measured streams (STREAMS),
                each returned before and after V4's FP8 step
    safetensors a reader/writer for safetensors shards, FP8 (E4M3 + E8M0/F32 tiles) dequant
    weights     layer weights from trained shards (dtype and shape checked), or seeded random
    host        host hidden states: real token embeddings of a small host model, or a
                clearly labelled synthetic fallback
    passages    the eight built-in passages
"""
from .config import V4FlashConfig, config_from_json  # noqa: F401
from .kv import (  # noqa: F401
    STREAMS,
    KVStreams,
    StreamSpec,
    compress_kv,
    kv_streams,
    v4_fp8_storage,
    window_kv,
)
from .weights import LayerWeights, load_layer_weights, random_layer_weights  # noqa: F401
