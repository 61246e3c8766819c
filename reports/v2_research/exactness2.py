"""Encoder variants vs brute-force nearest codeword (b = 22, 23, 26)."""
import sys, numpy as np, e8v2_ref as E
rng = np.random.default_rng(3)
import itertools
_r = []
for i, j in itertools.combinations(range(8), 2):
    for a in (1, -1):
        for c in (1, -1):
            v = np.zeros(8); v[i] = a; v[j] = c; _r.append(v)
for sg in itertools.product((.5, -.5), repeat=8):
    if sum(x < 0 for x in sg) % 2 == 0: _r.append(np.array(sg))
ROOTS = np.array(_r)

def shrink_in(x, vor, maxit=80):
    """largest lambda = 1 - k/64 (k=0..) with NE8(lambda x) in the code; returns points."""
    p = E.nearest_e8(x); ok = vor.contains(p); lam = np.ones(len(x))
    it = 0
    while not ok.all() and it < maxit:
        bad = ~ok; lam[bad] -= 1 / 64
        p[bad] = E.nearest_e8(np.maximum(lam[bad], 0)[:, None] * x[bad]); ok[bad] = vor.contains(p[bad]); it += 1
    return p

def enc_variant(u, vor, steps, variant):
    n = len(u); be = np.full(n, np.inf); bp = np.zeros((n, 8)); bz = np.zeros(n, int)
    for z, st in enumerate(steps):
        p = E.nearest_e8(u / st)
        ok = vor.contains(p)
        if variant in ("shrink-all", "shrink+nbr"):
            out = ~ok
            p[out] = shrink_in(u[out] / st, vor); ok[:] = True
            if variant == "shrink+nbr" and out.any():
                idx = np.nonzero(out)[0]
                for rep in range(3):
                    cand = p[idx][:, None, :] + ROOTS[None]              # (k, 240, 8)
                    flat = cand.reshape(-1, 8)
                    inside = vor.contains(flat).reshape(len(idx), 240)
                    d = ((u[idx][:, None, :] - st * cand) ** 2).sum(2)
                    d = np.where(inside, d, np.inf)
                    j = np.argmin(d, 1); dj = d[np.arange(len(idx)), j]
                    cur = ((u[idx] - st * p[idx]) ** 2).sum(1)
                    imp = dj < cur
                    p[idx[imp]] = cand[np.arange(len(idx)), j][imp]
        e = np.where(ok, ((u - st * p) ** 2).sum(1), np.inf)
        b = e < be; be = np.where(b, e, be); bp[b] = p[b]; bz[b] = z
    return be

for b in [int(a) for a in sys.argv[1].split(",")]:
    vor, steps = E.block_config(b)
    grids = np.meshgrid(*[np.arange(int(mm)) for mm in vor.mod], indexing="ij")
    P = vor.point(np.stack([g.ravel() for g in grids], axis=1))
    u = rng.standard_normal((200, 8))
    exact = np.array([min(((u[k] - st * P) ** 2).sum(1).min() for st in steps) for k in range(len(u))])
    for v in ["skip", "shrink-all", "shrink+nbr"]:
        e = enc_variant(u, vor, steps, v) if v != "skip" else E.encode_blocks(u, vor, steps)[2]
        print(f"b={b} {v}: exact in {(e <= exact + 1e-12).sum()}/200, excess {(e - exact).mean() / exact.mean() * 100:.2f}% of MSE", flush=True)
