# SPDX-License-Identifier: Apache-2.0
"""The machine a measurement ran on, for the reports: CPU model, cores, Python, platform."""
from __future__ import annotations

import os
import platform
import sys


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
