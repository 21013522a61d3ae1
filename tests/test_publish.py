"""Issue 30: a finished study published into a folder small enough for git, and today's
code regenerating its tables and summary from its runs table, value for value."""

from pathlib import Path

import pandas as pd
import pytest

from essbench import publish


def test_a_published_tiny_study_regenerates_value_for_value(tiny_run, tmp_path, repo):
    results = tiny_run.attrs["workdir"] / "results" / "tiny"
    folder = publish.publish(results, tmp_path / "tiny-published", repo / "config/test/tiny.yaml")
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    for name in (
        "README.md",
        "COMMIT",
        "config.yaml",
        "summary.md",
        "report.html",
        "tables/runs.parquet",
        "tables/runs.csv",
        "tables/summary.csv",
        "tables/calibration.csv",
        "tables/decision.csv",
        "figures/decision.png",
        "figures/cost_vs_dim.png",
    ):
        assert name in names, sorted(names)
    assert not any(n.endswith(".nc") for n in names)  # no draws
    assert (folder / "report.html").stat().st_size < publish.MAX_REPORT_BYTES
    text = (folder / "README.md").read_text()
    assert str(tiny_run["prov_cpu"].iloc[0]) in text and "piece(s)" in text
    # tiny.yaml samples with exclusive_sampling auto (strict here): the clocks' conditions
    # say so.
    assert (
        "- Clocks: every costed run sampled alone, with no other essbench work beside it"
        " (each timed section paused every other job" in text
    )
    assert str(tiny_run["prov_git_commit"].iloc[0]) in (folder / "COMMIT").read_text()

    assert publish.check(folder) == []
    assert publish.main(["--check", str(folder)]) == 0
    # The check can fail: a published value changed by hand is found, then explained.
    summary = pd.read_csv(folder / "tables" / "summary.csv")
    column = next(c for c in summary.columns if c.startswith("cost_per_ess"))
    summary.loc[0, column] = summary.loc[0, column] * 1.5
    summary.to_csv(folder / "tables" / "summary.csv", index=False)
    [problem] = publish.check(folder)
    assert problem.startswith(f"summary.csv: {column} row 0:")
    (folder / "CHANGES.md").write_text("- 2026-12-04 abc: summary.csv: a test's change\n")
    assert publish.check(folder) == []


def test_pieces_split_the_study_where_nothing_ran():
    runs = pd.DataFrame({"started_at": [0.0, 50.0, 5000.0], "finished_at": [60.0, 100.0, 5100.0]})
    assert publish.pieces(runs) == [(0.0, 100.0), (5000.0, 5100.0)]


def test_the_clocks_conditions_say_who_sampled_alone_and_beside_what():
    runs = pd.DataFrame(
        {
            "status": ["ok"] * 4,
            "exclusive_sampling": [True, True, None, None],
            "neighbour_load": [0.1, 0.2, 1.0, 1.3],
            "contended": [False, False, False, True],
            "machine_cpus": [2] * 4,
        }
    )
    text = publish.clock_conditions(runs)
    assert text.startswith(
        "2 of 4 costed runs sampled alone (`exclusive_sampling`); the rest beside"
    )
    assert "other processes used 0.60 cores (median over runs" in text
    assert "of the machine's 2 while a run sampled; 1 runs timed under contention" in text
    strict = runs.assign(exclusive_sampling=True, strict_sampling=True)
    assert publish.clock_conditions(strict).startswith(
        "every costed run sampled alone, with no other essbench work beside it (each timed"
        " section paused every other job"
    )
    older = runs.drop(columns=["exclusive_sampling", "neighbour_load"])
    assert publish.clock_conditions(older).endswith("the other processes' load was not recorded")


PUBLISHED = sorted(p for p in (Path(__file__).resolve().parents[1] / "published").glob("*/"))


@pytest.mark.parametrize("folder", PUBLISHED, ids=[p.name for p in PUBLISHED])
def test_every_published_study_in_the_repository_regenerates_value_for_value(folder):
    """Today's code on a shipped folder's runs table gives its tables and summary again
    (or its CHANGES.md says, one line per change, what changed and why); the folder stays
    small enough for git: no draws, the report under 10 MB."""
    assert publish.check(folder) == []
    assert (folder / "report.html").stat().st_size < publish.MAX_REPORT_BYTES
    assert not any(p.suffix in {".nc", ".npz", ".npy"} for p in folder.rglob("*"))
