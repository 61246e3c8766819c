# SPDX-License-Identifier: Apache-2.0
"""Run-time ISA dispatch: build_info, `kakeyalattice info`, KAKEYA_ISA, and the golden
files under every instruction set this CPU runs (each in a fresh process, since the
library reads KAKEYA_ISA once)."""
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import kakeyalattice as kl
from kakeyalattice.cli import main

GOLDEN = pathlib.Path(__file__).resolve().parents[1] / "golden" / "golden_v1.json"


def _env(**extra):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    env.update(extra)
    return env


def test_build_info():
    bi = kl.build_info()
    assert bi["version"] == kl.__version__
    assert bi["isa"] in bi["isa_supported"]
    assert bi["isa_supported"][0] == "baseline"
    assert bi["threads"] == kl.num_threads() >= 1
    assert bi["cuda_built"] == kl.WITH_CUDA
    assert kl.FORMAT_VERSION in bi["format_versions"]


def test_info_cli(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "cpu isa:" in out and kl.build_info()["isa"] in out
    assert main(["info", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == kl.__version__


def test_set_isa_bits_identical():
    x = np.random.default_rng(3).standard_normal((700, 512)).astype(np.float32) * 3
    codec = kl.Codec(512, 38)
    before = kl.build_info()["isa"]
    try:
        results = {}
        for isa in kl.build_info()["isa_supported"]:
            kl.set_isa(isa)
            assert kl.build_info()["isa"] == isa
            codes = codec.encode(x)
            results[isa] = (codes, codec.decode(codes))
        ref = results["baseline"]
        for isa, (c, xh) in results.items():
            np.testing.assert_array_equal(c, ref[0], err_msg=isa)
            np.testing.assert_array_equal(xh.view(np.uint32), ref[1].view(np.uint32), err_msg=isa)
        with pytest.raises(kl.KakeyaValueError, match="not one of"):
            kl.set_isa("sse9")
    finally:
        kl.set_isa(before)


_GOLDEN_SCRIPT = """
import hashlib, json, pathlib, sys
import numpy as np
import kakeyalattice as kl
g = json.loads(pathlib.Path(sys.argv[1]).read_text())
out = {"isa": kl.build_info()["isa"], "cases": []}
for c in g["cases"]:
    kind = c["kind"]
    if kind in ("e8", "d4", "z"):
        codec = kl.Codec(c["dim"], c["q"], kind, c["scale"])
    else:
        codec = kl.codec_from_spec({"kind": kind, "dim": c["dim"], "q": 0, "rope_dims": c["rope_dims"]})
    x = np.frombuffer(bytes.fromhex(c["x_f32_le_hex"]), dtype="<f4").reshape(c["rows"], c["dim"])
    codes = codec.encode(x)
    xh = codec.decode(codes)
    out["cases"].append({"name": codec.name, "codes": codes.tobytes().hex(),
                         "xhat": hashlib.sha256(xh.tobytes()).hexdigest()})
print(json.dumps(out))
"""


def _golden_run(isa=None):
    env = _env(KAKEYA_ISA=isa) if isa else _env()
    r = subprocess.run([sys.executable, "-c", _GOLDEN_SCRIPT, str(GOLDEN)], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("isa", ["baseline", "avx2", "avx512"])
def test_golden_under_forced_isa(isa):
    """Every golden input encodes and decodes to the same bits under each ISA as under
    the default one, and the lattice cases (e8, d4, z) match the golden bytes (the full
    golden check, every family, is test_codec's under the default ISA)."""
    if isa not in kl.build_info()["isa_supported"]:
        pytest.skip(f"this CPU does not run {isa}")
    got, ref = _golden_run(isa), _golden_run()
    assert got["isa"] == isa
    assert got["cases"] == ref["cases"]
    g = json.loads(GOLDEN.read_text())
    n = 0
    for c, case in zip(g["cases"], got["cases"]):
        if c["kind"] in ("e8", "d4", "z"):
            assert case["codes"] == c["codes_hex"], case["name"]
            n += 1
    assert n > 0


def test_invalid_isa_env_is_an_error():
    code = "import numpy as np, kakeyalattice as kl; kl.Codec(64, 10).encode(np.ones((1, 64), np.float32))"
    r = subprocess.run([sys.executable, "-c", code], env=_env(KAKEYA_ISA="avx9000"), capture_output=True, text=True)
    assert r.returncode != 0 and "KAKEYA_ISA" in r.stderr and "not one of" in r.stderr
    r = subprocess.run([sys.executable, "-m", "kakeyalattice", "info"], env=_env(KAKEYA_ISA="avx9000"),
                       capture_output=True, text=True)
    assert r.returncode == 2 and "ERROR" in r.stdout
