"""PyMC's differential-evolution Metropolis with a past-sample history (``pm.DEMetropolisZ``)."""

from essbench.samplers._pymc import PM_PACKAGES, pm_options, run_pm_sample

NAME = "pymc_demetropolisz"
DESCRIPTION = "PyMC DE-Metropolis-Z (pm.DEMetropolisZ)"
NEEDS_GRADIENT = False
ENSEMBLE = False
OPTIONS = pm_options(tune=2000, draws=5000)
PACKAGES = PM_PACKAGES
ENV = "sampling"
LENGTH_OPTION = "draws"
WARMUP_OPTION = "tune"
TEXTBOOK_ALPHA = None
COLOR, MARKER = "#000000", "P"
# Short enough for a quick correctness run (tests/test_samplers.py), long enough to pass it.
QUICK_OPTIONS = {"tune": 1000, "draws": 3000, "chains": 2, "cores": 1}
# No batch throw-away run: every run pays its own (pm.sample(tune=1, draws=1, chains=1),
# the tutorial's protocol), so its first run in a batch is as fast as its third.
PRIME_OPTIONS = False


def run(problem, options: dict, seed: int):
    import pymc as pm

    return run_pm_sample(problem, options, seed, step=lambda model: pm.DEMetropolisZ())
