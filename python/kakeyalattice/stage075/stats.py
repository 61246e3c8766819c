# SPDX-License-Identifier: Apache-2.0
"""Statistics of the Stage 0.75 audit: Student-t intervals and the non-Gaussian audit
statistics with their same-size Gaussian null bands."""
from __future__ import annotations

import functools
import math

import numpy as np

from .. import _core


# ----------------------------------------------------------------------------- Student t
def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularised incomplete beta (modified Lentz)."""
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lb = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lb) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lb) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    x = df / (df + t * t)
    tail = 0.5 * betainc(df / 2.0, 0.5, x)
    return 1.0 - tail if t >= 0 else tail


def t_ppf(p: float, df: float) -> float:
    """Quantile of Student's t by bisection on the CDF (|error| < 1e-10)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p = {p} must be in (0, 1)")
    if df <= 0:
        raise ValueError(f"df = {df} must be positive")
    lo, hi = -1e3, 1e3
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return 0.5 * (lo + hi)


def mean_ci(values, level: float = 0.95) -> dict:
    """Mean and exact Student-t confidence interval half-width over independent values."""
    v = np.asarray(values, dtype=np.float64)
    n = v.size
    if n == 0:
        raise ValueError("mean_ci needs at least one value")
    m = float(v.mean())
    if n == 1:
        return {"mean": m, "half_width": float("nan"), "n": 1, "level": level}
    sd = float(v.std(ddof=1))
    hw = t_ppf(0.5 + level / 2.0, n - 1) * sd / math.sqrt(n)
    return {"mean": m, "half_width": hw, "lo": m - hw, "hi": m + hw, "n": n, "sd": sd,
            "level": level}


# ----------------------------------------------------------------------------- audit
def audit_statistics(x: np.ndarray) -> dict:
    """Statistics that predict how a per-vector-scaled codec behaves on x (n × d)."""
    x = np.asarray(x, dtype=np.float64)
    mu = x.mean(axis=0)
    sd = x.std(axis=0)
    z = (x - mu) / np.where(sd > 0, sd, 1.0)
    rms = np.sqrt((x**2).mean(axis=1))
    r = _core.hadamard_rotate(x.astype(np.float32)).astype(np.float64)  # what the quantizer sees
    rrms = np.sqrt((r**2).mean(axis=1))
    ch_rms = np.sqrt((x**2).mean(axis=0))
    return {
        "excess_kurtosis": float((z**4).mean() - 3.0),
        "peak_to_rms": float(np.mean(np.abs(x).max(axis=1) / np.where(rms > 0, rms, 1.0))),
        "rotated_peak_to_rms": float(
            np.mean(np.abs(r).max(axis=1) / np.where(rrms > 0, rrms, 1.0))),
        "channel_rms_cv": float(ch_rms.std() / ch_rms.mean()) if ch_rms.mean() > 0 else 0.0,
        "mean_offset_fraction": float((mu**2).sum() / max((x**2).sum(axis=1).mean(), 1e-300)),
    }


def gaussian_null(n: int, d: int, replicates: int = 40, seed: int = 0) -> dict:
    """The same statistics on `replicates` iid N(0,1) samples of the same size: the null
    band (2.5%, 97.5% quantiles) a gate is judged against. It depends on (n, d,
    replicates, seed) only, so streams of the same size share one computation."""
    return {k: dict(v) for k, v in _gaussian_null(int(n), int(d), int(replicates), int(seed)).items()}


@functools.lru_cache(maxsize=8)
def _gaussian_null(n: int, d: int, replicates: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    runs = [audit_statistics(rng.standard_normal((n, d))) for _ in range(replicates)]
    out = {}
    for k in runs[0]:
        vals = np.array([r[k] for r in runs])
        out[k] = {"median": float(np.median(vals)), "lo": float(np.quantile(vals, 0.025)),
                  "hi": float(np.quantile(vals, 0.975))}
    return out


def audit(x: np.ndarray, replicates: int = 40, seed: int = 0) -> dict:
    """Observed statistics, the Gaussian control of the same size, and which gates fire
    (observed outside the control's 95% band)."""
    obs = audit_statistics(x)
    null = gaussian_null(x.shape[0], x.shape[1], replicates, seed)
    gates = {k: bool(obs[k] < null[k]["lo"] or obs[k] > null[k]["hi"]) for k in obs}
    return {"n_vectors": int(x.shape[0]), "dim": int(x.shape[1]), "observed": obs,
            "gaussian_control": null, "gate_fires": gates}
