"""stan_nuts: Stan programs equal their PyMC models, Stan's NUTS recovers the truth, and the
config check refuses targets without a Stan program.

Stan's log densities at the test points come from ``tests/data/stan_log_density.json``
(``tests/stan_fixtures.py`` makes it with the real toolchain): a build takes ~30-50 s per
program, and a fresh virtualenv builds every program again. The suite compiles two programs,
gaussian_iid's (at every dimension: the data enter when the model is loaded, not when it is
compiled) and eight_schools_noncentered's; both are sampled here and both recompute their
fixture cases live. httpstan caches a build (``~/.cache/httpstan`` unless
``ESSBENCH_STAN_CACHE`` is set), so reruns are fast.
"""

import dataclasses

import numpy as np
import pytest
import stan_fixtures as fixtures
import yaml

from essbench import pipeline, registry, stan
from essbench.problem import build_problem
from essbench.samplers import merged_options

# The synthetic targets that have a Stan program (posteriordb's ports have one by nature).
SYNTHETIC = ("banana", "eight_schools", "gaussian_iid", "gaussian_illcond", "neals_funnel")
CASES = [(name, dim) for name, dim, kind in fixtures.cases() if kind == fixtures.STARTS]
# The programs the suite compiles anyway (the runs below): their cases are recomputed live.
LIVE = [("gaussian_iid", 4), ("eight_schools_noncentered", 10)]


def test_the_synthetic_targets_have_stan_programs():
    assert set(SYNTHETIC) <= set(fixtures.stan_targets())


def test_every_stan_program_has_its_fixture_cases_made_by_this_stan():
    """Every target with a STAN_PROGRAM is checked (a new one cannot go unchecked), nothing
    else is stored, and the values are this httpstan's and this Stan's."""
    stored = [fixtures.key(c) for c in fixtures.load()]
    regenerate = f"regenerate the fixture: {fixtures.COMMAND}"
    missing = sorted(set(fixtures.cases()) - set(stored))
    assert not missing, f"no Stan values for {missing}; {regenerate} --only NAME"
    assert sorted(stored) == sorted(fixtures.cases()), f"stale or repeated cases; {regenerate}"
    made_by = {tuple(sorted(c["versions"].items())) for c in fixtures.load()}
    assert made_by == {tuple(sorted(stan.versions().items()))}, f"{made_by}; {regenerate}"


@pytest.mark.parametrize("change", ["STAN_PROGRAM", "stan_data"])
def test_a_changed_program_or_data_fails_asking_to_regenerate(monkeypatch, change):
    module = registry.target("gaussian_iid").module
    if change == "STAN_PROGRAM":
        monkeypatch.setattr(module, "STAN_PROGRAM", module.STAN_PROGRAM + "// changed\n")
    else:
        monkeypatch.setattr(module, "stan_data", lambda dim: {"d": dim + 1})
    with pytest.raises(AssertionError) as info:
        fixtures.stored("gaussian_iid", 4, fixtures.STARTS)
    assert "changed since the fixture was made" in str(info.value)
    assert f"regenerate it: {fixtures.COMMAND} --only gaussian_iid" in str(info.value)


# Stan's own gradient loses precision where a Gaussian process's covariance is badly
# conditioned: at gp_pois_regr's widest start point (rho ~ 15) it differs from PyMC's by
# 5.7e-6 relative, while PyMC's matches central finite differences of its log density to
# ~1e-9 and the two log densities agree to 1e-8 (the port is right; Stan's Cholesky
# gradient is not that precise there).
GRAD_RTOL = {"gp_pois_regr": 2e-5}


def assert_pymc_equals_stan(case: dict, pymc: dict):
    """Log density (Jacobian included) equal up to a constant, gradients equal, in the same
    unconstrained space: PyMC's values ``pymc`` against Stan's ``case``."""
    assert case["perm"] is not None, "Stan's unconstrained space is not PyMC's"
    offset = np.asarray(case["stan"]) - pymc["pymc"]
    assert np.all(np.isfinite(offset))
    np.testing.assert_allclose(
        offset, offset[0], rtol=0, atol=1e-8 * (1 + np.abs(pymc["pymc"])).max()
    )
    rtol = GRAD_RTOL.get(case["target"], 1e-7)
    np.testing.assert_allclose(case["stan_grad"], pymc["pymc_grad"], rtol=rtol, atol=1e-9)
    # A real check: the log density changes between the points.
    assert np.ptp(pymc["pymc"]) > 1e-3


