import sys, math, numpy as np, e8lib as L
from blocktune import run_comp
rng = np.random.default_rng(1)
x = rng.standard_normal((10000, 8))
m = int(sys.argv[1])
res = []
for beta in [0.85, 0.95, 1.05]:
    for s2 in [2.0, 3.0, 4.5, 8.0]:
        for rmax in [5.0, 6.0, 7.0]:
            comp = L.ChiCompander(beta * 0.84 * 2 ** m, s2, rmax)
            d, nov = run_comp(x, m, comp)
            res.append((10 * math.log10(d / 2 ** (-2 * m)), beta, s2, rmax, nov))
res.sort()
for r in res[:6]: print("chi", m, r)
res = []
for beta in [0.85, 0.95, 1.05]:
    for a in [4, 6, 9, 14]:
        for p in [1, 2, 4]:
            rho = beta * 0.84 * 2 ** m
            comp = L.PowCompander(a, p)
            class C: pass
            c = C(); c.g = lambda r, comp=comp, a=a: comp.g(r) * (rho / a); c.ginv = lambda t, comp=comp, a=a: comp.ginv(t * a / rho)
            d, nov = run_comp(x, m, c)
            res.append((10 * math.log10(d / 2 ** (-2 * m)), beta, a, p, nov))
res.sort()
for r in res[:6]: print("pow", m, r)
