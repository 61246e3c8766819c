# SPDX-License-Identifier: Apache-2.0
"""The V4-Flash port against V4's own code: UE8M0 FP8 scales and record, attn_norm, the
window caches of CSA/HCA layers with the compressor's RoPE, the layer pattern, the
loader's dtype/shape checks (E8M0 and F32 scales), bf16 casts."""
import json
from dataclasses import replace

import ml_dtypes
import numpy as np
import pytest
import v4_record_ref as v4ref

import kakeya_ref as ref
import kakeyalattice as kl
from kakeyalattice.dsv4 import STREAMS, V4FlashConfig, config_from_json
from kakeyalattice.dsv4.config import V4_FLASH_COMPRESS_RATIOS
from kakeyalattice.dsv4.kv import (
    attn_norm,
    compress_kv,
    compressor_inv_frequencies,
    kv_streams,
    layer_inv_frequencies,
    window_kv,
)
from kakeyalattice.dsv4.precision import bf16_round, fp8_act_quant, ue8m0_scale
from kakeyalattice.dsv4.rope import apply_rope, inv_frequencies
from kakeyalattice.dsv4.safetensors import dequantize_fp8, write_safetensors
from kakeyalattice.dsv4.weights import (
    ShardIndex,
    expected_tensors,
    load_layer_weights,
    random_layer_weights,
)
from kakeyalattice.stage075.driver import resolve_config, v4_record_info

CFG = V4FlashConfig()
SMALL = V4FlashConfig(hidden=256, head_dim=128, rope_dims=64, csa_ratio=4, hca_ratio=8, window=16)


def is_bf16(a):
    return np.all((np.asarray(a, np.float32).view(np.uint32) & 0xFFFF) == 0)


# ----------------------------------------------------------------------------- UE8M0, FP8
def test_ue8m0_scale_matches_brute_force():
    rng = np.random.default_rng(0)
    amax = [0.0, 1e-7, float(np.float32(1e-4)), 448.0, 1.0, 3.0e38]
    for k in range(-20, 20):  # exact powers (448·2^k), their float32 neighbours, and 7·2^k
        for base in (448.0 * 2.0**k, 7.0 * 2.0**k):
            b = np.float32(base)
            amax += [float(b), float(np.nextafter(b, np.float32(np.inf))), float(np.nextafter(b, np.float32(0)))]
    amax += list(np.exp(rng.uniform(np.log(1e-6), np.log(1e6), 3000)))
    a = np.array(amax, dtype=np.float32)
    got = ue8m0_scale(a)
    want = v4ref.ue8m0_scales(a)
    np.testing.assert_array_equal(got.astype(np.float64), want)
    # a power of two, never below amax/448 (nothing saturates), less than twice it
    s = got.astype(np.float64)
    assert np.all(np.frexp(s)[0] == 0.5)
    floor = np.maximum(a.astype(np.float64), float(np.float32(1e-4))) / 448
    assert np.all(s >= floor) and np.all(s < 2 * floor)
    with pytest.raises(ValueError, match="amax"):
        ue8m0_scale(np.array([np.nan], np.float32))


def test_fp8_act_quant_matches_reference_and_bf16_round_matches_ml_dtypes():
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((6, 256)) * np.exp(rng.uniform(-8, 8, (6, 1)))).astype(np.float32)
    x[0] = 0.0
    x[1, :128] = 1e-6  # below the amax floor
    np.testing.assert_array_equal(fp8_act_quant(x, 128).astype(np.float64), v4ref.fp8_blocks(x, 128))
    with pytest.raises(ValueError, match="block"):
        fp8_act_quant(x, 100)
    y = (rng.standard_normal(10000) * 1e3).astype(np.float32)
    np.testing.assert_array_equal(bf16_round(y), y.astype(ml_dtypes.bfloat16).astype(np.float32))


