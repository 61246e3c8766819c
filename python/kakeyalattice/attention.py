# SPDX-License-Identifier: Apache-2.0
"""Decode attention over a paged cache of codec records.

    cache = PagedCache(k_codec, v_codec, num_blocks=64, block_size=16, kv_heads=8)   # numpy (CPU)
    cache = PagedCache(k_codec, None, ..., device="cuda")   # torch CUDA; v_codec None: shared K=V latent
    cache.append(k_new, v_new, slot_mapping)                # (n, kv_heads, dim), slots int64 (n,)
    out = decode_attention(q, cache, block_table, seq_lens) # q (batch, q_heads, dim) -> float32

On the CPU, decode_attention is the float64 reference (decode everything, then attend);
on CUDA it runs the split-KV kernel that reads the codes directly. attention_quality()
measures what a codec does to one attention layer against a bf16 cache.
"""
from __future__ import annotations

import math

import numpy as np

from . import _core
from ._codec import BF16Codec, CodecBase
from ._core import KakeyaTypeError, KakeyaValueError


class PagedCache:
    """Record storage for `num_blocks · block_size` token slots × `kv_heads` heads."""

    def __init__(self, k_codec: CodecBase, v_codec: CodecBase | None, num_blocks: int, block_size: int,
                 kv_heads: int, device: str = "cpu"):
        for name, v in (("num_blocks", num_blocks), ("block_size", block_size), ("kv_heads", kv_heads)):
            if not isinstance(v, (int, np.integer)) or v <= 0:
                raise KakeyaValueError(f"{name} = {v!r} must be a positive integer")
        if v_codec is not None and v_codec.dim != k_codec.dim:
            raise KakeyaValueError(f"v_codec dim = {v_codec.dim} does not match k_codec dim = {k_codec.dim}")
        self.k_codec, self.v_codec = k_codec, v_codec
        self.num_blocks, self.block_size, self.kv_heads = int(num_blocks), int(block_size), int(kv_heads)
        self.device = str(device)
        n = self.num_blocks * self.block_size * self.kv_heads
        if self.device == "cpu":
            self.k = np.zeros(n * k_codec.code_bytes, np.uint8)
            self.v = None if v_codec is None else np.zeros(n * v_codec.code_bytes, np.uint8)
        else:
            import torch

            self.k = torch.zeros(n * k_codec.code_bytes, dtype=torch.uint8, device=self.device)
            self.v = None if v_codec is None else torch.zeros(n * v_codec.code_bytes, dtype=torch.uint8,
                                                              device=self.device)

    @property
    def dim(self) -> int:
        return self.k_codec.dim

    @property
    def shared(self) -> bool:
        return self.v_codec is None

    def _vcore(self):
        return None if self.v_codec is None else self.v_codec._core

    def append(self, k_new, v_new, slot_mapping) -> None:
        """Encode new tokens straight into their slots (k_new, v_new: (n, kv_heads, dim))."""
        if self.device == "cpu":
            kn = np.ascontiguousarray(np.asarray(k_new, dtype=np.float32))
            vn = None if self.shared else np.ascontiguousarray(np.asarray(v_new, dtype=np.float32))
            slots = np.ascontiguousarray(np.asarray(slot_mapping, dtype=np.int64))
            if kn.shape != (slots.size, self.kv_heads, self.dim):
                raise KakeyaValueError(f"k_new shape {kn.shape}, expected (n = {slots.size}, {self.kv_heads}, {self.dim})")
            _core.append_kv(self.k_codec._core, self._vcore(), kn, vn, slots, self.k, self.v,
                            self.num_blocks, self.block_size, self.kv_heads)
            return
        import torch

        if not getattr(_core, "WITH_CUDA", False):
            raise KakeyaValueError("this kakeyalattice build has no CUDA kernels (kakeyalattice.WITH_CUDA is False)")
        dt = {torch.float32: "float32", torch.bfloat16: "bfloat16"}
        if k_new.dtype not in dt:
            raise KakeyaTypeError(f"k_new dtype {k_new.dtype} must be float32 or bfloat16 on CUDA")
        slots = slot_mapping.to(device=self.device, dtype=torch.int64).contiguous()
        kn = k_new.to(self.device).contiguous()
        if tuple(kn.shape) != (slots.numel(), self.kv_heads, self.dim):
            raise KakeyaValueError(f"k_new shape {tuple(kn.shape)}, expected ({slots.numel()}, {self.kv_heads}, {self.dim})")
        vn = kn if self.shared else v_new.to(device=self.device, dtype=kn.dtype).contiguous()
        flag = torch.zeros(1, dtype=torch.int32, device=self.device)
        with torch.cuda.device(self.k.device):
            stream = torch.cuda.current_stream().cuda_stream
            _core.gpu_append_kv(self.k_codec._core, self._vcore(), k_new=kn, v_new=None if self.shared else vn,
                                slot_mapping=slots, k_cache=self.k, v_cache=self.v, num_blocks=self.num_blocks,
                                block_size=self.block_size, kv_heads=self.kv_heads, flag=flag, stream=stream)
        if int(flag.item()) != 0:
            raise KakeyaValueError("append: a slot is outside the cache or a value cannot be encoded (NaN/Inf)")


