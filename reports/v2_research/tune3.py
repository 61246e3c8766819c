"""Refine the per-config step tables: steps_z = f0*4*2^(-base/8)*ratio^z, last step * tail.
20000 N(0,I8) blocks, coordinate search on (f0, ratio, tail)."""
import sys, math, json, numpy as np, e8lib as L
from zones2 import zone_encode
import study2 as S

def steps_of(base, J, f0, ratio, tail):
    st = [f0 * 4 * 2.0 ** (-base / 8) * ratio ** j for j in range(J)]
    st[-1] *= tail
    return st

def db_of(x, base, J, p):
    _, _, xh, ov = zone_encode(x, base, steps_of(base, J, *p))
    d = ((x - xh) ** 2).sum() / x.size
    return 10 * math.log10(d / 2 ** (-2 * (base + math.log2(J)) / 8))

if __name__ == "__main__":
    x = np.random.default_rng(2024).standard_normal((20000, 8))
    cfg = S.load_cfgs()
    bs = [int(a) for a in sys.argv[1].split(",")]
    out = {}
    for b in bs:
        c = cfg[b]; base, J = c["base"], c["J"]
        p = [c["f0"], c["ratio"], 1.0]
        best = db_of(x, base, J, p)
        deltas = [0.04, 0.03 if J > 1 else 0.0, 0.06]
        for rnd in range(3):
            for k in range(3):
                if deltas[k] == 0: continue
                for sgn in (+1, -1):
                    while True:
                        q = list(p); q[k] += sgn * deltas[k]
                        v = db_of(x, base, J, q)
                        if v < best - 1e-4: best, p = v, q
                        else: break
            deltas = [d / 2 for d in deltas]
        out[b] = dict(base=base, J=J, f0=p[0], ratio=p[1], tail=p[2], db=best)
        print(b, out[b], flush=True)
    json.dump(out, open(f"tune3_{sys.argv[2]}.json", "w"), indent=1)
