import math

import numpy as np
import pandas as pd

from essbench import aggregate, report


def record(sampler, dim, seed, cost, status="ok", unreliable=False):
    return {
        "sampler": sampler,
        "target": "gaussian_iid",
        "dim": dim,
        "replicate": seed,
        "status": status,
        "reason": "" if status == "ok" else "boom",
        "log": "x.log",
        "cost_per_ess_mean": cost,
        "cost_per_ess_min": 2 * cost,
        "ess_bulk_mean": 100.0,
        "ess_bulk_min": 50.0,
        "ess_tail_min": 40.0,
        "rhat_max": 1.0,
        "sampling_seconds": cost * 100,
        "unreliable": unreliable,
        "biased": False,
    }


def test_summary_median_and_spread():
    recs = [record("a", 2, s, c) for s, c in enumerate([1.0, 2.0, 4.0])]
    recs += [record("b", 2, 0, 10.0), record("b", 2, 1, math.nan, status="failed")]
    runs = aggregate.runs_table(recs, "t")
    assert list(runs.columns[:4]) == ["study", "sampler", "target", "dim"]
    summary = aggregate.summary_table(runs).set_index("sampler")
    assert summary.loc["a", "cost_per_ess_mean_median"] == 2.0
    assert summary.loc["a", "cost_per_ess_mean_min"] == 1.0
    assert summary.loc["a", "cost_per_ess_mean_max"] == 4.0
    assert summary.loc["b", "n_runs"] == 2 and summary.loc["b", "n_ok"] == 1
    assert summary.loc["b", "cost_per_ess_mean_median"] == 10.0


def test_summary_of_a_metric_that_is_nan_in_every_run(tmp_path):
    """JSON writes nan as null: a study of gradient samplers only reads back a column of
    None for ess_per_logp (this crashed the aggregate rule), and summarizes it as nan."""
    from essbench import io

    paths = []
    for seed in range(2):
        rec = record("pymc_nuts", 2, seed, 1.0 + seed) | {"ess_per_logp": math.nan}
        paths.append(tmp_path / f"r{seed}.json")
        io.write_json(paths[-1], rec)
    io.write_json(tmp_path / "batch.json", {"runs": [{"record": str(p)} for p in paths]})
    runs = aggregate.runs_table(aggregate.load_records([tmp_path / "batch.json"]), "t")
    assert runs["ess_per_logp"].isna().all()
    summary = aggregate.summary_table(runs).set_index("sampler")
    assert math.isnan(summary.loc["pymc_nuts", "ess_per_logp_median"])
    assert summary.loc["pymc_nuts", "cost_per_ess_mean_median"] == 1.5


def test_headline_ratio_and_failures_are_reported():
    recs = [record("pymc_nuts", 8, 0, 0.001), record("emcee", 8, 0, 0.05, unreliable=True)]
    recs.append(record("emcee", 8, 1, math.nan, status="failed"))
    runs = aggregate.runs_table(recs, "t")
    summary = aggregate.summary_table(runs)
    text = report.headline(summary)
    assert "50×" in text  # 0.05 / 0.001
    assert "50 [50–50] †" in text  # emcee ms/ESS, flagged unreliable
    assert "boom" in report.failures(runs)


def test_seed_comparison_ratio():
    runs = pd.DataFrame(
        [
            record("pymc_nuts", 50, 0, 0.0006),
            record("emcee", 50, 0, 0.02536),
        ]
    )
    text = report.tutorial_comparison(
        runs,
        {
            "source": "tutorial",
            "target": "gaussian_iid",
            "dim": 50,
            "ms_per_ess": {"pymc_nuts": 0.60, "emcee": 50.72},
        },
    )
    assert "| `pymc_nuts` | 0.60 | 0.6 | 1.00 |" in text
    assert "| `emcee` | 50.72 | 25.4 | 0.50 |" in text
    assert "published 84.5×, ours 42.3×" in text


def test_truth_recovered_counts_unbiased_runs_per_cell():
    """The summary's "Truth recovered" table: unbiased of judged runs per (target, dim) and
    sampler, the truth's source, failed and unjudged runs left out, the oracle too."""
    judged = {"bias_test": "mean+variance", "truth_source": "posteriordb"}
    recs = [record("pymc_nuts", 4, s, 1.0) | judged for s in range(3)]
    recs += [record("emcee", 4, 0, 1.0) | judged | {"biased": True}]
    recs += [record("emcee", 4, 1, 1.0) | judged, record("emcee", 4, 2, 1.0, status="failed")]
    recs += [record("exact", 4, 0, 1.0) | judged | {"biased": True}]
    recs += [record("pymc_nuts", 8, 0, 1.0)]  # no truth: not judged
    text = report.truth_recovered(aggregate.runs_table(recs, "t"))
    rows = [line for line in text.splitlines() if line.startswith("| gaussian_iid")]
    assert rows == ["| gaussian_iid | 4 | posteriordb's reference draws | 3/3 | 1/2 ✗ |"], text
    assert "`pymc_nuts` | `emcee`" in text and "exact" not in text
    no_truth = [record("pymc_nuts", 8, 0, 1.0)]
    assert report.truth_recovered(aggregate.runs_table(no_truth, "t")) == ""


def test_infinity_written_as_a_string_reads_back_as_a_number():
    """essbench.io writes a float infinity as "inf" (JSON has none): the runs table makes
    such a column numeric again, so Parquet can hold it; text columns stay text."""
    from essbench import aggregate

    records = [
        {"sampler": "s", "target": "t", "dim": 2, "replicate": r, "grads_to_bias_avg": v}
        | {"reason": "inf" if r == 2 else ""}
        for r, v in enumerate((120.0, "inf", None))
    ]
    df = aggregate.runs_table(records, "study")
    assert df["grads_to_bias_avg"].dtype == float
    assert df["grads_to_bias_avg"].iloc[1] == float("inf")
    # a column of nothing but "inf" (no run reached low bias) is numeric too
    never = aggregate.runs_table([r | {"grads_to_bias_avg": "inf"} for r in records], "s")
    assert never["grads_to_bias_avg"].dtype == float and np.isinf(never["grads_to_bias_avg"]).all()
    assert df["reason"].iloc[2] == "inf"  # a text column stays text
