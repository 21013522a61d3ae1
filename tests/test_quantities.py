"""Named quantities (issue 32, item 3): a target's ``quantities`` (model variables, a
``pm.Deterministic`` included) are measured in every run in the model's own terms: ESS,
R-hat, cost per effective sample and the bias test against a truth mapped through the model."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import snakemake

# x ~ N(0.3, 0.5²), s ~ HalfNormal(1) (sampled as s_log__), y = exp(x) (lognormal), v = (x, 2x).
# Value-space truth: x ~ N(0.3, 0.25); log|Z| has mean -(γ + log 2) / 2 and variance π² / 8.
LOGNORMAL = """
import numpy as np

MU, SIGMA = 0.3, 0.5


def build_model():
    import pymc as pm

    with pm.Model() as model:
        x = pm.Normal("x", MU, SIGMA)
        pm.HalfNormal("s", 1.0)
        pm.Deterministic("y", pm.math.exp(x))
        pm.Deterministic("v", x * np.array([1.0, 2.0]))
    return model


def truth(dim):
    from essbench.targets import Truth

    return Truth(
        mean=np.array([MU, -(np.euler_gamma + np.log(2.0)) / 2]),
        var=np.array([SIGMA**2, np.pi**2 / 8]),
    )


def sample_truth(dim, n, rng):
    return np.stack([MU + SIGMA * rng.randn(n), np.log(np.abs(rng.randn(n)))], axis=1)
