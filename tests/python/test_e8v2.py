# SPDX-License-Identifier: Apache-2.0
"""e8v2 (format v2) through the Python factory: parameters, rel-MSE against the NumPy
float64 reference (tests/reference/e8v2_ref.py), and distance from the Shannon bound."""
from __future__ import annotations

import math
import pathlib
import sys

import numpy as np
import pytest

import kakeyalattice as kl

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "reference"))
import e8v2_ref as ref  # noqa: E402


def _rel(x, xh):
    x = np.asarray(x, np.float64)
    return float(((x - xh) ** 2).sum() / ((x - x.mean(0)) ** 2).sum())


def test_factory_and_params():
    c = kl.codec("e8v2", 512, bits=6)
    assert c.family == "e8v2" and c.code_bytes == 384 and c.bits_per_vector == 3072
    assert c.params == {"bits": 6, "encoder": "exact"}
    c2 = kl.codec("e8v2", 512, **c.params)
    assert c2.code_bytes == c.code_bytes
    c3 = kl.codec("e8v2", 512, bits=6.4)
    assert c3.code_bytes == 409 and abs(c3.params["bits"] - 6.4) < 1e-6
    assert "e8v2" in kl.codec_names()
    assert kl.codec("e8v2", 128).code_bytes == 96              # default bits = 6


@pytest.mark.parametrize("bits,dim", [(2.0, 128), (9.0, 128), (6.0, 36), (6.0, 1032)])
def test_invalid(bits, dim):
    with pytest.raises(kl.KakeyaValueError) as e:
        kl.codec("e8v2", dim, bits=bits)
    assert "dim" in str(e.value)


@pytest.mark.parametrize("bits", [4.0, 6.0])
def test_matches_reference(bits):
    dim = 512
    x = np.random.default_rng(5).standard_normal((48, dim)).astype(np.float32)
    c = kl.codec("e8v2", dim, bits=bits)
    codes = c.encode(x)
    rc = ref.encode(x.astype(np.float64), dim, bits)
    assert np.array_equal(codes, rc)
    ours, theirs = _rel(x, c.decode(codes)), _rel(x, ref.decode(rc, dim, bits))
    assert abs(ours / theirs - 1) < 0.01


@pytest.mark.parametrize("bits", [4.0, 6.4])
def test_fast_encoder_matches_reference(bits):
    """encoder="fast" is the reference's search=-1, scales=(0,): same records, same decoder."""
    dim = 512
    x = np.random.default_rng(6).standard_normal((48, dim)).astype(np.float32)
    c = kl.codec("e8v2", dim, bits=bits, encoder="fast")
    assert c.params["encoder"] == "fast" and c.name.endswith("_fast")
    codes = c.encode(x)
    assert np.array_equal(codes, ref.encode(x.astype(np.float64), dim, float(np.float32(bits)), search=-1, scales=(0,)))
    assert np.array_equal(c.decode(codes), kl.codec("e8v2", dim, bits=bits).decode(codes))
    with pytest.raises(kl.KakeyaValueError, match="encoder = 'quick'"):
        kl.codec("e8v2", dim, bits=bits, encoder="quick")


@pytest.mark.parametrize("dim", [128, 512])
@pytest.mark.parametrize("encoder", ["exact", "fast"])
def test_db_from_shannon(dim, encoder):
    x = np.random.default_rng(dim).standard_normal((4096, dim)).astype(np.float32)
    for bits in (4.0, 5.0, 6.0, 7.0, 8.0):
        c = kl.codec("e8v2", dim, bits=bits, encoder=encoder)
        rel = _rel(x, c.roundtrip(x))
        db = 10 * math.log10(rel) + 20 * c.bits_per_coord * math.log10(2)
        assert db <= 3.0, (dim, bits, db)
