# SPDX-License-Identifier: Apache-2.0
"""Stage 0.75 drivers: audit, Q sweep, thresholds, reports (see driver.py)."""
from .driver import PUBLISHED, SCHEMA, build_inputs, run_audit, run_stage075, run_sweep, solve  # noqa: F401
from .report import markdown, write_reports  # noqa: F401
from .stats import audit, mean_ci, t_ppf  # noqa: F401
from .thresholds import THRESHOLDS, q_min  # noqa: F401
