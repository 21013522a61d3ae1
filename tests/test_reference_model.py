"""A target's ``reference_model``: an equivalent reparameterization (the non-centered form of a
funnel) that the reference rule samples instead of the model, its draws mapped into the
model's own value variables; the record says which route made the truth."""

import json

import numpy as np
import pytest
import yaml

# Neal's funnel in two dimensions, centered (NUTS on it diverges), and the same posterior
# non-centered: x = exp(v / 2) z. Value-space truth: v ~ N(0, 9); x has mean 0.
FUNNEL = """
REFERENCE_NUTS = {{'chains': 2, 'tune': 1000, 'draws': {draws}, 'target_accept': 0.9}}


def build_model():
    import pymc as pm

    with pm.Model() as model:
        v = pm.Normal('v', 0.0, 3.0)
        pm.Normal('x', 0.0, pm.math.exp(v / 2))
    return model


def reference_model():
    import pymc as pm

    with pm.Model() as model:
        v = pm.Normal('v', 0.0, 3.0)
        z = pm.Normal('z', 0.0, 1.0)
        pm.Deterministic('x', pm.math.exp(v / 2) * z)
    return model
"""


def _load(tmp_path, name, text):
    from essbench import registry

    path = tmp_path / f"{name}.py"
    path.write_text(text)
    return registry.load_file("target", name, path)


@pytest.fixture(autouse=True)
def _forget():
    from essbench import registry

    yield
    registry.forget_user()


def test_reference_model_draws_are_mapped_into_the_models_value_variables(tmp_path):
    """tau (half-normal) is sampled as tau_log__ in the model; in the reference model it is
    |z| of a standard normal, a Deterministic; a bounded b's bounds are another variable."""
    from essbench.problem import build_problem, problem_of

    plugin = _load(
        tmp_path,
        "mapped",
        "def build_model():\n"
        "    import pymc as pm\n"
        "    with pm.Model() as m:\n"
        "        tau = pm.HalfNormal('tau', 1.0)\n"
        "        pm.Uniform('b', lower=tau, upper=tau + 2.0, shape=3)\n"
        "    return m\n"
        "def reference_model():\n"
        "    import pymc as pm\n"
        "    with pm.Model() as m:\n"
        "        z = pm.Normal('z', 0.0, 1.0)\n"
        "        tau = pm.Deterministic('tau', abs(z))\n"
        "        u = pm.Uniform('u', 0.0, 1.0, shape=3)\n"
        "        pm.Deterministic('b', tau + 2.0 * u)\n"
        "    return m\n",
    )
    problem = build_problem("mapped", 4, {}, "numba")
    assert problem.names == ["tau_log__", "b_interval__"]
    equivalent = problem_of(plugin.build_reference(4, {}), "mapped", 4, {}, "numba")
    assert equivalent.names == ["z", "u_interval__"]
    rng = np.random.default_rng(1)
    flat = rng.normal(size=(50, equivalent.ndim))
    variables = equivalent.compile_variables(["tau", "b"])(flat)
    assert variables["tau"].shape == (50,) and variables["b"].shape == (50, 3)
    values = problem.compile_to_values()(variables)
    z, u = flat[:, 0], 1.0 / (1.0 + np.exp(-flat[:, 1:]))  # u's own interval transform
    np.testing.assert_allclose(values[:, 0], np.log(np.abs(z)))
    # b = tau + 2 u on (tau, tau + 2): its interval value is logit(u), whatever tau is.
    np.testing.assert_allclose(values[:, 1:], np.log(u / (1.0 - u)), rtol=1e-6, atol=1e-8)
    # ... and back: the model's variables at those values are the reference model's.
    back = problem.compile_variables()(values)
    np.testing.assert_allclose(back["tau"], variables["tau"])
    np.testing.assert_allclose(back["b"], variables["b"], rtol=1e-10)


