# SPDX-License-Identifier: Apache-2.0
"""A minimal progress bar on stderr (no dependency)."""
from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, label: str, enabled: bool = True):
        self.total, self.label, self.enabled = max(total, 1), label, enabled and sys.stderr.isatty()
        self.n, self.t0, self._last = 0, time.time(), 0.0

    def step(self, k: int = 1, note: str = "") -> None:
        self.n += k
        now = time.time()
        if not self.enabled or (now - self._last < 0.2 and self.n < self.total):
            return
        self._last = now
        frac = self.n / self.total
        bar = "#" * int(30 * frac)
        eta = (now - self.t0) / frac * (1 - frac) if frac > 0 else 0
        sys.stderr.write(
            f"\r{self.label} [{bar:<30}] {100 * frac:5.1f}% eta {eta:5.0f}s {note:<30}")
        if self.n >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()
