# SPDX-License-Identifier: Apache-2.0
import numpy as np
import pytest

import kakeyalattice as kl
from kakeyalattice.attention import PagedCache, attention_quality, decode_attention


def dense_attention(q, k, v, scale):
    b, hq, d = q.shape
    hkv = k[0].shape[1]
    g = hq // hkv
    out = np.zeros((b, hq, d))
    for bi in range(b):
        for h in range(hq):
            kk = k[bi][:, h // g, :].astype(np.float64)
            s = kk @ q[bi, h].astype(np.float64) * scale
            p = np.exp(s - s.max())
            p /= p.sum()
            out[bi, h] = p @ v[bi][:, h // g, :]
    return out


def build(k_codec, v_codec, lens, heads, block, rng):
    maxb = max(-(-n // block) for n in lens)
    nb = maxb * len(lens) + 2
    perm = rng.permutation(nb)
    table = np.zeros((len(lens), maxb), np.int32)
    cache = PagedCache(k_codec, v_codec, nb, block, heads)
    ks, vs = [], []
    i = 0
    for b, n in enumerate(lens):
        nblk = -(-n // block)
        table[b, :nblk] = perm[i : i + nblk]
        i += nblk
        slots = np.array([table[b, t // block] * block + t % block for t in range(n)], np.int64)
        k = rng.standard_normal((n, heads, k_codec.dim)).astype(np.float32)
        v = rng.standard_normal((n, heads, k_codec.dim)).astype(np.float32)
        cache.append(k, v, slots)
        ks.append(k)
        vs.append(v)
    return cache, table, ks, vs


def test_cpu_reference_against_dense_numpy():
    rng = np.random.default_rng(0)
    codec = kl.BF16Codec(64)
    cache, table, ks, vs = build(codec, codec, [20, 50], 2, 8, rng)
    ks = [k.astype(np.float32) for k in ks]
    q = rng.standard_normal((2, 4, 64)).astype(np.float32)
    out = decode_attention(q, cache, table, [20, 50])
    bf = [codec.roundtrip(k.reshape(-1, 64)).reshape(k.shape) for k in ks]
    bv = [codec.roundtrip(v.reshape(-1, 64)).reshape(v.shape) for v in vs]
    want = np.stack([dense_attention(q[i : i + 1], [bf[i]], [bv[i]], 0.125)[0] for i in range(2)])
    np.testing.assert_allclose(out, want, atol=2e-6)


def test_lattice_cache_and_shared_latent():
    rng = np.random.default_rng(1)
    e8 = kl.Codec(128, 38)
    cache, table, ks, vs = build(e8, kl.Codec(128, 10), [100], 2, 16, rng)
    q = rng.standard_normal((1, 8, 128)).astype(np.float32)
    out = decode_attention(q, cache, table, [100])
    ref = dense_attention(q, ks, vs, 1 / np.sqrt(128))
    err = np.linalg.norm(out - ref) / np.linalg.norm(ref)
    assert 0 < err < 0.1
    shared, t2, k2, _ = build(kl.Codec(512, 38), None, [64], 1, 32, rng)
    q2 = rng.standard_normal((1, 4, 512)).astype(np.float32)
    o2 = decode_attention(q2, shared, t2, [64])
    r2 = dense_attention(q2, k2, k2, 1 / np.sqrt(512))
    assert np.linalg.norm(o2 - r2) / np.linalg.norm(r2) < 0.05


def test_errors():
    codec = kl.BF16Codec(64)
    with pytest.raises(ValueError, match="num_blocks"):
        PagedCache(codec, codec, 0, 4, 1)
    cache = PagedCache(codec, codec, 2, 4, 1)
    with pytest.raises(ValueError, match="slot_mapping"):
        cache.append(np.zeros((1, 1, 64), np.float32), np.zeros((1, 1, 64), np.float32), [99])
    with pytest.raises(ValueError, match="k_new shape"):
        cache.append(np.zeros((2, 1, 64), np.float32), np.zeros((2, 1, 64), np.float32), [0])
    with pytest.raises(ValueError, match="block_table"):
        decode_attention(np.zeros((1, 1, 64), np.float32), cache, [[5]], [3])


def test_attention_quality_hook_orders_codecs():
    rng = np.random.default_rng(2)
    q = rng.standard_normal((2, 8, 128)) * 2
    k = rng.standard_normal((2, 256, 2, 128)).astype(np.float32)
    v = rng.standard_normal((2, 256, 2, 128)).astype(np.float32)
    hi = attention_quality(q, k, v, kl.Codec(128, 76))
    lo = attention_quality(q, k, v, kl.Codec(128, 4))
    fp8 = attention_quality(q, k, v, kl.FP8Per64Codec(128))
    assert hi["output_rel_error"] < fp8["output_rel_error"] < lo["output_rel_error"]
    assert 0 <= hi["softmax_kl_mean"] < lo["softmax_kl_mean"]
    same = attention_quality(q, k, v, kl.BF16Codec(128))
    assert same["output_rel_error"] == 0 and same["softmax_kl_mean"] == pytest.approx(0, abs=1e-12)
    shared = attention_quality(q, k, None, kl.Codec(128, 38), None)
    assert shared["output_rel_error"] < 0.05


