"""Every target's declared truth, checked independently of the samplers."""

import numpy as np
import pytest

from essbench import registry
from essbench.targets import is_reference

ANALYTIC = sorted(n for n, m in registry.targets().items() if not is_reference(m))
REFERENCE = sorted(n for n, m in registry.targets().items() if is_reference(m))


def test_every_target_declares_its_interface():
    for name, module in registry.targets().items():
        assert name == module.NAME
        for attr in ("DESCRIPTION", "GRADIENT", "MIN_DIM", "MAX_DIM", "build_model"):
            assert hasattr(module, attr), f"{name} lacks {attr}"
        if is_reference(module):
            assert module.REFERENCE["chains"] >= 4
        else:
            assert hasattr(module, "truth") and hasattr(module, "sample_truth")


@pytest.mark.parametrize("name", ANALYTIC)
def test_declared_truth_matches_independent_draws(name):
    """Mean and variance of 400,000 exact draws agree with the declared moments (5 sigma)."""
    module = registry.target(name)
    dim = max(module.MIN_DIM, 5)
    truth = module.truth(dim)
    n = 400_000
    x = module.sample_truth(dim, n, np.random.RandomState(0))
    se_mean = np.sqrt(truth.var / n)
    assert np.all(np.abs(x.mean(axis=0) - truth.mean) < 5 * se_mean)
    # Variance: compare in relative terms with the 4th-moment standard error from the draws.
    dev2 = (x - truth.mean) ** 2
    se_var = dev2.std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(dev2.mean(axis=0) - truth.var) < 5 * se_var)


@pytest.mark.parametrize("name", ANALYTIC)
def test_model_logp_is_finite_and_higher_at_the_mean_than_in_the_tails(name):
    """A sanity check of each PyMC model (the moments are checked against exact draws above,
    and every sampler's recovery of the truth in tests/test_samplers.py)."""
    from essbench.problem import build_problem

    module = registry.target(name)
    dim = max(module.MIN_DIM, 3)
    problem = build_problem(name, dim)
    logp = problem.compile_logp()
    centre = module.truth(dim).mean
    far = centre + 50 * np.sqrt(module.truth(dim).var)
    assert np.isfinite(logp(centre)) and logp(centre) > logp(far)


def test_gaussian_iid_model_logp_is_the_standard_normal():
    model = registry.target("gaussian_iid").build_model(3)
    logp = model.compile_logp()
    x = np.array([0.5, -1.0, 2.0])
    assert np.isclose(logp({"x": x}), -0.5 * (x**2).sum() - 1.5 * np.log(2 * np.pi))


def test_illcond_covariance_has_its_condition_number():
    from essbench.targets.gaussian_illcond import covariance

    cov = covariance(8, condition=1000.0)
    eig = np.linalg.eigvalsh(cov)
    assert eig.max() / eig.min() == pytest.approx(1000.0, rel=1e-8)
    assert not np.allclose(cov, np.diag(np.diag(cov)))  # rotated: correlated


@pytest.mark.workflow
@pytest.mark.parametrize("name", REFERENCE)
def test_reference_passes_its_gates(name, tmp_path):
    from essbench.pipeline import REFERENCE_GATES, reference

    module = registry.target(name)
    out = tmp_path / "ref.json"
    record = reference(name, module.MIN_DIM, {}, "numba", out, threads=2)
    assert record["rhat_max"] < REFERENCE_GATES["rhat_max"]
    assert record["divergences"] == 0
    assert record["ess_bulk_min"] > REFERENCE_GATES["ess_bulk_min"]
    assert len(record["mean"]) == module.MIN_DIM and all(np.array(record["mean_mcse"]) > 0)