def test_the_truth_of_a_funnel_comes_from_its_reference_model(tmp_path):
    """NUTS on the centered funnel fails the gates (divergences); the reference rule takes
    the truth from reference_model instead, in the model's parameters, and says so."""
    from essbench.pipeline import reference
    from essbench.targets import load_truth, reference_route

    plugin = _load(tmp_path, "funnel", FUNNEL.format(draws=8000))
    out = tmp_path / "ref.json"
    record = reference("funnel", 2, {}, "numba", out, threads=1)
    assert record["status"] == "ok", record.get("reasons")
    assert record["route"] == "reference_model" and reference_route(out) == "reference_model"
    assert record["names"] == ["v", "x"] and record["reference_model_names"] == ["v", "z"]
    assert record["divergences"] == 0 and record["ess_bulk_min"] > 10_000
    # Its geometry (the decision table's), in the model's own parameters: x's variance
    # E[exp(v)] = exp(4.5) against v's 9, and x's tails far heavier than a Gaussian's.
    assert 4 < record["condition_number"] < 25 and record["tail_kurtosis"] > 10
    # Its draws, in the model's parameters, are kept for named quantities' truths.
    kept = np.load(tmp_path / record["draws_file"])["draws"]
    assert kept.shape[2] == 2 and abs(kept[..., 0].var() - 9.0) < 1.0
    truth = load_truth("funnel", 2, {}, out)
    mean_mcse, var_mcse = truth.mcse()
    assert abs(truth.mean[0]) < 5 * mean_mcse[0] and abs(truth.mean[1]) < 5 * mean_mcse[1]
    assert abs(truth.var[0] - 9.0) < 5 * var_mcse[0], (truth.var, var_mcse)
    # The route it replaced, run too as a check: the same NUTS on the centered model fails
    # its gates (so there is nothing to compare the truth with).
    assert record["settings"].items() >= plugin.REFERENCE_NUTS.items()
    (own,) = record["failed_routes"]
    assert own["route"] == "nuts_on_model" and own["settings"] == record["settings"]
    assert own["status"] == "failed" and own["divergences"] > 0, own
    assert any("divergences" in r for r in own["reasons"])
    assert "route_agreement" not in record and "checked_routes" not in record


def test_when_every_route_fails_the_record_says_why_for_each(tmp_path):
    from essbench.pipeline import reference
    from essbench.targets import load_truth, reference_failure

    _load(tmp_path, "short", FUNNEL.format(draws=150))
    out = tmp_path / "ref.json"
    record = reference("short", 2, {}, "numba", out, threads=1)
    assert record["status"] == "failed" and record["route"] == "nuts_on_model"
    assert [r["route"] for r in record["failed_routes"]] == ["reference_model"]
    reasons = record["reasons"]
    assert any(r.startswith("NUTS on reference_model: bulk ESS") for r in reasons), reasons
    assert any(r.startswith("NUTS on the model: ") for r in reasons), reasons
    assert load_truth("short", 2, {}, out) is None
    assert "NUTS on reference_model: bulk ESS" in reference_failure(out)
    assert json.loads(out.read_text())["failed_routes"][0]["status"] == "failed"


def test_a_reference_model_that_raises_in_the_job_is_a_failed_route_not_a_crash(tmp_path):
    from essbench.pipeline import reference

    text = FUNNEL.format(draws=150).split("def reference_model")[0]
    _load(tmp_path, "raising", text + "def reference_model():\n    raise RuntimeError('oops')\n")
    record = reference("raising", 2, {}, "numba", tmp_path / "ref.json", threads=1)
    assert record["status"] == "failed"
    assert record["reasons"][0] == "NUTS on reference_model: RuntimeError: oops"
    assert record["reasons"][1].startswith("NUTS on the model: ")


def test_a_run_judged_against_reference_model_says_so(tmp_path):
    """diagnose() labels the truth by its route; the summary's truth column names it."""
    import pandas as pd

    from essbench import report
    from essbench.pipeline import diagnose

    _load(tmp_path, "labelled", FUNNEL.format(draws=150))
    ref = {
        "status": "ok",
        "route": "reference_model",
        "mean": [0.0, 0.0],
        "var": [9.0, 90.0],
        "mean_mcse": [0.01, 0.1],
        "var_mcse": [0.1, 5.0],
    }
    path = tmp_path / "ref.json"
    path.write_text(json.dumps(ref))
    rng = np.random.default_rng(0)
    draws = np.stack([rng.normal(0, 3, (2, 1000)), rng.normal(0, 1, (2, 1000))], axis=-1)
    record = {
        "status": "ok",
        "sampler": "pymc_nuts",
        "target": "labelled",
        "dim": 2,
        "replicate": 0,
        "sampling_seconds": 1.0,
        "grad_evals": 1000,
        "n_chains": 2,
        "n_draws": 1000,
    }
    out = diagnose(record, draws, reference_json=path)
    assert out["truth_source"] == "reference_model" and out["truth_route"] == "reference_model"
    assert out["bias_test"] != "none"
    table = report.truth_recovered_table(pd.DataFrame([out]))
    assert table["truth"].tolist() == [report.TRUTH_TEXT["reference_model"]]
    assert "reference_model" in report.TRUTH_TEXT["reference_model"]
    # A record from the model's own NUTS: the shared label, its route recorded.
    path.write_text(json.dumps({**ref, "route": "nuts_on_model"}))
    out = diagnose(record, draws, reference_json=path)
    assert out["truth_source"] == "reference" and out["truth_route"] == "nuts_on_model"


