# SPDX-License-Identifier: Apache-2.0
"""CUDA tensors: routed to the GPU kernels when the extension was built with CUDA."""
from __future__ import annotations

from . import _core


def _require_cuda() -> None:
    if not getattr(_core, "WITH_CUDA", False):
        raise ValueError("x is a CUDA tensor but this kakeyalattice build has no CUDA kernels "
                         "(kakeyalattice.WITH_CUDA is False); move the tensor to the CPU with "
                         ".cpu() or rebuild with a CUDA toolkit present")


def encode(codec, x):
    _require_cuda()
    raise ValueError("CUDA encode is not available in this build")


def decode(codec, codes, tag):
    _require_cuda()
    raise ValueError("CUDA decode is not available in this build")
