"""emcee with ``vectorize=True``: one batched PyMC log-density call per step for all walkers."""

from essbench.samplers._ensemble import ENSEMBLE_DEFAULTS, run_emcee, walkers  # noqa: F401

NAME = "emcee_vectorized"
DESCRIPTION = "emcee stretch move, one vectorized log-density call for all walkers per step"
NEEDS_GRADIENT = False
ENSEMBLE = True
DEFAULTS = dict(ENSEMBLE_DEFAULTS)


def threads(options: dict) -> int:
    return 1


def run(problem, options: dict, seed: int):
    return run_emcee(problem, options, seed, vectorize=True)
