"""PyMC's differential-evolution Metropolis with a past-sample history (``pm.DEMetropolisZ``)."""

from essbench.samplers._pymc import PM_DEFAULTS, chain_threads, run_pm_sample

NAME = "pymc_demetropolisz"
DESCRIPTION = "PyMC DE-Metropolis-Z (pm.DEMetropolisZ)"
NEEDS_GRADIENT = False
ENSEMBLE = False
DEFAULTS = {**PM_DEFAULTS, "tune": 2000, "draws": 5000}


def threads(options: dict) -> int:
    return chain_threads(options)


def run(problem, options: dict, seed: int):
    import pymc as pm

    return run_pm_sample(problem, options, seed, step=lambda model: pm.DEMetropolisZ())
