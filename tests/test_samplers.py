"""Each sampler on a small Gaussian: the common result format and recovery of the truth."""

import numpy as np
import pytest

from essbench import metrics, policy, registry
from essbench.problem import build_problem
from essbench.samplers import SamplerRun, merged_options

# Every benchmark sampler, with the short options its module declares for a quick check.
SMALL = {
    name: plugin.QUICK_OPTIONS
    for name, plugin in registry.samplers().items()
    if not plugin.TEST_ONLY
}
# What a shipped sampler module must declare itself (a user's file may leave the optional
# ones to the registry's shared rules).
DECLARED = (
    "NAME",
    "DESCRIPTION",
    "NEEDS_GRADIENT",
    "ENSEMBLE",
    "OPTIONS",
    "PACKAGES",
    "ENV",
    "LENGTH_OPTION",
    "WARMUP_OPTION",
    "TEXTBOOK_ALPHA",
    "COLOR",
    "MARKER",
    "QUICK_OPTIONS",
    "run",
)


def test_the_registry_finds_every_shipped_sampler_module():
    """Every module file in essbench/samplers (not a _helper) is a sampler in the registry."""
    from pathlib import Path

    import essbench.samplers

    folder = Path(essbench.samplers.__file__).parent
    files = {p.stem for p in folder.glob("*.py") if not p.stem.startswith("_")}
    modules = {plugin.module.__name__.rsplit(".", 1)[1] for plugin in registry.samplers().values()}
    assert files == modules
    assert len(SMALL) == len(registry.samplers()) - sum(
        p.TEST_ONLY for p in registry.samplers().values()
    )


@pytest.fixture(scope="module")
def problem():
    return build_problem("gaussian_iid", 3)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_sampler_result_format_and_truth(problem, name):
    module = registry.sampler(name)
    options = merged_options(module, SMALL[name])
    run = module.run(problem, options, seed=11)
    assert isinstance(run, SamplerRun)
    assert run.draws.ndim == 3 and run.draws.shape[2] == problem.ndim
    assert np.all(np.isfinite(run.draws))
    if module.ORACLE:  # exact draws: no warm-up, no compilation, no log-density calls
        assert run.draws.shape == (options["chains"], options["draws"], problem.ndim)
        assert run.draw_seconds > 0 and run.grad_evals == run.logp_evals == 0
    else:
        # A sampler without a warm-up option (dynesty) may have no warm-up at all.
        assert run.warmup_seconds > 0 or module.WARMUP_OPTION is None
        assert run.draw_seconds > 0 and run.compile_seconds > 0
        if module.NEEDS_GRADIENT:
            assert run.grad_evals > 0 and run.logp_evals == 0
        else:
            assert run.grad_evals == 0 and run.logp_evals > 0
    truth = problem.truth()
    if run.weights is not None:  # importance-weighted draws: weighted estimates, Kish MCSEs
        assert run.weights.shape == run.draws.shape[:2]
        assert np.isclose(run.weights.sum(), 1.0) and np.all(run.weights >= 0)
        per_param = metrics.weighted_per_parameter(run.draws, run.weights)
        z = metrics.bias_z(run.draws, truth.mean, truth.var, per_param)
    else:
        z = metrics.bias_z(run.draws, truth.mean, truth.var)
    limit = policy.bias_threshold(problem.ndim)
    assert z["z_mean_max"] < limit and z["z_var_max"] < limit, z


def test_every_sampler_declares_its_interface():
    for name, plugin in registry.samplers().items():
        assert name == plugin.NAME
        for attr in DECLARED:
            assert hasattr(plugin.module, attr), f"{name}'s module does not declare {attr}"
        assert plugin.threads(merged_options(plugin, {})) >= 1
        assert plugin.LENGTH_OPTION in plugin.OPTIONS
        assert plugin.WARMUP_OPTION is None or plugin.WARMUP_OPTION in plugin.OPTIONS
        assert set(plugin.QUICK_OPTIONS) <= set(plugin.OPTIONS)
        if plugin.ENSEMBLE:
            assert plugin.walkers(10, merged_options(plugin, {})) >= 20


