import itertools, numpy as np, e8lib as L
def in_re8(v):
    z = np.asarray(v, float) @ L.R8 / 2.0
    return np.allclose(L.e8_nearest(z[None])[0], z)
cands = set()
for nz in [1, 2, 4]:
    for pos in itertools.combinations(range(8), nz):
        for vals in itertools.product([1, 2, -1], repeat=nz):
            v = np.zeros(8); v[list(pos)] = vals
            if in_re8(v): cands.add(tuple(v))
cands = sorted(cands, key=lambda v: (sum(1 for a in v if a < 0), sum(1 for a in v if a != 0), [-a for a in v]))
print(len(cands))
roots = []
for i, j in itertools.combinations(range(8), 2):
    for sj in (1, -1):
        v = np.zeros(8); v[i] = 1; v[j] = sj; roots.append(tuple(v))
roots.append(tuple([0.5] * 8))
roots = sorted(roots, key=lambda v: (sum(1 for a in v if a < 0), -sum(1 for a in v if a == 0.5)))
rng = np.random.default_rng(1)
C = np.array(cands); Rt = np.array(roots)
best = None
for t in range(300000):
    i = rng.choice(min(len(C), 40), 4, replace=False); j = rng.choice(len(Rt), 4, replace=False)
    A = np.concatenate([C[np.sort(i)], Rt[np.sort(j)]])
    d = np.linalg.det(A)
    if abs(abs(d) - 1) < 1e-9:
        score = int((A < 0).sum()) * 4 + int((A != 0).sum())
        if best is None or score < best[0]:
            best = (score, A)
print(best[0]); print(best[1])
