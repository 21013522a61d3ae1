"""Shared driver for emcee-based ensemble samplers (walkers as chains)."""

import math
from time import perf_counter

import numpy as np

from essbench.samplers import SamplerRun

ENSEMBLE_DEFAULTS = {"burn": 1000, "steps": 2000, "nwalkers": None, "walkers_per_dim": 2.5}


def walkers(dim: int, options: dict) -> int:
    """Walkers for a run: ``nwalkers`` when set, else ``walkers_per_dim * dim`` rounded up to
    an even number and at least ``2 * dim + 2`` (emcee's stretch move needs more than 2d)."""
    if options.get("nwalkers") is not None:
        return int(options["nwalkers"])
    n = math.ceil(float(options["walkers_per_dim"]) * dim)
    n += n % 2
    return max(n, 2 * dim + 2)


def prefault(n_floats: int) -> None:
    """Touch (and free) as much memory as the chain will take, before the timer.

    The chain (steps x walkers x params, grown by concatenation) is the one large allocation
    of an ensemble run. On these virtual machines the first touch of memory the process never
    had costs far more than a later one: without this, the first run in a process sampled up
    to 30% slower than the same run third in a batch (emcee_vectorized, d = 50, 124 walkers x
    6000 steps; benchmarks/batch_position.py), and a fresh process varied by as much. Counted
    with compilation, as set-up."""
    block = np.ones(n_floats)
    del block


def run_emcee(problem, options: dict, seed: int, vectorize: bool) -> SamplerRun:
    return next(emcee_chunks(problem, options, seed, vectorize))


def emcee_chunks(problem, options: dict, seed: int, vectorize: bool):
    """Burn-in and ``steps`` kept steps, then (for each ``n`` sent) ``n`` more of the same
    chains: the time-to-target-ESS protocol of :mod:`essbench.samplers`."""
    import emcee

    start = perf_counter()
    logp = problem.compile_logp_batched() if vectorize else problem.compile_logp()
    nwalkers = walkers(problem.dim, options)
    rng = np.random.RandomState(seed)
    init = problem.initial_points(nwalkers, rng)
    burn, steps = int(options["burn"]), int(options["steps"])
    prefault(2 * (burn + steps) * nwalkers * problem.ndim)
    compile_seconds = perf_counter() - start
    sampler = emcee.EnsembleSampler(nwalkers, problem.ndim, logp, vectorize=vectorize)
    sampler.random_state = rng.get_state()

    start = perf_counter()
    state = sampler.run_mcmc(init, burn) if burn > 0 else init
    mid = perf_counter()
    sampler.run_mcmc(state, steps)
    end = perf_counter()

    chain = sampler.get_chain(discard=burn)  # (steps, walkers, params)
    more = yield SamplerRun(
        draws=_walkers_first(chain),
        compile_seconds=compile_seconds,
        warmup_seconds=mid - start,
        draw_seconds=end - mid,
        grad_evals=0,
        # The initial state is evaluated once, then every walker once per step.
        logp_evals=nwalkers * (1 + burn + steps),
        settings={"burn": burn, "steps": steps, "nwalkers": nwalkers},
        stats={"acceptance_mean": float(np.mean(sampler.acceptance_fraction))},
    )
    while True:
        start = perf_counter()
        sampler.run_mcmc(None, more)
        seconds = perf_counter() - start
        more = yield SamplerRun(
            draws=_walkers_first(sampler.get_chain()[-more:]),
            compile_seconds=0.0,
            warmup_seconds=0.0,
            draw_seconds=seconds,
            grad_evals=0,
            logp_evals=nwalkers * more,
            stats={"acceptance_mean": float(np.mean(sampler.acceptance_fraction))},
        )


def _walkers_first(chain: np.ndarray) -> np.ndarray:
    """(steps, walkers, params) -> contiguous (walkers, steps, params)."""
    return np.ascontiguousarray(np.swapaxes(chain, 0, 1))
