"""References that do not need NUTS to succeed on the model itself: the user's own draws
(``targets: {<name>: {reference_draws: path}}``, route ``user_draws``), and the agreement
check between every route that passes its gates (``route_agreement``; a disagreement is a
caveat on the truth in the summary)."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import snakemake
from scipy.special import digamma, polygamma

# A conjugate model with a known posterior: mu (normal likelihood, known sigma; a flat prior,
# which has no inverse CDF, so the nested route is unavailable) and a vector lam (Poisson
# counts, gamma prior), which samplers move in as lam_log__. PROPER: mu ~ Normal(0, 10)
# instead, every prior proper with an inverse CDF (the nested route runs).
Y = np.round(np.random.default_rng(11).normal(1.5, 1.0, 20), 3)
K = np.random.default_rng(12).poisson([3.0, 8.0], size=(10, 2))
MODEL = """
import numpy as np

REFERENCE_NUTS = {{'chains': 4, 'tune': 500, 'draws': 5000, 'target_accept': 0.8}}
Y = np.array({y})
K = np.array({k})


def build_model():
    import pymc as pm

    with pm.Model() as model:
        mu = {prior}
        lam = pm.Gamma('lam', alpha=2.0, beta=1.0, shape=2)
        pm.Normal('y', mu, 1.0, observed=Y)
        pm.Poisson('k', lam, observed=K)
    return model
