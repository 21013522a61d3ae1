"""Job priorities (essbench.schedule): the longest estimated chain of work starts first."""

from pathlib import Path

import pytest
import yaml

from essbench import config as ebconfig
from essbench import schedule

REPO = Path(__file__).resolve().parents[1]


def test_a_run_is_estimated_from_its_size_and_never_past_its_budget():
    options = {"burn": 1000, "steps": 2000, "walkers_per_dim": 2.5}
    small = schedule.run_seconds("emcee", options, 16)
    large = schedule.run_seconds("emcee", options, 64)
    assert 0 < small < large
    assert schedule.run_seconds("emcee", options, 64, budget_seconds=3.0) == 3.0
    goal = {"ess": 400, "budget_seconds": 2.0, "max_growth": 32}
    assert schedule.run_seconds("emcee", options, 64, ess_goal=goal) == 2.0
    # a budget longer than the guess changes nothing
    assert schedule.run_seconds("emcee", options, 16, budget_seconds=1e6) == small


def test_a_batch_is_its_start_plus_its_runs_and_a_job_is_worth_what_waits_for_it():
    options = {"tune": 1000, "draws": 1000, "chains": 2, "cores": 2}
    one = schedule.batch_seconds("pymc_nuts", options, [16])
    five = schedule.batch_seconds("pymc_nuts", options, [16] * 5)
    assert one > schedule.BATCH_START_SECONDS
    assert five - schedule.BATCH_START_SECONDS == pytest.approx(
        5 * (one - schedule.BATCH_START_SECONDS)
    )
    # A batch of several models: each run at its own dimension.
    mixed = schedule.batch_seconds("pymc_nuts", options, [16, 64])
    assert mixed - schedule.BATCH_START_SECONDS == pytest.approx(
        schedule.run_seconds("pymc_nuts", options, 16)
        + schedule.run_seconds("pymc_nuts", options, 64)
    )
    assert schedule.upstream_priority(5.0, [3.0, 40.0, 7.0]) == 45.0
    assert schedule.upstream_priority(5.0, []) == 5.0
    assert schedule.reference_seconds("eight_schools") > 0


def test_the_default_studys_longest_single_thread_batch_comes_first_among_them():
    """The case that cost the default study 24 s of an idle core (benchmarks/overhead.py):
    emcee's batch (every run of it, d = 64 among them) must outrank every other one-thread
    batch, so it starts while the short ones fill the other core."""
    study = ebconfig.validate(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))

    def estimate(batch):
        return schedule.batch_seconds(
            batch.sampler,
            ebconfig.sampler_options(study, batch.sampler),
            [run.dim for run in batch.runs],
            study["run_budget_seconds"],
            study["ess_goal"],
        )

    single = {
        batch.key: estimate(batch)
        for batch in ebconfig.batches(study)
        if schedule.registry.sampler(batch.sampler).threads(
            ebconfig.sampler_options(study, batch.sampler)
        )
        == 1
    }
    longest = max(single, key=single.get)
    assert longest == "emcee/n0-14", single
    assert sorted(single.values())[-2] < single[longest]