def test_library_v4_native_is_the_584_byte_ue8m0_record():
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((64, 512)) * np.exp(rng.uniform(-6, 6, (64, 1)))).astype(np.float32)
    x[0] = 0.0
    x[1, :448] = 3e-6
    codec = kl.V4NativeCodec(512, rope_dims=64)
    assert codec.code_bytes == v4ref.v4_record_bytes(512) == 584
    np.testing.assert_array_equal(codec.roundtrip(x), v4ref.v4_record_roundtrip(x))
    assert v4_record_info(CFG)["is_v4_record"]


def test_reference_record_differs_from_a_bf16_scale_record():
    # The reference must be able to tell V4's UE8M0 record from the bf16-scale one.
    x = np.random.default_rng(3).standard_normal((32, 512)).astype(np.float32)
    ue8m0 = v4ref.v4_record_roundtrip(x)
    bf16_scale = ref.fp8_per64_decode(ref.fp8_per64_encode(x[:, :448]), 448)
    assert np.abs(ue8m0[:, :448] - bf16_scale).max() > 0
    err_ue8m0 = np.sum((ue8m0[:, :448] - x[:, :448]) ** 2)
    err_bf16 = np.sum((bf16_scale - x[:, :448]) ** 2)
    assert 1.05 < err_ue8m0 / err_bf16 < 1.5  # coarser power-of-two scales: more error


# ----------------------------------------------------------------------------- pattern
def test_layer_pattern_of_v4_flash():
    assert len(V4_FLASH_COMPRESS_RATIOS) == 44
    p = CFG.layer_pattern()
    assert p["swa"] == [0, 1]
    assert p["csa"] == list(range(2, 43, 2)) and len(p["csa"]) == 21
    assert p["hca"] == list(range(3, 42, 2)) and len(p["hca"]) == 20
    # the MTP entry (index 43) is not a layer of the stack
    assert sum(len(v) for v in p.values()) == 43


def test_layer_pattern_from_config_json_and_errors(tmp_path):
    f = tmp_path / "config.json"
    f.write_text(json.dumps({"hidden_size": 4096, "num_hidden_layers": 43, "head_dim": 512,
                             "qk_rope_head_dim": 64, "sliding_window": 128, "compress_rope_theta": 160000,
                             "rope_scaling": {"factor": 16, "original_max_position_embeddings": 65536,
                                              "beta_fast": 32, "beta_slow": 1, "type": "yarn"},
                             "compress_ratios": list(V4_FLASH_COMPRESS_RATIOS)}))
    cfg = config_from_json(f)
    assert cfg.layer_pattern() == CFG.layer_pattern() and cfg.compress_rope_theta == 160000.0
    f.write_text(json.dumps({"num_hidden_layers": 5, "compress_ratios": [0, 4, 128, 4, 4, 0, 0]}))
    assert config_from_json(f).layer_pattern() == {"swa": [0], "csa": [1, 3, 4], "hca": [2]}
    for bad, match in (({"num_hidden_layers": 4, "compress_ratios": [0, 4, 8, 128]}, r"compress_ratios\[2\] = 8"),
                       ({"num_hidden_layers": 5, "compress_ratios": [0, 4, 128]}, "fewer than n_layers"),
                       ({"num_hidden_layers": 3, "compress_ratios": [0, 4, 4]}, "no HCA layer"),
                       ({"num_hidden_layers": 3, "compress_ratios": [0, 4, "128"]}, "not an integer"),
                       ({"num_hidden_layers": "43", "compress_ratios": [0, 4, 128]}, "n_layers"),
                       ({"num_hidden_layers": 3}, "no 'compress_ratios'")):
        f.write_text(json.dumps(bad))
        with pytest.raises(ValueError, match=match):
            config_from_json(f)
    # the run's configuration: config.json beside the weights wins over the built-in one
    f.write_text(json.dumps({"num_hidden_layers": 5, "compress_ratios": [0, 4, 128, 4, 4, 0]}))
    cfg, source = resolve_config(None, None, tmp_path)
    assert source == str(f) and cfg.layer_pattern()["csa"] == [1, 3, 4]
    assert resolve_config(None, None, None)[0].layer_pattern() == CFG.layer_pattern()


