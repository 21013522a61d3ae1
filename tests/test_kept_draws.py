"""Kept draws (``keep_draws: true``) are in the model's own terms, as ``pm.sample`` gives them:
free variables on their constrained scale (``tau``, not ``tau_log__``), Deterministics, the
model's dims and coords, and the sampler's ``sample_stats``."""

import json

import numpy as np
import pytest

from essbench import draws as draws_io

MODEL = """
import numpy as np

SIGMAS = np.array([15.0, 10.0, 16.0])


def build_model():
    import pymc as pm

    with pm.Model(coords={'school': ['A', 'B', 'C']}) as model:
        mu = pm.Normal('mu', 0.0, 5.0)
        tau = pm.HalfNormal('tau', 5.0)
        theta_z = pm.Normal('theta_z', 0.0, 1.0, dims='school')
        theta = pm.Deterministic('theta', mu + tau * theta_z, dims='school')
        pm.Deterministic('spread', tau ** 2)
        pm.Normal('y', theta, SIGMAS, observed=[28.0, 8.0, -3.0], dims='school')
    return model
"""


@pytest.fixture
def kept(tmp_path):
    from essbench import registry

    path = tmp_path / "kept.py"
    path.write_text(MODEL)
    registry.load_file("target", "kept", path)
    yield tmp_path
    registry.forget_user()


def test_a_kept_draws_file_holds_the_models_own_variables(kept):
    import arviz as az

    from essbench.problem import build_problem

    problem = build_problem("kept", 5, {}, "numba")
    assert problem.names == ["mu", "tau_log__", "theta_z"]
    rng = np.random.default_rng(3)
    draws = rng.normal(size=(2, 40, problem.ndim))  # value space, as every sampler's
    stats = {"diverging": np.zeros((2, 40), bool), "n_steps": np.full((2, 40), 7.0)}
    path = kept / "r0.nc"
    size = draws_io.save(path, draws_io.model_datatree(problem, draws, stats))
    assert size == path.stat().st_size > 0

    tree = az.from_netcdf(path)
    posterior = tree["posterior"]
    assert list(posterior.data_vars) == ["mu", "tau", "theta_z", "theta", "spread"]
    assert "tau_log__" not in posterior.data_vars
    mu, log_tau, z = draws[..., 0], draws[..., 1], draws[..., 2:]
    np.testing.assert_allclose(posterior["mu"].values, mu)
    np.testing.assert_allclose(posterior["tau"].values, np.exp(log_tau))
    np.testing.assert_allclose(posterior["theta_z"].values, z)
    theta = mu[..., None] + np.exp(log_tau)[..., None] * z
    np.testing.assert_allclose(posterior["theta"].values, theta)
    np.testing.assert_allclose(posterior["spread"].values, np.exp(2 * log_tau))
    assert posterior["theta"].dims == ("chain", "draw", "school")
    assert list(posterior["school"].values) == ["A", "B", "C"]
    assert posterior["tau"].dims == ("chain", "draw")
    assert int(tree["sample_stats"]["n_steps"].sum()) == 7 * 80


def test_run_batch_keeps_a_real_runs_draws_in_the_models_terms(kept):
    import arviz as az

    from essbench import pipeline
    from essbench.config import run_settings, validate

    config = validate(
        {
            "study": "k",
            "replicates": [0],
            "keep_draws": True,
            "targets": {"kept": {"file": str(kept / "kept.py")}},
            "samplers": {"pymc_nuts": {"tune": 200, "draws": 200, "chains": 2, "cores": 1}},
        }
    )
    settings = run_settings(config, "pymc_nuts", "kept", 5, 0)
    reference = kept / "ref.json"  # no truth: bias is not this test's subject
    reference.write_text(json.dumps({"status": "failed", "reasons": ["not computed"]}))
    path, record = kept / "draws.nc", kept / "run.json"
    runs = [{"settings": settings, "record": record, "draws": path, "reference": reference}]
    pipeline.run_batch(runs, kept / "b.json", 1, 1, "x.log", True)
    out = json.loads(record.read_text())
    assert out["status"] == "ok" and out["draws_path"] == str(path)
    assert out["draws_bytes"] == path.stat().st_size
    tree = az.from_netcdf(path)
    posterior = tree["posterior"]
    assert set(posterior.data_vars) == {"mu", "tau", "theta_z", "theta", "spread"}
    assert posterior["theta"].shape == (2, 200, 3) and (posterior["tau"].values > 0).all()
    np.testing.assert_allclose(
        posterior["theta"].values,
        posterior["mu"].values[..., None]
        + posterior["tau"].values[..., None] * posterior["theta_z"].values,
    )
    assert int(tree["sample_stats"]["diverging"].sum()) == out["stat_divergences"]


def test_a_log_prob_targets_kept_draws_are_its_named_parameters():
    """No PyMC model: the parameters are kept as the function takes them."""
    from types import SimpleNamespace

    problem = SimpleNamespace(model=None, names=["a", "b"], shapes=[(), (2,)])
    problem.slices = [slice(0, 1), slice(1, 3)]
    draws = np.arange(2 * 5 * 3, dtype=float).reshape(2, 5, 3)
    tree = draws_io.model_datatree(problem, draws)
    assert list(tree["posterior"].data_vars) == ["a", "b"]
    np.testing.assert_array_equal(tree["posterior"]["b"].values, draws[..., 1:])
