"""The samplers' settings made for correlated posteriors (issue 30's second rows): nutpie's
low-rank modified mass matrix and NumPyro's dense one learn a rotated, ill-conditioned
Gaussian's correlations, which a diagonal mass matrix cannot: far fewer leapfrog steps per
draw. Each is declared as an option with a variant naming it."""

from pathlib import Path

import pytest

from essbench import registry
from essbench.problem import build_problem
from essbench.samplers import merged_options

CASES = [
    ("nutpie", "adaptation", "diag", "low_rank", "nutpie_low_rank"),
    ("numpyro_nuts", "mass_matrix", "diagonal", "dense", "numpyro_nuts_dense"),
]


@pytest.mark.parametrize(("name", "option", "plain", "correlated", "variant"), CASES)
def test_the_correlated_setting_learns_the_rotation(name, option, plain, correlated, variant):
    # condition 1e3, randomly rotated: the diagonal metric sees every variance alike and
    # its step size is bound by the smallest scale (sqrt(1e-3) of the largest).
    problem = build_problem("gaussian_illcond", 6, {"condition": 1.0e3})
    module = registry.sampler(name)
    steps = {}
    for value in (plain, correlated):
        options = {"tune": 600, "draws": 200, "chains": 1, option: value}
        if "cores" in module.OPTIONS:
            options["cores"] = 1
        run = module.run(problem, merged_options(module, options), seed=3)
        steps[value] = run.stats["tree_size_mean"]
    assert steps[correlated] * 3 < steps[plain], steps
    assert registry.sampler(variant).DEFAULTS[option] == correlated
    assert registry.sampler(name).DEFAULTS[option] == plain


def test_stan_offers_no_dense_metric_through_pystan():
    """Why stan_nuts has no second row: httpstan (pystan's server) accepts only Stan's
    diagonal-metric adaptive NUTS and fixed_param; if a release adds the dense one, give
    stan_nuts a ``metric`` option and a variant (and this test fails as a reminder)."""
    httpstan_schemas = pytest.importorskip("httpstan.schemas")
    source = Path(httpstan_schemas.__file__).read_text()
    assert "hmc_nuts_dense_e_adapt" not in source
    assert "hmc_nuts_diag_e_adapt" in source
