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
    assert isinstance(codes, torch.Tensor) and codes.dtype == torch.uint8 and codes.shape == (3, 7, codec.code_bytes)
    ref = codec.encode(x.float().numpy())
    np.testing.assert_array_equal(codes.numpy(), ref)
    out = codec.decode(codes, dtype=dtype)
    assert out.dtype == dtype and out.shape == x.shape
    np.testing.assert_array_equal(out.float().numpy(), torch.from_numpy(codec.decode(ref)).to(dtype).float().numpy())


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
