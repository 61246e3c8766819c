"""v2 study: full-vector pipeline on iid Gaussian (and real KV), every side bit counted."""
import sys, math, json, time, numpy as np, e8lib as L

SIDE = 8  # bits of the per-vector log-scale index (v2 candidates)

def log_scale_q(s, step=1 / 8):
    """8-bit log-scale grid 2^(i*step - 16); returns index (nearest in log) and value."""
    i = np.clip(np.rint((np.log2(np.maximum(s, 1e-30)) + 16) / step), 0, 255)
    return i, 2.0 ** (i * step - 16)

def quant_blocks(u, vor, shrink=0.97, maxit=300):
    p = L.e8_nearest(u)
    bad = ~vor.inside(p)
    uu = u.copy()
    it = 0
    while bad.any() and it < maxit:
        idx = np.nonzero(bad)[0]
        uu[idx] *= shrink
        p[idx] = L.e8_nearest(uu[idx])
        bad[idx] = ~vor.inside(p[idx])
        it += 1
    return p

# ---------------------------------------------------------------- candidates
def lloydmax(x, b, signs, lm):
    D = x.shape[1]
    y = L.fwht(x * signs)
    nrm = np.sqrt((y ** 2).sum(1, keepdims=True))
    nq = nrm.astype(np.float16).astype(np.float64)
    yq = L.lm_quantize(y * math.sqrt(D) / np.maximum(nrm, 1e-30), lm) * nq / math.sqrt(D)
    return L.fwht(yq) * signs, b * D + 16

def block_codec(y_unit_blocks, m, comp):
    """y_unit_blocks: (n, 8) ~ N(0, I8). Returns reconstruction."""
    vor = L.VoronoiE8(m)
    if comp is None:
        raise ValueError
    r = np.sqrt((y_unit_blocks ** 2).sum(-1, keepdims=True))
    u = y_unit_blocks * (comp.g(r) / np.maximum(r, 1e-300))
    p = quant_blocks(u, vor)
    t = np.sqrt((p ** 2).sum(-1, keepdims=True))
    return p * (comp.ginv(t) / np.maximum(t, 1e-300))

class Linear:
    def __init__(self, step): self.step = step
    def g(self, r): return r / self.step
    def ginv(self, t): return t * self.step

def vq_vector(x, m, comp, signs, nsearch=1, offsets=(0,)):
    """rotate, per-vector 8-bit log scale (norm-based, or MSE-chosen among offsets), block code."""
    n, D = x.shape
    y = L.fwht(x * signs)
    s = np.sqrt((y ** 2).sum(1) / D)
    i0, _ = log_scale_q(s)
    best = None
    for off in offsets:
        i = np.clip(i0 + off, 0, 255)
        sq = 2.0 ** (i / 8 - 16)
        yb = (y / sq[:, None]).reshape(-1, 8)
        yh = block_codec(yb, m, comp).reshape(n, D) * sq[:, None]
        err = ((y - yh) ** 2).sum(1)
        if best is None:
            best, besterr = yh, err
        else:
            better = err < besterr
            best[better] = yh[better]
            besterr = np.minimum(err, besterr)
    return L.fwht(best) * signs, SIDE + 8 * m * (D // 8)

def gauss(n, D, seed):
    return np.random.default_rng(seed).standard_normal((n, D))

if __name__ == "__main__":
    out = []
    lms = {b: L.lloyd_max(b) for b in range(3, 9)}
    for D, n in [(128, 6000), (512, 1500)]:
        x = gauss(n, D, 100 + D)
        signs = np.where(np.random.default_rng(5).random(D) < 0.5, -1.0, 1.0)
        for b in range(3, 9):
            xh, bits = lloydmax(x, b, signs, lms[b])
            rel = L.relmse(x, xh)
            out.append(("lloydmax", D, bits / D, rel, L.db_from_shannon(rel, bits, D)))
            print(out[-1], flush=True)
        for m in range(3, 9):
            # plain Voronoi, norm scale, step tuned
            for f in [1.2, 1.4]:
                xh, bits = vq_vector(x, m, Linear(f * 4.0 * 2.0 ** (-m)), signs)
                rel = L.relmse(x, xh)
                out.append((f"vor-norm f={f}", D, bits / D, rel, L.db_from_shannon(rel, bits, D)))
                print(out[-1], flush=True)
            for f in [1.2]:
                xh, bits = vq_vector(x, m, Linear(f * 4.0 * 2.0 ** (-m)), signs, offsets=(0, -2, 2, 4, 6))
                rel = L.relmse(x, xh)
                out.append((f"vor-mse5 f={f}", D, bits / D, rel, L.db_from_shannon(rel, bits, D)))
                print(out[-1], flush=True)
            for beta in [0.85, 0.95]:
                xh, bits = vq_vector(x, m, L.OptCompander(beta * 0.84 * 2 ** m), signs)
                rel = L.relmse(x, xh)
                out.append((f"comp-opt b={beta}", D, bits / D, rel, L.db_from_shannon(rel, bits, D)))
                print(out[-1], flush=True)
    json.dump(out, open("study1.json", "w"), indent=1)