# ----------------------------------------------------------------------------- port
def test_attn_norm_normalises_the_host_states_with_its_learned_weight():
    rng = np.random.default_rng(4)
    w = random_layer_weights(SMALL, "swa", 1)
    h = (rng.standard_normal((10, SMALL.hidden)) * 0.056).astype(np.float32)  # host RMS ~0.056
    x = attn_norm(h, w, SMALL)
    assert is_bf16(x)
    np.testing.assert_allclose(np.sqrt((x.astype(np.float64) ** 2).mean(1)), 1.0, rtol=1e-2)
    w.attn_norm = rng.uniform(0.5, 2.0, SMALL.hidden).astype(np.float32)
    hb = h.astype(ml_dtypes.bfloat16).astype(np.float32)
    want = hb / np.sqrt((hb.astype(np.float64) ** 2).mean(1, keepdims=True) + SMALL.norm_eps) * w.attn_norm
    np.testing.assert_allclose(attn_norm(h, w, SMALL), want, rtol=2**-7)


def test_streams_do_not_depend_on_the_host_scale():
    # attn_norm makes every stream invariant to the scale of the hidden states: with eps = 0
    # and a power-of-two scale even every rounding is identical. Fed to the compressor
    # directly, the same scale changes the gate scores and so the pooled KV.
    cfg = replace(SMALL, norm_eps=0.0)
    layers = {k: random_layer_weights(cfg, k, i) for i, k in enumerate(("swa", "csa", "hca"))}
    h = np.random.default_rng(5).standard_normal((64, cfg.hidden)).astype(np.float32) * 0.05
    a = kv_streams(h, layers, cfg)
    b = kv_streams(h * 16, layers, cfg)
    assert list(a.pre) == [s.name for s in STREAMS]
    for k in a.pre:
        np.testing.assert_array_equal(a.pre[k], b.pre[k])
    cw = layers["csa"].compressor
    raw_a, raw_b = compress_kv(h, cw, 4, True, cfg), compress_kv(h * 16, cw, 4, True, cfg)
    assert np.abs(raw_a - raw_b).max() > 0.1


def test_window_kv_follows_v4_casts_and_the_layer_rope():
    rng = np.random.default_rng(6)
    w = random_layer_weights(SMALL, "csa", 2)
    w.kv_norm = rng.uniform(0.5, 2.0, SMALL.head_dim).astype(np.float32)
    x = rng.standard_normal((12, SMALL.hidden)).astype(ml_dtypes.bfloat16).astype(np.float32)
    pos = np.arange(100, 112)
    kv = window_kv(x, w, pos, layer_inv_frequencies("csa", SMALL), SMALL)
    assert kv.shape == (12, 128) and is_bf16(kv)
    # V4: FP8 GEMM (input E4M3 per 128, UE8M0) with bf16 output, kv_norm, RoPE, each cast to bf16
    proj = (v4ref.fp8_blocks(x, 128).astype(np.float32) @ w.wkv.T).astype(ml_dtypes.bfloat16).astype(np.float32)
    normed = proj / np.sqrt((proj.astype(np.float64) ** 2).mean(1, keepdims=True) + SMALL.norm_eps) * w.kv_norm
    normed = normed.astype(np.float32).astype(ml_dtypes.bfloat16).astype(np.float32)
    np.testing.assert_allclose(kv[:, :64], normed[:, :64], rtol=2**-7, atol=1e-6)
    yarn = apply_rope(normed[:, 64:], pos, compressor_inv_frequencies(SMALL))
    np.testing.assert_allclose(kv[:, 64:], yarn, rtol=2**-6, atol=2e-2)
    # and not the main RoPE: CSA/HCA layers rotate their window KV with the compressor's base
    main = apply_rope(normed[:, 64:], pos, inv_frequencies(64, SMALL.rope_theta))
    assert np.abs(kv[:, 64:] - main).max() > 0.1
    np.testing.assert_array_equal(layer_inv_frequencies("swa", SMALL), inv_frequencies(64, SMALL.rope_theta))


