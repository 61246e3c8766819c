import sys, math, numpy as np, e8lib as L, study2 as S
cfg = S.load_cfgs()
D = 128; x = np.random.default_rng(77).standard_normal((2000, D))
signs = np.where(np.random.default_rng(5).random(D) < 0.5, -1.0, 1.0)
for R in [4.0, 6.0, 8.0]:
    out = []
    for search in [(0,), (0, -1, 1)]:
        xh, bits, _ = S.zone_vector(x, R, cfg, signs, search)
        out.append(f"search{len(search)} {L.db_from_shannon(L.relmse(x, xh), bits, D):.3f}")
    print(R, out, flush=True)