@pytest.mark.parametrize(("target", "dim"), CASES)
def test_stan_program_equals_the_pymc_model(target, dim):
    """At points spread like the target's starting points (Stan's values: the fixture's)."""
    case = fixtures.stored(target, dim, fixtures.STARTS)
    problem = fixtures.problem_of(target, dim)
    thetas = np.asarray(case["points"])
    # The fixture's points are the ones the generator draws from the target as it is now.
    np.testing.assert_allclose(
        thetas, fixtures.points(problem, fixtures.STARTS), rtol=1e-12, atol=1e-14
    )
    assert_pymc_equals_stan(case, stan.pymc_log_density(problem, thetas))


@pytest.mark.parametrize(("target", "dim"), LIVE)
def test_fixture_is_stans_own_output(target, dim):
    """Stan itself, at the fixture's points, gives the fixture's values; and the live
    comparison of the two models passes."""
    live = fixtures.stan_case(target, dim, fixtures.STARTS)
    fixtures.assert_same_stan_values(live, fixtures.stored(target, dim, fixtures.STARTS))
    pymc = stan.pymc_log_density(fixtures.problem_of(target, dim), np.asarray(live["points"]))
    assert_pymc_equals_stan(live, pymc)


def _record(target: str, dim: int, options: dict, seed: int, reference_json=None):
    """One stan_nuts run through the pipeline (sample, then diagnose), as the workflow does."""
    plugin = registry.sampler("stan_nuts")
    settings = {
        "sampler": "stan_nuts",
        "target": target,
        "dim": dim,
        "replicate": 0,
        "random_seed": seed,
        "backend": "numba",
        "sampler_options": merged_options(plugin, options),
        "target_options": {},
    }
    record, draws, result = pipeline.sample(settings, 1, "stan.log")
    assert record["status"] == "ok", record["reason"]
    return pipeline.diagnose(record, draws, reference_json=reference_json), result


def test_stan_nuts_recovers_the_gaussian():
    record, result = _record("gaussian_iid", 4, {"tune": 500, "draws": 1000, "cores": 1}, 5)
    assert record["status"] == "ok" and not record["biased"], record
    assert record["rhat_max"] < 1.01 and record["ess_bulk_min"] > 400
    assert result.draws.shape == (2, 1000, 4)
    # Work and time as every NUTS sampler reports them: leapfrog steps of warm-up and draws.
    assert record["grad_evals"] > np.sum(result.sample_stats["n_steps"]) > 0
    assert record["warmup_seconds"] > 0 and record["draw_seconds"] > 0
    assert record["sampling_seconds"] <= record["stat_chain_seconds_sum"] + 1e-9
    assert record["stat_wall_seconds"] > record["sampling_seconds"]
    # The warm-up's statistics come from its replay, timed apart.
    assert record["stat_warmup_replay_seconds"] > 0
    assert record["version_stan"] == stan.stan_version() != "absent"
    assert set(result.sample_stats) == {
        "diverging",
        "n_steps",
        "step_size",
        "tree_depth",
        "energy",
        "acceptance_rate",
    }
    assert all(v.shape == (2, 1000) for v in result.sample_stats.values())


def test_stan_nuts_recovers_posteriordb_reference():
    """eight_schools_noncentered: posteriordb's reference moments (10 chains x 1000), and
    tau's draws map into PyMC's value space (log tau)."""
    record, result = _record(
        "eight_schools_noncentered", 10, {"tune": 1000, "draws": 1000, "target_accept": 0.9}, 3
    )
    assert not record["biased"], {k: v for k, v in record.items() if k.startswith("z_")}
    assert record["rhat_max"] < 1.02
    names = build_problem("eight_schools_noncentered", 10).names
    log_tau = result.draws[..., names.index("tau_log__")]
    assert np.all(np.isfinite(log_tau)) and log_tau.min() < 0 < log_tau.max()