"""
MU, SIGMA = 0.3, 0.5
Y_MEAN = math.exp(MU + SIGMA**2 / 2)  # the lognormal's moments
Y_VAR = (math.exp(SIGMA**2) - 1) * math.exp(2 * MU + SIGMA**2)


@pytest.fixture
def lognormal(tmp_path):
    from essbench import registry

    path = tmp_path / "lognormal.py"
    path.write_text(LOGNORMAL)
    registry.load_file("target", "lognormal", path)
    yield path
    registry.forget_user()


def _config(path, quantities) -> dict:
    return {
        "study": "q",
        "replicates": [0],
        "targets": {"lognormal": {"file": str(path), "quantities": quantities}},
        "samplers": {"pymc_nuts": {}},
    }


# --- the config check ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "quantities, message",
    [
        (["y", "sigma"], "'sigma' is not a variable of target lognormal"),
        (["v[2]"], "'v[2]': v has shape (2,), so its elements are v[0] to v[1] (0-based)"),
        (["y[0]"], "'y[0]': y is a scalar; name it without an index"),
        (["v[a]"], "'v[a]': an element is addressed by integers, 0-based (theta[3], L[1,0])"),
    ],
    ids=["unknown name", "index out of range", "index of a scalar", "not an integer"],
)
def test_an_unknown_quantity_is_refused_in_one_line_naming_what_exists(
    tmp_path, quantities, message
):
    from essbench import config as ebconfig

    path = tmp_path / "lognormal.py"
    path.write_text(LOGNORMAL)
    with pytest.raises(ebconfig.ConfigError) as err:
        ebconfig.validate(yaml.safe_load(yaml.safe_dump(_config(path, quantities))))
    assert err.value.problems == [
        f"config: targets.lognormal.quantities: {message}; its variables: x, s,"
        " y (Deterministic), v (Deterministic, shape 2)"
    ], err.value.problems


def test_quantities_of_a_log_prob_target_are_refused_saying_why():
    from essbench import config as ebconfig
    from essbench.quantities import LOG_PROB_REFUSAL

    path = ebconfig.registry.REPO / "examples" / "radial_velocity_logprob.py"
    config = {
        "study": "q",
        "replicates": [0],
        "targets": {"rv": {"file": str(path), "quantities": ["period"]}},
        "samplers": {"emcee": {}},
    }
    with pytest.raises(ebconfig.ConfigError) as err:
        ebconfig.validate(config)
    assert err.value.problems == [f"config: targets.rv.quantities: target rv {LOG_PROB_REFUSAL}"]


def test_named_quantities_go_into_the_run_settings_and_nothing_else_changes(tmp_path):
    from essbench import config as ebconfig

    path = tmp_path / "lognormal.py"
    path.write_text(LOGNORMAL)
    named = ebconfig.validate(yaml.safe_load(yaml.safe_dump(_config(path, ["y", "v"]))))
    plain = yaml.safe_load(yaml.safe_dump(_config(path, ["y"])))
    del plain["targets"]["lognormal"]["quantities"]
    plain = ebconfig.validate(plain)
    with_q = ebconfig.run_settings(named, "pymc_nuts", "lognormal", 2, 0)
    without = ebconfig.run_settings(plain, "pymc_nuts", "lognormal", 2, 0)
    assert with_q.pop("quantities") == ["y", "v"]
    # Not an option of the model, and a study without quantities keeps its settings hashes.
    assert with_q == without and "quantities" not in without["target_options"]
    assert ebconfig.target_key(named, "lognormal") == ebconfig.target_key(plain, "lognormal")


# --- the measures on exact draws ---------------------------------------------------------------


def _exact(problem, chains=4, draws=1000, seed=1):
    x = problem.module.module.sample_truth(2, chains * draws, np.random.RandomState(seed))
    return np.ascontiguousarray(x.reshape(chains, draws, -1))


def _record(quantities, seconds=2.0):
    return {"sampling_seconds": seconds, "quantities": quantities, "ensemble": False}


def test_exact_draws_measure_each_quantity_in_the_models_terms(lognormal):
    from essbench import metrics, quantities
    from essbench.problem import build_problem

    problem = build_problem("lognormal", 2, {}, "numba")
    draws = _exact(problem)
    rows = quantities.diagnose(_record(["y", "s", "v"]), draws, problem)
    by = {r["quantity"]: r for r in rows}
    assert list(by) == ["y", "s", "v[0]", "v[1]"]
    # The quantities' draws are the model's: y = exp(x), s = exp(s_log__), v = (x, 2x).
    y = np.exp(draws[:, :, [0]])
    per = metrics.per_parameter(y)
    assert by["y"]["ess_bulk"] == pytest.approx(per["ess_bulk"][0], rel=1e-12)
    assert by["y"]["ess_tail"] == pytest.approx(per["ess_tail"][0], rel=1e-12)
    assert by["y"]["rhat"] == pytest.approx(per["rhat"][0], rel=1e-12)
    assert by["v[1]"]["mean"] == pytest.approx(2 * draws[:, :, 0].mean(), rel=1e-12)
    assert by["s"]["mean"] == pytest.approx(np.exp(draws[:, :, 1]).mean(), rel=1e-12)
    for row in rows:
        assert row["ess_basis"] == "bulk" and row["cost_per_ess"] == 2.0 / row["ess_bulk"]
    # The truth: exact draws mapped through the model, near the lognormal's moments and
    # E|Z| = sqrt(2 / pi) (s on its own scale, not log s).
    assert {r["truth_source"] for r in rows} == {"exact"}
    truth, _ = quantities.truth(problem, quantities.elements(["y", "s"], {"y": (), "s": ()}))
    assert abs(truth.mean[0] - Y_MEAN) < 4 * truth.mean_mcse[0]
    assert abs(truth.var[0] - Y_VAR) < 4 * truth.var_mcse[0]
    assert abs(truth.mean[1] - math.sqrt(2 / math.pi)) < 4 * truth.mean_mcse[1]
    # Exact draws of the same posterior are not biased.
    assert [r["biased"] for r in rows] == [False] * 4, [r["bias_reason"] for r in rows]
    assert all(r["bias_test"] == "mean+quantiles" for r in rows)


@pytest.mark.parametrize("shift_sd, off_by_sd", [(0.25, False), (1.5, True)])
def test_a_biased_run_is_caught_on_the_quantity(lognormal, shift_sd, off_by_sd):
    """x shifted by a fraction of its SD: y = exp(x) is off; s is untouched and passes."""
    from essbench import quantities
    from essbench.problem import build_problem

    problem = build_problem("lognormal", 2, {}, "numba")
    draws = _exact(problem, seed=2)
    draws[:, :, 0] += shift_sd * SIGMA
    by = {r["quantity"]: r for r in quantities.diagnose(_record(["y", "s"]), draws, problem)}
    assert by["y"]["biased"] is True and by["y"]["z_mean"] > 5, by["y"]
    assert ("posterior SD from the truth" in by["y"]["bias_reason"]) == off_by_sd
    assert (by["y"]["error_sd"] > 1.0) == off_by_sd
    assert by["s"]["biased"] is False, by["s"]["bias_reason"]


def test_an_importance_weighted_run_measures_its_quantities_by_kish_ess(lognormal):
    """Nested samplers' runs: the quantity's ESS is Kish's, R-hat does not apply; exact draws
    with equal weights are not biased, and the same draws weighted towards large x are."""
    from essbench import quantities
    from essbench.problem import build_problem

    problem = build_problem("lognormal", 2, {}, "numba")
    draws = _exact(problem, chains=1, draws=4000, seed=4)
    equal = np.ones(draws.shape[:2])
    (row,) = quantities.diagnose(_record(["y"]), draws, problem, weights=equal)
    assert row["ess_basis"] == "kish" and row["ess_kish"] == pytest.approx(4000)
    assert row["cost_per_ess"] == pytest.approx(2.0 / 4000) and row["rhat_flagged"] is None
    assert row["biased"] is False, row["bias_reason"]
    tilted = np.exp(draws[:, :, 0] / SIGMA)  # reweights x's posterior to N(0.8, 0.5²)
    (row,) = quantities.diagnose(_record(["y"]), draws, problem, weights=tilted)
    assert row["biased"] is True and row["error_sd"] > 1.0, row


def test_a_posteriordb_targets_quantity_is_judged_against_its_reference_draws():
    """tau of the non-centered eight schools: a free variable (sampled as tau_log__), whose
    truth is posteriordb's own draws of tau (there through the value space and back)."""
    from essbench import posteriordb, quantities
    from essbench.problem import build_problem

    problem = build_problem("eight_schools_noncentered", 10, {}, "numba")
    chosen = quantities.elements(["tau", "theta_trans[2]"], {"tau": (), "theta_trans": (8,)})
    truth, why = quantities.truth(problem, chosen)
    assert why == "" and truth.source == "posteriordb"
    name = "eight_schools-eight_schools_noncentered"
    tau = posteriordb.reference_array(name, "tau", ())
    assert truth.mean[0] == pytest.approx(tau.mean(), rel=1e-9)
    assert truth.var[0] == pytest.approx(tau.var(), rel=1e-9)
    mu, theta = (
        posteriordb.reference_array(name, "mu", ()),
        posteriordb.reference_array(name, "theta", (8,)),
    )
    assert truth.mean[1] == pytest.approx(((theta[..., 2] - mu) / tau).mean(), rel=1e-9)


