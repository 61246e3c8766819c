# SPDX-License-Identifier: Apache-2.0
"""The rate–distortion bench: settings, metrics and reports."""
import json
import math

import numpy as np
import pytest

import kakeyalattice as kl
from kakeyalattice.bench import landscape_codecs, run_rd, shannon_db, write_rd
from kakeyalattice.bench.rd import best_at


def test_shannon_db_definition():
    # rel-MSE exactly at the bound is 0 dB; 4x the bound is +6.02 dB
    assert shannon_db(2.0 ** -8, 4.0) == pytest.approx(0.0, abs=1e-12)
    assert shannon_db(4 * 2.0 ** -8, 4.0) == pytest.approx(10 * math.log10(4), rel=1e-12)


def test_landscape_covers_every_family_at_512():
    x = np.random.default_rng(0).standard_normal((64, 512)).astype(np.float32)
    fams = {c.family for c in landscape_codecs(512, x)}
    assert fams == set(kl.codec_names()) - {"d4", "z"}


def test_landscape_skips_settings_invalid_for_dim():
    # dim 40: no group of 32/64, no nvfp4 (needs a multiple of 16)
    fams = {c.family for c in landscape_codecs(40, np.ones((2, 40), np.float32))}
    assert "nvfp4" not in fams and "mxfp4" not in fams and "fp8_per64" not in fams
    assert {"e8", "lloydmax", "bf16"} <= fams


def test_rd_reproduces_known_gaussian_numbers():
    res = run_rd(256, n=4096, seed=1, families=["lloydmax", "e8"])
    rows = {r["codec"]: r for r in res["rows"]}
    # Lloyd–Max MSE per unit variance at 4 bits is 0.009501 (DESIGN.md §2); the norm
    # normalisation adds little at D = 256
    assert rows["lloydmax4_d256"]["rel_mse"] == pytest.approx(0.0095, rel=0.03)
    # v1 E8 box sits 4.5-6.1 dB from Shannon at these rates
    assert 4.0 < rows["e8_q10_bf16_d256"]["db_from_shannon"] < 6.5
    assert best_at(res["rows"], 4.2)["bits_per_coord"] <= 4.2


def test_rd_user_data_and_reports(tmp_path):
    x = np.random.default_rng(2).standard_normal((300, 64)).astype(np.float32) * 3 + 1
    f = tmp_path / "v.npy"
    np.save(f, x)
    res = run_rd(64, data=str(f), families=["int", "bf16"])
    assert "user data" in res["source"]
    files = write_rd(res, tmp_path / "out", "test")
    data = json.loads((tmp_path / "out" / files["json"]).read_text())
    assert len(data["rows"]) == len(res["rows"]) > 0
    assert (tmp_path / "out" / files["plot"]).stat().st_size > 1000
    with pytest.raises(kl.KakeyaValueError, match="shape"):
        run_rd(128, data=str(f))
    with pytest.raises(ValueError, match="dim = 12"):
        run_rd(12)