def test_window_streams_of_csa_and_hca_layers_hold_the_last_window():
    layers = {k: random_layer_weights(SMALL, k, i) for i, k in enumerate(("swa", "csa", "hca"))}
    t = 40
    h = np.random.default_rng(7).standard_normal((t, SMALL.hidden)).astype(np.float32)
    s = kv_streams(h, layers, SMALL)
    assert s.pre["sliding_window_kv"].shape == (t, 128)
    for kind in ("csa", "hca"):
        got = s.pre[f"{kind}_window_kv"]
        assert got.shape == (SMALL.window, 128)
        x = attn_norm(h, layers[kind], SMALL)[t - SMALL.window:]
        want = window_kv(x, layers[kind], np.arange(t - SMALL.window, t), compressor_inv_frequencies(SMALL), SMALL)
        np.testing.assert_array_equal(got, want)
    # each layer kind uses its own wkv/kv_norm: the CSA and HCA window streams differ
    assert np.abs(s.pre["csa_window_kv"] - s.pre["hca_window_kv"]).max() > 0.1
    for k, v in s.pre.items():
        assert is_bf16(v), k
        np.testing.assert_array_equal(s.post[k], kl.V4NativeCodec(128, 64).roundtrip(v))


def test_compressor_casts_pooled_kv_to_bf16_before_its_norm():
    # V4: kv = norm(pooled.to(bf16)); the norm and RoPE each write bf16
    rng = np.random.default_rng(9)
    w = random_layer_weights(SMALL, "hca", 8).compressor
    w.norm = rng.uniform(0.5, 2.0, SMALL.head_dim).astype(np.float32)
    x = rng.standard_normal((32, SMALL.hidden)).astype(np.float32)
    out = compress_kv(x, w, 8, False, SMALL)
    assert out.shape == (4, 128) and is_bf16(out)
    def bf(a):
        return np.asarray(a, np.float32).astype(ml_dtypes.bfloat16).astype(np.float32)

    kv = (x @ w.wkv.T).reshape(4, 8, 128)
    score = (x @ w.wgate.T).reshape(4, 8, 128).astype(np.float64) + w.ape
    p = np.exp(score - score.max(1, keepdims=True))
    pooled = bf(np.einsum("gsd,gsd->gd", (p / p.sum(1, keepdims=True)).astype(np.float32), kv, dtype=np.float32))
    normed = bf((pooled / np.sqrt((pooled.astype(np.float64) ** 2).mean(1, keepdims=True) + SMALL.norm_eps))
                .astype(np.float32) * w.norm)
    np.testing.assert_array_equal(out[:, :64], normed[:, :64])


# ----------------------------------------------------------------------------- loader
def _e4m3_bits(x):
    return kl._core.float_to_e4m3(np.ascontiguousarray(x, dtype=np.float32))


