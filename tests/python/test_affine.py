# SPDX-License-Identifier: Apache-2.0
"""The per-channel affine pre-transform from Python: float32 contract against NumPy,
RoPE-aware fit, spec round trip, argument errors, and the codec gain on offset rows."""
import json

import numpy as np
import pytest

import kakeyalattice as kl
from kakeyalattice.dsv4.rope import apply_rope, inv_frequencies


def _offset_keys(rows=3000, dim=64, heads=2, seed=0):
    """Pre-RoPE keys with large per-channel means, then RoPE per head at positions 0..rows-1."""
    rng = np.random.default_rng(seed)
    mean = (6.0 * rng.standard_normal(dim)).astype(np.float32)
    k = (mean + rng.standard_normal((rows, dim)).astype(np.float32)).astype(np.float32)
    hd = dim // heads
    inv = inv_frequencies(hd, 10000.0)
    pos = np.arange(rows)
    kr = np.concatenate([apply_rope(k[:, h * hd:(h + 1) * hd], pos, inv) for h in range(heads)], axis=1)
    cos, sin = kl.rope_cos_sin(pos, inv)
    return mean, k, kr, cos, sin, kl.rope_pairs(dim, heads=heads)


def test_rope_pairs_layouts():
    p = kl.rope_pairs(8, rope_dims=4)
    assert p.tolist() == [[4, 5, 0], [6, 7, 1]]
    assert kl.rope_pairs(8, layout="half").tolist() == [[0, 4, 0], [1, 5, 1], [2, 6, 2], [3, 7, 3]]
    assert kl.rope_pairs(8, heads=2).tolist() == [[0, 1, 0], [2, 3, 1], [4, 5, 0], [6, 7, 1]]
    with pytest.raises(kl.KakeyaValueError, match="rope_dims = 3"):
        kl.rope_pairs(8, rope_dims=3)
    with pytest.raises(kl.KakeyaValueError, match="layout = 'x'"):
        kl.rope_pairs(8, layout="x")


def test_forward_matches_numpy_float32_and_rope_matches_apply_rope():
    mean, k, kr, cos, sin, pairs = _offset_keys(rows=200)
    scale = np.linspace(0.5, 2.0, 64).astype(np.float32)
    scale[pairs[:, 1]] = scale[pairs[:, 0]]
    aff = kl.ChannelAffine(mean, scale, pairs)
    z = aff.forward(kr, cos, sin)
    # NumPy float32 of the documented contract: rotated mean, then (x − μ_p)/σ
    mu = np.tile(mean, (200, 1))
    a, b, f = pairs[:, 0], pairs[:, 1], pairs[:, 2]
    c, s = cos[:, f], sin[:, f]
    mu[:, a], mu[:, b] = mean[a] * c - mean[b] * s, mean[a] * s + mean[b] * c
    np.testing.assert_array_equal(z, (kr - mu) / scale)
    # the rotated mean is RoPE of the mean, so z = RoPE((k − μ)/σ) up to rounding
    hd = 32
    inv = inv_frequencies(hd, 10000.0)
    want = np.concatenate([apply_rope(((k - mean) / scale)[:, h * hd:(h + 1) * hd], np.arange(200), inv)
                           for h in range(2)], axis=1)
    np.testing.assert_allclose(z, want, atol=2e-5 * np.abs(mean).max())
    np.testing.assert_allclose(aff.inverse(z, cos, sin), kr, atol=1e-5 * np.abs(kr).max())


def test_fit_recovers_the_pre_rope_mean():
    mean, k, kr, cos, sin, pairs = _offset_keys()
    aff = kl.ChannelAffine.fit(kr, pairs=pairs, cos=cos, sin=sin)
    np.testing.assert_allclose(aff.mean, mean, atol=5 / np.sqrt(3000))
    flat = kl.ChannelAffine.fit(kr)  # fitted after RoPE: the rotated means wash out
    assert np.abs(flat.mean - mean).mean() > 5 * np.abs(aff.mean - mean).mean()
    sc = kl.ChannelAffine.fit(k, scale=True)
    np.testing.assert_allclose(sc.scale, 1.0, atol=0.08)


