"""The MCHMC papers' cost (essbench.literature): gradient calls until the normalised squared
bias of E[x²] stays below 0.01, its targets' declared moments, and the identity-mass NUTS."""

import math

import numpy as np
import pytest

from essbench import literature, pipeline, registry
from essbench.problem import build_problem
from essbench.samplers import merged_options

DECLARING = sorted(n for n, p in registry.targets().items() if hasattr(p.module, "x2_moments"))


def _exact(chains, draws, dim=100, condition=100.0, seed=0):
    sd = np.sqrt(registry.target("gaussian_logspaced").module.variances(dim, condition))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((chains, draws, dim)) * sd
    return x, sd**2, 2.0 * sd**4


def _ar1(chains, draws, rho, dim=100, seed=0):
    """Stationary AR(1) chains of N(0, 1) coordinates."""
    rng = np.random.default_rng(seed)
    x = np.empty((chains, draws, dim))
    x[:, 0] = rng.standard_normal((chains, dim))
    noise = np.sqrt(1 - rho**2) * rng.standard_normal((chains, draws, dim))
    for t in range(1, draws):
        x[:, t] = rho * x[:, t - 1] + noise[:, t]
    return x


def test_exact_draws_reach_low_bias_after_about_100_draws():
    """b² = 0.01 is the error of 100 independent draws: the median over 128 chains of the
    average-parameter b² stays below it after about 100 draws; the worst of 100 parameters
    needs several times more."""
    x, e_x2, var_x2 = _exact(128, 1000)
    out = literature.grads_to_bias(x, e_x2, var_x2, grads_per_step=1.0)
    assert 85 <= out["draws_to_bias_avg"] <= 120, out
    assert 3 * out["draws_to_bias_avg"] < out["draws_to_bias_max"] < 1000, out
    # Gradient calls are the draws times the mean work per kept step.
    per_step = np.full((128, 1000), 7.0)
    scaled = literature.grads_to_bias(x, e_x2, var_x2, grads_per_step=per_step)
    assert scaled["grads_to_bias_avg"] == 7.0 * out["draws_to_bias_avg"]


def test_correlated_chains_need_more_draws_by_their_autocorrelation():
    """x² of an AR(1) chain with coefficient ρ has autocorrelation ρ^(2k), so ESS/N =
    (1 - ρ²)/(1 + ρ²): at ρ = 0.7 about 2.9 times the independent draws (~290)."""
    x = _ar1(128, 1500, rho=0.7)
    out = literature.grads_to_bias(x, np.ones(100), np.full(100, 2.0), 1.0)
    assert 220 <= out["draws_to_bias_avg"] <= 380, out


def test_the_run_must_stay_below_and_end_below():
    chains = np.array([[0.5, 0.005, 0.02, 0.009, 0.008, 0.002]])
    # First below at draw 2, above again at draw 3: it stays below from draw 4 on.
    assert literature.steps_to_low_bias(chains) == 4
    assert literature.steps_to_low_bias(np.array([[0.001, 0.002]])) == 1
    assert literature.steps_to_low_bias(np.array([[0.5, 0.005, 0.02]])) == math.inf
    # The median over chains, not the mean: one stuck chain of three does not count.
    three = np.array([[0.5, 0.001], [0.5, 0.001], [9.0, 9.0]])
    assert literature.steps_to_low_bias(three) == 2


def test_biased_draws_never_reach_low_bias():
    x, e_x2, var_x2 = _exact(16, 2000)
    out = literature.grads_to_bias(1.1 * x, e_x2, var_x2, 1.0)  # E[x²] 21% too large
    assert out["draws_to_bias_avg"] == out["grads_to_bias_max"] == math.inf


