"""Each headline cost says which ESS it divides by: the estimator's, or the empirical one where
the two disagree beyond the empirical interval; tables mark it, verdicts say it, and the ESS
calibration figure draws the oracle as its reference."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from essbench import aggregate, html_report, plots, report, verdict

PARAMS, REPLICATES = 4, 5
# Fixed standardized errors of the mean estimates (replicate x parameter): the empirical ESS
# is 1 / mean(ERRORS**2), whatever the ESS the runs claim.
ERRORS = np.random.default_rng(11).normal(0.0, 0.1, (REPLICATES, PARAMS))
SECONDS = 2.0


def _records(sampler: str, claimed_ess: float, cost_scale: float = 1.0) -> list[dict]:
    """Successful runs of one cell whose estimator claims ``claimed_ess`` for every param."""
    return [
        {
            "sampler": sampler,
            "target": "banana",
            "dim": PARAMS,
            "replicate": rep,
            "status": "ok",
            "reason": "",
            "log": "x.log",
            "param_mean": ERRORS[rep].tolist(),
            "param_ess_bulk": [claimed_ess] * PARAMS,
            "truth_mean": [0.0] * PARAMS,
            "truth_var": [1.0] * PARAMS,
            "sampling_seconds": SECONDS * cost_scale,
            "cost_per_ess_mean": SECONDS * cost_scale / claimed_ess * (1 + 0.01 * rep),
            "cost_per_ess_min": SECONDS * cost_scale / claimed_ess,
            "ess_bulk_mean": claimed_ess,
            "ess_bulk_min": claimed_ess,
            "ess_tail_min": claimed_ess,
            "rhat_max": 1.0,
            "unreliable": False,
            "biased": False,
        }
        for rep in range(REPLICATES)
    ]


def _edges() -> tuple[float, float]:
    """The claimed ESS at which the estimator's cost sits exactly on the empirical 95%
    interval's lower and upper ends (claiming more ESS makes the estimator's cost lower).
    The interval's degrees of freedom come from the replicates' spread, whatever the ESS
    every run claims (a common factor of every replicate's ratio)."""
    n = aggregate.effective_dof(ERRORS**2, np.ones_like(ERRORS))
    assert n <= REPLICATES * PARAMS
    ess_emp = 1.0 / np.mean(ERRORS**2)
    cost_emp = SECONDS / ess_emp
    lo, hi = cost_emp * n / chi2.ppf(0.975, n), cost_emp * n / chi2.ppf(0.025, n)
    return SECONDS / lo, SECONDS / hi  # claimed ESS for cost = lo, for cost = hi


@pytest.mark.parametrize(
    ("claimed", "basis"),
    [
        (lambda lo, hi: lo * 1.001, "empirical"),  # cost just below the interval
        (lambda lo, hi: lo * 0.999, "estimator"),  # just inside, at its lower end
        (lambda lo, hi: math.sqrt(lo * hi), "estimator"),
        (lambda lo, hi: hi * 1.001, "estimator"),  # just inside, at its upper end
        (lambda lo, hi: hi * 0.999, "empirical"),  # just above
    ],
)
def test_the_basis_switches_exactly_where_the_intervals_disagree(claimed, basis):
    ess = claimed(*_edges())
    records = _records("pymc_nuts", ess)
    cal = aggregate.calibration_table(records)
    summary = aggregate.summary_table(aggregate.runs_table(records, "t"), cal)
    assert cal["bases_disagree"].item() == (basis == "empirical")
    row = summary.iloc[0]
    assert row["cost_basis"] == basis
    if basis == "empirical":
        c = cal.iloc[0]
        assert row["headline_cost_per_ess"] == c["cost_per_ess_empirical"]
        assert (row["headline_cost_per_ess_lo"], row["headline_cost_per_ess_hi"]) == (
            c["cost_per_ess_empirical_lo"],
            c["cost_per_ess_empirical_hi"],
        )
    else:
        assert row["headline_cost_per_ess"] == row["cost_per_ess_mean_median"]
        assert row["headline_cost_per_ess_lo"] == row["cost_per_ess_mean_min"]


def test_without_a_calibration_or_with_too_few_replicates_the_basis_is_the_estimator():
    lo, _ = _edges()
    records = _records("pymc_nuts", lo * 10)  # far outside: the bases disagree
    runs = aggregate.runs_table(records, "t")
    assert aggregate.summary_table(runs)["cost_basis"].item() == "estimator"
    few = [r for r in records if r["replicate"] < aggregate.MIN_REPLICATES_EMPIRICAL - 1]
    cal = aggregate.calibration_table(few)
    summary = aggregate.summary_table(aggregate.runs_table(few, "t"), cal)
    assert not cal["bases_disagree"].item() and summary["cost_basis"].item() == "estimator"


def _study():
    """emcee honest (its claim matches the errors); pymc_nuts claims 10x its empirical ESS."""
    ess_emp = 1.0 / np.mean(ERRORS**2)
    records = _records("emcee", ess_emp, cost_scale=10.0) + _records("pymc_nuts", 10 * ess_emp)
    records += _records("exact", ess_emp, cost_scale=0.0)
    cal = aggregate.calibration_table(records)
    runs = aggregate.runs_table(records, "t")
    return runs, aggregate.summary_table(runs, cal), cal


def test_the_headline_tables_mark_the_empirical_basis_and_explain_it():
    runs, summary, cal = _study()
    bases = dict(zip(summary["sampler"], summary["cost_basis"], strict=True))
    assert bases == {"emcee": "estimator", "pymc_nuts": "empirical"}
    text = report.headline(summary, "emcee")
    row = next(line for line in text.splitlines() if line.startswith("| 4 |"))
    nuts, emcee, ratio = (c.strip() for c in row.strip("|").split("|")[1:])
    assert nuts.endswith(f"] {report.EMPIRICAL_MARK}") and report.EMPIRICAL_MARK not in emcee
    assert ratio.endswith(f"× {report.EMPIRICAL_MARK}")
    emp = cal.set_index("sampler").loc["pymc_nuts", "cost_per_ess_empirical"]
    assert nuts.startswith(report.ms_text(emp * 1e3) + " [")
    assert report.empirical_basis_note() in text
    table, any_empirical = html_report.headline_table(summary)
    assert any_empirical and table["pymc_nuts"].item().endswith(report.EMPIRICAL_MARK)
    assert report.EMPIRICAL_MARK not in table["emcee"].item()
    assert "exact" not in table


def test_an_estimator_only_headline_has_no_mark_and_no_note():
    _, summary, _ = _study()
    summary = summary[summary["sampler"] == "emcee"]
    text = report.headline(summary, "emcee")
    assert report.EMPIRICAL_MARK not in text and report.empirical_basis_note() not in text


def test_the_verdict_uses_the_same_basis_and_says_so():
    runs, _, cal = _study()
    [sentence] = verdict.sentences(runs, "emcee", cal)
    assert "`pymc_nuts`'s cost divided by the empirical ESS" in sentence
    assert aggregate.EMPIRICAL_BASIS_REASON in sentence
    # The ratio: pymc_nuts's empirical cost over emcee's geometric-mean estimator cost.
    emcee = runs[runs["sampler"] == "emcee"]["cost_per_ess_mean"]
    emp = cal.set_index("sampler").loc["pymc_nuts", "cost_per_ess_empirical"]
    expected = emp / math.exp(np.log(emcee).mean())
    assert f"costs {expected:.3g}× [" in sentence
    # Without the calibration the verdict divides by the estimator's ESS, 10x lower.
    [plain] = verdict.sentences(runs, "emcee")
    assert "empirical" not in plain and f"costs {expected:.3g}×" not in plain


def test_the_calibration_figure_draws_the_oracle_as_its_reference(tmp_path, monkeypatch):
    _, _, cal = _study()
    two_dims = pd.concat([cal, cal.assign(dim=2 * PARAMS)], ignore_index=True)
    seen = []

    def keep(fig, outputs, caption):
        seen.append({ax.get_title(): ax.get_legend_handles_labels()[1] for ax in fig.axes})
        for path in outputs:
            fig.savefig(path)

    monkeypatch.setattr(plots, "_save", keep)
    for i, table in enumerate((cal, two_dims)):
        out = tmp_path / f"calibration{i}.png"
        plots.ess_calibration(table, [out])
        assert out.stat().st_size > 10_000
        labels = seen[-1]["banana"]
        assert labels == ["exact (oracle): reference", "pymc_nuts", "emcee"], labels


def test_the_calibration_figure_says_where_the_oracles_interval_misses_one(tmp_path, monkeypatch):
    _, _, cal = _study()
    oracle = cal["sampler"] == "exact"
    assert plots.oracle_misses(cal[oracle]) == []  # the study's oracle interval holds 1
    off = cal.copy()
    off.loc[oracle, ["ratio", "ratio_lo", "ratio_hi"]] = [1.4, 1.07, 1.99]
    assert plots.oracle_misses(off[oracle]) == [PARAMS]
    texts = []

    def keep(fig, outputs, caption):
        texts.extend(t.get_text() for ax in fig.axes for t in ax.texts)

    monkeypatch.setattr(plots, "_save", keep)
    plots.ess_calibration(off, [tmp_path / "c.png"])
    assert any(f"misses 1 at d = {PARAMS}" in t for t in texts), texts
    texts.clear()
    plots.ess_calibration(cal, [tmp_path / "c.png"])
    assert not any("misses 1" in t for t in texts)
