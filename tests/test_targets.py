"""Every target's declared truth, checked independently of the samplers."""

import numpy as np
import pytest

from essbench import registry
from essbench.targets import is_reference

ANALYTIC = sorted(n for n, m in registry.targets().items() if m.TRUTH == "analytic")
REFERENCE = sorted(n for n, m in registry.targets().items() if is_reference(m))
# Reference runs too long for the suite (the gates are enforced all the same: the reference
# rule records a run that fails one as failed, and the study then judges no bias against it,
# so a study that uses these targets checks them; README, "Truth"). Measured here:
# accel_gp's 4 x 17,000 iterations at target_accept 0.99 take tens of minutes, transit's
# 4 x 14,000 ~5 minutes.
SUITE_REFERENCES = [n for n in REFERENCE if n not in {"accel_gp", "transit"}]
# posteriordb's reference draws (tests/test_posteriordb.py checks them and the ports).
POSTERIORDB = sorted(n for n, m in registry.targets().items() if m.TRUTH == "posteriordb")


DECLARED = (
    "NAME",
    "DESCRIPTION",
    "GRADIENT",
    "MIN_DIM",
    "MAX_DIM",
    "OPTIONS",
    "PACKAGES",
    "build_model",
    "initial_points",
)
# A posteriordb port declares what its template (targets/pdb_eight_schools_noncentered.py)
# does; the shared rules give it GRADIENT, PACKAGES and its ensembles' starting points.
PORT_DECLARED = (
    "NAME",
    "POSTERIOR",
    "DESCRIPTION",
    "KIND",
    "MIN_DIM",
    "MAX_DIM",
    "OPTIONS",
    "TRUTH",
    "STAN_PROGRAM",
    "stan_data",
    "build_model",
)


def test_every_target_declares_its_interface():
    """A port of posteriordb's (``POSTERIOR``) without vendored reference draws is a
    reference target."""
    for name, plugin in registry.targets().items():
        assert name == plugin.NAME
        port = hasattr(plugin.module, "POSTERIOR")
        for attr in PORT_DECLARED if port else DECLARED:
            assert hasattr(plugin.module, attr), f"{name}'s module does not declare {attr}"
        assert plugin.TRUTH in ("analytic", "reference", "posteriordb"), name
        if is_reference(plugin):
            assert plugin.module.TRUTH == "reference"
            assert plugin.module.REFERENCE_NUTS["chains"] >= 4
        elif plugin.TRUTH == "posteriordb":
            assert port and plugin.module.TRUTH == "posteriordb" and hasattr(plugin.module, "truth")
        else:
            assert hasattr(plugin.module, "truth") and hasattr(plugin.module, "sample_truth")


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


@pytest.mark.parametrize("name", ANALYTIC + POSTERIORDB)
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
@pytest.mark.parametrize("name", SUITE_REFERENCES)
def test_reference_passes_its_gates(name, tmp_path):
    from essbench import policy
    from essbench.pipeline import reference

    module = registry.target(name)
    out = tmp_path / "ref.json"
    record = reference(name, module.MIN_DIM, {}, "numba", out, threads=2)
    assert record.get("status", "ok") == "ok", record.get("reasons")
    assert record["rhat_max"] < policy.REFERENCE_MAX_RHAT
    assert record["divergences"] == 0
    assert record["ess_bulk_min"] > policy.REFERENCE_MIN_ESS_BULK
    assert len(record["mean"]) == module.MIN_DIM and all(np.array(record["mean_mcse"]) > 0)


