"""emcee, the seed tutorial's way: the compiled PyMC log-density called once per walker."""

from essbench.samplers._ensemble import (  # noqa: F401
    ENSEMBLE_DEFAULTS,
    emcee_chunks,
    run_emcee,
    walkers,
)

NAME = "emcee"
DESCRIPTION = "emcee stretch move, PyMC log-density called once per walker"
NEEDS_GRADIENT = False
ENSEMBLE = True
DEFAULTS = dict(ENSEMBLE_DEFAULTS)


def threads(options: dict) -> int:
    return 1


def run(problem, options: dict, seed: int):
    return run_emcee(problem, options, seed, vectorize=False)


def chunks(problem, options: dict, seed: int):
    return emcee_chunks(problem, options, seed, vectorize=False)
