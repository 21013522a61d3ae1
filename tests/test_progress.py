"""essbench.progress: a study's tables from the run records finished so far."""

import math

import pandas as pd
import pytest
from test_aggregate import record

from essbench import aggregate, io, progress, report


def write_runs(study_dir, records):
    for r in records:
        path = study_dir / "runs" / r["target"] / f"d{r['dim']}" / r["sampler"]
        path.mkdir(parents=True, exist_ok=True)
        io.write_json(path / f"r{r['replicate']}.json", r)


def test_tables_of_the_runs_finished_so_far(tmp_path, capsys):
    study = tmp_path / "results" / "field"
    judged = {"bias_test": "mean+variance", "truth_source": "analytic"}
    write_runs(
        study,
        [record("pymc_nuts", 4, 0, 0.001) | judged, record("emcee", 4, 0, 0.05) | judged]
        + [record("pymc_nuts", 16, 0, 0.002) | judged]  # emcee's d = 16 run not done yet
        + [record("emcee", 4, 1, math.nan, status="failed")],
    )
    assert progress.main([str(study), "--baseline", "pymc_nuts"]) == 0
    out = capsys.readouterr().out
    assert "`field` so far: 4 finished runs (3 succeeded) of 2 samplers" in out
    assert "| 4 | 1 [1–1] | 50 [50–50] | 50× |" in out
    assert "| 16 | 2 [2–2] | – | n/a |" in out  # not run yet: no "failed"
    assert "| gaussian_iid | 4 | analytic | 1/1 | 1/1 |" in out
    assert "boom" in out  # the failed run, under "Failed runs"
    assert "has no finished run yet" not in out
    # Only some samplers; a baseline without runs is said, not silently replaced.
    assert progress.main([str(study), "--sampler", "emcee", "--baseline", "pymc_nuts"]) == 0
    out = capsys.readouterr().out
    said, tables = out.split("has no finished run yet")
    assert said.endswith("`pymc_nuts` ")
    assert "pymc_nuts" not in tables.split("Failed runs")[0]
    # --runs-csv keeps the runs it read, one row each, as the study's runs.csv would.
    kept = tmp_path / "kept" / "runs.csv"
    assert progress.main([str(study), "--target", "gaussian_iid", "--runs-csv", str(kept)]) == 0
    rows = pd.read_csv(kept)
    assert sorted(zip(rows["sampler"], rows["dim"], rows["status"], strict=True)) == [
        ("emcee", 4, "failed"),
        ("emcee", 4, "ok"),
        ("pymc_nuts", 4, "ok"),
        ("pymc_nuts", 16, "ok"),
    ]
    assert progress.main([str(study), "--target", "banana"]) == 1
    with pytest.raises(SystemExit):
        progress.main([str(tmp_path / "nowhere")])


def test_headline_tells_a_cell_never_run_from_a_failed_one():
    recs = [record("pymc_nuts", 2, 0, 0.001), record("pymc_nuts", 8, 0, 0.001)]
    recs += [record("dynesty", 2, 0, math.nan, status="failed")]
    text = report.headline(aggregate.summary_table(aggregate.runs_table(recs, "t")))
    assert "| 2 | 1 [1–1] | failed | n/a |" in text
    assert "| 8 | 1 [1–1] | – | n/a |" in text
