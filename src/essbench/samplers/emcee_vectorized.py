"""emcee with ``vectorize=True``: one batched PyMC log-density call per step for all walkers."""

from essbench.samplers._ensemble import (  # noqa: F401
    ENSEMBLE_DEFAULTS,
    emcee_chunks,
    run_emcee,
    walkers,
)

NAME = "emcee_vectorized"
DESCRIPTION = "emcee stretch move, one vectorized log-density call for all walkers per step"
NEEDS_GRADIENT = False
ENSEMBLE = True
DEFAULTS = dict(ENSEMBLE_DEFAULTS)


def threads(options: dict) -> int:
    return 1


def run(problem, options: dict, seed: int):
    return run_emcee(problem, options, seed, vectorize=True)


def chunks(problem, options: dict, seed: int):
    return emcee_chunks(problem, options, seed, vectorize=True)
