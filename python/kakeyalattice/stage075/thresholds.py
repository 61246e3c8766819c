# SPDX-License-Identifier: Apache-2.0
"""Smallest usable Q under a quality threshold, and the compression it buys."""
from __future__ import annotations

from .. import BF16Codec, FP8Per64Codec

THRESHOLDS = {"A": 1.00, "B": 1.05, "C": 1.20}


def q_min(qs, ratio_mean, ratio_hi, tau: float) -> dict:
    """Smallest Q whose ratio clears tau at the point estimate and CI-safe (upper bound).
    qs ascending; a Q qualifies only if every larger Q in the sweep also clears (so a
    noisy dip below tau cannot be chosen). None when no Q clears."""
    def smallest(vals):
        best = None
        for q, v in sorted(zip(qs, vals, strict=True), reverse=True):
            if v <= tau:
                best = q
            else:
                break
        return best

    return {"point": smallest(ratio_mean), "ci_safe": smallest(ratio_hi)}


def compression(bits: float, dim: int = 512) -> dict:
    """Compression of a record of `bits` against the fp8_per64 and bf16 records of the
    same dim (their sizes come from the library's codec specs)."""
    return {"bits": bits, "cr_vs_fp8": FP8Per64Codec(dim).bits_per_vector / bits,
            "cr_vs_bf16": BF16Codec(dim).bits_per_vector / bits}