def test_without_a_truth_a_quantity_says_so_plainly(tmp_path):
    from essbench import quantities, registry
    from essbench.problem import build_problem

    path = tmp_path / "notruth.py"
    path.write_text(LOGNORMAL.replace("def sample_truth", "def _unused"))
    registry.load_file("target", "notruth", path)
    problem = build_problem("notruth", 2, {}, "numba")
    draws = np.random.default_rng(0).normal(size=(2, 500, 2))
    (row,) = quantities.diagnose(_record(["y"]), draws, problem)
    assert row["truth_source"] == "none" and row["biased"] is None
    assert row["truth_failure"] == quantities.NO_TRUTH_ANALYTIC
    assert row["bias_reason"] == f"not checked: no truth ({quantities.NO_TRUTH_ANALYTIC})"
    assert row["ess_bulk"] > 0 and row["cost_per_ess"] == 2.0 / row["ess_bulk"]


# --- the run's own bias test, in the model's terms (item 4) -------------------------------------


def _diagnosed(problem, draws, weights=None):
    from essbench import pipeline

    record = {"status": "ok", "target": problem.target, "dim": 2, "sampling_seconds": 1.0}
    return pipeline.diagnose(record, draws, problem=problem, weights=weights)


def test_a_runs_bias_test_is_on_the_models_variables_not_the_samplers(lognormal):
    """The record's z-scores are those of x and s (not s_log__) against the exact draws
    mapped through the model; exact draws pass, a run off on s is caught and named."""
    from essbench import metrics, policy, quantities
    from essbench.problem import build_problem

    problem = build_problem("lognormal", 2, {}, "numba")
    assert quantities.transformed_variables(problem.model) == ["s"]
    draws = _exact(problem, seed=5)
    record = _diagnosed(problem, draws)
    assert record["bias_space"] == "model" and record["bias_truth_source"] == "exact"
    assert record["biased"] is False, record["bias_reason"]
    # The same numbers by hand, on (x, s) = (x, exp(s_log__)).
    chosen = quantities.elements(["x", "s"], {"x": (), "s": ()})
    truth, _ = quantities.truth(problem, chosen)
    model = np.stack([draws[:, :, 0], np.exp(draws[:, :, 1])], axis=-1)
    per = metrics.per_parameter(model)
    z = metrics.bias_z(model, truth.mean, truth.var, per, (truth.mean_mcse, truth.var_mcse))
    assert record["z_mean_max"] == pytest.approx(z["z_mean_max"], rel=1e-9)
    levels = policy.BIAS_QUANTILE_LEVELS
    q = metrics.quantile_z(model, levels, truth.quantiles, truth.quantile_prob_mcse)
    assert record["z_quantile_max"] == pytest.approx(q["z_quantile_max"], rel=1e-9)
    assert record["bias_test"] == "mean+quantiles"
    # s scaled by 1.5 (s_log__ + log 1.5): off in the model's terms, and named there.
    off = draws.copy()
    off[:, :, 1] += math.log(1.5)
    record = _diagnosed(problem, off)
    assert record["biased"] is True and record["error_sd_variable"] == "s", record
    assert record["bias_space"] == "model" and record["z_quantile_variable"] == "s"
    # the reason names where: s's fraction of draws below one of the truth's quantiles
    assert "worst at s (" in record["bias_reason"] and "% quantile" in record["bias_reason"]


