"""The exact oracle: independent draws from the target's own ``sample_truth``, shaped like a
chain run (chains x draws). A perfect sampler: every flag it raises is a false positive, so
the study's oracle runs measure each flag's false-positive rate on the study's own targets
and chain shapes (the report shows them). Excluded from every cost figure and table.
"""

from time import perf_counter

import numpy as np

from essbench.options import count
from essbench.samplers import SamplerRun

NAME = "exact"
DESCRIPTION = "exact independent draws from the target's sample_truth (an oracle: no costs)"
NEEDS_GRADIENT = False
ENSEMBLE = False
ORACLE = True
RUNS_LOG_PROB = True  # the file's sample_truth
# A study skips (rather than refuses) the targets it cannot run on: those without exact draws.
SKIP_UNSUPPORTED = True
OPTIONS = (
    count("chains", 2, "chains the draws are cut into (match the samplers you calibrate)"),
    count("draws", 1000, "draws per chain"),
)
PACKAGES = ()
ENV = "sampling"
LENGTH_OPTION = "draws"
WARMUP_OPTION = None
TEXTBOOK_ALPHA = None
COLOR, MARKER = "#777777", "*"
QUICK_OPTIONS = {"chains": 2, "draws": 1000}


def unsupported(target) -> str | None:
    """Why this sampler cannot run on ``target`` (None: it can)."""
    if getattr(target.module, "sample_truth", None) is None:
        return "no exact draws"
    return None


def run(problem, options: dict, seed: int):
    chains, n = int(options["chains"]), int(options["draws"])
    rng = np.random.RandomState(seed)
    start = perf_counter()
    x = problem.module.sample_truth(problem.dim, chains * n, rng, **problem.options)
    seconds = perf_counter() - start
    draws = np.ascontiguousarray(np.asarray(x, dtype=float).reshape(chains, n, problem.ndim))
    # Its "sampling" is the time numpy took: real, tiny, and never shown as a cost.
    return SamplerRun(draws, 0.0, 0.0, max(seconds, 1e-9), grad_evals=0, logp_evals=0)