@pytest.mark.parametrize("name", DECLARING)
def test_declared_second_moments_of_x2_match_exact_draws(name):
    """In the metric's coordinates (the funnel's Gaussianised ones, the others' own)."""
    module = registry.target(name).module
    dim = max(registry.target(name).MIN_DIM, 4)
    e_x2, var_x2 = module.x2_moments(dim)
    n = 400_000
    x2 = literature.x2_coordinates(name, module.sample_truth(dim, n, np.random.RandomState(3))) ** 2
    assert np.all(np.abs(x2.mean(axis=0) - e_x2) < 5 * np.sqrt(var_x2 / n))
    dev2 = (x2 - e_x2) ** 2
    assert np.all(np.abs(dev2.mean(axis=0) - var_x2) < 5 * dev2.std(axis=0) / np.sqrt(n))


def test_logspaced_gaussian_is_the_papers_definition():
    module = registry.target("gaussian_logspaced").module
    lam = module.variances(100, 1.0e5)
    assert lam[0] == pytest.approx(10**-2.5) and lam[-1] == pytest.approx(10**2.5)
    assert lam.max() / lam.min() == pytest.approx(1.0e5)
    assert np.allclose(np.diff(np.log(lam)), np.log(lam[1] / lam[0]))
    logp = build_problem("gaussian_logspaced", 3, {"condition": 100.0}).compile_logp()
    x = np.array([0.3, -1.0, 2.0])
    lam3 = module.variances(3, 100.0)
    expected = -0.5 * np.sum(x**2 / lam3 + np.log(2 * np.pi * lam3))
    assert logp(x) == pytest.approx(expected)


def test_diagnose_adds_the_columns_only_where_the_moments_are_known():
    x, _, _ = _exact(64, 400, dim=4)
    record = {
        "status": "ok",
        "target": "gaussian_logspaced",
        "dim": 4,
        "sampling_seconds": 1.0,
        "grad_evals": 1000,
        "stat_tree_size_mean": 3.0,
    }
    out = pipeline.diagnose(record, x, target_options={"condition": 100.0})
    assert 50 < out["draws_to_bias_avg"] < 200
    assert out["grads_to_bias_avg"] == 3.0 * out["draws_to_bias_avg"]
    assert out["cost_per_ess_mean"] == pytest.approx(1.0 / out["ess_bulk_mean"])
    # Without a tree size, only the draws are counted.
    no_tree = {k: v for k, v in record.items() if k != "stat_tree_size_mean"}
    out = literature.columns(no_tree, x, {"condition": 100.0})
    assert math.isfinite(out["draws_to_bias_avg"]) and math.isnan(out["grads_to_bias_avg"])
    # A target without declared moments of x² gets none of the columns.
    assert literature.columns({**record, "target": "eight_schools"}, x) == {}


@pytest.mark.parametrize("name", ["blackjax_nuts", "numpyro_nuts"])
def test_identity_mass_matrix_is_not_adapted(name):
    """On a diagonal Gaussian with variances from 0.01 to 100, an adapted diagonal mass
    matrix makes it isotropic (step size ~1); the identity leaves the step size bound by
    the smallest scale (0.1)."""
    problem = build_problem("gaussian_logspaced", 6, {"condition": 1.0e4})
    module = registry.sampler(name)
    steps = {}
    for mass in ("diagonal", "identity"):
        options = {"tune": 500, "draws": 100, "chains": 1, "mass_matrix": mass}
        run = module.run(problem, merged_options(module, options), seed=2)
        steps[mass] = run.stats["step_size_mean"]
    assert steps["identity"] < 0.25 < 0.5 < steps["diagonal"], steps
    variant = registry.sampler(f"{name}_identity")
    assert variant.DEFAULTS["mass_matrix"] == "identity"


def _their_funnel_logdensity(x):
    """reubenharry/sampler-benchmarks @ 7ad0700, sampler-evaluation/sampler_evaluation/models/
    neals_funnel_mams_paper.py lines 12-20, in NumPy: x = [z_0, ..., z_18, theta]."""
    theta, z = x[-1], x[:-1]
    return -0.5 * (theta / 3.0) ** 2 - 0.5 * 19 * theta - 0.5 * np.exp(-theta) * np.sum(z**2)


def _their_funnel_transform(x):
    """Lines 23-28 of the same file ("gaussianization"), in NumPy."""
    return np.concatenate([x[..., :-1] * np.exp(-0.5 * x[..., -1:]), x[..., -1:] / 3.0], axis=-1)


