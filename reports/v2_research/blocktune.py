"""Block-level tuning: 8-d blocks ~ N(0, I8), code rate m bits/coord, no side bits."""
import sys, math, numpy as np, e8lib as L

def quant_blocks(u, vor, shrink=0.97, maxit=200):
    p = L.e8_nearest(u)
    bad = ~vor.inside(p)
    nover = int(bad.sum())
    it = 0
    uu = u.copy()
    while bad.any() and it < maxit:
        idx = np.nonzero(bad)[0]
        uu[idx] *= shrink
        p[idx] = L.e8_nearest(uu[idx])
        bad[idx] = ~vor.inside(p[idx])
        it += 1
    return p, nover

def run_plain(x, m, step):
    vor = L.VoronoiE8(m)
    p, nov = quant_blocks(x / step, vor)
    return ((x - p * step) ** 2).sum() / x.size, nov / len(x)

def run_comp(x, m, comp):
    vor = L.VoronoiE8(m)
    r = np.sqrt((x ** 2).sum(-1, keepdims=True))
    u = x * (comp.g(r) / np.maximum(r, 1e-300))
    p, nov = quant_blocks(u, vor)
    t = np.sqrt((p ** 2).sum(-1, keepdims=True))
    xh = p * (comp.ginv(t) / np.maximum(t, 1e-300))
    return ((x - xh) ** 2).sum() / x.size, nov / len(x)

if __name__ == "__main__":
    rng = np.random.default_rng(1)
    x = rng.standard_normal((20000, 8))
    for m in [int(a) for a in sys.argv[1:]] or [3, 4, 5, 6, 7, 8]:
        best = None
        # plain: step relative to 2^-m
        for f in np.linspace(1.0, 1.8, 5):
            step = f * 2.0 ** (-m) * 4.0
            d, nov = run_plain(x, m, step)
            if best is None or d < best[0]:
                best = (d, f, nov)
        dbp = 10 * math.log10(best[0] / 2 ** (-2 * m))
        bc = None
        for beta in [0.8, 0.9, 1.0]:
            for s2 in [1.0, 1.25, 1.6]:
              for rmax in [4.5, 5.5, 6.5]:
                comp = L.ChiCompander(beta * 0.84 * 2 ** m, s2, rmax)
                d, nov = run_comp(x, m, comp)
                if bc is None or d < bc[0]:
                    bc = (d, beta, s2, nov, rmax)
        dbc = 10 * math.log10(bc[0] / 2 ** (-2 * m))
        print(f"m={m} plain {dbp:.2f} dB (f={best[1]:.2f} over={best[2]:.4f})  chi-comp {dbc:.2f} dB (beta={bc[1]} s2={bc[2]} over={bc[3]:.4f} rmax={bc[4]})", flush=True)
