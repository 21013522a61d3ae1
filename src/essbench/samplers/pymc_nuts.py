"""PyMC's own NUTS, ``pm.sample(nuts_sampler="pymc")``, timed as the seed tutorial does."""

from essbench.samplers._pymc import PM_DEFAULTS, chain_threads, run_pm_sample

NAME = "pymc_nuts"
DESCRIPTION = "PyMC NUTS (pm.sample, nuts_sampler='pymc')"
NEEDS_GRADIENT = True
ENSEMBLE = False
DEFAULTS = {**PM_DEFAULTS, "target_accept": 0.8}


def threads(options: dict) -> int:
    return chain_threads(options)


def run(problem, options: dict, seed: int):
    return run_pm_sample(
        problem, options, seed, nuts_sampler="pymc", target_accept=float(options["target_accept"])
    )