def test_funnel_is_the_mams_papers_with_theta_first():
    """Their funnel (d = 20, theta's scale 3) is essbench's at d = 20 with v = theta moved to
    the front: the same log density up to its normaliser, and x2_coordinates is their
    Gaussianisation, reordered the same way."""
    module = registry.target("neals_funnel").module
    dim = module.LITERATURE_DIM
    assert (dim, module.V_SCALE) == (20, 3.0)
    rng = np.random.RandomState(5)
    ours = module.sample_truth(dim, 7, rng)  # v first
    theirs = np.concatenate([ours[:, 1:], ours[:, :1]], axis=1)  # theta last
    z_theirs = _their_funnel_transform(theirs)
    z_ours = module.x2_coordinates(ours)
    assert np.allclose(z_ours, np.concatenate([z_theirs[:, -1:], z_theirs[:, :-1]], axis=1))
    logp = build_problem("neals_funnel", dim, {}).compile_logp()
    # Normaliser of N(0, 3²) x N(0, e^theta)^19 beyond their -19 theta / 2.
    const = -0.5 * np.log(2 * np.pi * 9.0) - 0.5 * (dim - 1) * np.log(2 * np.pi)
    for a, b in zip(ours, theirs, strict=True):
        assert logp(a) == pytest.approx(_their_funnel_logdensity(b) + const)
    e_x2, var_x2 = module.x2_moments(dim)
    assert np.all(e_x2 == 1.0) and np.all(var_x2 == 2.0)  # their ``square`` truth


def test_banana_is_the_mams_papers_reflected():
    """Their banana (Inference Gym ``Banana``: d = 2, curvature 0.03, x2 ~ N(0.03 (x1² - 100),
    1)) is essbench's at its default b with x2 -> -x2: the exact x² moments are theirs, whose
    E[x²] = (100, 19), Var[x²] = (20000, 4600.898) (MicroCanonicalHMC, banana_mams_paper.py)
    and (100.064, 19.0186), (20017.0, 4624.37) (the gym banana's banana_expectations.pkl)
    were estimated from draws."""
    module = registry.target("banana").module
    assert (module.LITERATURE_DIM, module.DEFAULT_B) == (2, 0.03)
    e_x2, var_x2 = module.x2_moments(2, b=0.03)
    assert e_x2.tolist() == [100.0, 19.0]
    assert var_x2 == pytest.approx([20000.0, 4610.0])
    assert var_x2 == pytest.approx([20000.0, 4600.898], rel=0.002)
    assert np.concatenate([e_x2, var_x2]) == pytest.approx(
        [100.063995, 19.018568, 20017.025, 4624.369], rel=0.004
    )
    logp = build_problem("banana", 2, {"b": 0.03}).compile_logp()
    for x1, x2 in [(3.0, 1.0), (-12.0, 2.5), (0.5, -3.0)]:
        their = -0.5 * ((x1 / 10.0) ** 2 + (-x2 - 0.03 * (x1**2 - 100)) ** 2)
        const = -np.log(2 * np.pi * 10.0)
        assert logp(np.array([x1, x2])) == pytest.approx(their + const)


def _exact_literature(name, dim, chains=128, draws=1000, seed=0):
    module = registry.target(name).module
    x = module.sample_truth(dim, chains * draws, np.random.RandomState(seed))
    z = literature.x2_coordinates(name, x.reshape(chains, draws, dim))
    return literature.grads_to_bias(z, *module.x2_moments(dim), 1.0)


def test_exact_funnel_draws_reach_low_bias_after_about_100_draws():
    """In the Gaussianised coordinates the funnel's 20 parameters are independent N(0, 1):
    exact draws cross b²_avg = 0.01 after about 100 draws, like the Gaussian's. (In the
    centered coordinates Var[x²] ≈ 2·10⁸ would let nearly any run pass.)"""
    out = _exact_literature("neals_funnel", 20)
    assert 85 <= out["draws_to_bias_avg"] <= 115, out
    assert 2 * out["draws_to_bias_avg"] < out["draws_to_bias_max"] < 1000, out


