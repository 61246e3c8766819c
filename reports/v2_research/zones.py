"""High-resolution model: J nested isotropic zones (zone j: points of step D_j E8 in the ball
of radius R_j, used for R_{j-1} <= r < R_j; inner part of each zone's ball wasted), radial clip
beyond R_J.  Optionally each zone gets the same number of points (selector = log2 J bits)."""
import math, numpy as np, itertools
G = 0.0716821; V8 = math.pi ** 4 / 24
r = np.linspace(0, 12, 24001); dr = r[1] - r[0]
p = r ** 7 * np.exp(-r * r / 2) / 48.0
P = np.cumsum(p) * dr
def Pint(a, b): return np.interp(b, r, P) - np.interp(a, r, P)
def clip_err(R):
    m = r > R
    return float(((r[m] - R) ** 2 * p[m]).sum() * dr) / 8
def cost(Rs, rate, equal):
    """Rs zone outer radii; choose steps: equal-size zones => D_j = R_j / (N/J/V8)^(1/8);
    else optimise steps by Lagrange: D_j^10 ∝ V8 R_j^8 / P_j (approx)."""
    J = len(Rs); N = 2.0 ** (8 * rate)
    Pj = [Pint(0 if j == 0 else Rs[j - 1], Rs[j]) for j in range(J)]
    if equal:
        Ds = [R / (N / J / V8) ** 0.125 for R in Rs]
    else:
        # minimise sum P_j D_j^2 s.t. sum V8 R_j^8 D_j^-8 = N  -> D_j^10 = c R_j^8 / P_j
        w = [(R ** 8 / max(Pj_, 1e-300)) ** 0.1 for R, Pj_ in zip(Rs, Pj)]
        c = (sum(V8 * R ** 8 * wj ** -8 for R, wj in zip(Rs, w)) / N) ** 0.125
        Ds = [c * wj for wj in w]
    Dist = G * sum(P_ * D_ ** 2 for P_, D_ in zip(Pj, Ds)) + clip_err(Rs[-1])
    return 10 * math.log10(Dist / 2 ** (-2 * rate))
for rate in [4, 5, 6, 7, 8]:
    best1 = min((cost([R], rate, True), R) for R in np.arange(3, 8, 0.02))
    out = [f"R={rate}: 1 zone {best1[0]:.2f} (R={best1[1]:.2f})"]
    for J in [2, 3, 4]:
        bestJ = None
        grid = np.arange(1.5, 8, 0.25)
        for Rs in itertools.combinations(grid, J):
            for eq in ([True, False] if J <= 3 else [True]):
                c = cost(list(Rs), rate, eq)
                if bestJ is None or c < bestJ[0]:
                    bestJ = (c, Rs, eq)
        out.append(f"{J} zones {bestJ[0]:.2f} {tuple(round(float(a),2) for a in bestJ[1])} eq={bestJ[2]}")
    print("; ".join(out), flush=True)
