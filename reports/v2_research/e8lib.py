"""Scratch helpers for the v2 study (not shipped): E8 nearest point, Voronoi codes,
companders, Lloyd-Max, FWHT.  Everything vectorised over leading axes, float64."""
import math
import numpy as np

# ---------------------------------------------------------------- E8 / D8
def d8_nearest(x):
    r = np.rint(x)
    odd = (r.sum(-1) % 2) != 0
    if np.any(odd):
        e = x - r
        i = np.argmax(np.abs(e), axis=-1)
        rows = np.nonzero(odd)
        ii = i[rows]
        ee = e[rows + (ii,)]
        r[rows + (ii,)] += np.where(ee >= 0, 1.0, -1.0)
    return r


def e8_nearest(x):
    a = d8_nearest(x)
    b = d8_nearest(x - 0.5) + 0.5
    da = ((x - a) ** 2).sum(-1)
    db = ((x - b) ** 2).sum(-1)
    return np.where((db < da)[..., None], b, a)


# rows are basis vectors: p = k @ G
G_E8 = np.array([
    [2, 0, 0, 0, 0, 0, 0, 0],
    [-1, 1, 0, 0, 0, 0, 0, 0],
    [0, -1, 1, 0, 0, 0, 0, 0],
    [0, 0, -1, 1, 0, 0, 0, 0],
    [0, 0, 0, -1, 1, 0, 0, 0],
    [0, 0, 0, 0, -1, 1, 0, 0],
    [0, 0, 0, 0, 0, -1, 1, 0],
    [.5, .5, .5, .5, .5, .5, .5, .5]], dtype=np.float64)
GINV_E8 = np.linalg.inv(G_E8)
assert abs(np.linalg.det(G_E8) - 1) < 1e-12

# tiny tie-break offset for coarse rounding (fixed, irrational-ish)
TIE = np.array([1, 2, 3, 5, 7, 11, 13, 17], dtype=np.float64) * 1e-7


class VoronoiE8:
    """Code E8 / 2^m E8 (coset leaders of the tie-broken Voronoi cell of 2^m E8)."""

    def __init__(self, m):
        self.m = m
        self.M = 2 ** m

    def index(self, p):
        k = np.rint(p @ GINV_E8).astype(np.int64)
        return np.mod(k, self.M)

    def point(self, k):
        q = k.astype(np.float64) @ G_E8
        return q - self.M * e8_nearest((q - TIE) / self.M)

    def inside(self, p):
        return np.all(self.point(self.index(p)) == p, axis=-1)


# ---------------------------------------------------------------- companders
def chi8_cdf(r, sigma2):
    """P(|z| <= r), z ~ N(0, sigma2 I_8). Closed form for even dof."""
    w = np.asarray(r, dtype=np.float64) ** 2 / (2 * sigma2)
    small = w < 3.0
    # series e^-w sum_{k>=4} w^k/k!
    ws = np.where(small, w, 0.0)
    term = ws ** 4 / 24.0
    s = term.copy()
    for k in range(5, 40):
        term = term * ws / k
        s = s + term
    ser = np.exp(-ws) * s
    big = 1.0 - np.exp(-w) * (1 + w + w * w / 2 + w ** 3 / 6)
    return np.where(small, ser, big)


class ChiCompander:
    """Truncated optimal-density radial compander: for r <= rmax,
    g(r) = rho * (F_sigma(r)/F_sigma(rmax))^(1/8), F_sigma the CDF of |z|, z ~ N(0, sigma2 I8);
    beyond rmax (and beyond rho on decode) it continues linearly with the end slope."""

    def __init__(self, rho, sigma2, rmax, n=1 << 14):
        self.rho, self.sigma2, self.rmax = rho, sigma2, rmax
        r = np.linspace(0, rmax, n)
        g = rho * (chi8_cdf(r, sigma2) / chi8_cdf(rmax, sigma2)) ** 0.125
        self.r_tab, self.g_tab = r, g
        self.slope = (g[-1] - g[-2]) / (r[-1] - r[-2])

    def g(self, r):
        return np.where(r <= self.rmax, np.interp(r, self.r_tab, self.g_tab),
                        self.rho + (r - self.rmax) * self.slope)

    def ginv(self, t):
        return np.where(t <= self.rho, np.interp(t, self.g_tab, self.r_tab),
                        self.rmax + (t - self.rho) / self.slope)


class PowCompander:
    """g(r) = r / (1 + (r/a)^p)^(1/p)  (bounded by a), inverse t / (1 - (t/a)^p)^(1/p)."""

    def __init__(self, a, p):
        self.a, self.p = a, p

    def g(self, r):
        return r / (1 + (r / self.a) ** self.p) ** (1 / self.p)

    def ginv(self, t):
        t = np.minimum(t, self.a * (1 - 1e-9))
        return t / (1 - (t / self.a) ** self.p) ** (1 / self.p)