def test_exact_banana_draws_read_as_fewer_than_100():
    """The banana's x² are skewed (x2² has skewness ~13): b² of one chain's running mean has
    mean 1/n, but its median over chains is well below that, so 128 chains of exact draws
    cross b²_avg = 0.01 after ~30-60 draws, not 100 (measured: 32-59 over six seeds). The
    published banana figures thus count about twice the gradients per effective draw that
    the Gaussian's and the funnel's do, and scatter more."""
    out = _exact_literature("banana", 2)
    assert 25 <= out["draws_to_bias_avg"] <= 80, out
    x = registry.target("banana").module.sample_truth(2, 512 * 200, np.random.RandomState(1))
    b2 = literature.squared_bias(x.reshape(512, 200, 2), *literature.x2_moments("banana", 2))
    assert b2["avg"][:, 99].mean() == pytest.approx(0.01, rel=0.2)  # the mean: 1/n
    assert np.median(b2["avg"][:, 99]) < 0.5 * 0.01  # the median: far below


def test_squared_bias_in_blocks_is_the_direct_formula():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((19, 30, 3)) * [1.0, 2.0, 3.0]
    e_x2, var_x2 = np.array([1.0, 4.0, 9.0]), np.array([2.0, 32.0, 162.0])
    b2 = (np.cumsum(x**2, axis=1) / np.arange(1, 31)[None, :, None] - e_x2) ** 2 / var_x2
    out = literature.squared_bias(x, e_x2, var_x2)
    assert np.allclose(out["avg"], b2.mean(axis=2)) and np.allclose(out["max"], b2.max(axis=2))


def test_columns_take_the_funnel_in_its_gaussianised_coordinates():
    """Exact funnel draws pass in the Gaussianised coordinates; the same draws scaled in x
    by 1.5 (E[x_i²] 2.25 times too large, v untouched) never do."""
    module = registry.target("neals_funnel").module
    x = module.sample_truth(8, 32 * 400, np.random.RandomState(2)).reshape(32, 400, 8)
    record = {"target": "neals_funnel", "dim": 8, "stat_tree_size_mean": 2.0}
    out = literature.columns(record, x)
    assert 50 < out["draws_to_bias_avg"] < 200 and out["grads_to_bias_avg"] == pytest.approx(
        2.0 * out["draws_to_bias_avg"]
    )
    wrong = x.copy()
    wrong[..., 1:] *= 1.5
    assert literature.columns(record, wrong)["draws_to_bias_avg"] == math.inf


def test_published_cases_are_consistent():
    """Every published case names a target that declares its x² moments at the case's
    dimension, a shipped config that runs it there with a sampler of the case's protocol."""
    import yaml

    from essbench import config as study_config
    from essbench.docs import REPO as repo

    names = [case["case"] for case in literature.PUBLISHED]
    assert len(set(names)) == len(names)
    for case in literature.PUBLISHED:
        assert literature.x2_moments(case["target"], case["dim"], case["options"]) is not None
        cfg = study_config.validate(yaml.safe_load((repo / "config" / case["config"]).read_text()))
        masses = {study_config.sampler_options(cfg, s).get("mass_matrix") for s in cfg["samplers"]}
        assert case["mass_matrix"] in masses, case["case"]
        assert case["grads"]["NUTS"] > 0
    by_case = {case["case"]: case for case in literature.PUBLISHED}
    assert by_case["banana"]["grads"]["NUTS"] == pytest.approx(83598.0, abs=1)
    assert by_case["banana"]["grads_max"]["NUTS"] == pytest.approx(111691.4, abs=1)
    assert by_case["funnel"]["grads"]["NUTS"] == pytest.approx(26391.7, abs=1)
    assert by_case["funnel"]["grads_max"]["NUTS"] == math.inf
    cfg = yaml.safe_load((repo / "config" / "literature_mams.yaml").read_text())
    assert cfg["targets"]["banana"] == {"b": 0.03, "dims": [2]}
    assert cfg["targets"]["neals_funnel"] == {"dims": [20]}
    assert cfg["samplers"]["blackjax_nuts"]["tune"] == 5000  # their num_tuning_steps


