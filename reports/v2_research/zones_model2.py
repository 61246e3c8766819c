import math, numpy as np
exec(open("zones.py").read().split("for rate in")[0])
def eq_cost(Rs, rate): return cost(list(Rs), rate, True)
rng = np.random.default_rng(0)
for rate in [4, 6, 8]:
    out = []
    for J in [1, 2, 4, 8, 16, 32]:
        # optimise radii: parametrise R_j = a * q^(j) with last separate, then random local search
        best = None
        for a in np.arange(1.5, 4.5, 0.1):
            for q in ([1.0] if J == 1 else np.arange(1.01, 1.5, 0.01)):
                Rs = [a * q ** j for j in range(J)]
                c = eq_cost(Rs, rate)
                if best is None or c < best[0]: best = (c, Rs)
        c0, Rs = best
        Rs = np.array(Rs)
        for it in range(3000):
            t = np.sort(Rs * np.exp(rng.normal(0, 0.02, J)))
            c = eq_cost(t, rate)
            if c < c0: c0, Rs = c, t
        out.append(f"J={J}: {c0:.2f}")
    print(rate, "; ".join(out), flush=True)
