import sys, numpy as np, e8v2_ref as E
rng = np.random.default_rng(4)
for b in [int(a) for a in sys.argv[1].split(",")]:
    vor, steps = E.block_config(b)
    grids = np.meshgrid(*[np.arange(int(mm)) for mm in vor.mod], indexing="ij")
    P = vor.point(np.stack([g.ravel() for g in grids], axis=1))
    u = rng.standard_normal((300, 8)) * 1.1
    exact = np.array([min(((u[k] - st * P) ** 2).sum(1).min() for st in steps) for k in range(len(u))])
    for s in (-1, 0, 1, 3):
        e = E.encode_blocks(u, vor, steps, s)[2]
        print(f"b={b} search={s}: exact in {(e <= exact + 1e-12).sum()}/300, excess {(e - exact).mean() / exact.mean() * 100:.3f}% of MSE", flush=True)
