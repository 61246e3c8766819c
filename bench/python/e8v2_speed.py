#!/usr/bin/env python3
"""CPU encode/decode throughput of e8v2 against the v1 E8 codec, one thread.

    KAKEYA_NUM_THREADS=1 PYTHONPATH=build/python python3 bench/python/e8v2_speed.py

Reports vectors per second of *CPU time* (time.process_time), which is less sensitive
than wall time to other load on a shared machine; the best of `--repeat` runs is kept."""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

os.environ.setdefault("KAKEYA_NUM_THREADS", "1")
import kakeyalattice as kl  # noqa: E402


def best_cpu_time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--rows", type=int, default=2048)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    if hasattr(kl, "set_num_threads"):
        kl.set_num_threads(1)
    x = np.random.default_rng(0).standard_normal((a.rows, a.dim)).astype(np.float32)
    codecs = [kl.codec("e8", a.dim, q=38), kl.codec("e8v2", a.dim, bits=6.4), kl.codec("e8v2", a.dim, bits=4.0),
              kl.codec("e8v2", a.dim, bits=8.0), kl.codec("lloydmax", a.dim, bits=6)]
    rows = []
    for c in codecs:
        codes = c.encode(x)
        te = best_cpu_time(lambda c=c: c.encode(x), a.repeat)
        td = best_cpu_time(lambda c=c, codes=codes: c.decode(codes), a.repeat)
        rows.append({"codec": c.name, "bits_per_coord": c.bits_per_coord,
                     "encode_vps": a.rows / te, "decode_vps": a.rows / td})
        print(f"{c.name:24s} {c.bits_per_coord:6.3f} b/c  encode {a.rows / te:10.0f} vec/s"
              f"  decode {a.rows / td:10.0f} vec/s (CPU time, 1 thread)", flush=True)
    v1 = rows[0]
    for r in rows[1:]:
        print(f"{r['codec']:24s} encode {r['encode_vps'] / v1['encode_vps']:.2f}x v1, "
              f"decode {r['decode_vps'] / v1['decode_vps']:.2f}x v1")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"dim": a.dim, "rows": a.rows, "timer": "time.process_time, best of repeats",
                       "threads": 1, "results": rows}, f, indent=1)


if __name__ == "__main__":
    main()