def test_shipped_samplers_have_distinct_colours_and_figures_never_share_one():
    from essbench import plots

    shipped = registry.samplers()
    declared = [p.COLOR.lower() for p in shipped.values()]
    assert len(set(declared)) == len(declared)
    # A figure with two more samplers, one without a colour and one copying pymc_nuts's.
    names = [*shipped, "mine", "copycat"]
    real = registry.sampler

    def fake(name):
        if name in ("mine", "copycat"):

            class Plugin:
                COLOR = None if name == "mine" else shipped["pymc_nuts"].COLOR
                MARKER, NEEDS_GRADIENT = "o", False

            return Plugin
        return real(name)

    registry.sampler = fake
    try:
        colours = plots.colours(names)
    finally:
        registry.sampler = real
    assert set(colours) == set(names)
    assert len(set(colours.values())) == len(names)
    assert colours["pymc_nuts"] == shipped["pymc_nuts"].COLOR


def test_ensemble_walkers_rule():
    module = registry.sampler("emcee")
    assert module.walkers(50, {"nwalkers": 124, "walkers_per_dim": 2.5}) == 124
    assert module.walkers(50, {"nwalkers": None, "walkers_per_dim": 2.5}) == 126
    assert module.walkers(3, {"nwalkers": None, "walkers_per_dim": 1.0}) == 8


def test_flat_logp_matches_batched(problem):
    x = np.random.default_rng(0).standard_normal((5, problem.ndim))
    single = problem.compile_logp()
    batched = problem.compile_logp_batched()
    expected = -0.5 * (x**2).sum(axis=1) - 0.5 * problem.ndim * np.log(2 * np.pi)
    np.testing.assert_allclose([single(r) for r in x], expected)
    np.testing.assert_allclose(batched(x), expected)


TIMED_CALL_IMPORTS = """
import importlib, json, sys
from essbench.pipeline import sample  # noqa: F401 - what scripts/sample.py imports
from essbench.problem import build_problem
from essbench.registry import sampler
from essbench.samplers import merged_options

module = importlib.import_module(sys.argv[1])
calls, original = [], module.sample

def packages():
    return {name.split(".")[0] for name in sys.modules}

def spy(*args, **kwargs):
    before = packages()
    calls.append({"arviz_stats_loaded": "arviz_stats" in sys.modules})
    try:
        return original(*args, **kwargs)
    finally:
        calls[-1]["new_packages"] = sorted(packages() - before)

module.sample = spy
run = sampler(sys.argv[2])
options = merged_options(run, {"tune": 150, "draws": 150, "chains": 2, "cores": 1})
run.run(build_problem("gaussian_iid", 2), options, seed=3)
print(json.dumps(calls))
"""