def test_a_weighted_runs_bias_test_is_in_the_models_terms_too(lognormal):
    from essbench.problem import build_problem

    problem = build_problem("lognormal", 2, {}, "numba")
    draws = _exact(problem, chains=1, draws=4000, seed=6)
    record = _diagnosed(problem, draws, weights=np.ones(draws.shape[:2]))
    assert record["bias_space"] == "model" and record["biased"] is False, record["bias_reason"]
    tilted = np.exp(2 * draws[:, :, 1])  # s's posterior reweighted far to the right
    record = _diagnosed(problem, draws, weights=tilted)
    assert record["biased"] is True and record["error_sd_variable"] == "s", record


def test_without_draws_of_the_truth_the_samplers_space_is_tested_and_says_why(tmp_path):
    from essbench import quantities, registry
    from essbench.problem import build_problem

    path = tmp_path / "notruth2.py"
    path.write_text(LOGNORMAL.replace("def sample_truth", "def _unused"))
    registry.load_file("target", "notruth2", path)
    problem = build_problem("notruth2", 2, {}, "numba")
    rng = np.random.RandomState(7)
    draws = np.stack([MU + SIGMA * rng.randn(4000), np.log(np.abs(rng.randn(4000)))], axis=1)
    record = _diagnosed(problem, draws.reshape(4, 1000, 2))
    assert record["bias_space"] == "sampler"
    assert record["bias_space_reason"] == quantities.NO_TRUTH_ANALYTIC
    # The test in s_log__'s space against truth() stands: exact draws pass it.
    assert record["biased"] is False, record["bias_reason"]


# --- a truth from the reference rule's kept draws ---------------------------------------------

# For the reference rule's NUTS (which diverges in the half-normal's log-space tail): s ~
# LogNormal(0, 0.5), sampled as s_log__ ~ N(0, 0.25); no truth(): the reference makes it.
REFERENCE_FILE = """
MU, SIGMA = 0.3, 0.5
REFERENCE_NUTS = {'chains': 2, 'tune': 300, 'draws': 8000, 'target_accept': 0.9}


def build_model():
    import pymc as pm

    with pm.Model() as model:
        x = pm.Normal("x", MU, SIGMA)
        pm.LogNormal("s", 0.0, 0.5)
        pm.Deterministic("y", pm.math.exp(x))
    return model
"""


def test_a_quantitys_truth_comes_from_the_references_kept_draws(tmp_path):
    from essbench import quantities, registry
    from essbench.pipeline import kept_draws_path
    from essbench.problem import build_problem

    path = tmp_path / "ref_model.py"
    path.write_text(REFERENCE_FILE)
    registry.load_file("target", "ref_model", path)
    problem = build_problem("ref_model", 2, {}, "numba")
    out = tmp_path / "ref" / "o123.json"
    keep = kept_draws_path(out)
    assert keep.name == "o123.draws.npz"
    rng = np.random.RandomState(3)
    exact = np.stack([MU + SIGMA * rng.randn(40_000), 0.5 * rng.randn(40_000)], axis=1)
    keep.parent.mkdir()
    np.savez_compressed(keep, draws=exact.reshape(4, 10_000, 2))
    out.write_text(json.dumps({"status": "ok", "route": "nuts_on_model", "draws_file": keep.name}))
    chosen = quantities.elements(["y"], {"y": ()})
    truth, why = quantities.truth(problem, chosen, out)
    assert why == "" and truth.source == "reference"
    assert abs(truth.mean[0] - Y_MEAN) < 4 * truth.mean_mcse[0]
    # A failed reference, or one kept from before quantities: no truth, and why.
    out.write_text(json.dumps({"status": "failed", "reasons": ["3 divergences (at most 0)"]}))
    problem.cache.clear()
    assert quantities.truth(problem, chosen, out) == (
        None,
        "the reference failed its gates (3 divergences (at most 0))",
    )
    out.write_text(json.dumps({"status": "ok"}))
    problem.cache.clear()
    none, why = quantities.truth(problem, chosen, out)
    assert none is None and "keeps no draws" in why and "delete it" in why


