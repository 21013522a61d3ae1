"""emcee, the seed tutorial's way: the compiled PyMC log-density called once per walker."""

from essbench.samplers._ensemble import ENSEMBLE_DEFAULTS, run_emcee, walkers  # noqa: F401

NAME = "emcee"
DESCRIPTION = "emcee stretch move, PyMC log-density called once per walker"
NEEDS_GRADIENT = False
ENSEMBLE = True
DEFAULTS = dict(ENSEMBLE_DEFAULTS)


def threads(options: dict) -> int:
    return 1


def run(problem, options: dict, seed: int):
    return run_emcee(problem, options, seed, vectorize=False)
