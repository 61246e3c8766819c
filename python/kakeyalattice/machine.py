# SPDX-License-Identifier: Apache-2.0
"""The machine a measurement ran on, for the reports (CPU model, cores, Python, platform),
and the CPU-time timer the benchmark scripts share."""
from __future__ import annotations

import os
import platform
import sys
import time


def cpu_model() -> str:
    """The CPU model name (/proc/cpuinfo), else what the platform module says."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "python": sys.version.split()[0],
            "platform": platform.platform()}


def best_cpu_time(fn, repeat: int) -> float:
    """The smallest CPU time (time.process_time, all threads) of `repeat` calls of fn()."""
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best