@pytest.mark.parametrize("backend", ["numba", "c"])
def test_radial_velocity_kepler_solver_matches_a_direct_solution(backend):
    """The in-graph Kepler solver against scipy's root of M = E - e sin E (to 1e-10), and its
    gradient against implicit differentiation, for e in [0, 0.9] and M over several turns."""
    import pytensor
    import pytensor.tensor as pt
    from scipy.optimize import brentq

    from essbench.problem import compile_mode
    from essbench.targets.radial_velocity import kepler_solve

    m, e = pt.dvector("m"), pt.dscalar("e")
    big_e = kepler_solve(m, e)
    fn = pytensor.function(
        [m, e], [big_e, *pt.grad(big_e.sum(), [m, e])], mode=compile_mode(backend)
    )
    grid = np.concatenate([np.linspace(-13.0, 13.0, 301), [0.0, np.pi, -np.pi, 1e-12]])
    reduced = np.mod(grid + np.pi, 2 * np.pi) - np.pi
    for ecc in np.linspace(0.0, 0.9, 10):
        got, d_m, d_e = fn(grid, ecc)
        want = np.array(
            [
                brentq(lambda x, mi=mi, ecc=ecc: x - ecc * np.sin(x) - mi, -4, 4, xtol=1e-15)
                for mi in reduced
            ]
        )
        assert np.max(np.abs(np.angle(np.exp(1j * (got - want))))) < 1e-10, ecc
        slope = 1.0 / (1.0 - ecc * np.cos(want))
        assert np.allclose(d_m, slope, rtol=1e-9, atol=1e-9), ecc
        assert np.isclose(d_e, np.sum(np.sin(want) * slope), rtol=1e-9, atol=1e-9), ecc


def test_radial_velocity_likelihood_is_the_keplerian_one():
    """At the generating orbit the model's likelihood is the Gaussian one around the
    true-anomaly form of v(t) (the model writes v with the eccentric anomaly); initial
    points are finite and near the orbit."""
    from scipy.stats import norm

    from essbench.problem import build_problem
    from essbench.targets import radial_velocity as rv

    problem = build_problem("radial_velocity", 7)
    assert problem.ndim == rv.MIN_DIM == 7
    truth = rv.true_unconstrained()
    logp_y = problem.model.compile_logp(vars=[problem.model["y"]], mode=problem.mode)
    v = rv.velocity_numpy(
        rv.T, *(rv.TRUE[k] for k in ("period", "K", "ecc", "omega", "phase", "gamma"))
    )
    want = norm.logpdf(rv.Y, v, np.sqrt(rv.SIGMA**2 + rv.TRUE["jitter"] ** 2)).sum()
    assert np.isclose(logp_y(problem.point(truth)), want, rtol=1e-12)
    starts = problem.initial_points(40, np.random.RandomState(0))
    logp = problem.compile_logp()
    assert starts.shape == (40, 7)
    assert all(np.isfinite(logp(x)) for x in starts)
    assert np.isfinite(logp(np.zeros(7)))  # e = 0: omega is undefined but v is not


def test_exact_quantiles_are_computed_once_and_read_by_every_later_process(tmp_path, monkeypatch):
    """The first batch of a model keeps them in the shared cache; a later batch's
    diagnostics then read the very same quantiles instead of drawing 200,000 exact draws."""
    from essbench import policy, targets

    monkeypatch.setenv(targets.TRUTH_CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(targets, "_QUANTILES", {})
    first = targets.load_truth("gaussian_iid", 3, {})
    (kept,) = list(tmp_path.rglob("*.npz"))
    calls = []
    monkeypatch.setattr(targets, "_QUANTILES", {})  # a new process: nothing in memory
    monkeypatch.setattr(targets, "exact_quantiles", lambda *a: calls.append(a))
    truth = targets.load_truth("gaussian_iid", 3, {})
    assert calls == [] and truth.quantiles.shape == (3, len(policy.BIAS_QUANTILE_LEVELS))
    np.testing.assert_array_equal(truth.quantiles, first.quantiles)
    monkeypatch.undo()
    fresh = targets.exact_quantiles(
        registry.target("gaussian_iid"), 3, {}, policy.BIAS_QUANTILE_LEVELS
    )
    np.testing.assert_array_equal(truth.quantiles, fresh[0])
    np.testing.assert_array_equal(truth.kurtosis, fresh[1])
    # other dims (or options) are other entries, never the same file
    monkeypatch.setenv(targets.TRUTH_CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(targets, "_QUANTILES", {})
    targets.load_truth("gaussian_iid", 4, {})
    targets.load_truth("gaussian_illcond", 3, {"condition": 100})
    assert len(list(tmp_path.rglob("*.npz"))) == 3 and kept.exists()
