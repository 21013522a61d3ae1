"""Resource requests per job: memory and runtime grow with the run, threads by sampler kind."""

import math

from essbench import registry, resources

EMCEE = {"burn": 1000, "steps": 5000, "walkers_per_dim": 2.5}
NUTS = {"tune": 1000, "draws": 1000, "chains": 2}


def test_memory_grows_with_draws_dimension_and_max_growth():
    small = resources.run_mem_mb("emcee", EMCEE, 2)
    seed = resources.run_mem_mb("emcee", EMCEE, 50)
    grown = resources.run_mem_mb("emcee", EMCEE, 50, {"max_growth": 8})
    assert resources.BASE_MB < small < seed < grown
    # walkers x 6000 steps x 50 params, 4 copies of 8 bytes (126 walkers: an even count)
    walkers = registry.sampler("emcee").walkers(50, EMCEE)
    assert walkers == 126
    assert seed == resources.BASE_MB + math.ceil(4 * walkers * 6000 * 50 * 8 / 2**20)
    assert resources.run_mem_mb("pymc_nuts", NUTS, 50) < seed


def test_runtime_follows_the_budget_when_there_is_one():
    assert resources.run_runtime_min("emcee", EMCEE, 50, budget_seconds=600) == 15 + 5
    target = {"ess": 400, "budget_seconds": 3600, "max_growth": 8}
    assert resources.run_runtime_min("emcee", EMCEE, 50, ess_goal=target) == 120 + 10
    assert resources.run_runtime_min("emcee", EMCEE, 50) > resources.run_runtime_min(
        "emcee", EMCEE, 2
    )


def test_ensemble_diagnostics_get_two_threads_others_one():
    assert resources.diagnose_threads("emcee") == 2
    assert resources.diagnose_threads("zeus") == 2
    assert resources.diagnose_threads("pymc_nuts") == 1
    assert resources.diagnose_threads("nutpie") == 1
