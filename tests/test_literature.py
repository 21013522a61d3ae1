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
    module = registry.target(name).module
    dim = max(registry.target(name).MIN_DIM, 4)
    e_x2, var_x2 = module.x2_moments(dim)
    n = 400_000
    x2 = module.sample_truth(dim, n, np.random.RandomState(3)) ** 2
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
    assert literature.columns({**record, "target": "neals_funnel"}, x) == {}


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
