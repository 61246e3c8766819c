import numpy as np, itertools, e8v2_ref as E
v = E._e8_vectors(4.0)
rng = np.random.default_rng(7)
best = None
for trial in range(20000):
    c = rng.integers(1, 128, 8).astype(float)
    ok = True
    for a in (c, c @ E.R8):
        t = v @ a
        if np.min(np.abs(t)) < 0.5: ok = False; break
    if ok:
        s = c.sum()
        if best is None or s < best[0]:
            best = (s, c); print(s, c, np.min(np.abs(v @ c)), np.min(np.abs(v @ (c @ E.R8))))