def _write_layer(path, layer, kind, cfg, scale_dtype, rng, drop=(), override=None):
    """A tiny V4-layout shard for one layer: FP8 matrices with E8M0 or F32 tile scales."""
    t = {}
    exps = {}
    for name, (shape, _dtypes) in expected_tensors(layer, kind, cfg).items():
        if len(shape) == 2 and name.endswith(".weight"):
            tiles = (-(-shape[0] // 128), -(-shape[1] // 128))
            e = rng.integers(118, 124, size=tiles).astype(np.uint8)
            exps[name] = e
            scale = np.repeat(np.repeat(2.0 ** (e.astype(np.float64) - 127), 128, 0), 128, 1)[: shape[0], : shape[1]]
            w = rng.standard_normal(shape) * 0.05
            t[name] = ("F8_E4M3", _e4m3_bits(w / scale))
            sname = name[: -len(".weight")] + ".scale"
            t[sname] = ("F8_E8M0", e) if scale_dtype == "F8_E8M0" else ("F32", (2.0 ** (e.astype(np.float64) - 127)).astype(np.float32))
        else:
            t[name] = ("F32", rng.uniform(0.5, 1.5, shape).astype(np.float32))
    t.update(override or {})
    for d in drop:
        del t[d]
    write_safetensors(path, t)
    return t


@pytest.mark.parametrize("kind,layer", [("swa", 0), ("csa", 2), ("hca", 3)])
def test_loader_reads_e8m0_and_f32_scales_alike(tmp_path, kind, layer):
    a, b = tmp_path / "e8m0", tmp_path / "f32"
    a.mkdir()
    b.mkdir()
    ta = _write_layer(a / "model-00001.safetensors", layer, kind, SMALL, "F8_E8M0", np.random.default_rng(10))
    tb = _write_layer(b / "model-00001.safetensors", layer, kind, SMALL, "F32", np.random.default_rng(10))
    wa = load_layer_weights(a, layer, kind, SMALL)
    wb = load_layer_weights(b, layer, kind, SMALL)
    np.testing.assert_array_equal(wa.wkv, wb.wkv)
    np.testing.assert_array_equal(wa.attn_norm, ta[f"layers.{layer}.attn_norm.weight"][1])
    name = f"layers.{layer}.attn.wkv"
    vals = kl._core.e4m3_to_float(tb[name + ".weight"][1])
    full = np.repeat(np.repeat(tb[name + ".scale"][1], 128, 0), 128, 1)[: vals.shape[0], : vals.shape[1]]
    np.testing.assert_array_equal(wb.wkv, vals * full)
    assert 0.01 < np.abs(wb.wkv).mean() < 0.1  # F32 scales are values, never E8M0 bit patterns
    if kind != "swa":
        np.testing.assert_array_equal(wa.compressor.wgate, wb.compressor.wgate)
        assert wa.compressor.ape.shape == ((4, 256) if kind == "csa" else (8, 128))
    else:
        assert wa.compressor is None


def test_dequantize_fp8_f32_half_scale_is_half():
    w = _e4m3_bits(np.ones((3, 5)))
    np.testing.assert_array_equal(dequantize_fp8(w, np.array([[0.5]], np.float32), "F32"), 0.5)
    np.testing.assert_array_equal(dequantize_fp8(w, np.array([[126]], np.uint8), "F8_E8M0"), 0.5)
    with pytest.raises(TypeError, match="uint8"):
        dequantize_fp8(w, np.array([[0.5]], np.float32), "F8_E8M0")
    with pytest.raises(ValueError, match="scale_dtype"):
        dequantize_fp8(w, np.array([[0.5]], np.float32), "BF16")


@pytest.mark.parametrize("case,override,match", [
    ("bf16 scale", {"layers.2.attn.wkv.scale": ("BF16", np.full((1, 2), 0x3F00, np.uint16))},
     r"layers\.2\.attn\.wkv\.scale: dtype BF16 is not one of \('F8_E8M0', 'F32'\)"),
    ("f16 weight", {"layers.2.attn.kv_norm.weight": ("F16", np.ones(128, np.float16))},
     r"layers\.2\.attn\.kv_norm\.weight: dtype F16"),
    ("i8 matrix", {"layers.2.attn.compressor.wgate.weight": ("I8", np.ones((256, 256), np.int8))},
     r"compressor\.wgate\.weight: dtype I8"),
    ("wrong shape", {"layers.2.attn_norm.weight": ("F32", np.ones(128, np.float32))},
     r"layers\.2\.attn_norm\.weight: shape \(128,\), expected \(256,\)"),
    ("scale shape", {"layers.2.attn.wkv.scale": ("F32", np.ones((2, 2), np.float32))},
     r"layers\.2\.attn\.wkv\.scale: shape \(2, 2\), expected \(1, 2\)"),
    ("nan e8m0", {"layers.2.attn.wkv.scale": ("F8_E8M0", np.full((1, 2), 255, np.uint8))},
     r"layers\.2\.attn\.wkv\.scale: .*non-finite"),
    ("zero f32", {"layers.2.attn.compressor.wkv.scale": ("F32", np.zeros((2, 2), np.float32))},
     r"compressor\.wkv\.scale: .*non-positive"),
])
def test_loader_rejects_unexpected_dtypes_and_shapes(tmp_path, case, override, match):
    _write_layer(tmp_path / "model-00004.safetensors", 2, "csa", SMALL, "F8_E8M0", np.random.default_rng(11),
                 override=override)
    with pytest.raises(ValueError, match=match):
        load_layer_weights(tmp_path, 2, "csa", SMALL, ShardIndex(tmp_path))


def test_loader_names_missing_tensors(tmp_path):
    _write_layer(tmp_path / "a.safetensors", 3, "hca", SMALL, "F32", np.random.default_rng(12),
                 drop=("layers.3.attn_norm.weight",))
    with pytest.raises(KeyError, match=r"layers\.3\.attn_norm\.weight"):
        load_layer_weights(tmp_path, 3, "hca", SMALL)
    _write_layer(tmp_path / "a.safetensors", 3, "hca", SMALL, "F32", np.random.default_rng(12),
                 drop=("layers.3.attn.wkv.scale",))
    with pytest.raises(KeyError, match=r"layers\.3\.attn\.wkv\.scale"):
        load_layer_weights(tmp_path, 3, "hca", SMALL)


def test_end_to_end_on_a_tiny_v4_checkpoint(tmp_path):
    # Trained-weights path: shards in V4's layout (E8M0 and F32 scales mixed) and the
    # checkpoint's config.json, whose compress_ratios set the layer pattern.
    from kakeyalattice.stage075 import run_stage075, write_reports

    (tmp_path / "config.json").write_text(json.dumps({
        "hidden_size": 256, "head_dim": 128, "qk_rope_head_dim": 64, "sliding_window": 16,
        "num_hidden_layers": 5, "compress_ratios": [0, 4, 128, 4, 128, 0]}))
    cfg = config_from_json(tmp_path / "config.json")
    rng = np.random.default_rng(13)
    _write_layer(tmp_path / "model-00001.safetensors", 0, "swa", cfg, "F8_E8M0", rng)
    _write_layer(tmp_path / "model-00002.safetensors", 1, "csa", cfg, "F32", rng)
    _write_layer(tmp_path / "model-00003.safetensors", 2, "hca", cfg, "F8_E8M0", rng)
    res = run_stage075(n_passages=2, n_tokens=256, q_lo=20, q_hi=24, lattices=("e8",), v4_weights=tmp_path,
                       show=False, command="test")
    st = res["setting"]
    assert st["weights_synthetic"] is False and st["layer_pattern"]["source"] == str(tmp_path / "config.json")
    assert st["layers"] == {"sliding_window_kv": 0, "csa_window_kv": 1, "csa_pool_kv_ratio4": 1,
                            "hca_window_kv": 2, "hca_pool_kv_ratio128": 2}
    assert st["layer_counts"] == {"sliding_window_kv": 1, "csa_window_kv": 2, "csa_pool_kv_ratio4": 2,
                                  "hca_window_kv": 2, "hca_pool_kv_ratio128": 2}
    assert st["vectors_per_passage"]["csa_window_kv"] == 16 and st["vectors_per_passage"]["hca_pool_kv_ratio128"] == 2
    write_reports(res, tmp_path / "out")
    md = (tmp_path / "out" / "stage075.md").read_text()
    diff = md.split("## How this setting differs from the published Stage 0.75")[1].split("\n## ")[0]
    assert "V4 weights are synthetic" not in diff and "**Host model**" in diff
