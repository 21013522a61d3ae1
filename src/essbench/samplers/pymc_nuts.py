"""PyMC's own NUTS, ``pm.sample(nuts_sampler="pymc")``, timed as the tutorial does."""

from essbench.samplers._pymc import PM_PACKAGES, TARGET_ACCEPT, pm_options, run_pm_sample

NAME = "pymc_nuts"
DESCRIPTION = "PyMC NUTS (pm.sample, nuts_sampler='pymc')"
NEEDS_GRADIENT = True
ENSEMBLE = False
OPTIONS = (*pm_options(), TARGET_ACCEPT)
PACKAGES = PM_PACKAGES
ENV = "sampling"
LENGTH_OPTION = "draws"
WARMUP_OPTION = "tune"
TEXTBOOK_ALPHA = 1.25  # HMC/NUTS: d^(1/4) more steps per ESS, each O(d)
COLOR, MARKER = "#0072B2", "o"
# Short enough for a quick correctness run (tests/test_samplers.py), long enough to pass it.
QUICK_OPTIONS = {"tune": 300, "draws": 300, "chains": 2, "cores": 1}
# No batch throw-away run: every run pays its own (pm.sample(tune=1, draws=1, chains=1),
# the tutorial's protocol), so its first run in a batch is as fast as its third.
PRIME_OPTIONS = False


def run(problem, options: dict, seed: int):
    # ``max_treedepth`` is not a study option (a study's runs keep PyMC's cap of 10): only a
    # target's ``REFERENCE_NUTS`` sets it, for the reference rule's long run.
    depth = {"max_treedepth": int(options["max_treedepth"])} if "max_treedepth" in options else {}
    return run_pm_sample(
        problem,
        options,
        seed,
        nuts_sampler="pymc",
        target_accept=float(options["target_accept"]),
        **depth,
    )
