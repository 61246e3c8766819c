"""Zone codes: per 8-d block, a zone z in [0, J) picks the step D_z from a table; the point is a
Voronoi codeword of E8/Lc (Lc = 2^m E8 or 2^m R E8).  bits/block = bits(Lc) + log2 J.
Block-level tuning of geometric step tables (blocks ~ N(0, I8))."""
import sys, math, json, numpy as np, e8lib as L

_VC = {}
def vcode(m, coarse):
    if (m, coarse) not in _VC:
        _VC[(m, coarse)] = L.VoronoiCode(m, coarse)
    return _VC[(m, coarse)]

def base_cfg(base):
    """bits of the Voronoi part -> (m, coarse)"""
    return (base // 8, "E8") if base % 8 == 0 else ((base - 4) // 8, "RE8")

def zone_encode(x, base, steps, shrink=0.97):
    m, co = base_cfg(base)
    vc = vcode(m, co)
    n = len(x)
    berr = np.full(n, np.inf); bz = np.zeros(n, np.int64); bp = np.zeros_like(x)
    for z, st in enumerate(steps):
        p = L.e8_nearest(x / st)
        ok = vc.inside(p)
        err = np.where(ok, ((x - p * st) ** 2).sum(-1), np.inf)
        b = err < berr
        berr = np.where(b, err, berr); bz = np.where(b, z, bz); bp = np.where(b[:, None], p, bp)
    bad = ~np.isfinite(berr)
    if bad.any():
        st = steps[-1]
        u = x[bad] / st
        pp = L.e8_nearest(u); ok = vc.inside(pp)
        while not ok.all():
            u[~ok] *= shrink; pp[~ok] = L.e8_nearest(u[~ok]); ok = vc.inside(pp)
        bp[bad] = pp; bz[bad] = len(steps) - 1
    steps = np.asarray(steps)
    return bz, bp, bp * steps[bz][:, None], bad.mean()

def geo_steps(base, J, f0, ratio):
    return [f0 * 4 * 2.0 ** (-base / 8) * ratio ** j for j in range(J)]

def block_db(x, base, J, f0, ratio):
    _, _, xh, ov = zone_encode(x, base, geo_steps(base, J, f0, ratio))
    d = ((x - xh) ** 2).sum() / x.size
    b = base + math.log2(J)
    return 10 * math.log10(d / 2 ** (-2 * b / 8)), ov

def tune(x, base, J):
    best = None
    f0s = np.arange(0.4, 1.61, 0.1)
    rs = [1.0] if J == 1 else np.arange(1.04, 1.61, 0.06)
    for f0 in f0s:
        for r in rs:
            db, ov = block_db(x, base, J, f0, r)
            if best is None or db < best[0]:
                best = (db, f0, r, ov)
    # refine
    _, f0c, rc, _ = best
    for f0 in f0c + np.arange(-0.06, 0.061, 0.02):
        for r in ([1.0] if J == 1 else rc + np.arange(-0.03, 0.031, 0.01)):
            db, ov = block_db(x, base, J, f0, r)
            if db < best[0]:
                best = (db, f0, r, ov)
    return best

if __name__ == "__main__":
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3000, 8))
    bases = [int(a) for a in sys.argv[1].split(",")]
    Js = [int(a) for a in sys.argv[2].split(",")]
    res = {}
    for base in bases:
        for J in Js:
            db, f0, r, ov = tune(x, base, J)
            res[f"{base},{J}"] = (db, f0, r, ov)
            print(f"base={base} J={J} b={base + math.log2(J):.0f} dB={db:.3f} f0={f0:.2f} ratio={r:.2f} over={ov:.4f}", flush=True)
    json.dump(res, open(f"tune_{sys.argv[3] if len(sys.argv) > 3 else 'x'}.json", "w"), indent=1)
