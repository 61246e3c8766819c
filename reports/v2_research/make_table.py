"""Merge the tuning results into e8v2_ref.TABLE: b -> (f0, ratio, tail, cost_dB), J by residue."""
import glob, json, math, re, sys
t = {}
for f in sorted(glob.glob("tune_*.json")):
    for k, (db, f0, r, ov) in json.load(open(f)).items():
        base, J = map(int, k.split(","))
        t[(base, J)] = (f0, r, 1.0, db)
refined = {}
for f in sorted(glob.glob("tune3_*.json")) + sorted(glob.glob("tune4_*.json")):
    for b, c in json.load(open(f)).items():
        k = (c["base"], c["J"])
        if k not in refined or c["db"] < refined[k][3]:
            refined[k] = (c["f0"], c["ratio"], c["tail"], c["db"])
t.update(refined)
rows = []
for b in range(17, 67):
    js = [(b - 1) % 4 + 1] + ([5] if (b - 1) % 4 == 0 else [])
    cands = [(t[(b - j, 1 << j)][3], j) for j in js if (b - j, 1 << j) in t]
    if not cands:
        print("missing", b, file=sys.stderr); continue
    db, j = min(cands)
    f0, r, tail, db = t[(b - j, 1 << j)]
    rows.append(f"    {b}: ({j}, {f0:.4f}, {r:.4f}, {tail:.4f}, {db:.3f}),")
text = "TABLE = {\n" + "\n".join(rows) + "\n}"
src = open("e8v2_ref.py").read()
src = re.sub(r"TABLE = \{\n.*?\n\}", text, src, flags=re.S)
open("e8v2_ref.py", "w").write(src)
print(text)
