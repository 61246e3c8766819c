"""Find a sparse E8 basis b1..b8 with b1..b4 in R E8 (so {b1..b4, 2b5..2b8} is a basis of R E8)."""
import itertools, numpy as np, e8lib as L
# E8 roots
roots = []
for i, j in itertools.combinations(range(8), 2):
    for si in (1, -1):
        for sj in (1, -1):
            v = np.zeros(8); v[i] = si; v[j] = sj; roots.append(v)
for signs in itertools.product((0.5, -0.5), repeat=8):
    if sum(s < 0 for s in signs) % 2 == 0: roots.append(np.array(signs))
roots = np.array(roots); assert len(roots) == 240
rroots = roots @ L.R8  # R symmetric: rows v R
# RE8 min vectors: also need membership check
def in_re8(v):
    z = v @ L.R8 / 2.0
    return np.allclose(L.e8_nearest(z), z)
assert all(in_re8(v) for v in rroots)
nnz = lambda v: int((v != 0).sum())
cand_re = sorted({tuple(v) for v in rroots}, key=lambda v: (nnz(np.array(v)), v))
cand_e = sorted({tuple(v) for v in roots}, key=lambda v: (nnz(np.array(v)), v))
cand_re = [np.array(v) for v in cand_re if nnz(np.array(v)) <= 2 or nnz(np.array(v)) == 4][:120]
cand_e = [np.array(v) for v in cand_e if nnz(np.array(v)) <= 2][:112] + [np.full(8, 0.5)]
rng = np.random.default_rng(0)
best = None
for trial in range(200000):
    A = [cand_re[k] for k in rng.choice(len(cand_re), 4, replace=False)] + [cand_e[k] for k in rng.choice(len(cand_e), 4, replace=False)]
    A = np.array(A)
    d = np.linalg.det(A)
    if abs(abs(d) - 1) < 1e-9:
        score = int((A != 0).sum())
        if best is None or score < best[0]:
            best = (score, A); print(score); print(A)