# --- the real pipeline ---------------------------------------------------------------------------


@pytest.mark.workflow
def test_a_study_with_a_named_quantity_reports_it(tmp_path):
    """The reference rule keeps its draws; every run measures y = exp(x) against them; the
    tables and the summary state the quantity's cost per ESS and its verdict."""
    (tmp_path / "q_model.py").write_text(REFERENCE_FILE)
    config = {
        "study": "quantity",
        "study_seed": 5,
        "replicates": [0, 1],
        "targets": {"q_model": {"file": "q_model.py", "quantities": ["y", "s"]}},
        "samplers": {
            "pymc_nuts": {"tune": 200, "draws": 300, "chains": 2, "cores": 1},
            "emcee": {"burn": 200, "steps": 600},
        },
    }
    (tmp_path / "q.yaml").write_text(yaml.safe_dump(config))
    snakemake("--cores", "2", "--configfile", "q.yaml", cwd=tmp_path)

    results = tmp_path / "results" / "quantity"
    (ref,) = (tmp_path / "results" / "shared" / "reference" / "q_model" / "d2").glob("*.json")
    record = json.loads(ref.read_text())
    assert record["status"] == "ok" and (ref.parent / record["draws_file"]).exists()
    table = pd.read_csv(results / "tables" / "quantities.csv")
    assert len(table) == 8 and set(table["quantity"]) == {"y", "s"}
    assert (table["truth_source"] == "reference").all()
    assert np.allclose(table["cost_per_ess"], table["sampling_seconds"] / table["ess_bulk"])
    runs = pd.read_parquet(results / "tables" / "runs.parquet")
    assert "quantity_metrics" not in runs and (runs["quantity_failure"] == "").all()
    cells = pd.read_csv(results / "tables" / "quantity_summary.csv")
    assert len(cells) == 4 and (cells["n_runs"] == 2).all()
    summary = (results / "summary.md").read_text()
    section = summary.split("## Named quantities")[1].split("\n## ")[0]
    assert "### `y` on `q_model` at d = 2" in section
    truth = "Truth: the reference rule's long NUTS run: its draws, mapped through the model."
    assert truth in section
    assert "Verdict for `y`" in section and "| `q_model` | 2 | `pymc_nuts` |" in section
    median = cells.set_index(["quantity", "sampler"]).loc[("y", "pymc_nuts"), "cost_per_ess_median"]
    assert f"| `pymc_nuts` | {median * 1e3:.3g} [" in section
    assert "<h2>Named quantities</h2>" in (results / "report.html").read_text()


def test_the_worked_example_names_a_deterministic_the_config_check_accepts():
    """examples/radial_velocity_mass.yaml names m_sini, a pm.Deterministic; the file's mass
    formula gives Jupiter's mass from Jupiter's own orbit around the Sun (P = 4,332.6 d,
    K = 12.5 m/s; its eccentricity of 0.05 is within the tolerance)."""
    import importlib.util

    from essbench import config as ebconfig
    from essbench.quantities import elements, variable_shapes

    examples = ebconfig.registry.REPO / "examples"
    full = ebconfig.validate(yaml.safe_load((examples / "radial_velocity_mass.yaml").read_text()))
    assert ebconfig.target_quantities(full, "radial_velocity_mass") == ["m_sini"]
    assert ebconfig.target_dims(full, "radial_velocity_mass") == [5]
    spec = importlib.util.spec_from_file_location("rv_mass", examples / "radial_velocity_mass.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.minimum_mass(4332.6, 12.5) == pytest.approx(1.0, rel=0.03)
    model = module.build_model()
    assert "m_sini" in {v.name for v in model.deterministics}
    assert [e.label for e in elements(["m_sini"], variable_shapes(model))] == ["m_sini"]