def test_same_seed_samples_again_and_gives_the_same_chains():
    """httpstan would answer a repeated request from its fit cache without sampling; the
    sampler keeps fits out of that cache, so a rerun samples (and, seeded, repeats itself)."""
    problem = build_problem("gaussian_iid", 4)
    plugin = registry.sampler("stan_nuts")
    options = merged_options(plugin, {"tune": 200, "draws": 200, "cores": 1})
    first = plugin.run(problem, options, seed=9)
    again = plugin.run(problem, options, seed=9)
    other = plugin.run(problem, options, seed=10)
    np.testing.assert_array_equal(first.draws, again.draws)
    assert not np.array_equal(first.draws, other.draws)
    assert again.stats["wall_seconds"] > 0.05  # pystan polls every 0.05 s while it samples
    assert not np.array_equal(first.draws[0], first.draws[1])  # chains differ


def test_the_timed_call_writes_no_warm_up_and_its_replay_gives_the_warm_ups_rows(monkeypatch):
    """Writing the warm-up's iterations is inside Stan's own warm-up clock (7x at d = 50):
    the timed call keeps the draws only, as pystan's default does; the warm-up's rows are
    those of a run that saves them (the same seed: Stan repeats itself)."""
    problem = build_problem("gaussian_iid", 4)
    model = registry.sampler("stan_nuts").load_model(problem)
    calls = []
    sample = type(model).sample

    def spy(self, **kwargs):
        calls.append(kwargs)
        return sample(self, **kwargs)

    args = dict(num_warmup=150, num_samples=100, delta=0.8, max_depth=10)
    monkeypatch.setattr(type(model), "sample", spy)
    fit = stan.sample_nuts(model, ["x"], 4, 2, 1, **args)
    monkeypatch.undo()
    assert [c["save_warmup"] for c in calls] == [False, True]
    assert calls[1]["num_samples"] == 1 and calls[1]["num_warmup"] == 150
    assert fit.replay_seconds > 0 and fit.params["x"].shape == (2, 250, 4)
    whole = dataclasses.replace(model, random_seed=4).sample(num_chains=2, save_warmup=True, **args)
    np.testing.assert_array_equal(fit.params["x"], stan.by_chain(whole["x"], 2))
    np.testing.assert_array_equal(
        fit.stats["n_leapfrog"], stan.by_chain(whole["n_leapfrog__"], 2)[..., 0]
    )


def test_seeds_above_two_to_the_31_run():
    """essbench's run seeds span 32 bits; httpstan takes a C int (the posteriordb study's
    seed 3,623,342,488 failed before they were folded)."""
    problem = build_problem("gaussian_iid", 4)
    plugin = registry.sampler("stan_nuts")
    options = merged_options(plugin, {"tune": 100, "draws": 100, "cores": 1})
    big = plugin.run(problem, options, seed=3_623_342_488)
    folded = plugin.run(problem, options, seed=3_623_342_488 - 2**31)
    np.testing.assert_array_equal(big.draws, folded.draws)


def test_makespan_of_chain_processes():
    from essbench.samplers.stan_nuts import makespan

    seconds = np.array([3.0, 1.0, 2.0, 2.0])
    assert makespan(seconds, 1) == 8.0
    # Two processes: 3 | 1, then 2 on the one free at 1 (until 3), then 2 after 3: 5.
    assert makespan(seconds, 2) == 5.0
    assert makespan(seconds, 4) == makespan(seconds, 8) == 3.0


def test_by_chain_undoes_pystans_interleaving():
    chains, n = 3, 4
    per_chain = np.arange(chains * n * 2.0).reshape(chains, n, 2)  # (chain, draw, param)
    interleaved = np.moveaxis(per_chain, (0, 1), (-1, -2)).reshape(2, n * chains)
    np.testing.assert_array_equal(stan.by_chain(interleaved, chains), per_chain)