def test_affine_codec_beats_plain_on_offset_keys_and_spec_round_trips():
    mean, k, kr, cos, sin, pairs = _offset_keys()
    cal, ev = slice(0, 1500), slice(1500, 3000)
    base = kl.codec("e8v2", 64, bits=5)
    rope = kl.AffineCodec(base, kl.ChannelAffine.fit(kr[cal], pairs=pairs, cos=cos[cal], sin=sin[cal]))
    flat = kl.AffineCodec(base, kl.ChannelAffine.fit(kr[cal]))
    e_plain = kl.rel_mse(kr[ev], base.roundtrip(kr[ev]))
    e_flat = kl.rel_mse(kr[ev], flat.roundtrip(kr[ev]))
    e_rope = kl.rel_mse(kr[ev], rope.roundtrip(kr[ev], cos[ev], sin[ev]))
    assert e_rope < e_flat / 4 and e_flat < e_plain  # RoPE-aware ≥ 6 dB better than fit-after here
    codes = rope.encode(kr[ev], cos[ev], sin[ev])
    np.testing.assert_array_equal(codes, base.encode(rope.affine.forward(kr[ev], cos[ev], sin[ev])))
    spec = json.loads(json.dumps(rope.spec))
    again = kl.codec_from_spec(spec)
    assert isinstance(again, kl.AffineCodec)
    np.testing.assert_array_equal(again.encode(kr[ev], cos[ev], sin[ev]), codes)
    np.testing.assert_array_equal(again.affine.mean, rope.affine.mean)


def test_float16_and_bfloat16_rows():
    x = (np.random.default_rng(2).standard_normal((12, 32)) + 5).astype(np.float32)
    aff = kl.ChannelAffine.fit(x)
    for dt in (np.float16, pytest.importorskip("ml_dtypes").bfloat16):
        xd = x.astype(dt)
        np.testing.assert_array_equal(aff.forward(xd), aff.forward(xd.astype(np.float32)))
    with pytest.raises(kl.KakeyaTypeError, match="dtype int32 is not supported"):
        aff.forward(np.ones((2, 32), np.int32))


def test_torch_cpu_rows():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((10, 32)).astype(np.float32) + 5
    aff = kl.ChannelAffine.fit(x)
    c = kl.AffineCodec(kl.codec("e8v2", 32, bits=6), aff)
    out = c.roundtrip(torch.from_numpy(x))
    assert isinstance(out, torch.Tensor) and out.shape == (10, 32)
    np.testing.assert_allclose(out.numpy(), c.roundtrip(x))


def test_errors_name_the_argument():
    with pytest.raises(kl.KakeyaValueError, match=r"mean\[1\] = nan"):
        kl.ChannelAffine([0.0, np.nan])
    with pytest.raises(kl.KakeyaValueError, match=r"scale\[0\] = -1"):
        kl.ChannelAffine([0.0, 0.0], [-1.0, 1.0])
    aff = kl.ChannelAffine(np.zeros(8), pairs=[[0, 1, 0]])
    x = np.ones((3, 8), np.float32)
    with pytest.raises(kl.KakeyaValueError, match="cos is required"):
        aff.forward(x)
    with pytest.raises(kl.KakeyaValueError, match=r"cos shape \(2, 1\) must be \(rows = 3, nfreq = 1\)"):
        aff.forward(x, np.ones((2, 1)), np.ones((2, 1)))
    with pytest.raises(kl.KakeyaValueError, match="last dimension is 7, expected 8"):
        aff.forward(np.ones((3, 7), np.float32), np.ones((3, 1)), np.ones((3, 1)))
    with pytest.raises(kl.KakeyaValueError, match="affine dim = 8 does not match the codec dim = 32"):
        kl.AffineCodec(kl.codec("e8v2", 32, bits=6), aff)
    with pytest.raises(kl.KakeyaTypeError, match="scale = 'yes'"):
        kl.ChannelAffine.fit(x, scale="yes")
    with pytest.raises(kl.KakeyaValueError, match="must be >= 1 to fit"):
        kl.ChannelAffine.fit(np.zeros((0, 8), np.float32))
    with pytest.raises(kl.KakeyaValueError, match=r"x\[1, 2\] = inf"):
        bad = np.zeros((3, 8), np.float32)
        bad[1, 2] = np.inf
        kl.ChannelAffine.fit(bad)
    with pytest.raises(kl.KakeyaValueError, match=r"x\[0, 2\]"):  # non-finite z: the codec's check
        kl.AffineCodec(kl.codec("e8v2", 8 * 4, bits=6), kl.ChannelAffine(np.zeros(32))).encode(
            np.where(np.arange(32) == 2, np.nan, 1.0).astype(np.float32)[None])