GOOD = FUNNEL.format(draws=150)


@pytest.mark.parametrize(
    "reference_model, message",
    [
        (
            "def reference_model():\n"
            "    import pymc as pm\n"
            "    with pm.Model() as m:\n"
            "        pm.Normal('v', 0.0, 3.0)\n"
            "        pm.Normal('z', 0.0, 1.0)\n"
            "    return m\n",
            "reference_model defines no 'x': it must define each of the model's free"
            " variables (v, x), as a free variable or a pm.Deterministic of the same name, with"
            " the same posterior",
        ),
        (
            "def reference_model():\n"
            "    import pymc as pm\n"
            "    with pm.Model() as m:\n"
            "        pm.Normal('v', 0.0, 3.0)\n"
            "        pm.Normal('x', 0.0, 1.0, shape=2)\n"
            "    return m\n",
            "reference_model: 'x' has shape (2,), not () (as in the model)",
        ),
        (
            "def reference_model():\n    raise RuntimeError('not yet')\n",
            "reference_model raised RuntimeError: not yet",
        ),
        (
            "reference_model = 3\n",
            "reference_model is 3, not a function returning a pymc.Model",
        ),
        (
            "def reference_model():\n"
            "    import pymc as pm\n"
            "    with pm.Model() as m:\n"
            "        pm.Normal('v', 0.0, 3.0)\n"
            "        pm.Poisson('k', 3.0)\n"
            "        pm.Normal('x', 0.0, 1.0)\n"
            "    return m\n",
            "reference_model: free variable 'k' is discrete; the reference runs NUTS",
        ),
    ],
    ids=["missing variable", "wrong shape", "raises", "not a function", "discrete"],
)
def test_a_bad_reference_model_is_refused_by_the_config_check(tmp_path, reference_model, message):
    from essbench import config as ebconfig

    model = GOOD.split("def reference_model")[0]
    path = tmp_path / "mine.py"
    path.write_text(model + reference_model)
    config = {
        "study": "bad",
        "replicates": [0],
        "targets": {"mine": {"file": str(path)}},
        "samplers": {"pymc_nuts": {}},
    }
    with pytest.raises(ebconfig.ConfigError) as err:
        ebconfig.validate(yaml.safe_load(yaml.safe_dump(config)))
    assert err.value.problems == [f"config: targets.mine: {path}: {message}"], err.value.problems


def test_the_worked_examples_reference_model_passes_the_config_check():
    from essbench import config as ebconfig
    from essbench.config import target_dims

    config = yaml.safe_load(
        (ebconfig.registry.REPO / "examples" / "eight_schools_centered.yaml").read_text()
    )
    full = ebconfig.validate(config)
    assert target_dims(full, "eight_schools_centered") == [10]


SHORT_GAUSSIAN = """
REFERENCE_NUTS = {'chains': 4, 'tune': 500, 'draws': 600}


def build_model():
    import pymc as pm

    with pm.Model() as model:
        pm.Normal('a', 1.0, 2.0)
        pm.Normal('b', 0.0, 1.0)
    return model
"""


def test_a_reference_short_of_its_ess_is_extended_not_thrown_away(tmp_path):
    """A user's model: nutpie runs the reference; 4 x 600 draws fall short of the ESS gate
    alone, so chains of the same length join them (sized from the ESS it had) and the truth
    passes, the first chains kept."""
    from essbench import policy
    from essbench.pipeline import REFERENCE_MAX_GROWTH, reference

    _load(tmp_path, "short_gaussian", SHORT_GAUSSIAN)
    record = reference("short_gaussian", 2, {}, "numba", tmp_path / "ref.json", threads=1)
    assert record["status"] == "ok", record.get("reasons")
    assert record["sampler"] == "nutpie" and record["route"] == "nuts_on_model"
    grown = record["extended"]
    assert grown["ess_bulk_min_before"] < policy.REFERENCE_MIN_ESS_BULK < record["ess_bulk_min"]
    assert 0 < grown["chains_added"] <= 4 * (REFERENCE_MAX_GROWTH - 1)
    kept = np.load(tmp_path / record["draws_file"])["draws"]
    assert kept.shape[:2] == (4 + grown["chains_added"], 600)
    assert abs(record["mean"][0] - 1.0) < 5 * record["mean_mcse"][0]