def test_stan_version_is_the_one_httpstan_ships():
    import re

    assert re.fullmatch(r"\d+\.\d+\.\d+", stan.stan_version())
    assert stan.versions()["stan"] == stan.stan_version()


PLAIN_MODEL = """
def build_model(dim):
    import pymc as pm

    with pm.Model() as model:
        pm.Normal("x", shape=dim)
    return model
"""


def test_a_study_skips_stan_nuts_on_a_target_without_stan_program(tmp_path, monkeypatch):
    from essbench import config as ebconfig

    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "plain.py").write_text(PLAIN_MODEL)
    monkeypatch.chdir(tmp_path)
    cfg = {
        "study": "s",
        "replicates": [0],
        "dims": [2],
        "targets": {"gaussian_iid": {}, "mine": {"file": "models/plain.py"}},
        "samplers": {"stan_nuts": {}},
    }
    full = ebconfig.validate(yaml.safe_load(yaml.safe_dump(cfg)))
    assert {(r.sampler, r.target) for r in ebconfig.runs(full)} == {("stan_nuts", "gaussian_iid")}
    why = registry.sampler("stan_nuts").unsupported(registry.target("mine"))
    assert why == "no Stan program: the target module declares no STAN_PROGRAM"


def test_data_block_without_stan_data_is_unsupported():
    from types import SimpleNamespace

    plugin = registry.sampler("stan_nuts")
    program = "data { int d; } parameters { vector[d] x; } model { x ~ std_normal(); }"
    assert "stan_data" in plugin.unsupported(
        SimpleNamespace(module=SimpleNamespace(STAN_PROGRAM=program), GRADIENT=True)
    )
    no_data = (
        "transformed data { real s = 1; } parameters { real x; } model { x ~ normal(0, s); }"
        "  // data { }"
    )
    assert (
        plugin.unsupported(
            SimpleNamespace(module=SimpleNamespace(STAN_PROGRAM=no_data), GRADIENT=True)
        )
        is None
    )


def test_a_run_stopped_by_its_budget_leaves_no_chain_running():
    """The wall-time budget interrupts ``model.sample`` in this process; the chains, in their
    own processes, are ended with it, and the next run samples normally."""
    import psutil

    settings = {
        "sampler": "stan_nuts",
        "target": "gaussian_iid",
        "dim": 4,
        "replicate": 0,
        "random_seed": 1,
        "backend": "numba",
        "sampler_options": merged_options(
            registry.sampler("stan_nuts"), {"tune": 10**6, "draws": 10**6, "cores": 2}
        ),
        "target_options": {},
    }
    record, _, _ = pipeline.sample(settings, 2, "stan.log", budget_seconds=3)
    assert record["status"] == "failed" and "budget" in record["reason"], record["reason"]
    # Stopped at its budget, not when httpstan's other chains would have finished.
    assert record["finished_at"] - record["started_at"] < 30
    psutil.wait_procs(psutil.Process().children(recursive=True), timeout=5)
    busy = [p for p in psutil.Process().children(recursive=True) if p.cpu_percent(0.5) > 50]
    assert busy == []
    settings["sampler_options"].update(tune=100, draws=100)
    record, draws, _ = pipeline.sample(settings, 2, "stan.log")
    assert record["status"] == "ok" and draws.shape == (2, 100, 4), record["reason"]


def test_compile_stan_records_what_it_compiled(tmp_path, monkeypatch):
    """The compile_stan rule's work: the program and data hashes, the build, the versions."""
    monkeypatch.delenv(stan.CACHE_ENV, raising=False)
    program, data = stan.target_program(registry.target("gaussian_iid"), 3, {})
    stan.build(program, data)  # in the default cache from now on (if not already)
    record = pipeline.compile_stan("gaussian_iid", 3, {}, tmp_path / "stan.json")
    assert record["program_sha256"] == stan.program_sha256(program)
    assert record["data_sha256"] == stan.data_sha256({"d": 3}) != stan.data_sha256({"d": 4})
    assert record["cached"] is True and record["build_seconds"] < 30
    assert record["versions"] == stan.versions()
    assert (tmp_path / "stan.json").exists()
