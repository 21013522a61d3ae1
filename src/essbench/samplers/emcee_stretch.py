"""emcee's stretch move, the tutorial's way: the compiled PyMC log-density called once per
walker, or (``vectorize``, the variant ``emcee_vectorized``) once per step for all walkers."""

import numpy as np

from essbench.options import Option
from essbench.samplers._ensemble import (  # noqa: F401 - walkers: the config check's
    ENSEMBLE_OPTIONS,
    Engine,
    ensemble_chunks,
    nan_as_rejected,
    run_ensemble,
    walkers,
)

NAME = "emcee"
DESCRIPTION = "emcee stretch move, PyMC log-density called once per walker"
NEEDS_GRADIENT = False
ENSEMBLE = True
RUNS_LOG_PROB = True  # a log_prob file's function, jitted when it is JAX
OPTIONS = (
    *ENSEMBLE_OPTIONS,
    Option(
        "vectorize",
        bool,
        False,
        "one batched log-density call for all walkers per step (else one call per walker)",
    ),
)
PACKAGES = ("emcee",)
ENV = "sampling"
LENGTH_OPTION = "steps"
WARMUP_OPTION = "burn"
TEXTBOOK_ALPHA = None
COLOR, MARKER = "#CC79A7", "^"
# Short enough for a quick correctness run (tests/test_samplers.py), long enough to pass it.
QUICK_OPTIONS = {"burn": 300, "steps": 1500}
VARIANTS = {
    "emcee_vectorized": {
        "description": "emcee stretch move, one vectorized log-density call for all walkers"
        " per step",
        "defaults": {"vectorize": True},
        "color": "#56B4E9",
        "marker": "<",
    }
}


class _Emcee(Engine):
    def _run(self, start, n):
        self.sampler.run_mcmc(start, n)
        return self.nwalkers * n

    def stats(self):
        return {"acceptance_mean": float(np.mean(self.sampler.acceptance_fraction))}


def _engine(vectorize: bool):
    def make(problem, nwalkers, rng, seed):
        import emcee

        compiled = problem.compile_logp_batched() if vectorize else problem.compile_logp()
        logp, nan_count = nan_as_rejected(compiled, batched=vectorize)
        if vectorize:
            # The first call at each batch size (the initial state: all walkers; each step:
            # one half, then the other) compiles a JAX function: paid here, not on the clock.
            for n in {nwalkers, nwalkers // 2, nwalkers - nwalkers // 2}:
                logp(problem.initial_points(n, np.random.RandomState(0)))
        sampler = emcee.EnsembleSampler(nwalkers, problem.ndim, logp, vectorize=vectorize)
        sampler.random_state = rng.get_state()
        return _Emcee(sampler, nwalkers, nan_count)

    return make


def run(problem, options: dict, seed: int):
    return run_ensemble(problem, options, seed, _engine(bool(options["vectorize"])))


def chunks(problem, options: dict, seed: int):
    return ensemble_chunks(problem, options, seed, _engine(bool(options["vectorize"])))
