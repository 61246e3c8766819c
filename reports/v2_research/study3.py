"""Same-run baselines at integer rates: plain E8 Voronoi code (E8 / 2^m E8, one zone, step tuned per m)
with an 8-bit log scale, norm-based (1 candidate) or MSE-chosen among 5 (NestQuant-style);
and Lloyd-Max (16-bit norm)."""
import sys, math, json, glob, numpy as np, e8lib as L
from zones2 import zone_encode, geo_steps
from study2 import lloydmax
tun = {}
for f in glob.glob("tune_*.json"):
    for k, v in json.load(open(f)).items(): tun[tuple(map(int, k.split(",")))] = v
lms = {int(k): np.array(v) for k, v in json.load(open("lloydmax_tables.json")).items()}
rows = []
for D, n in [(128, 2000), (512, 500)]:
    x = np.random.default_rng(500 + D).standard_normal((n, D))
    sg = np.where(np.random.default_rng(5).random(D) < 0.5, -1.0, 1.0)
    y = L.fwht(x * sg); B = D // 8
    s = np.sqrt((y ** 2).sum(1) / D); i0 = np.clip(np.rint(8 * np.log2(s)) + 128, 1, 255)
    for m in range(3, 9):
        base = 8 * m; db_, f0, r, ov = tun[(base, 1)]
        for offs in [(0,), (0, -1, 1, -2, 2)]:
            best = None
            for off in offs:
                sq = 2.0 ** ((i0 + off - 128) / 8)
                u = (y / sq[:, None]).reshape(-1, 8)
                _, _, rec, _ = zone_encode(u, base, geo_steps(base, 1, f0, 1.0))
                yh = rec.reshape(n, D) * sq[:, None]; err = ((y - yh) ** 2).sum(1)
                if best is None: best, be = yh, err
                else: bt = err < be; best[bt] = yh[bt]; be = np.minimum(be, err)
            xh = L.fwht(best) * sg; bits = 8 + base * B; rel = L.relmse(x, xh)
            rows.append(dict(cand=f"voronoi E8/2^mE8, scale cands={len(offs)}", D=D, bpc=bits / D, rel=rel, db=L.db_from_shannon(rel, bits, D)))
            print(rows[-1], flush=True)
        xh, bits = lloydmax(x, m, sg, lms[m]); rel = L.relmse(x, xh)
        rows.append(dict(cand="lloydmax", D=D, bpc=bits / D, rel=rel, db=L.db_from_shannon(rel, bits, D)))
        print(rows[-1], flush=True)
json.dump(rows, open("study3.json", "w"), indent=1)