# ---------------------------------------------------------------- Lloyd-Max N(0,1)
def _phi(x):
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _Phi(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def lloyd_max(b, iters=200000, tol=1e-14):
    """Lloyd-Max quantizer of N(0,1) with 2^b levels (init: p^(1/3) compander)."""
    n = 1 << b
    erf = np.vectorize(math.erf)
    c = np.array([math.sqrt(3) * _Phi_inv((i + 0.5) / n) for i in range(n)])
    for _ in range(iters):
        t = (c[1:] + c[:-1]) / 2
        pdf = np.concatenate([[0.0], np.exp(-t * t / 2) / math.sqrt(2 * math.pi), [0.0]])
        cdf = np.concatenate([[0.0], 0.5 * (1 + erf(t / math.sqrt(2))), [1.0]])
        newc = (pdf[:-1] - pdf[1:]) / np.maximum(cdf[1:] - cdf[:-1], 1e-300)
        # over-relaxed update speeds up the slow Lloyd iteration
        step = newc - c
        c = c + 1.8 * step
        if np.max(np.abs(step)) < tol:
            break
    return c


def lloyd_max_mse(c):
    erf = np.vectorize(math.erf)
    t = np.concatenate([[-40.0], (c[1:] + c[:-1]) / 2, [40.0]])
    # E[(x-c)^2 ; a<x<b] = (1+c^2)(Phi(b)-Phi(a)) - (b-2c)phi(b) + (a-2c)phi(a)  (with phi, Phi std normal)
    phi = np.exp(-t * t / 2) / math.sqrt(2 * math.pi)
    Phi = 0.5 * (1 + erf(t / math.sqrt(2)))
    a, b_, pa, pb = t[:-1], t[1:], phi[:-1], phi[1:]
    return float(np.sum((1 + c * c) * (Phi[1:] - Phi[:-1]) - (b_ - 2 * c) * pb + (a - 2 * c) * pa))


def _Phi_inv(p):
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if _Phi(mid) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def lm_quantize(y, c):
    t = (c[1:] + c[:-1]) / 2
    return c[np.searchsorted(t, y)]


# ---------------------------------------------------------------- rotation
def fwht(x):
    """Orthonormal Walsh-Hadamard along the last axis (power-of-two block = largest dividing D)."""
    D = x.shape[-1]
    h = D & (-D)
    y = x.reshape(x.shape[:-1] + (D // h, h)).copy()
    step = 1
    while step < h:
        y = y.reshape(y.shape[:-1] + (h // (2 * step), 2, step))
        a = y[..., 0, :].copy()
        b = y[..., 1, :]
        y[..., 0, :] = a + b
        y[..., 1, :] = a - b
        y = y.reshape(y.shape[:-3] + (h,))
        step *= 2
    return (y / math.sqrt(h)).reshape(x.shape)


def relmse(x, xh):
    return float(((x - xh) ** 2).sum() / ((x - x.mean(0)) ** 2).sum())


def db_from_shannon(rel, bits_per_vector, D):
    R = bits_per_vector / D
    return 10 * math.log10(rel / 2 ** (-2 * R))


def fp16_up(v):
    """Round positive values up to fp16."""
    h = v.astype(np.float16).astype(np.float64)
    bump = h < v
    h2 = np.nextafter(h.astype(np.float16), np.float16(np.inf)).astype(np.float64)
    return np.where(bump, h2, h)


# ---------------------------------------------------------------- optimal radial compander (ode.py)
class OptCompander:
    """g(r) = rho * g0(r)/g0(rcap) on [0, rcap], g0 the high-resolution optimum for 8-d
    Gaussian blocks (solution of (p/g'^3)' = 7 p r^2/g^3); radii beyond rcap are clipped."""
    _tab = None

    def __init__(self, rho, rcap=6.5):
        if OptCompander._tab is None:
            import os
            OptCompander._tab = np.load(os.path.join(os.path.dirname(__file__), "opt_compander.npy"))
        r, g0 = OptCompander._tab
        keep = r <= rcap
        r = np.concatenate([[0.0], r[keep]])
        g0 = np.concatenate([[0.0], g0[keep]])
        self.r_tab, self.g_tab = r, rho * g0 / g0[-1]
        self.rho, self.rcap = rho, rcap

    def g(self, r):
        return np.interp(np.minimum(r, self.rcap), self.r_tab, self.g_tab)

    def ginv(self, t):
        return np.interp(np.minimum(t, self.rho), self.g_tab, self.r_tab)


# ---------------------------------------------------------------- general Voronoi codes
R8 = np.kron(np.eye(4), np.array([[1.0, 1.0], [1.0, -1.0]]))  # R^2 = 2 I, R E8 subset of E8


class VoronoiCode:
    """Code E8 / Lc with Lc = 2^m E8 ('E8') or 2^m R E8 ('RE8').  Cosets are indexed by
    Smith-form digits w_i in [0, d_i) (all d_i powers of two)."""

    def __init__(self, m, coarse="E8"):
        import sympy
        from sympy.matrices.normalforms import smith_normal_decomp
        self.m, self.coarse = m, coarse
        Cb = (2.0 ** m) * (G_E8 if coarse == "E8" else G_E8 @ R8.T)  # rows: coarse basis
        M = np.rint(Cb @ GINV_E8).astype(np.int64)
        S, U, V = smith_normal_decomp(sympy.Matrix(M.tolist()))
        S = np.array(S.tolist(), dtype=np.int64)
        self.d = np.diag(S).copy()
        V = np.array(V.tolist(), dtype=np.int64)
        assert np.array_equal(np.array(U.tolist(), dtype=np.int64) @ M @ V, S)
        self.V = V.astype(np.float64)
        self.Vinv = np.rint(np.linalg.inv(self.V))
        assert np.array_equal(self.Vinv @ self.V, np.eye(8))
        self.A = self.Vinv @ G_E8          # decode generator: p = w @ A (mod Lc)
        self.bits = int(round(np.log2(self.d).sum()))

    def coarse_nearest(self, y):
        s = 2.0 ** self.m
        if self.coarse == "E8":
            return s * e8_nearest(y / s)
        z = (y / s) @ R8 / 2.0             # R^-1 = R/2 (R symmetric)
        return s * (e8_nearest(z) @ R8)

    def index(self, p):
        k = np.rint(p @ GINV_E8)
        w = np.rint(k @ self.V).astype(np.int64)
        return np.mod(w, self.d)

    def point(self, w):
        q = w.astype(np.float64) @ self.A
        return q - self.coarse_nearest(q - TIE)

    def inside(self, p):
        return np.all(self.point(self.index(p)) == p, axis=-1)
