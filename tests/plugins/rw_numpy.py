"""A throw-away sampler module (tests/test_plugins.py): random-walk Metropolis in NumPy.

It lives outside the package and declares only what a user's sampler must, plus options:
the registry's shared rules supply the rest (env, packages, colour, threads)."""

from time import perf_counter

import numpy as np

from essbench.options import Option, count
from essbench.samplers import SamplerRun

DESCRIPTION = "random-walk Metropolis in NumPy (a test's throw-away module)"
NEEDS_GRADIENT = False
ENSEMBLE = False
OPTIONS = (
    count("tune", 500, "burn-in steps, not kept", low=0),
    count("draws", 2000, "kept steps per chain"),
    count("chains", 2, "independent chains"),
    Option("scale", float, 0.8, "proposal standard deviation", low=0, low_open=True),
)


def run(problem, options, seed):
    start = perf_counter()
    logp = problem.compile_logp()
    compile_seconds = perf_counter() - start
    rng = np.random.default_rng(seed)
    tune, n, chains = int(options["tune"]), int(options["draws"]), int(options["chains"])
    scale = float(options["scale"])
    draws = np.empty((chains, n, problem.ndim))
    seconds = [0.0, 0.0]
    accepted = 0
    for c in range(chains):
        x = 0.1 * rng.standard_normal(problem.ndim)
        lx = logp(x)
        for i in range(tune + n):
            t = perf_counter()
            y = x + scale * rng.standard_normal(problem.ndim)
            ly = logp(y)
            if np.log(rng.uniform()) < ly - lx:
                x, lx = y, ly
                accepted += i >= tune
            if i >= tune:
                draws[c, i - tune] = x
            seconds[i >= tune] += perf_counter() - t
    return SamplerRun(
        draws=draws,
        compile_seconds=compile_seconds,
        warmup_seconds=seconds[0],
        draw_seconds=seconds[1],
        grad_evals=0,
        logp_evals=chains * (1 + tune + n),
        settings=dict(options),
        # A stat named like core fields: namespaced, it cannot overwrite them.
        stats={"acceptance": accepted / (chains * n), "status": "mine", "dim": -1},
    )
