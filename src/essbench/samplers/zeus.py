"""zeus: ensemble slice sampling (differential move), the log-density called once per walker.

zeus draws from NumPy's global random state, so the run seeds it. Every slice step costs
several log-density calls: zeus counts them per ``run_mcmc`` call (``ncall``); burn-in,
kept steps and the initial state together are ``logp_evals``.
"""

from time import perf_counter

import numpy as np

from essbench.samplers import SamplerRun
from essbench.samplers._ensemble import ENSEMBLE_DEFAULTS, walkers  # noqa: F401

NAME = "zeus"
DESCRIPTION = "zeus ensemble slice sampler (differential move)"
NEEDS_GRADIENT = False
ENSEMBLE = True
DEFAULTS = dict(ENSEMBLE_DEFAULTS)


def threads(options: dict) -> int:
    return 1


def run(problem, options: dict, seed: int) -> SamplerRun:
    return next(chunks(problem, options, seed))


def chunks(problem, options: dict, seed: int):
    """Burn-in and ``steps`` kept steps, then ``n`` more of the same chains per ``n`` sent."""
    import zeus

    start = perf_counter()
    logp = problem.compile_logp()
    compile_seconds = perf_counter() - start

    nwalkers = walkers(problem.dim, options)
    rng = np.random.RandomState(seed)
    init = problem.initial_points(nwalkers, rng)
    np.random.seed(seed)
    sampler = zeus.EnsembleSampler(nwalkers, problem.ndim, logp, verbose=False)
    burn, steps = int(options["burn"]), int(options["steps"])
    start = perf_counter()
    sampler.run_mcmc(init, burn, progress=False)
    mid = perf_counter()
    calls_burn = int(sampler.ncall)
    sampler.run_mcmc(None, steps, progress=False)
    end = perf_counter()
    chain = sampler.get_chain(discard=burn)  # (steps, walkers, params)
    if chain.shape[0] != steps:
        raise RuntimeError(f"zeus returned {chain.shape[0]} kept steps, expected {steps}")
    # zeus's ncall counts the calls of the latest run_mcmc only (it resets per call); the
    # initial state's nwalkers evaluations are not in it.
    calls = nwalkers + calls_burn + int(sampler.ncall)
    more = yield SamplerRun(
        draws=np.ascontiguousarray(np.swapaxes(chain, 0, 1)),
        compile_seconds=compile_seconds,
        warmup_seconds=mid - start,
        draw_seconds=end - mid,
        grad_evals=0,
        logp_evals=calls,
        settings={"burn": burn, "steps": steps, "nwalkers": nwalkers},
        stats={"logp_evals_burn": calls_burn, "zeus_mu": float(sampler.mu)},
    )
    while True:
        start = perf_counter()
        sampler.run_mcmc(None, more, progress=False)
        seconds = perf_counter() - start
        more = yield SamplerRun(
            draws=np.ascontiguousarray(np.swapaxes(sampler.get_chain()[-more:], 0, 1)),
            compile_seconds=0.0,
            warmup_seconds=0.0,
            draw_seconds=seconds,
            grad_evals=0,
            logp_evals=int(sampler.ncall),
            stats={"zeus_mu": float(sampler.mu)},
        )
