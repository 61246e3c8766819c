"""tune3's refinement for explicit (b, J) configs, started from given (f0, ratio, tail)."""
import sys, json, math, numpy as np
from tune3 import db_of
x = np.random.default_rng(2024).standard_normal((20000, 8))
J = int(sys.argv[2]); start = [float(a) for a in sys.argv[3].split(",")]
out = {}
for b in [int(a) for a in sys.argv[1].split(",")]:
    base = b - int(round(math.log2(J)))
    p = list(start); best = db_of(x, base, J, p)
    deltas = [0.04, 0.01, 0.05]
    for rnd in range(3):
        for k in range(3):
            for sgn in (+1, -1):
                while True:
                    q = list(p); q[k] += sgn * deltas[k]
                    v = db_of(x, base, J, q)
                    if v < best - 1e-4: best, p = v, q
                    else: break
        deltas = [d / 2 for d in deltas]
    out[b] = dict(base=base, J=J, f0=p[0], ratio=p[1], tail=p[2], db=best)
    print(b, out[b], flush=True)
    start = p
json.dump(out, open(f"tune4_J{J}_{sys.argv[4]}.json", "w"), indent=1)
