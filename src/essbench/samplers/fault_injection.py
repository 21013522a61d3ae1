"""A sampler that fails on purpose, to test how a study survives failing runs.

Not a benchmark entry: use it only in test configs. ``mode`` picks the failure:
``raise`` (an exception), ``nan`` (non-finite draws), ``sleep`` (sleeps ``seconds``, to hit
the run's wall-time budget), ``ok`` (independent N(0, 1) draws: a run that succeeds).
"""

import time

import numpy as np

from essbench.samplers import SamplerRun

NAME = "fault_injection"
TEST_ONLY = True  # left out of the README tables
DESCRIPTION = "test-only: fails on purpose (exception, NaN draws, or a hang)"
NEEDS_GRADIENT = False
ENSEMBLE = False
DEFAULTS = {"mode": "raise", "seconds": 60, "draws": 200, "chains": 2}
CHOICES = {"mode": ("ok", "raise", "nan", "sleep")}


def threads(options: dict) -> int:
    return 1


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
