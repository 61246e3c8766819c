"""Real K/V (MiniLM-L6, D=384): zone code vs Lloyd-Max at equal bits.  Per-layer channel mean
fitted on passages 0-3, codecs measured on passages 4-7 (every other token)."""
import json, math, numpy as np, e8lib as L
from study2 import load_cfgs, zone_vector, lloydmax
z = np.load("realkv.npz"); pid = z["pid"]
cfg = load_cfgs()
lms = {int(k): np.array(v) for k, v in json.load(open("lloydmax_tables.json")).items()}
signs = np.where(np.random.default_rng(5).random(384) < 0.5, -1.0, 1.0)
train, test = pid < 4, np.nonzero(pid >= 4)[0][::2]
rows = []
for kind in ["K", "V"]:
    for l in range(6):
        X = z[f"{kind}{l}"].astype(np.float64)
        mu = X[train].mean(0)
        x = X[test] - mu
        line = f"{kind}{l}"
        for b in [4, 5, 6]:
            xh, bits = lloydmax(x, b, signs, lms[b])
            rl = L.relmse(x, xh); dl = L.db_from_shannon(rl, bits, 384)
            xz, bz, _ = zone_vector(x, bits / 384, cfg, signs)
            rz = L.relmse(x, xz); dz = L.db_from_shannon(rz, bz, 384)
            rows.append(dict(stream=f"{kind}{l}", b=b, lm_bits=bits, lm_rel=rl, lm_db=dl, zone_bits=bz, zone_rel=rz, zone_db=dz))
            line += f" | b={b}: LM {dl:.2f} dB, zone {dz:.2f} dB (gain {10*math.log10(rl/rz):.2f})"
        print(line, flush=True)
json.dump(rows, open("study_real.json", "w"), indent=1)
