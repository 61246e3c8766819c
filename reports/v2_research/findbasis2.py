import itertools, numpy as np, e8lib as L
def in_re8(v):
    z = np.asarray(v, float) @ L.R8 / 2.0
    return np.allclose(L.e8_nearest(z), z)
top = [np.array(v, float) for v in [(1,1,1,1,0,0,0,0), (0,0,0,0,1,1,1,1), (1,1,0,0,1,1,0,0), (1,0,1,0,1,0,1,0)]]
print([in_re8(v) for v in top], np.linalg.matrix_rank(np.array(top)))
roots = []
for i, j in itertools.combinations(range(8), 2):
    for sj in (1, -1):
        v = np.zeros(8); v[i] = 1; v[j] = sj; roots.append(v)
half = np.full(8, 0.5)
best = None
for a, b, c in itertools.combinations(range(len(roots)), 3):
    A = np.array(top + [roots[a], roots[b], roots[c], half])
    if abs(abs(np.linalg.det(A)) - 1) < 1e-9:
        score = sum(int((r < 0).sum()) for r in A) * 10 + sum(int(np.argmax(r != 0)) for r in A[4:7])
        if best is None or score < best[0]:
            best = (score, A)
print(best[0]); print(best[1])
