"""Final measurements with the reference codec itself (e8v2_ref), plus same-run Lloyd-Max.
Gaussian: D=128 (n=2000) and 512 (n=500), bits 3..8 step 0.25.  Real K/V (MiniLM, D=384):
per-layer mean from passages 0-3, codec on passages 4-7 (every 4th token), LM at b = 3..8 bits
and e8v2 at the same bits per vector (rounded down to whole bytes)."""
import json, math, sys, time, numpy as np
import pathlib
import sys

# the reference codec lives in tests/reference (one copy in the tree)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests" / "reference"))
import e8v2_ref as E, e8lib as L  # noqa: E402
from study2 import lloydmax
lms = {int(k): np.array(v) for k, v in json.load(open("lloydmax_tables.json")).items()}
what = sys.argv[1]
rows = []
if what == "gauss":
    for D, n in [(128, 2000), (512, 500)]:
        x = np.random.default_rng(9000 + D).standard_normal((n, D))
        sg = np.where(np.random.default_rng(5).random(D) < 0.5, -1.0, 1.0)
        for bits in np.arange(3.0, 8.01, 0.25):
            t = time.time(); rec = E.encode(x, D, bits); te = time.time() - t
            xh = E.decode(rec, D, bits).astype(np.float64)
            rel = L.relmse(x, xh); bpv = 8 * rec.shape[1]
            al = E.allocation(D, bits)
            from collections import Counter
            c = Counter(al)
            rows.append(dict(cand="e8v2", D=D, bits=bits, bpv=bpv, rel=rel, db=L.db_from_shannon(rel, bpv, D),
                             alloc=" ".join(f"{c[b]}x{b}(j={E.zone_bits(b)})" for b in sorted(c))))
            print(rows[-1], flush=True)
            if bits == int(bits):
                xh, bpv = lloydmax(x, int(bits), sg, lms[int(bits)]); rel = L.relmse(x, xh)
                rows.append(dict(cand="lloydmax", D=D, bits=bits, bpv=bpv, rel=rel, db=L.db_from_shannon(rel, bpv, D)))
                print(rows[-1], flush=True)
else:
    z = np.load("realkv.npz"); pid = z["pid"]
    sg = np.where(np.random.default_rng(5).random(384) < 0.5, -1.0, 1.0)
    tr, te = pid < 4, np.nonzero(pid >= 4)[0][::4]
    for kind in "KV":
        for l in range(6):
            X = z[f"{kind}{l}"].astype(np.float64); x = X[te] - X[tr].mean(0)
            for b in [3, 4, 5, 6, 8]:
                xl, bl = lloydmax(x, b, sg, lms[b]); rl = L.relmse(x, xl)
                bits = bl / 384
                rec = E.encode(x, 384, bits); xz = E.decode(rec, 384, bits).astype(np.float64)
                rz = L.relmse(x, xz); bz = 8 * rec.shape[1]
                rows.append(dict(stream=f"{kind}{l}", b=b, lm_bpv=bl, lm_rel=rl, lm_db=L.db_from_shannon(rl, bl, 384),
                                 e8v2_bpv=bz, e8v2_rel=rz, e8v2_db=L.db_from_shannon(rz, bz, 384), gain_db=10 * math.log10(rl / rz)))
                print(rows[-1], flush=True)
json.dump(rows, open(f"final_{what}.json", "w"), indent=1)
