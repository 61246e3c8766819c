# SPDX-License-Identifier: Apache-2.0
"""Measurements users run to choose a format: the rate–distortion landscape (rd)."""
from .rd import landscape_codecs, measure, run_rd, shannon_db, write_rd  # noqa: F401