def decode_attention(q, cache: PagedCache, block_table, seq_lens, scale: float | None = None):
    """Single-token decode attention; returns float32 (batch, q_heads, dim)."""
    scale = 1.0 / math.sqrt(cache.dim) if scale is None else float(scale)
    if cache.device == "cpu":
        qa = np.ascontiguousarray(np.asarray(q, dtype=np.float32))
        if qa.ndim != 3 or qa.shape[2] != cache.dim:
            raise KakeyaValueError(f"q shape {qa.shape} must be (batch, q_heads, {cache.dim})")
        return _core.attention_reference(cache.k_codec._core, cache._vcore(), cache.k, cache.v, cache.num_blocks,
                                         cache.block_size, cache.kv_heads,
                                         np.ascontiguousarray(np.asarray(block_table, dtype=np.int32)),
                                         np.ascontiguousarray(np.asarray(seq_lens, dtype=np.int32)), qa, scale)
    import torch

    if tuple(q.shape[2:]) != (cache.dim,) or q.dim() != 3:
        raise KakeyaValueError(f"q shape {tuple(q.shape)} must be (batch, q_heads, {cache.dim})")
    tag = {torch.float32: "float32", torch.bfloat16: "bfloat16"}.get(q.dtype)
    if tag is None:
        raise KakeyaTypeError(f"q dtype {q.dtype} must be float32 or bfloat16")
    qd = q.to(cache.device).contiguous()
    table = torch.as_tensor(block_table, dtype=torch.int32, device=cache.device).contiguous()
    lens = torch.as_tensor(seq_lens, dtype=torch.int32, device=cache.device).contiguous()
    batch, q_heads = qd.shape[0], qd.shape[1]
    if table.dim() != 2 or table.shape[0] != batch or lens.numel() != batch:
        raise KakeyaValueError("block_table must be (batch, max_blocks) and seq_lens (batch,)")
    max_len = int(lens.max().item()) if batch else 0
    ws_bytes = _core.gpu_attention_workspace(batch=batch, q_heads=q_heads, kv_heads=cache.kv_heads, dim=cache.dim,
                                             max_len=max_len)
    ws = torch.empty(max(ws_bytes, 4), dtype=torch.uint8, device=cache.device)
    out = torch.empty((batch, q_heads, cache.dim), dtype=torch.float32, device=cache.device)
    flag = torch.zeros(1, dtype=torch.int32, device=cache.device)
    with torch.cuda.device(qd.device):
        stream = torch.cuda.current_stream().cuda_stream
        _core.gpu_decode_attention(cache.k_codec._core, cache._vcore(), k_cache=cache.k, v_cache=cache.v,
                                   num_blocks=cache.num_blocks, block_size=cache.block_size, kv_heads=cache.kv_heads,
                                   block_table=table, seq_lens=lens, q=qd, out=out, workspace=ws, scale=scale,
                                   max_len=max_len, flag=flag, stream=stream)
    if int(flag.item()) != 0:
        raise KakeyaValueError("decode_attention: corrupt record, block id outside the cache, or seq_len beyond the "
                         f"block table (flag {int(flag.item())})")
    return out


def _softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def attention_quality(q, k, v, k_codec: CodecBase, v_codec: CodecBase | None = None, scale: float | None = None) -> dict:
    """One attention layer's decode with compressed K/V against the same with bf16 K/V.

    q: (batch, q_heads, dim); k, v: (batch, tokens, kv_heads, dim) float32 (v ignored and K
    reused when v_codec is None: a shared K=V latent). Returns the output relative error
    ‖o − o_bf16‖/‖o_bf16‖, the mean softmax KL(p_bf16 ‖ p) in nats, and the mean cosine of
    the outputs. K/V go through the codecs' C++ round trip; the attention is float64 NumPy.
    """
    q = np.asarray(q, dtype=np.float64)
    k = np.asarray(k, dtype=np.float32)
    v = k if v_codec is None else np.asarray(v, dtype=np.float32)
    b, t, hkv, d = k.shape
    if q.ndim != 3 or q.shape[0] != b or q.shape[2] != d or q.shape[1] % hkv:
        raise KakeyaValueError(f"q shape {q.shape} does not fit k shape {k.shape}")
    scale = 1.0 / math.sqrt(d) if scale is None else float(scale)
    bf = BF16Codec(d)
    vc = k_codec if v_codec is None else v_codec

    def rt(codec, x):
        return codec.roundtrip(x.reshape(-1, d)).reshape(x.shape).astype(np.float64)

    kb, vb = rt(bf, k), rt(bf, v)
    kc, vcd = rt(k_codec, k), rt(vc, v)
    g = q.shape[1] // hkv
    qh = q.reshape(b, hkv, g, d)
    s_ref = np.einsum("bhgd,bthd->bhgt", qh, kb) * scale
    s_cmp = np.einsum("bhgd,bthd->bhgt", qh, kc) * scale
    p_ref, p_cmp = _softmax(s_ref), _softmax(s_cmp)
    o_ref = np.einsum("bhgt,bthd->bhgd", p_ref, vb)
    o_cmp = np.einsum("bhgt,bthd->bhgd", p_cmp, vcd)
    kl = np.sum(p_ref * (np.log(np.maximum(p_ref, 1e-300)) - np.log(np.maximum(p_cmp, 1e-300))), axis=-1)
    num = np.sqrt(((o_cmp - o_ref) ** 2).sum())
    cos = (o_cmp * o_ref).sum(-1) / np.maximum(np.linalg.norm(o_cmp, axis=-1) * np.linalg.norm(o_ref, axis=-1), 1e-300)
    return {"output_rel_error": float(num / max(np.sqrt((o_ref**2).sum()), 1e-300)),
            "softmax_kl_mean": float(kl.mean()), "softmax_kl_max": float(kl.max()),
            "output_cosine_mean": float(cos.mean())}
