"""PyMC's random-walk Metropolis (``pm.Metropolis``, adaptive proposal scale during tuning)."""

from essbench.samplers._pymc import PM_DEFAULTS, chain_threads, run_pm_sample

NAME = "pymc_metropolis"
DESCRIPTION = "PyMC random-walk Metropolis (pm.Metropolis)"
NEEDS_GRADIENT = False
ENSEMBLE = False
DEFAULTS = {**PM_DEFAULTS, "tune": 2000, "draws": 5000}


def threads(options: dict) -> int:
    return chain_threads(options)


def run(problem, options: dict, seed: int):
    import pymc as pm

    return run_pm_sample(problem, options, seed, step=lambda model: pm.Metropolis())
