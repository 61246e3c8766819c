# SPDX-License-Identifier: Apache-2.0
import numpy as np
import pytest

import kakeyalattice as kl

torch = pytest.importorskip("torch", reason="torch is not installed: torch interop tests skipped")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_cpu_tensors_roundtrip_like_numpy(dtype):
    codec = kl.Codec(128, 38)
    x = torch.randn(3, 7, 128, generator=torch.Generator().manual_seed(0)).to(dtype)
    codes = codec.encode(x)
    assert isinstance(codes, torch.Tensor) and codes.dtype == torch.uint8
    assert codes.shape == (3, 7, codec.code_bytes)
    ref = codec.encode(x.float().numpy())
    np.testing.assert_array_equal(codes.numpy(), ref)
    out = codec.decode(codes, dtype=dtype)
    assert out.dtype == dtype and out.shape == x.shape
    want = torch.from_numpy(codec.decode(ref)).to(dtype).float().numpy()
    np.testing.assert_array_equal(out.float().numpy(), want)


def test_noncontiguous_tensor():
    codec = kl.Codec(64, 10)
    x = torch.randn(64, 30).t()
    np.testing.assert_array_equal(codec.encode(x).numpy(), codec.encode(x.contiguous()).numpy())


def test_requires_grad_is_fine_and_metrics_take_tensors():
    codec = kl.Codec(64, 10)
    x = torch.randn(100, 64, requires_grad=True)
    xh = codec.roundtrip(x)
    assert kl.rel_mse(x.detach(), xh) < 0.02


def test_cuda_tensors_without_cuda_build_raise():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    if kl.WITH_CUDA:
        pytest.skip("this build has CUDA kernels (covered by the GPU tests)")
    with pytest.raises(ValueError, match="CUDA"):
        kl.Codec(64, 10).encode(torch.randn(4, 64, device="cuda"))


def _cuda_build():
    return torch.cuda.is_available() and kl.WITH_CUDA


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("spec", [(128, 38, "e8"), (512, 10, "e8"), (96, 4, "d4"), (64, 127, "z")])
def test_cuda_matches_cpu_bytes(dtype, spec):
    if not _cuda_build():
        pytest.skip("needs a CUDA device and a CUDA build of kakeyalattice")
    dim, q, lat = spec
    codec = kl.Codec(dim, q, lat)
    x = torch.randn(4, 333, dim, generator=torch.Generator().manual_seed(1)).to(dtype)
    c_cpu = codec.encode(x)
    c_gpu = codec.encode(x.cuda())
    assert c_gpu.is_cuda and c_gpu.shape == c_cpu.shape
    assert torch.equal(c_gpu.cpu(), c_cpu)
    out = codec.decode(c_gpu, dtype=dtype)
    assert out.is_cuda and out.dtype == dtype
    assert torch.equal(out.cpu(), codec.decode(c_cpu, dtype=dtype))


def test_cuda_fp8_and_errors():
    if not _cuda_build():
        pytest.skip("needs a CUDA device and a CUDA build of kakeyalattice")
    codec = kl.FP8Per64Codec(256)
    x = torch.randn(1000, 256)
    assert torch.equal(codec.encode(x.cuda()).cpu(), codec.encode(x))
    e8 = kl.Codec(128, 38)
    bad = torch.randn(10, 128, device="cuda")
    bad[3, 4] = float("nan")
    with pytest.raises(ValueError, match="cannot encode"):
        e8.encode(bad)
    with pytest.raises(ValueError, match="corrupt"):
        e8.decode(torch.full((5, e8.code_bytes), 255, dtype=torch.uint8, device="cuda"))


from test_attention import build  # noqa: E402

from kakeyalattice.attention import PagedCache, decode_attention  # noqa: E402


@pytest.mark.parametrize("spec", [("e8", 128, 2, 8), ("e8_shared", 512, 1, 8), ("fp8", 128, 4, 8),
                                  ("bf16", 256, 2, 4)])
def test_cuda_attention_matches_cpu_reference(spec):
    if not (torch.cuda.is_available() and kl.WITH_CUDA):
        pytest.skip("needs a CUDA device and a CUDA build")
    kind, d, heads, qh = spec
    codec = {"e8": kl.Codec(d, 38), "e8_shared": kl.Codec(d, 38), "fp8": kl.FP8Per64Codec(d),
             "bf16": kl.BF16Codec(d)}[kind]
    vcodec = None if kind == "e8_shared" else codec
    rng = np.random.default_rng(3)
    lens = [5, 300, 1000]
    cpu, table, ks, vs = build(codec, vcodec, lens, heads, 16, rng)
    gpu = PagedCache(codec, vcodec, cpu.num_blocks, cpu.block_size, heads, device="cuda")
    for b, n in enumerate(lens):
        slots = torch.tensor([int(table[b, t // 16]) * 16 + t % 16 for t in range(n)],
                             dtype=torch.int64)
        gpu.append(torch.from_numpy(ks[b]).cuda(), torch.from_numpy(vs[b]).cuda(), slots)
    assert np.array_equal(gpu.k.cpu().numpy(), cpu.k)
    q = rng.standard_normal((3, qh, d)).astype(np.float32)
    ref = decode_attention(q, cpu, table, lens)
    out = decode_attention(torch.from_numpy(q).cuda(), gpu, table, lens).cpu().numpy()
    assert np.linalg.norm(out - ref) / np.linalg.norm(ref) < 5e-5
