"""zeus: ensemble slice sampling (differential move), the log-density called once per walker.

zeus draws from NumPy's global random state, so the run seeds it. Every slice step costs
several log-density calls: zeus counts them per ``run_mcmc`` call (``ncall``, reset per
call; the initial state's evaluations are not in it). The driver is the shared ensemble one
(:mod:`essbench.samplers._ensemble`).
"""

import random

import numpy as np

from essbench.samplers._ensemble import (  # noqa: F401 - walkers: the config check's
    ENSEMBLE_OPTIONS,
    Engine,
    ensemble_chunks,
    nan_as_rejected,
    run_ensemble,
    walkers,
)

NAME = "zeus"
DESCRIPTION = "zeus ensemble slice sampler (differential move)"
NEEDS_GRADIENT = False
ENSEMBLE = True
RUNS_LOG_PROB = True  # a log_prob file's function, jitted when it is JAX
OPTIONS = ENSEMBLE_OPTIONS
PACKAGES = ("zeus-mcmc",)
ENV = "sampling"
LENGTH_OPTION = "steps"
WARMUP_OPTION = "burn"
TEXTBOOK_ALPHA = None
COLOR, MARKER = "#999999", ">"
# Short enough for a quick correctness run (tests/test_samplers.py), long enough to pass it.
QUICK_OPTIONS = {"burn": 200, "steps": 800}


class _Zeus(Engine):
    def _run(self, start, n):
        self.sampler.run_mcmc(start, n, progress=False)
        return int(self.sampler.ncall)

    def stats(self):
        return {"zeus_mu": float(self.sampler.mu)}


def _engine(problem, nwalkers, rng, seed):
    import zeus

    logp, nan_count = nan_as_rejected(problem.compile_logp())
    # zeus draws from both global generators: NumPy's, and Python's (its DifferentialMove
    # picks walker pairs with random.sample): seeding NumPy's alone let the same seed draw
    # other chains later in a process (benchmarks/batch_position.py found it).
    np.random.seed(seed)
    random.seed(seed)
    sampler = zeus.EnsembleSampler(nwalkers, problem.ndim, logp, verbose=False)
    return _Zeus(sampler, nwalkers, nan_count)


def run(problem, options: dict, seed: int):
    return run_ensemble(problem, options, seed, _engine)


def chunks(problem, options: dict, seed: int):
    return ensemble_chunks(problem, options, seed, _engine)
