#!/usr/bin/env python3
"""CPU encode/decode throughput of e8v2 against the v1 E8 codec (and lloydmax), one
thread, for every instruction set this CPU runs (or those given with --isa).

    KAKEYA_NUM_THREADS=1 PYTHONPATH=build/python python3 bench/python/e8v2_speed.py \
        --json reports/<date>-e8v2_speed.json

Reports vectors per second of *CPU time* (time.process_time), which is less sensitive
than wall time to other load on a shared machine; the best of `--repeat` runs is kept.
The batch (--rows × dim float32, 2 MiB at the defaults) stays in cache, so this measures
the codec, not memory; bench/cpu (Google Benchmark) runs 16384-row batches."""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

os.environ.setdefault("KAKEYA_NUM_THREADS", "1")
import kakeyalattice as kl  # noqa: E402
from kakeyalattice.machine import best_cpu_time, cpu_model  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--rows", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--isa", action="append", default=None,
                    help="instruction set(s) to run (default: every one this CPU runs)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    kl.set_num_threads(1)
    info = kl.build_info()
    isas = a.isa or list(info["isa_supported"])
    x = np.random.default_rng(0).standard_normal((a.rows, a.dim)).astype(np.float32)
    codecs = [kl.codec("e8", a.dim, q=38), kl.codec("e8v2", a.dim, bits=6.4),
              kl.codec("e8v2", a.dim, bits=6.4, encoder="fast"), kl.codec("e8v2", a.dim, bits=4.0),
              kl.codec("e8v2", a.dim, bits=4.0, encoder="fast"), kl.codec("e8v2", a.dim, bits=8.0),
              kl.codec("e8v2", a.dim, bits=8.0, encoder="fast"), kl.codec("lloydmax", a.dim, bits=6)]
    rows = []
    for isa in isas:
        kl.set_isa(isa)
        for c in codecs:
            codes = c.encode(x)
            te = best_cpu_time(lambda c=c: c.encode(x), a.repeat)
            td = best_cpu_time(lambda c=c, codes=codes: c.decode(codes), a.repeat)
            rows.append({"isa": isa, "codec": c.name, "bits_per_coord": c.bits_per_coord,
                         "encode_vps": a.rows / te, "decode_vps": a.rows / td})
            print(f"{isa:8s} {c.name:24s} {c.bits_per_coord:6.3f} b/c  encode {a.rows / te:10.0f} vec/s"
                  f"  decode {a.rows / td:10.0f} vec/s (CPU time, 1 thread)", flush=True)
        v1 = next(r for r in rows if r["isa"] == isa and r["codec"].startswith("e8_"))
        for r in rows:
            if r["isa"] == isa and r is not v1:
                print(f"{isa:8s} {r['codec']:24s} encode {r['encode_vps'] / v1['encode_vps']:.3f}x v1, "
                      f"decode {r['decode_vps'] / v1['decode_vps']:.2f}x v1")
    kl.set_isa("auto")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"dim": a.dim, "rows": a.rows, "timer": "time.process_time, best of repeats",
                       "threads": 1, "cpu": cpu_model(), "date": time.strftime("%Y-%m-%d"),
                       "compiled_baseline": info.get("compiled_baseline"), "results": rows}, f, indent=1)


if __name__ == "__main__":
    main()
