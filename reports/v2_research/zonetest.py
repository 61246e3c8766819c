"""Block-level: J equal-size zones (per-block step chosen from a geometric table by min error),
each zone a Voronoi code E8/2^m E8.  Bits per block 8m + log2 J.  Blocks ~ N(0, I8)."""
import sys, math, numpy as np, e8lib as L

def zone_quant(x, m, steps, shrink=0.97):
    vor = L.VoronoiE8(m)
    best = None
    for z, st in enumerate(steps):
        p = L.e8_nearest(x / st)
        ok = vor.inside(p)
        err = ((x - p * st) ** 2).sum(-1)
        err = np.where(ok, err, np.inf)
        if best is None:
            best, berr, bz, bp = True, err, np.zeros(len(x), int), p
        else:
            b = err < berr
            berr = np.where(b, err, berr); bz = np.where(b, z, bz); bp = np.where(b[:, None], p, bp)
    # overload in every zone: shrink in the last zone
    bad = ~np.isfinite(berr)
    if bad.any():
        st = steps[-1]
        u = x[bad] / st
        pp = L.e8_nearest(u); ok = vor.inside(pp)
        while not ok.all():
            u[~ok] *= shrink; pp[~ok] = L.e8_nearest(u[~ok]); ok = vor.inside(pp)
        bp[bad] = pp; bz[bad] = len(steps) - 1
        berr[bad] = ((x[bad] - pp * st) ** 2).sum(-1)
    return berr.sum() / x.size, bz, bad.mean()

if __name__ == "__main__":
    rng = np.random.default_rng(3)
    x = rng.standard_normal((int(sys.argv[1]) if len(sys.argv) > 1 else 8000, 8))
    for m in [3, 4, 5, 6]:
        for J in [1, 2, 4, 8, 16]:
            best = None
            for f0 in np.arange(0.5, 1.61, 0.1):
                for ratio in ([1.0] if J == 1 else np.arange(1.05, 1.5, 0.05)):
                    steps = [f0 * 4 * 2.0 ** -m * ratio ** j for j in range(J)]
                    d, z, ov = zone_quant(x, m, steps)
                    if best is None or d < best[0]:
                        best = (d, f0, ratio, ov, np.bincount(z, minlength=J) / len(x))
            rate = m + math.log2(J) / 8
            print(f"m={m} J={J} rate={rate:.3f} dB={10*math.log10(best[0]/2**(-2*rate)):.2f} f0={best[1]:.2f} ratio={best[2]:.2f} over={best[3]:.4f} use={np.round(best[4],3)}", flush=True)