@pytest.mark.parametrize(("name", "module"), [("pymc_nuts", "pymc"), ("nutpie", "nutpie")])
def test_timed_sample_call_pays_no_first_import(repo, tmp_path, name, module):
    """The timed ``sample`` call imports no new package: it follows a throw-away call that
    pays first-use costs. PyMC's convergence checks import arviz_stats (and SciPy, ~1 s) on
    first use, which the throw-away call skips (one chain): that once made the pipeline's
    NUTS 20-30% slower than the plain seed script."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(repo / "src")}
    env["PYTENSOR_FLAGS"] = f"base_compiledir={tmp_path}"
    out = subprocess.run(
        [sys.executable, "-c", TIMED_CALL_IMPORTS, module, name],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=600,
    )
    calls = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(calls) == 2  # the throw-away call, then the timed one
    timed = calls[1]
    if module == "pymc":
        assert timed["arviz_stats_loaded"]
    assert timed["new_packages"] == []


@pytest.mark.parametrize(
    ("target", "dim", "unconstrained"), [("gaussian_iid", 3, False), ("eight_schools", 10, True)]
)
def test_nutpie_stores_unconstrained_draws_only_for_transformed_variables(
    monkeypatch, target, dim, unconstrained
):
    """Storing nutpie's unconstrained draws is inside the clock: asked for only where a value
    variable (``tau_log__``) is not in its ``posterior``; the draws are the value variables
    either way."""
    import nutpie

    from essbench.problem import build_problem

    asked = []
    original = nutpie.sample

    def spy(*args, **kwargs):
        asked.append(kwargs.get("store_unconstrained", False))
        return original(*args, **kwargs)

    monkeypatch.setattr(nutpie, "sample", spy)
    problem = build_problem(target, dim)
    module = registry.sampler("nutpie")
    options = {**module.DEFAULTS, "tune": 50, "draws": 50, "chains": 1, "cores": 1}
    run = module.run(problem, options, seed=2)
    assert asked[-1] is unconstrained
    assert run.draws.shape == (1, 50, problem.ndim) and np.all(np.isfinite(run.draws))


@pytest.mark.parametrize("name", ["pymc_nuts", "pymc_metropolis"])
def test_pm_sample_runs_are_timed_by_pymcs_own_sampling_loop_clock(monkeypatch, problem, name):
    """Sampling time is PyMC's ``sampling_time`` (its loop: warm-up and draws), not the whole
    ``pm.sample`` call, which also compiles the step's functions, makes the InferenceData
    and runs the convergence checks: that call is recorded apart."""
    import pymc as pm

    seen = []
    original = pm.sample

    def spy(*args, **kwargs):
        idata = original(*args, **kwargs)
        seen.append(float(idata["posterior"].attrs["sampling_time"]))
        return idata

    monkeypatch.setattr(pm, "sample", spy)
    module = registry.sampler(name)
    options = {**module.DEFAULTS, "tune": 100, "draws": 100, "chains": 1, "cores": 1}
    run = module.run(problem, options, seed=4)
    assert len(seen) == 2  # the throw-away call, then the timed one
    assert run.sampling_seconds == pytest.approx(seen[1], rel=1e-12)
    assert 0 < run.sampling_seconds < run.stats["sample_call_seconds"]
    assert run.warmup_seconds > 0 and run.draw_seconds > 0


def test_a_reference_run_can_raise_pymc_nuts_tree_depth_cap(problem):
    """``max_treedepth`` (set only by a target's REFERENCE_NUTS, never a study option) reaches
    PyMC's NUTS: at a cap of 1 no draw's tree is deeper, at PyMC's default some are."""
    module = registry.sampler("pymc_nuts")
    assert "max_treedepth" not in module.DEFAULTS  # a study's runs keep PyMC's cap
    options = {**module.DEFAULTS, "tune": 200, "draws": 200, "chains": 1, "cores": 1}
    capped = module.run(problem, {**options, "max_treedepth": 1}, seed=3)
    free = module.run(problem, options, seed=3)
    assert capped.sample_stats["tree_depth"].max() == 1
    assert free.sample_stats["tree_depth"].max() > 1


@pytest.mark.parametrize("name", ["emcee", "emcee_vectorized", "zeus"])
def test_an_ensemble_rejects_a_nan_log_density_and_counts_it(monkeypatch, name):
    """emcee and zeus raise on a NaN log density; through essbench it is a rejected point
    (as in Stan and PyMC), counted in the run's ``nan_logp_evals``."""
    problem = build_problem("gaussian_iid", 3)
    single, batched = problem.compile_logp, problem.compile_logp_batched

    def nan_beyond_one(f, many):
        def g(x):
            value = np.asarray(f(x), dtype=float)
            out = np.where(np.asarray(x)[..., 0] > 1.0, np.nan, value)
            return out if many else float(out)

        return g

    monkeypatch.setattr(problem, "compile_logp", lambda: nan_beyond_one(single(), False))
    monkeypatch.setattr(problem, "compile_logp_batched", lambda: nan_beyond_one(batched(), True))
    module = registry.sampler(name)
    options = merged_options(module, {"burn": 100, "steps": 300})
    result = module.run(problem, options, seed=5)
    assert result.stats["nan_logp_evals"] > 0
    assert result.draws[..., 0].max() <= 1.0  # every NaN point was rejected, none kept