"""
CONJUGATE = MODEL.format(y=Y.tolist(), k=K.tolist(), prior="pm.Flat('mu')")
PROPER = MODEL.format(y=Y.tolist(), k=K.tolist(), prior="pm.Normal('mu', 0.0, 10.0)")
SHAPE, RATE = 2.0 + K.sum(axis=0), 1.0 + len(K)


def mu_posterior(proper: bool = False) -> tuple[float, float]:
    """mu's posterior mean and SD (a flat prior, or the proper one's precision 1 / 10²)."""
    precision = len(Y) + (0.01 if proper else 0.0)
    return Y.sum() / precision, precision**-0.5


MU_MEAN, MU_SD = mu_posterior()


def exact(n: int, rng, shift: float = 0.0, proper: bool = False) -> dict:
    """Exact posterior draws on the constrained scale (``mu`` moved by ``shift`` SD)."""
    mean, sd = mu_posterior(proper)
    return {
        "mu": rng.normal(mean + shift * sd, sd, n),
        "lam": rng.gamma(SHAPE, 1.0 / RATE, size=(n, 2)),
    }


def value_truth(proper: bool = False):
    """Mean and variance of (mu, log lam[0], log lam[1])."""
    mean, sd = mu_posterior(proper)
    return (
        np.array([mean, *(digamma(SHAPE) - np.log(RATE))]),
        np.array([sd**2, *polygamma(1, SHAPE)]),
    )


def write_csv(path, variables: dict, chains: int = 1):
    n = len(variables["mu"])
    frame = pd.DataFrame(
        {"mu": variables["mu"], "lam[0]": variables["lam"][:, 0], "lam[1]": variables["lam"][:, 1]}
    )
    if chains > 1:
        frame.insert(0, "chain", np.repeat(np.arange(chains), n // chains))
    frame.to_csv(path, index=False)
    return path


def write_netcdf(path, variables: dict, chains: int, diverging=None):
    from arviz_base import from_dict

    from essbench import draws as draws_io

    posterior = {k: v.reshape(chains, -1, *v.shape[1:]) for k, v in variables.items()}
    groups = {"posterior": posterior}
    if diverging is not None:
        groups["sample_stats"] = {"diverging": diverging}
    draws_io.save(path, from_dict(groups))
    return path


@pytest.fixture
def conjugate(tmp_path):
    from essbench import registry

    path = tmp_path / "conjugate.py"
    path.write_text(CONJUGATE)
    registry.load_file("target", "conjugate", path)
    yield path
    registry.forget_user()


def _run_record(target: str, dim: int) -> dict:
    return {
        "status": "ok",
        "sampler": "pymc_nuts",
        "target": target,
        "dim": dim,
        "replicate": 0,
        "sampling_seconds": 1.0,
        "grad_evals": 1000,
        "n_chains": 2,
        "n_draws": 1000,
    }


def _exact_run(rng) -> np.ndarray:
    """Independent exact draws in the value space, shaped as 2 chains x 1000."""
    draws = exact(2000, rng)
    flat = np.column_stack([draws["mu"], np.log(draws["lam"])])
    return flat.reshape(2, 1000, 3)


def test_exact_user_draws_give_a_truth_every_correct_run_passes(conjugate, tmp_path):
    from essbench import io
    from essbench.pipeline import _reference_from_draws, combine_routes, diagnose
    from essbench.problem import build_problem
    from essbench.targets import load_truth, reference_route

    problem = build_problem("conjugate", 3, {}, "numba")
    assert problem.names == ["mu", "lam_log__"]
    variables = exact(20_000, np.random.default_rng(1))
    path = write_netcdf(tmp_path / "exact.nc", variables, chains=4)
    record = _reference_from_draws(problem, path, threads=1)
    assert record["status"] == "ok", record.get("reasons")
    assert record["route"] == "user_draws" and record["reference_draws_format"] == "netcdf"
    assert (record["n_chains"], record["n_draws"]) == (4, 5000)
    assert record["divergences"] is None and record["ess_bulk_min"] > 10_000
    out = tmp_path / "ref.json"
    io.write_json(out, combine_routes([record], problem))
    assert reference_route(out) == "user_draws"
    truth = load_truth("conjugate", 3, {}, out)
    mean, var = value_truth()
    mean_mcse, var_mcse = truth.mcse()
    assert np.all(np.abs(truth.mean - mean) < 5 * mean_mcse), (truth.mean, mean, mean_mcse)
    assert np.all(np.abs(truth.var - var) < 5 * var_mcse), (truth.var, var, var_mcse)
    # The same draws as a CSV (one row per draw, a chain column): the same moments.
    csv = write_csv(tmp_path / "exact.csv", variables, chains=4)
    again = _reference_from_draws(problem, csv, threads=1)
    assert again["reference_draws_format"] == "csv" and again["n_chains"] == 4
    np.testing.assert_allclose(again["mean"], record["mean"])
    np.testing.assert_allclose(again["mean_mcse"], record["mean_mcse"])
    # Every correct run passes the bias test against it.
    rng = np.random.default_rng(2)
    for _ in range(20):
        run = diagnose(_run_record("conjugate", 3), _exact_run(rng), reference_json=out)
        assert run["truth_source"] == "user_draws" and run["truth_route"] == "user_draws"
        assert run["truth_routes_checked"] == "" and run["truth_routes_agree"] is None
        assert not run["biased"], run["bias_reason"]


def test_user_draws_are_gated_and_must_lie_in_the_support(conjugate, tmp_path):
    from essbench.pipeline import _reference_from_draws
    from essbench.problem import build_problem

    problem = build_problem("conjugate", 3, {}, "numba")
    rng = np.random.default_rng(3)
    short = _reference_from_draws(problem, write_csv(tmp_path / "s.csv", exact(2000, rng)), 1)
    assert short["status"] == "failed"
    assert any(r.startswith("bulk ESS") for r in short["reasons"]), short["reasons"]
    # Divergences count where the file records them (an ArviZ file's sample_stats).
    diverging = np.zeros((2, 10_000), bool)
    diverging[0, :3] = True
    path = write_netcdf(tmp_path / "d.nc", exact(20_000, rng), chains=2, diverging=diverging)
    record = _reference_from_draws(problem, path, 1)
    assert record["status"] == "failed" and record["divergences"] == 3
    assert record["reasons"] == ["3 divergences (at most 0)"]
    negative = exact(20_000, rng)
    negative["lam"][:5, 1] *= -1.0
    record = _reference_from_draws(problem, write_csv(tmp_path / "n.csv", negative), 1)
    assert record["status"] == "failed"
    assert record["reasons"][0].startswith("5 of 20000 draws lie outside the model's support")
    assert "lam_log__[1]" in record["reasons"][0]


def test_route_agreement_is_a_z_test_of_the_means_within_their_mcses():
    from essbench import policy
    from essbench.pipeline import route_agreement

    truth = {"route": "user_draws", "mean": [0.0, 1.0], "var": [1.0, 4.0]}
    truth["mean_mcse"] = [0.01, 0.02]
    same = {**truth, "route": "nuts_on_model", "mean": [0.01, 0.97]}
    check = route_agreement(truth, same, ["a", "b"])
    assert check["agree"] and check["z_threshold"] == policy.route_agreement_threshold(2)
    assert check["worst_parameter"] == "b"
    assert check["max_z"] == pytest.approx(0.03 / np.hypot(0.02, 0.02))
    off = {**same, "mean": [0.1, 1.0]}
    check = route_agreement(truth, off, ["a", "b"])
    assert not check["agree"] and check["worst_parameter"] == "a"
    assert check["max_z"] == pytest.approx(0.1 / np.hypot(0.01, 0.01))
    assert check["max_diff_sd"] == pytest.approx(0.1)
    assert check["sentence"].startswith(
        "the means of NUTS on the model disagree with the truth's (the reference_draws file):"
        " largest |z| = 7.07 >"
    ), check["sentence"]


def test_shifted_user_draws_disagree_with_nuts_on_the_model_and_the_summary_says_so(
    conjugate, tmp_path
):
    """The user's draws are preferred to NUTS on the model, which runs too, as a check:
    draws of another posterior (mu moved by half a posterior SD) pass their own gates, make
    the truth, and disagree with NUTS; every run says so, and so does the summary."""
    from essbench import report
    from essbench.pipeline import diagnose, reference

    path = write_csv(tmp_path / "shifted.csv", exact(20_000, np.random.default_rng(4), 0.5))
    out = tmp_path / "ref.json"
    record = reference("conjugate", 3, {}, "numba", out, threads=1, reference_draws=path)
    assert record["status"] == "ok" and record["route"] == "user_draws"
    assert [c["route"] for c in record["checked_routes"]] == ["nuts_on_model"]
    (unavailable,) = record["unavailable_routes"]  # a flat prior: no prior transform
    assert unavailable["route"] == "nested"
    assert unavailable["reason"].startswith("the prior of mu has no inverse CDF"), unavailable
    (check,) = record["route_agreement"]
    assert check["routes"] == ["user_draws", "nuts_on_model"]
    assert not check["agree"] and check["worst_parameter"] == "mu", check
    assert check["max_diff_sd"] == pytest.approx(0.5, abs=0.1)
    nuts = record["checked_routes"][0]
    assert abs(nuts["mean"][0] - MU_MEAN) < 5 * nuts["mean_mcse"][0]  # NUTS is right
    assert json.loads(out.read_text())["route_agreement"][0]["agree"] is False
    draws = _exact_run(np.random.default_rng(5))
    run = diagnose(_run_record("conjugate", 3), draws, reference_json=out)
    assert run["truth_route"] == "user_draws" and run["truth_routes_agree"] is False
    assert run["truth_routes_checked"] == "nuts_on_model"
    assert run["truth_caveat"] == check["sentence"]
    runs = pd.DataFrame([run])
    section = report.truth_recovered(runs)
    row = next(line for line in section.splitlines() if line.startswith("| conjugate |"))
    assert f"{report.TRUTH_TEXT['user_draws']} {report.ROUTES_DISAGREE_MARK}" in row, row
    assert "**Caveat on the truth**" in section
    assert f"- `conjugate` d = 3: {check['sentence']}." in section
    assert "disagree with the truth's (the reference_draws file)" in section


def test_the_nested_route_makes_the_truth_where_every_prior_has_an_inverse_cdf(
    tmp_path, monkeypatch
):
    """Nested sampling from the model's own priors (nautilus) is preferred to the user's
    draws and to NUTS on the model; both run too, and agree with it. (A smaller ESS gate
    for the suite's time: the route and its gating are what is checked.)"""
    from essbench import policy, registry
    from essbench.pipeline import reference

    monkeypatch.setattr(policy, "REFERENCE_MIN_ESS_BULK", 2500)

    path = tmp_path / "proper.py"
    path.write_text(PROPER)
    registry.load_file("target", "proper", path)
    draws = write_csv(tmp_path / "exact.csv", exact(20_000, np.random.default_rng(8), proper=True))
    try:
        out = tmp_path / "ref.json"
        record = reference("proper", 3, {}, "numba", out, threads=1, reference_draws=draws)
    finally:
        registry.forget_user()
    assert record["status"] == "ok" and record["route"] == "nested", record.get("reasons")
    assert record["sampler"] == "nautilus" and record["converged"]
    assert record["ess_kish"] > 2500 and "unavailable_routes" not in record
    assert [c["route"] for c in record["checked_routes"]] == ["user_draws", "nuts_on_model"]
    assert all(c["agree"] for c in record["route_agreement"]), record["route_agreement"]
    mean, var = value_truth(proper=True)
    mcse = np.asarray(record["mean_mcse"])
    assert np.all(np.abs(np.asarray(record["mean"]) - mean) < 5 * mcse), (record["mean"], mean)
    assert np.all(np.abs(np.asarray(record["var"]) - var) < 5 * np.asarray(record["var_mcse"]))
    # The truth's route keeps its draws (resampled to equal weights) for named quantities,
    # and none of them lands in the JSON record.
    kept = np.load(tmp_path / record["draws_file"])["draws"]
    assert kept.shape[0] == 1 and kept.shape[2] == 3
    assert "_draws" not in json.loads(out.read_text())
    np.testing.assert_allclose(kept.mean(axis=(0, 1)), mean, atol=6 * mcse.max())
    assert record["condition_number"] >= 1  # the decision table's geometry


def test_the_nested_route_can_be_turned_off_in_the_models_file(tmp_path):
    from essbench import registry
    from essbench.pipeline import reference

    text = PROPER.replace("'draws': 5000", "'draws': 150").replace("'tune': 500", "'tune': 150")
    path = tmp_path / "off.py"
    path.write_text(text + "\nREFERENCE_NESTED = None\n")
    registry.load_file("target", "off", path)
    try:
        record = reference("off", 3, {}, "numba", tmp_path / "ref.json", threads=1)
    finally:
        registry.forget_user()
    assert record["unavailable_routes"] == [
        {"route": "nested", "reason": "turned off (REFERENCE_NESTED = None in the model's file)"}
    ]
    assert record["route"] == "nuts_on_model" and record["status"] == "failed"  # 2 x 150 draws


@pytest.mark.parametrize(
    "text, reason",
    [
        (
            PROPER.replace(
                "pm.Normal('y', mu, 1.0, observed=Y)", "pm.Potential('y', -(mu**2))"
            ).replace("        pm.Poisson('k', lam, observed=K)\n", ""),
            "the model has no observed variables",
        ),
        (
            PROPER.replace(
                "pm.Gamma('lam', alpha=2.0, beta=1.0, shape=2)",
                "pm.Normal('lam', 2.0, 1.0, shape=2,"
                " transform=pm.distributions.transforms.ordered)",
            ).replace(
                "pm.Poisson('k', lam, observed=K)", "pm.Poisson('k', pm.math.exp(lam), observed=K)"
            ),
            "lam has a transform of its own (Ordered), which changes its prior's support",
        ),
        (CONJUGATE, "the prior of mu has no inverse CDF"),
    ],
    ids=["no data", "ordered", "flat prior"],
)
def test_the_nested_route_is_unavailable_where_the_priors_cannot_be_its_prior(
    tmp_path, text, reason
):
    from essbench import registry
    from essbench.nested import model_prior_problem
    from essbench.problem import build_problem

    path = tmp_path / "unfit.py"
    path.write_text(text)
    registry.load_file("target", "unfit", path)
    try:
        problem = build_problem("unfit", 3, {}, "numba")
        assert model_prior_problem(problem).startswith(reason), model_prior_problem(problem)
    finally:
        registry.forget_user()


def test_a_user_supplied_truth_is_labelled_user_supplied(tmp_path):
    from essbench import registry, report
    from essbench.pipeline import diagnose

    path = tmp_path / "known.py"
    path.write_text(
        "import numpy as np\n"
        "from essbench.targets import Truth\n"
        "def build_model():\n"
        "    import pymc as pm\n"
        "    with pm.Model() as m:\n"
        "        pm.Normal('x', 0.0, 1.0, shape=2)\n"
        "    return m\n"
        "def truth(dim):\n"
        "    return Truth(mean=np.zeros(dim), var=np.ones(dim))\n"
    )
    registry.load_file("target", "known", path)
    try:
        draws = np.random.default_rng(6).normal(size=(2, 1000, 2))
        run = diagnose(_run_record("known", 2), draws)
    finally:
        registry.forget_user()
    assert run["truth_source"] == "user"
    table = report.truth_recovered_table(pd.DataFrame([run]))
    assert table["truth"].tolist() == ["user-supplied (the model file's `truth()`)"]


# --- the config check: one line naming the file and what to fix -----------------------------


def _netcdf_without_posterior(path):
    from arviz_base import from_dict

    from essbench import draws as draws_io

    tree = from_dict({"prior": {"mu": np.zeros((1, 10))}})
    draws_io.save(path, tree)


@pytest.mark.parametrize(
    "name, make, message",
    [
        ("missing.csv", None, "no such file (looked for {path}"),
        ("draws.txt", lambda p: p.write_text("mu\n1\n"), "unknown format '.txt': give an"),
        (
            "draws.nc",
            _netcdf_without_posterior,
            "has no posterior group (groups: prior); write the draws with ArviZ",
        ),
        (
            "draws.nc",
            lambda p: write_netcdf(p, {"mu": np.zeros(20)}, chains=2),
            "has no variable 'lam' in its posterior group (the model's free variables: mu, lam;"
            " on their constrained scale)",
        ),
        (
            "draws.nc",
            lambda p: write_netcdf(p, {"mu": np.zeros(20), "lam": np.ones((20, 3))}, chains=2),
            "'lam' has shape (3,) per draw, not (2,) (the model's)",
        ),
        (
            "draws.csv",
            lambda p: p.write_text("mu,lam[0]\n1,1\n"),
            "has no column 'lam[1]' (the model's 'lam' has shape (2,): columns lam[0] ..."
            " lam[1], 0-based, C order)",
        ),
        (
            "draws.csv",
            lambda p: p.write_text("mu,lam.1,lam.2\n1,1,1\n"),
            "has no column 'lam[0]' (the model's 'lam' has shape (2,): columns lam[0] ..."
            " lam[1], 0-based, C order; Stan's 1-based 'lam.1' columns are not read)",
        ),
        (
            "draws.csv",
            lambda p: p.write_text("chain,mu,lam[0],lam[1]\n" + "0,1,1,1\n" * 6 + "1,1,1,1\n" * 5),
            "its chains have unequal lengths (5 to 6 rows)",
        ),
        (
            "draws.csv",
            lambda p: p.write_text("mu,lam[0],lam[1]\n" + "1,1,1\n" * 5 + "nan,1,1\n"),
            "'mu' has 1 non-finite values (NaN or inf); every draw must be finite",
        ),
    ],
    ids=[
        "missing",
        "unknown format",
        "no posterior",
        "missing variable",
        "wrong shape",
        "missing column",
        "Stan's columns",
        "unequal chains",
        "not finite",
    ],
)
def test_bad_reference_draws_are_refused_by_the_config_check(
    conjugate, tmp_path, name, make, message
):
    from essbench import config as ebconfig

    path = tmp_path / name
    if make is not None:
        make(path)
    config = {
        "study": "bad",
        "replicates": [0],
        "targets": {"conjugate": {"file": str(conjugate), "reference_draws": str(path)}},
        "samplers": {"pymc_nuts": {}},
    }
    with pytest.raises(ebconfig.ConfigError) as err:
        ebconfig.validate(yaml.safe_load(yaml.safe_dump(config)))
    (problem,) = err.value.problems
    prefix = f"config: targets.conjugate.reference_draws: {path}: "
    assert problem.startswith(prefix + message.format(path=path)), problem


def test_reference_draws_are_refused_where_the_truth_is_not_the_reference_rules(tmp_path):
    from essbench import config as ebconfig

    path = write_csv(tmp_path / "x.csv", exact(10, np.random.default_rng(0)))
    config = {
        "study": "bad",
        "replicates": [0],
        "dims": [2],
        "targets": {"gaussian_iid": {"reference_draws": str(path)}},
        "samplers": {"pymc_nuts": {}},
    }
    with pytest.raises(ebconfig.ConfigError) as err:
        ebconfig.validate(config)
    assert err.value.problems == [
        f"config: targets.gaussian_iid.reference_draws: {path}: the truth of target"
        " gaussian_iid is analytic, which reference draws do not replace (they serve targets"
        " whose truth the reference rule computes); remove the key"
    ]


def test_good_reference_draws_pass_the_config_check_and_key_the_reference(conjugate, tmp_path):
    from essbench import config as ebconfig

    path = write_csv(tmp_path / "x.csv", exact(100, np.random.default_rng(0)))
    config = {
        "study": "good",
        "replicates": [0],
        "targets": {"conjugate": {"file": str(conjugate), "reference_draws": str(path)}},
        "samplers": {"pymc_nuts": {}},
    }
    full = ebconfig.validate(config)
    assert ebconfig.target_options(full, "conjugate") == {}  # not an option of the model
    assert ebconfig.reference_draws_path(full, "conjugate") == str(path.resolve())
    key = ebconfig.target_key(full, "conjugate")
    settings = ebconfig.run_settings(full, "pymc_nuts", "conjugate", 3, 0)
    assert settings["reference_draws_sha256"] == ebconfig.reference_draws_sha256(full, "conjugate")
    # Other draws: another reference, and the runs are diagnosed again.
    write_csv(path, exact(100, np.random.default_rng(1)))
    assert ebconfig.target_key(full, "conjugate") != key
    other = ebconfig.run_settings(full, "pymc_nuts", "conjugate", 3, 0)
    assert ebconfig.settings_hash(other) != ebconfig.settings_hash(settings)


@pytest.mark.workflow
def test_a_study_takes_its_truth_from_the_users_reference_draws(tmp_path):
    (tmp_path / "conjugate.py").write_text(CONJUGATE)
    write_csv(tmp_path / "exact.csv", exact(20_000, np.random.default_rng(7)))  # one chain
    config = {
        "study": "userdraws",
        "study_seed": 5,
        "replicates": [0, 1],
        "targets": {"conjugate": {"file": "conjugate.py", "reference_draws": "exact.csv"}},
        "samplers": {
            "pymc_nuts": {"tune": 300, "draws": 300, "chains": 2, "cores": 1},
            "emcee": {"burn": 200, "steps": 600},
        },
    }
    (tmp_path / "userdraws.yaml").write_text(yaml.safe_dump(config))
    snakemake("--cores", "2", "--configfile", "userdraws.yaml", cwd=tmp_path)

    (reference,) = (tmp_path / "results" / "shared" / "reference" / "conjugate" / "d3").glob(
        "*.json"
    )
    record = json.loads(reference.read_text())
    assert record["status"] == "ok" and record["route"] == "user_draws"
    assert record["reference_draws_format"] == "csv" and record["n_chains"] == 1
    assert [c["route"] for c in record["checked_routes"]] == ["nuts_on_model"]
    assert record["route_agreement"][0]["agree"], record["route_agreement"]
    results = tmp_path / "results" / "userdraws"
    runs = pd.read_parquet(results / "tables" / "runs.parquet")
    assert len(runs) == 4 and (runs["status"] == "ok").all()
    assert (runs["truth_route"] == "user_draws").all()
    assert (runs["truth_source"] == "user_draws").all()
    assert (runs["truth_routes_checked"] == "nuts_on_model").all()
    assert runs["truth_routes_agree"].astype(bool).all()
    summary = (results / "summary.md").read_text()
    from essbench import report

    row = next(line for line in summary.splitlines() if line.startswith("| conjugate |"))
    assert f"| {report.TRUTH_TEXT['user_draws']} |" in row, row
    assert "Caveat on the truth" not in summary
