import sys, time, numpy as np, e8v2_ref as E, e8lib as L
D = int(sys.argv[1]); n = int(sys.argv[2])
x = np.random.default_rng(31).standard_normal((n, D))
for bits in [float(a) for a in sys.argv[3].split(",")]:
    out = []
    for search, scales in [(-1, (0,)), (-1, (0, -1, 1)), (0, (0, -1, 1)), (1, (0, -1, 1)), (3, (0, -1, 1))]:
        t = time.time()
        if search < 0:
            # "skip" mode: emulate by search=0 but no shrink?  use the old behaviour: treat outside zones as unusable
            r = E.encode(x, D, bits, search=-1, scales=scales)
        else:
            r = E.encode(x, D, bits, search=search, scales=scales)
        te = time.time() - t
        xh = E.decode(r, D, bits)
        out.append(f"s{search}/k{len(scales)}: {L.db_from_shannon(L.relmse(x, xh), 8 * r.shape[1], D):.3f} dB {te:.1f}s")
    print(D, bits, " | ".join(out), flush=True)
