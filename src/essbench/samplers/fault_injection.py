"""A sampler that fails on purpose, to test how a study survives failing runs.

Not a benchmark entry: use it only in test configs. ``mode`` picks the failure:
``raise`` (an exception), ``nan`` (non-finite draws), ``sleep`` (sleeps ``seconds``, to hit
the run's wall-time budget), ``ok`` (independent N(0, 1) draws: a run that succeeds).
"""

import time

import numpy as np

from essbench.options import choice, count, positive
from essbench.samplers import SamplerRun

NAME = "fault_injection"
TEST_ONLY = True  # left out of the README tables
DESCRIPTION = "test-only: fails on purpose (exception, NaN draws, or a hang)"
NEEDS_GRADIENT = False
ENSEMBLE = False
OPTIONS = (
    choice(
        "mode",
        "raise",
        "`raise`, `nan` (non-finite draws), `sleep` (for `seconds`, to exceed the budget) or `ok`",
        ("ok", "raise", "nan", "sleep"),
    ),
    positive("seconds", 60.0, "how long `sleep` sleeps"),
    count("draws", 200, "draws per chain it returns"),
    count("chains", 2, "chains it returns"),
)
PACKAGES = ()
ENV = "sampling"
LENGTH_OPTION = "draws"
WARMUP_OPTION = None
TEXTBOOK_ALPHA = None
COLOR, MARKER = "#332288", "x"
# Short enough for a quick correctness run (tests/test_samplers.py), long enough to pass it.
QUICK_OPTIONS = {"mode": "ok"}


def run(problem, options: dict, seed: int) -> SamplerRun:
    rng = np.random.default_rng(seed)
    draws = rng.standard_normal((int(options["chains"]), int(options["draws"]), problem.ndim))
    mode = options["mode"]
    if mode == "raise":
        raise RuntimeError("fault_injection: failing on purpose")
    if mode == "nan":
        draws[0, 0, 0] = np.nan
    if mode == "sleep":
        time.sleep(float(options["seconds"]))
    return SamplerRun(draws, 1e-3, 1e-3, 1e-3, grad_evals=0, logp_evals=draws.size // problem.ndim)
