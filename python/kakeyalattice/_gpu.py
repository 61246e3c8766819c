# SPDX-License-Identifier: Apache-2.0
"""CUDA tensors: routed to the GPU kernels when the extension was built with CUDA.

Tensors are passed to the C++ bindings, which check device, dtype, shape, strides and
stream before reading them in place on torch's current stream of the tensor's device;
results are new tensors on the same device. Errors (NaN/Inf input,
corrupt codes) are reported through a device flag that is read after the launch (one
synchronisation per call; pass check=False to skip it).
"""
from __future__ import annotations

from . import _core
from ._core import KakeyaCorruptCode, KakeyaTypeError, KakeyaValueError


def _require_cuda() -> None:
    if not getattr(_core, "WITH_CUDA", False):
        raise KakeyaValueError("x is a CUDA tensor but this kakeyalattice build has no CUDA kernels "
                         "(kakeyalattice.WITH_CUDA is False); move the tensor to the CPU with "
                         ".cpu() or rebuild with KAKEYA_ENABLE_CUDA=ON and a CUDA toolkit")


def _tag(dtype) -> str:
    import torch

    tags = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}
    if dtype not in tags:
        raise KakeyaTypeError(f"x dtype {dtype} is not supported; use float32, float16 or bfloat16")
    return tags[dtype]


def _rows(t, width: int, arg: str):
    if t.dim() == 0 or t.shape[-1] != width:
        raise KakeyaValueError(f"{arg} last dimension is {tuple(t.shape)[-1:] or '()'}, expected {width}")
    r = t.reshape(-1, width)
    if (width > 1 and r.stride(1) != 1) or (r.shape[0] > 1 and r.stride(0) < width):
        r = r.contiguous()
    return r


def encode(codec, x, check: bool = True):
    _require_cuda()
    import torch

    _tag(x.dtype)  # a clear dtype error before any allocation
    lead = tuple(x.shape[:-1])
    r = _rows(x.detach(), codec.dim, "x")
    codes = torch.empty((r.shape[0], codec.code_bytes), dtype=torch.uint8, device=x.device)
    flag = torch.zeros(1, dtype=torch.int32, device=x.device)
    with torch.cuda.device(x.device):
        stream = torch.cuda.current_stream(x.device).cuda_stream
        _core.gpu_encode(codec._core, x=r, codes=codes, flag=flag, stream=stream)
    if check and int(flag.item()) != 0:
        raise KakeyaValueError(f"x has a row that {codec.name} cannot encode (NaN/Inf, or a scale outside "
                         "the scale format's range); encode it on the CPU for the row and column")
    return codes.reshape(lead + (codec.code_bytes,))


def decode(codec, codes, tag: str, check: bool = True, on_error: str = "raise"):
    _require_cuda()
    if on_error == "zero":
        raise KakeyaValueError("on_error='zero' needs per-row results, which the GPU path does not "
                               "report yet; decode on the CPU (codes.cpu()) for per-row recovery")
    import torch

    if codes.dtype != torch.uint8:
        raise KakeyaTypeError(f"codes dtype {codes.dtype} must be torch.uint8")
    lead = tuple(codes.shape[:-1])
    r = _rows(codes.detach(), codec.code_bytes, "codes")
    tdt = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[tag]
    out = torch.empty((r.shape[0], codec.dim), dtype=tdt, device=codes.device)
    flag = torch.zeros(1, dtype=torch.int32, device=codes.device)
    with torch.cuda.device(codes.device):
        stream = torch.cuda.current_stream(codes.device).cuda_stream
        _core.gpu_decode(codec._core, codes=r, out=out, flag=flag, stream=stream)
    if check and int(flag.item()) != 0:
        raise KakeyaCorruptCode(f"codes hold a corrupt record for {codec.name} (bad scale or out-of-range block "
                         "index); those rows were zeroed")
    return out.reshape(lead + (codec.dim,))