def _ensemble_record(chains, draws, per_walker_step=1.0, burn=500):
    return {
        "status": "ok",
        "target": "gaussian_logspaced",
        "dim": 100,
        "ensemble": True,
        "gradient_based": False,
        "n_chains": chains,
        "n_draws": draws,
        "logp_evals": burn + int(per_walker_step * chains * draws),
        "stat_logp_evals_burn": burn,
    }


def test_an_ensemble_is_one_sampler_its_walkers_pooled_and_all_counted():
    """An ensemble's estimate is the mean over all its walkers, and each of its steps costs
    every walker's calls: exact draws in 32 walkers reach low bias after about 100/32 steps,
    about 100 log-density calls in all, as 100 independent draws would."""
    x, _, _ = _exact(32, 400)
    record = _ensemble_record(32, 400)
    out = literature.columns(record, x, {"condition": 100.0})
    assert out["grads_to_bias_unit"] == "logp"
    assert 2 <= out["draws_to_bias_avg"] <= 6, out
    assert out["grads_to_bias_avg"] == 32 * out["draws_to_bias_avg"]
    # A walker's several calls per step (zeus's slices) are all counted.
    slices = literature.columns(_ensemble_record(32, 400, 4.5), x, {"condition": 100.0})
    assert slices["grads_to_bias_avg"] == pytest.approx(4.5 * out["grads_to_bias_avg"])
    # Unpooled, one walker's running mean would need ~100 steps of its own.
    apart = literature.grads_to_bias(x, *literature.x2_moments("gaussian_logspaced", 100), 1.0)
    assert apart["draws_to_bias_avg"] > 10 * out["draws_to_bias_avg"]


def test_independent_gradient_free_chains_count_their_calls_after_tuning():
    """DEMetropolisZ: one log-density call per step and chain; tuning calls not counted."""
    record = {
        "gradient_based": False,
        "n_chains": 2,
        "n_draws": 1000,
        "logp_evals": 2 * (2000 + 1000),
        "stat_logp_evals_burn": 2 * 2000,
    }
    assert literature.evals_per_kept_step(record) == (1.0, "logp")
    nuts = {"gradient_based": True, "stat_tree_size_mean": 7.5, "grad_evals": 99}
    assert literature.evals_per_kept_step(nuts) == (7.5, "grad")
    # Neither a tree size nor burn-in calls: nothing to count with (the exact oracle).
    per_step, unit = literature.evals_per_kept_step({"logp_evals": 0, "grad_evals": 0})
    assert math.isnan(per_step) and unit == ""


def test_the_summary_states_the_papers_cost_per_unit_apart_from_cost_per_ess():
    import pandas as pd

    from essbench import aggregate, report

    base = {"target": "gaussian_iid", "dim": 8, "status": "ok", "draws_to_bias_avg": 100.0}
    records = [
        {**base, "sampler": "numpyro_nuts", "replicate": r, "stat_tree_size_mean": 7.0}
        | {"grads_to_bias_avg": g}  # diagnosed before the unit was recorded: gradients
        for r, g in enumerate([700.0, 900.0, math.inf])
    ] + [
        {**base, "sampler": "emcee", "replicate": r, "grads_to_bias_unit": "logp"}
        | {"grads_to_bias_avg": 3000.0 + r}
        for r in range(2)
    ]
    runs = aggregate.runs_table(records, "s")
    assert set(runs["grads_to_bias_unit"]) == {"grad", "logp"}
    text = report.evals_to_bias_section(runs)
    assert "| target | d | emcee (ℓ) | numpyro_nuts (g) |" in text
    assert "| gaussian_iid | 8 | 3,000 (2/2) | 900 (2/3) |" in text
    # A study without such targets has no section.
    assert report.evals_to_bias_section(pd.DataFrame({"sampler": ["emcee"]})) == ""
