"""Full-vector pipeline for the zone codes (iid Gaussian), every side bit counted, with a
same-run Lloyd-Max baseline.  Usage: python3 study2.py D n rates..."""
import sys, math, json, glob, numpy as np, e8lib as L
from zones2 import zone_encode, geo_steps

SIDE = 8

def load_cfgs():
    cfg = {}
    for f in glob.glob("tune_*.json"):
        for k, (db, f0, r, ov) in json.load(open(f)).items():
            base, J = map(int, k.split(","))
            b = base + int(round(math.log2(J)))
            if b not in cfg or db < cfg[b]["db"]:
                cfg[b] = dict(db=db, base=base, J=J, f0=f0, ratio=r)
    return cfg

def allocate(cfg, B, budget):
    """min sum_i c(b_i) 2^(-b_i/4) s.t. sum b_i <= budget (exact DP over block counts)."""
    bs = sorted(cfg)
    cost = {b: 10 ** (cfg[b]["db"] / 10) * 2.0 ** (-b / 4) for b in bs}
    INF = 1e300
    dp = np.full(budget + 1, INF); dp[0] = 0.0
    choice = []
    for i in range(B):
        nd = np.full(budget + 1, INF); arg = np.zeros(budget + 1, np.int64)
        for b in bs:
            if b > budget: continue
            cand = np.full(budget + 1, INF); cand[b:] = dp[:budget + 1 - b] + cost[b]
            better = cand < nd
            nd = np.where(better, cand, nd); arg = np.where(better, b, arg)
        dp = nd; choice.append(arg)
    t = int(np.argmin(dp)); alloc = []
    for i in reversed(range(B)):
        b = int(choice[i][t]); alloc.append(b); t -= b
    return sorted(alloc)

def zone_vector(x, bits, cfg, signs, scale_search=(0,)):
    n, D = x.shape; B = D // 8
    total = int(math.floor(bits * D))
    alloc = allocate(cfg, B, total - SIDE)
    y = L.fwht(x * signs)
    s = np.sqrt((y ** 2).sum(1) / D)
    i0 = np.clip(np.rint(8 * np.log2(np.maximum(s, 1e-30))) + 128, 1, 255)
    best = None
    for off in scale_search:
        i = np.clip(i0 + off, 1, 255)
        sq = 2.0 ** ((i - 128) / 8)
        u = (y / sq[:, None]).reshape(n, B, 8)
        uh = np.empty_like(u)
        for b in set(alloc):
            cols = [j for j, bb in enumerate(alloc) if bb == b]
            c = cfg[b]
            _, _, rec, _ = zone_encode(u[:, cols].reshape(-1, 8), c["base"], geo_steps(c["base"], c["J"], c["f0"], c["ratio"]))
            uh[:, cols] = rec.reshape(n, len(cols), 8)
        yh = uh.reshape(n, D) * sq[:, None]
        err = ((y - yh) ** 2).sum(1)
        if best is None:
            best, berr = yh, err
        else:
            bt = err < berr; best[bt] = yh[bt]; berr = np.minimum(berr, err)
    return L.fwht(best) * signs, SIDE + sum(alloc), alloc

def lloydmax(x, b, signs, lm):
    D = x.shape[1]
    y = L.fwht(x * signs)
    nrm = np.sqrt((y ** 2).sum(1, keepdims=True))
    nq = nrm.astype(np.float16).astype(np.float64)
    yq = L.lm_quantize(y * math.sqrt(D) / np.maximum(nrm, 1e-30), lm) * nq / math.sqrt(D)
    return L.fwht(yq) * signs, b * D + 16

if __name__ == "__main__":
    D, n = int(sys.argv[1]), int(sys.argv[2])
    rates = [float(a) for a in sys.argv[3].split(",")]
    search = tuple(int(a) for a in sys.argv[4].split(",")) if len(sys.argv) > 4 else (0,)
    cfg = load_cfgs()
    lms = {int(k): np.array(v) for k, v in json.load(open("lloydmax_tables.json")).items()}
    x = np.random.default_rng(1000 + D).standard_normal((n, D))
    signs = np.where(np.random.default_rng(5).random(D) < 0.5, -1.0, 1.0)
    rows = []
    for R in rates:
        if R == int(R):
            xh, bits = lloydmax(x, int(R), signs, lms[int(R)])
            rel = L.relmse(x, xh)
            rows.append(dict(cand="lloydmax", D=D, bpc=bits / D, rel=rel, db=L.db_from_shannon(rel, bits, D)))
            print(rows[-1], flush=True)
        xh, bits, alloc = zone_vector(x, R, cfg, signs, search)
        rel = L.relmse(x, xh)
        from collections import Counter
        cnt = Counter(alloc)
        desc = " ".join(f"{cnt[b]}x{b}({cfg[b]['base']}+{int(math.log2(cfg[b]['J']))})" for b in sorted(cnt))
        rows.append(dict(cand=f"zone search={len(search)}", D=D, bpc=bits / D, rel=rel, db=L.db_from_shannon(rel, bits, D), alloc=desc))
        print(rows[-1], flush=True)
    json.dump(rows, open(f"study2_D{D}_{len(search)}.json", "w"), indent=1)
